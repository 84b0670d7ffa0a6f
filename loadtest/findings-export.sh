#!/usr/bin/env bash
# Findings exports through a real console: stores N vulnerability findings of one scan in a
# fresh all-in-one console (release build, its embedded PostgreSQL; 100 records per request,
# 4 curl processes at once, over HTTP/2), then times the scan's export as JSON and as CSV and
# the node's export as JSON, sampling the console's RSS every 100 ms, and checks the counts.
# Needs curl and python3; uses port 8443 and <dir> (default /tmp/findings-export), wiped first.
#
# usage: loadtest/findings-export.sh [N] [dir]
set -euo pipefail
N=${1:-100000}
D=${2:-/tmp/findings-export}; rm -rf "$D"; mkdir -p "$D"
cd "$(dirname "$0")/.."
.build/release/console all-in-one --port 8443 --data-dir $D/data --log-level warning > $D/console.log 2>&1 &
PID=$!
for i in $(seq 1 120); do [ -f $D/data/credentials.env ] && curl -sk https://127.0.0.1:8443/deepfence/ping >/dev/null 2>&1 && break; sleep 1; done
set -a; . $D/data/credentials.env; set +a
tok() { curl -sk https://127.0.0.1:8443/deepfence/auth/token -d "{\"api_token\":\"$1\"}" | python3 -c 'import sys,json; d=json.load(sys.stdin); print(d.get("data",d).get("access_token"))'; }
S=$(tok "$DEEPFENCE_KEY"); A=$(tok "$CONSOLE_ADMIN_KEY")
SCAN="export-host-1764806400000"
python3 - "$N" "$SCAN" $D <<'PY'
import sys, json
n, scan, d = int(sys.argv[1]), sys.argv[2], sys.argv[3]
desc = "A heap overflow in the package's parser lets a crafted input run code. " * 4
for b in range(0, n, 100):
    recs = [{"scan_id": scan, "cve_id": f"CVE-2026-{i}", "cve_caused_by_package": f"pkg-{i%50}:1.{i%7}", "cve_severity": ["critical","high","medium","low"][i%4],
             "cve_description": desc, "cve_link": f"https://nvd.nist.gov/vuln/detail/CVE-2026-{i}", "cve_fixed_in": "1.9", "cve_cvss_score": 7.5,
             "cve_caused_by_package_path": "/usr/lib/python3/dist-packages"} for i in range(b, min(b+100, n))]
    open(f"{d}/batch-{b//100:05d}.json", "w").write(json.dumps(recs))
PY
start=$(date +%s.%N)
ls $D/batch-*.json | xargs -P 4 -I{} curl -sk --http2 -o /dev/null -w "%{http_code}\n" -H "authorization: Bearer $S" -H "content-type: application/json" --data-binary @{} https://127.0.0.1:8443/deepfence/ingest/vulnerabilities | sort | uniq -c
echo "posted $N in $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s"
rss() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }
for fmt in json csv node; do
  before=$(rss); max=$before
  ( while kill -0 $PID 2>/dev/null; do rss >> $D/rss-$fmt; sleep 0.1; done ) & W=$!
  t0=$(date +%s.%N)
  if [ $fmt = node ]; then url="https://127.0.0.1:8443/api/v1/nodes/export-host/findings/export?kind=vulnerability"; else url="https://127.0.0.1:8443/api/v1/scans/$SCAN/findings/export?format=$fmt"; fi
  curl -sk --http2 -H "authorization: Bearer $A" "$url" -o $D/export.$fmt -w "status %{http_code} bytes %{size_download} "
  t1=$(date +%s.%N); kill $W
  max=$(sort -n $D/rss-$fmt | tail -1)
  echo "$fmt: $(python3 -c "print(round($t1 - $t0, 2))") s, RSS before ${before} KiB, max during $max KiB (+$(( (max - before) / 1024 )) MiB)"
done
# Same run, one HTTP/1.1 keep-alive connection from Python: the pages walked with their cursor
# (limit=1000, what an export replaces) against the export.
python3 - "$A" "$SCAN" <<'PY'
import http.client, json, ssl, sys, time
token, scan = sys.argv[1], sys.argv[2]
conn = http.client.HTTPSConnection("127.0.0.1", 8443, context=ssl._create_unverified_context())
def get(path):
    conn.request("GET", path, headers={"authorization": f"Bearer {token}"})
    r = conn.getresponse(); body = r.read(); assert r.status == 200, (r.status, body[:200]); return body
t = time.time(); n = 0; cursor = None
while True:
    page = json.loads(get(f"/api/v1/scans/{scan}/findings?limit=1000" + (f"&after={cursor}" if cursor else "")))
    n += len(page["findings"]); cursor = page["next"]
    if not cursor: break
paged = time.time() - t
t = time.time(); exported = json.loads(get(f"/api/v1/scans/{scan}/findings/export"))["count"]; export = time.time() - t
print(f"same connection: pages of 1000 {n} findings in {paged:.2f} s; export {exported} in {export:.2f} s; export/pages {export / paged:.2f}")
PY
python3 -c "import json; d=json.load(open('$D/export.json')); print('json count', d['count'], len(d['findings']), 'keys', len({f['key'] for f in d['findings']}))"
python3 -c "import json; d=json.load(open('$D/export.node')); print('node json count', d['count'])"
echo "csv lines $(wc -l < $D/export.csv)"
kill $PID; wait $PID 2>/dev/null || true
