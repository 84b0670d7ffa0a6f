#!/usr/bin/env bash
# The operator API against its OpenAPI document (GET /api/v1/openapi.json), with schemathesis
# (PyPI, in a virtual environment: SCHEMATHESIS_VENV, default /tmp/console-schemathesis-venv):
# a real `console all-in-one` on its embedded PostgreSQL, one host report and one scan so the
# routes have something to return, then every operation fuzzed from the document. It fails on a
# 5xx, an undocumented status, content type or header, or a response the schema does not
# describe. (Schema-valid requests the console refuses for reasons a schema cannot state, such
# as a cursor from no earlier page or an action the node's kind does not run, are left to the
# console's own tests: the positive_data_acceptance check is not run.)
# usage: scripts/api-contract.sh path/to/console   (scripts/test.sh runs it with the release build)
set -euo pipefail
binary=$(realpath "${1:?usage: scripts/api-contract.sh path/to/console}")
venv=${SCHEMATHESIS_VENV:-/tmp/console-schemathesis-venv}
if [[ ! -x $venv/bin/schemathesis ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5
fi
work=$(mktemp -d /tmp/console-contract-XXXXXX)
chmod 755 "$work"
# The console picks a free port (--port 0) and names it in its banner.
"$binary" all-in-one --port 0 --data-dir "$work/data" --advertise-host localhost > "$work/console.log" 2>&1 &
console=$!
stop() {
    kill "$console" 2>/dev/null || true
    wait "$console" 2>/dev/null || true
    rm -rf "$work"
}
trap stop EXIT
for _ in $(seq 120); do grep -q "is ready" "$work/console.log" && break; sleep 1; done
grep -q "is ready" "$work/console.log" || { cat "$work/console.log" >&2; exit 1; }
port=$(sed -n 's/.*Console URL: *https:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$work/console.log" | head -1)
url=https://localhost:$port
# shellcheck disable=SC1091
. "$work/data/credentials.env"
token() {
    curl -sSk "$url/deepfence/auth/token" -d "{\"api_token\":\"$1\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
sensor=$(token "$DEEPFENCE_KEY")
admin=$(token "$CONSOLE_ADMIN_KEY")
report='{"ID":"contract-1","Host":{"contract-host":{"metadata":{"node_id":"contract-host","node_type":"host","host_name":"contract-host","os":"linux"}}},"Process":{"contract-host;1":{"metadata":{"node_id":"contract-host;1","pid":1,"cmdline":"/sbin/init"},"parents":{"host":"contract-host"}}}}'
curl -sSkf "$url/deepfence/ingest/report" -H "Authorization: Bearer $sensor" --data-binary "$report" > /dev/null
curl -sSkf "$url/api/v1/nodes/contract-host/scans" -H "Authorization: Bearer $admin" -d '{"kind":"vulnerability"}' > /dev/null
curl -sSkf "$url/api/v1/openapi.json" -H "Authorization: Bearer $admin" > "$work/openapi.json"
# (From the work directory: schemathesis keeps its example database where it runs.)
(cd "$work" && "$venv/bin/schemathesis" run "$work/openapi.json" --url "$url" --tls-verify false -H "Authorization: Bearer $admin" \
    --checks all --exclude-checks positive_data_acceptance --max-examples 50 --generation-deterministic \
    --request-timeout 30)
if grep -q "crashed:" "$work/console.log"; then
    echo "the console crashed under the contract test:" >&2
    cat "$work/console.log" >&2
    exit 1
fi
echo "operator API matches its OpenAPI document" >&2
