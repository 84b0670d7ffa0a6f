#!/usr/bin/env bash
# Runs the whole test suite against a real PostgreSQL started here for the run (and stopped
# after), installing the Debian packages it needs first. Arguments go to `swift test`
# (for example --filter IngestCoreTests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$pgbin/initdb" ]] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
work=$(mktemp -d /tmp/console-tests-XXXXXX)
chmod 755 "$work"
as_server=()
if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$work"
    as_server=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
    local status=$?
    # A failed run shows what the server refused (its log goes with its directory).
    if [[ $status -ne 0 && -f "$work/postgres.log" ]]; then
        echo "test PostgreSQL's FATAL and PANIC lines (the last 20 of $(grep -cE 'FATAL|PANIC' "$work/postgres.log" || true)):" >&2
        grep -E 'FATAL|PANIC' "$work/postgres.log" | tail -20 >&2 || true
    fi
    (cd / && "${as_server[@]}" "$pgbin/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1) || true
    rm -rf "$work"
}
trap stop EXIT

(cd / && "${as_server[@]}" "$pgbin/initdb" -D "$work/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null)
# Durability settings are off: this server holds throwaway test databases only. Every suite runs
# at once in the main pass, each console with a pool of up to 12 connections: the pass reached
# 300 connections, and a test whose own connection was then refused ("too many clients") failed.
(cd / && "${as_server[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$work -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000" \
    start >/dev/null)
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export THREATMAPPER_SHARED="${THREATMAPPER_SHARED:-$(cd .. && pwd)/shared}"
# The tests that compare against upstream ThreatMapper artefacts (a real sensor report, the
# sensor-API excerpt) run when they are there; everything else uses data the project makes.
[[ -f "$THREATMAPPER_SHARED/fixtures/threatmapper/agent-report.json" ]] ||
    echo "$THREATMAPPER_SHARED is not there: the tests that compare against upstream ThreatMapper artefacts are left out" >&2
echo "test PostgreSQL on 127.0.0.1:$port (data in $work)" >&2

swift build --build-tests
export TEST_CONSOLE_BINARY="$(swift build --show-bin-path)/console"
# The cluster test runs real gateway, worker and coordinator processes under a fleet's load:
# it uses a release build of the console, as production does.
swift build -c release --product console
export TEST_CONSOLE_RELEASE_BINARY="$(swift build -c release --show-bin-path)/console"
if [[ $# -gt 0 ]]; then
    swift test --skip-build "$@"
else
    # Swift Testing runs every suite at once. The suites that measure time against a load of
    # their own run in passes of their own after the rest, so that on 2 cores none of them
    # measures the others: the fleet runs (hundreds of sensors in this process), the hostile
    # clients, idle timeouts and findings exports (seconds-long deadlines: a reader that stops
    # reading is cut off after a 1 s request timeout), and the cluster test (seven processes
    # and a 1,000-sensor fleet, on both cores). The console process tests (a key's revocation
    # within a second) and the 500 MB SBOM upload (the console's memory while it streams to
    # disk) run apart too.
    timed=(FleetRunTests FleetFaultTests HostileClientTests IdleConnectionTests FindingsExportTests ClusterProcessTests
           SBOMUploadProcessTests ConsoleProcessTests ClusterFindingsTests)
    swift test --skip-build "${timed[@]/#/--skip=}"
    swift test --skip-build --filter FleetRunTests --filter FleetFaultTests
    swift test --skip-build --filter HostileClientTests --filter IdleConnectionTests --filter FindingsExportTests
    swift test --skip-build --filter ConsoleProcessTests
    swift test --skip-build --filter SBOMUploadProcessTests
    swift test --skip-build --filter ClusterFindingsTests
    swift test --skip-build --filter ClusterProcessTests
    # The operator API against its OpenAPI document, fuzzed by schemathesis on a live console.
    scripts/api-contract.sh "$TEST_CONSOLE_RELEASE_BINARY"
    # The web console in chromium: sign-in, pages over 100,000 nodes, hostile names, CSRF, keys.
    scripts/browser-test.sh "$TEST_CONSOLE_RELEASE_BINARY" "${BROWSER_SCREENSHOTS:-/tmp/console-browser-screenshots}"
fi
