#!/usr/bin/env bash
# The transport's ceiling, measured in one run on this machine: h2load (Debian nghttp2-client)
# against nginx (Debian) serving a static 200 over TLS + HTTP/2, and against the console's
# sensor routes, with the same request sizes, so console figures can be read as ratios.
#
# usage: loadtest/baseline.sh --console https://127.0.0.1:8443 [--key SENSOR_KEY] [--rounds 3]
#                             [--requests 200000] [--clients 50] [--streams 10] [--threads 1]
# Each round measures nginx then the console back to back; the medians and the median of the
# per-round ratios are printed (absolute figures drift on a shared machine, ratios less).
# Installs nginx and nghttp2-client when missing. With a sensor key (--key, or DEEPFENCE_KEY in
# the environment, which keeps it out of ps) it also measures a control poll (a 160-byte
# authenticated POST) against the same POST to nginx.
set -euo pipefail
cd "$(dirname "$0")/.."

console="" key="${DEEPFENCE_KEY:-}" requests=200000 clients=50 streams=10 threads=1 rounds=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --console) console="$2"; shift 2 ;;
        --key) key="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --clients) clients="$2"; shift 2 ;;
        --streams) streams="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -n "$console" ]] || { echo "usage: $0 --console https://host:port [--key KEY] …" >&2; exit 2; }

scripts/setup-debian.sh nginx nghttp2-client openssl >&2
work=$(mktemp -d /tmp/baseline-XXXXXX)
nginx_pid=""
cleanup() { [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# nginx: two workers (one per core here), TLS + HTTP/2, a static 200 for any method.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<NGINX
worker_processes $(nproc);
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
$( [[ $(id -u) -eq 0 ]] && echo "user root;" )
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$nginx_port ssl http2;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.3;
        location / { return 200 "pong"; }
    }
}
NGINX
nginx -c "$work/nginx.conf" &
nginx_pid=$!
sleep 1

body="$work/body.json"
python3 -c 'import json; print(json.dumps({"node_id": "baseline-host-0000000000000000000000000000000000000000000000000000000000000", "available_workload": 1, "node_type": "host"}).ljust(159))' > "$body"

h2() {  # url [extra h2load args…] → req/s (fails unless every answer is 2xx)
    local url="$1"; shift
    local out
    out=$(h2load -n "$requests" -c "$clients" -m "$streams" -t "$threads" "$@" "$url" 2>&1)
    if ! echo "$out" | grep -qE "^status codes: $requests 2xx"; then
        echo "h2load against $url did not get $requests 2xx answers:" >&2
        echo "$out" | grep -E "^(status codes|requests):" >&2
        exit 1
    fi
    echo "$out" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p'
}

median() { python3 -c 'import statistics,sys; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "h2load -n $requests -c $clients -m $streams -t $threads, TLS 1.3 + HTTP/2, $(nproc) cores, $rounds rounds"
token=""
if [[ -n "$key" ]]; then
    token=$(curl -sk "$console/deepfence/auth/token" -d "{\"api_token\":\"$key\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
fi
get_nginx=() get_console=() get_ratio=() post_nginx=() post_console=() post_ratio=()
for round in $(seq "$rounds"); do
    a=$(h2 "https://127.0.0.1:$nginx_port/deepfence/ping")
    b=$(h2 "$console/deepfence/ping")
    get_nginx+=("$a") get_console+=("$b") get_ratio+=("$(python3 -c "print($b / $a)")")
    echo "round $round GET : nginx $a req/s, console /deepfence/ping $b req/s"
    if [[ -n "$token" ]]; then
        a=$(h2 "https://127.0.0.1:$nginx_port/deepfence/controls/agent" -d "$body" -H 'content-type: application/json')
        b=$(h2 "$console/deepfence/controls/agent" -d "$body" -H 'content-type: application/json' -H "authorization: Bearer $token")
        post_nginx+=("$a") post_console+=("$b") post_ratio+=("$(python3 -c "print($b / $a)")")
        echo "round $round POST: nginx $a req/s, console /deepfence/controls/agent $b req/s"
    fi
done
echo "GET  (no body)        median: nginx $(median "${get_nginx[@]}") req/s, console $(median "${get_console[@]}") req/s, ratio $(median "${get_ratio[@]}")"
if [[ -n "$token" ]]; then
    echo "POST (160-byte JSON)  median: nginx $(median "${post_nginx[@]}") req/s, console $(median "${post_console[@]}") req/s, ratio $(median "${post_ratio[@]}")"
fi
