#!/usr/bin/env bash
# Starts a cluster on loopback for benchmarks and trials: two throwaway PostgreSQL servers (the
# catalog and placement "a" on the first, placement "b" on the second), then coordinators,
# workers and gateways as separate `console` processes. Prints the gateway URLs and the keys,
# and writes them to <dir>/cluster.env. `loadtest/cluster.sh stop <dir>` ends everything.
#
# usage: loadtest/cluster.sh [--dir D] [--gateways 2] [--workers 3] [--coordinators 2]
#                            [--shard-count 256] [--binary .build/release/console] [-- worker options…]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=/tmp/tm-cluster gateways=2 workers=3 coordinators=2 shards=256 binary=.build/release/console
if [[ ${1:-} == stop ]]; then
    dir=${2:-$dir}
    for pidfile in "$dir"/*.pid; do
        [[ -f $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 2
    for n in 1 2; do
        [[ -d $dir/pg$n ]] && runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" -D "$dir/pg$n/data" -m fast -w stop >/dev/null 2>&1 || true
    done
    exit 0
fi
while [[ $# -gt 0 ]]; do
    case $1 in
        --dir) dir=$2; shift 2 ;;
        --gateways) gateways=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --coordinators) coordinators=$2; shift 2 ;;
        --shard-count) shards=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
extra=("$@")
scripts/setup-debian.sh
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# A throwaway cluster: a directory left by an earlier run is stopped and removed first.
[[ -d $dir ]] && "$0" stop "$dir"
rm -rf "$dir"
mkdir -p "$dir"
as_server=()
[[ $(id -u) -eq 0 ]] && as_server=(runuser -u postgres --)
for n in 1 2; do
    port=$((25430 + n))
    mkdir -p "$dir/pg$n"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir/pg$n"
    "${as_server[@]}" "$pgbin/initdb" -D "$dir/pg$n/data" -U postgres --auth=trust --locale=C >/dev/null
    "${as_server[@]}" "$pgbin/pg_ctl" -D "$dir/pg$n/data" -l "$dir/pg$n/log" -w -o \
        "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/pg$n -c max_connections=400 -c synchronous_commit=off" start >/dev/null
done
url() { echo "postgres://postgres@127.0.0.1:$1/$2?sslmode=disable"; }
psql -qh 127.0.0.1 -p 25431 -U postgres -c "CREATE DATABASE catalog" -c "CREATE DATABASE pa" 2>/dev/null || true
psql -qh 127.0.0.1 -p 25432 -U postgres -c "CREATE DATABASE pb" 2>/dev/null || true
catalog=$(url 25431 catalog)
"$binary" migrate --database-url "$catalog" --shard-count "$shards" \
    --placement "a=$(url 25431 pa)" --placement "b=$(url 25432 pb)" > "$dir/migrate.out"
cat "$dir/migrate.out"
start() { # name, args…
    local name=$1; shift
    nohup "$binary" "$@" > "$dir/$name.log" 2>&1 &
    echo $! > "$dir/$name.pid"
}
for i in $(seq 1 "$coordinators"); do
    start "coordinator-$i" coordinator --database-url "$catalog" --id "coordinator-$i" --metrics-address "127.0.0.1:$((19500 + i))"
done
for i in $(seq 1 "$workers"); do
    start "worker-$i" worker --database-url "$catalog" --id "worker-$i" --internal-host 127.0.0.1 --internal-port $((19600 + i)) \
        --advertise-address "127.0.0.1:$((19600 + i))" --metrics-address "127.0.0.1:$((19650 + i))" "${extra[@]}"
done
urls=()
for i in $(seq 1 "$gateways"); do
    start "gateway-$i" gateway --database-url "$catalog" --id "gateway-$i" --port $((19700 + i)) --advertise-host 127.0.0.1 \
        --metrics-address "127.0.0.1:$((19750 + i))" --max-connections-per-address 0
    urls+=("https://127.0.0.1:$((19700 + i))")
done
for _ in $(seq 1 60); do
    ready=0
    for port in $(seq 19651 $((19650 + workers))) $(seq 19751 $((19750 + gateways))); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && ready=$((ready + 1))
    done
    [[ $ready -eq $((workers + gateways)) ]] && break
    sleep 1
done
{
    echo "CLUSTER_URLS=\"${urls[*]}\""
    echo "CLUSTER_CATALOG=$catalog"
    sed -n 's/^Sensor API key: /DEEPFENCE_KEY=/p; s/^Admin API key:  /CONSOLE_ADMIN_KEY=/p' "$dir/migrate.out"
} > "$dir/cluster.env"
echo "ready: $ready of $((workers + gateways)) workers and gateways; gateways: ${urls[*]}"
echo "keys and URLs: $dir/cluster.env; logs: $dir/*.log; stop: loadtest/cluster.sh stop $dir"
