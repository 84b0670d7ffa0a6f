#!/usr/bin/env bash
# What idle sensor connections cost the console in CPU, for two console binaries in turn.
#
# usage: loadtest/idle-cost.sh BASELINE/console CANDIDATE/console [--connections 10000]
#            [--window 60] [--rounds 2] [--fleet .build/release/fleet] [--out /tmp/idle-cost] [--port 18443]
#            [-- console options…]
#
# Per round and binary (alternating, A first in odd rounds): a fresh all-in-one on its embedded
# PostgreSQL, `fleet hold` opening --connections connections (TLS, HTTP/2, a ping and a refused
# report-sized body each, as `fleet hold` documents) and keeping them idle; once every connection
# is open (`ss` counts --connections established on the console's port)
# the console's CPU (utime + stime of /proc/<pid>/stat) is read over --window seconds. Prints the
# console's CPU in % of a core per round and the ratio of the medians, and exits 1 if a run could
# not open all its connections (it is left out). --connections 0 measures the console alone (no
# `fleet hold`), 20 s after it answers. Nothing else should run.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 2 ]] || { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
baseline=$(realpath "$1") candidate=$(realpath "$2"); shift 2
connections=10000 window=60 rounds=2 fleet=.build/release/fleet out=/tmp/idle-cost port=18443 extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --connections) connections="$2"; shift 2 ;;
        --window) window="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --fleet) fleet="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "unknown argument $1 (see $0 without arguments)" >&2; exit 2 ;;
    esac
done
for binary in "$baseline" "$candidate" "$fleet"; do
    [[ -x "$binary" ]] || { echo "not an executable: $binary" >&2; exit 2; }
done
[[ $connections =~ ^(0|[1-9][0-9]*)$ && $window =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]] ||
    { echo "--connections takes a whole number, --window and --rounds positive ones" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
: > "$out/rounds.txt"
. loadtest/fresh-console.sh
hold_pid=""
stop_all() {
    [[ -n $hold_pid ]] && { kill -TERM "$hold_pid" 2>/dev/null || true; wait "$hold_pid" 2>/dev/null || true; hold_pid=""; }
    stop_console
}
trap stop_all EXIT
ticks=$(getconf CLK_TCK)
unmeasured=0
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Established connections on the console's port, counted on the console's side.
open_connections() { ss -Htn state established "( sport = :$port )" | wc -l; }

run_one() {
    local binary=$1 label=$2 round=$3 data="$out/$2-$3.data"
    start_console "$binary" "$data" "$out/$label-$round.console.log" "$port" "${extra[@]}"
    if (( connections == 0 )); then
        sleep 20  # the first start's work done (migrations, the first map)
        measure "$label" "$round"
        return 0
    fi
    (set -a; . "$data/credentials.env"; set +a
     exec "$fleet" hold --url "https://127.0.0.1:$port" --connections "$connections" --hold "$((window + 600))s" \
        --watch-pid "$console_pid") > "$out/$label-$round.hold.txt" 2>&1 &
    hold_pid=$!
    local open=0
    for _ in $(seq 1 600); do
        open=$(open_connections) || open=0
        (( ${open:-0} >= connections )) && break
        kill -0 "$hold_pid" 2>/dev/null || break
        sleep 1
    done
    if (( ${open:-0} < connections )); then
        echo "run $label-$round: only ${open:-0} of $connections connections open (see $out/$label-$round.hold.txt)" >&2
        stop_all; rm -rf "$data"; unmeasured=1; return 0
    fi
    sleep 5  # the last handshakes' work done
    measure "$label" "$round"
}

# The console's CPU over --window seconds, recorded for run $1-$2; stops the run.
measure() {
    local label=$1 round=$2 data="$out/$1-$2.data" before after open
    before=$(cpu_ticks "$console_pid")
    sleep "$window"
    after=$(cpu_ticks "$console_pid")
    open=$(open_connections) || open=0
    local percent
    percent=$(python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]) / int(sys.argv[4]) * 100:.2f}')" \
        "$before" "$after" "$ticks" "$window")
    echo "$label $round $percent $open" >> "$out/rounds.txt"
    echo "run $label-$round: console CPU $percent % of a core over ${window}s with $open connections open" >&2
    stop_all
    rm -rf "$data"
}

for round in $(seq 1 "$rounds"); do
    if (( round % 2 == 1 )); then order=("A:$baseline" "B:$candidate"); else order=("B:$candidate" "A:$baseline"); fi
    for entry in "${order[@]}"; do run_one "${entry#*:}" "${entry%%:*}" "$round"; done
done

python3 - "$out/rounds.txt" "$baseline" "$candidate" "$connections" "$window" <<'PY' | tee "$out/summary.txt"
import statistics, sys
path, a, b, connections, window = sys.argv[1:]
rows = [line.split() for line in open(path)]
print(f"console CPU, % of a core, over {window} s with {connections} idle connections open")
for label, name in (("A", a), ("B", b)):
    values = [float(r[2]) for r in rows if r[0] == label]
    print(f"{label} {name}: " + ", ".join(f"{v:.2f}" for v in values) + (f"  (median {statistics.median(values):.2f})" if values else ""))
medians = [statistics.median(v) for v in ([float(r[2]) for r in rows if r[0] == l] for l in "AB") if v]
if len(medians) == 2 and medians[0] > 0:
    print(f"B / A: {medians[1] / medians[0]:.2f}x")
PY
(( unmeasured == 0 )) || { echo "some runs were not measured (their connections did not all open): see above" >&2; exit 1; }
