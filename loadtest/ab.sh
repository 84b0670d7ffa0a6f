#!/usr/bin/env bash
# A/B of two console binaries under the same fleet, on this machine, in one session.
#
# usage: loadtest/ab.sh BASELINE CANDIDATE [--rounds 3] [--sensors 6000] [--ramp 30s] [--duration 120s]
#                       [--mix host=0.9,busy=0.05,cluster=0.05] [--fleet .build/release/fleet]
#                       [--fleet-a FLEET] [--fleet-args "…"] [--out /tmp/ab] [--port 18443]
#                       [-- extra all-in-one arguments]
#
# Each round starts a fresh `all-in-one` of each binary on its embedded PostgreSQL (a new data
# directory, so both start from an empty database), runs `fleet run` against it, and stops it; the
# binaries alternate (A B, B A, A B, ...) so a drift of the machine does not favour one. Per run it
# prints the steady window's console / PostgreSQL (and its autovacuum workers' part) / fleet CPU per acknowledged report and report
# p50 / p99, then the medians of each binary and the ratio candidate / baseline of the medians, and
# per run a fit of the console's CPU in each second of the window on that second's reports (what a
# report costs apart from the polls and the background, which CPU per report mixes in).
# Every run's fleet result is kept as <out>/<label>-<round>.json (and .html); the table is also
# written to <out>/summary.txt. A run whose loss check fails is marked, and the script exits 1.
# --fleet-a runs the baseline's rounds with another fleet binary (to compare two fleets, name the
# same console twice); --fleet-args adds arguments to every `fleet run` (e.g. "--beat 30").
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -ge 2 ]] || { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
baseline=$(realpath "$1") candidate=$(realpath "$2"); shift 2
rounds=3 sensors=6000 ramp=30s duration=120s mix="host=0.9,busy=0.05,cluster=0.05"
fleet=.build/release/fleet fleet_a="" fleet_args="" out=/tmp/ab port=18443 extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --sensors) sensors="$2"; shift 2 ;;
        --ramp) ramp="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --mix) mix="$2"; shift 2 ;;
        --fleet) fleet="$2"; shift 2 ;;
        --fleet-a) fleet_a="$2"; shift 2 ;;
        --fleet-args) fleet_args="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "unknown argument $1 (see $0 without arguments)" >&2; exit 2 ;;
    esac
done
fleet_a="${fleet_a:-$fleet}"
for binary in "$baseline" "$candidate" "$fleet" "$fleet_a"; do
    [[ -x "$binary" ]] || { echo "not an executable: $binary" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
. loadtest/fresh-console.sh
trap stop_console EXIT

# One run: a fresh console of binary $1, labelled $2, round $3.
run_one() {
    local binary="$1" label="$2" round="$3" data="$out/$2-$3.data"
    start_console "$binary" "$data" "$out/$label-$round.console.log" "$port" "${extra[@]}"
    local status=0 runner="$fleet"
    [[ "$label" == A ]] && runner="$fleet_a"
    # shellcheck disable=SC2086 # --fleet-args is split into arguments on purpose
    (set -a; . "$data/credentials.env"; set +a
     "$runner" run $fleet_args --url "https://127.0.0.1:$port" --sensors "$sensors" --ramp "$ramp" --duration "$duration" \
        --mix "$mix" --quiet --watch-pid "$console_pid" --watch-process postgres \
        --output "$out/$label-$round") > "$out/$label-$round.fleet.txt" 2>&1 || status=$?
    stop_console
    rm -rf "$data"
    [[ $status -eq 0 ]] || echo "run $label-$round: fleet exited $status (see $out/$label-$round.fleet.txt)" >&2
    return 0
}

for round in $(seq 1 "$rounds"); do
    if (( round % 2 == 1 )); then order=("A:$baseline" "B:$candidate"); else order=("B:$candidate" "A:$baseline"); fi
    for entry in "${order[@]}"; do
        echo "round $round: ${entry%%:*} (${entry#*:})" >&2
        run_one "${entry#*:}" "${entry%%:*}" "$round"
    done
done

python3 - "$out" "$rounds" "$baseline" "$candidate" <<'PY' | tee "$out/summary.txt"
import json, statistics, sys
out, rounds, names = sys.argv[1], int(sys.argv[2]), {"A": sys.argv[3], "B": sys.argv[4]}
columns = ["console", "postgres", "autovac", "fleet", "p50", "p99", "reports/s"]
rows, failed = {"A": [], "B": []}, False
# CPU per report in a short window depends on how many of the beat's waves of reports fall in it,
# while the polls and the background go on throughout. A steadier read: the least squares of the
# console's CPU in each second of the window on that second's reports. The slope is what a report
# costs; the intercept, a second without reports (its polls and the background), % of a core.
fits = {"A": [], "B": []}
def fit(result, w):
    points = [(s["reportsAcknowledged"], s["consoleCPUPercent"]) for s in result.get("seconds", [])
              if w["from"] <= s["second"] < w["to"] and "consoleCPUPercent" in s]
    n = len(points)
    mx = sum(x for x, _ in points) / n if n else 0
    spread = sum((x - mx) ** 2 for x, _ in points)
    if n < 10 or spread == 0:
        return "-"
    my = sum(y for _, y in points) / n
    slope = sum((x - mx) * (y - my) for x, y in points) / spread
    return f"{slope * 10:.3f} ms, {my - slope * mx:.2f} %"
print("run  | CPU ms/report: console  postgres (autovacuum)  fleet | report p50 / p99 ms | reports/s | loss check")
for label in "AB":
    for r in range(1, rounds + 1):
        try:
            result = json.load(open(f"{out}/{label}-{r}.json"))
        except (OSError, ValueError):
            print(f"{label}-{r}  | no result"); failed = True; continue
        w = result.get("steady") or result["overall"]
        cpu = w.get("cpu") or {}
        report = w.get("report") or {}
        loss = result.get("lossCheck")
        passed = bool(loss) and loss["missingNodes"] == 0 and not loss["mismatches"] and not result.get("failures")
        failed |= not passed
        row = [cpu.get("consoleMillisPerReport"), cpu.get("databaseMillisPerReport"), cpu.get("autovacuumMillisPerReport"),
               cpu.get("fleetMillisPerReport"), report.get("p50", 0) / 1000, report.get("p99", 0) / 1000,
               w.get("reportsPerSecond")]
        rows[label].append(row + [r])
        fits[label].append(f"{label}-{r} {fit(result, w)}")
        f = lambda v, d=3: "-" if v is None else f"{v:.{d}f}"
        print(f"{label}-{r}  | {f(row[0]):>8} {f(row[1]):>9} ({f(row[2]):>5}) {f(row[3]):>11} | {f(row[4],1):>7} / {f(row[5],1):>7} | "
              f"{f(row[6],1):>9} | {'passed' if passed else 'FAILED'}")
def median(label, i):
    values = [row[i] for row in rows[label] if row[i] is not None]
    return statistics.median(values) if values else None
print()
print("medians      " + "  ".join(f"{c:>9}" for c in columns))
for label in "AB":
    print(f"{label} {'baseline ' if label == 'A' else 'candidate'}  " +
          "  ".join(f"{m:9.3f}" if (m := median(label, i)) is not None else f"{'-':>9}" for i in range(len(columns))))
ratios = []
for i in range(len(columns)):
    a, b = median("A", i), median("B", i)
    ratios.append(f"{b / a:9.2f}x" if a and b is not None else f"{'-':>10}")
print("B / A        " + " ".join(ratios))
sums = [median(l, 0) and median(l, 1) and median(l, 0) + median(l, 1) for l in "AB"]
if all(sums):
    print(f"console + PostgreSQL per report: A {sums[0]:.3f} ms, B {sums[1]:.3f} ms ({sums[1] / sums[0]:.2f}x)")
# The same without the autovacuum workers (the vacuum and analyze of the ramp's rows may or may not
# fall in a run's steady window): medians of each run's console + PostgreSQL - autovacuum.
def lean(label):
    values = [row[0] + row[1] - (row[2] or 0) for row in rows[label] if row[0] is not None and row[1] is not None]
    return statistics.median(values) if values else None
if lean("A") and lean("B"):
    print(f"  without autovacuum: A {lean('A'):.3f} ms, B {lean('B'):.3f} ms ({lean('B') / lean('A'):.2f}x)")
# A console that raised its beat during the ramp (its beat-rate control) serves fewer reports in
# the steady window, and the polls and timers of every sensor weigh on fewer reports: such a run's
# CPU per report is not comparable with the others'. Seen: 115 against 200 reports/s, same binary.
rates = [row[6] for label in "AB" for row in rows[label] if row[6]]
if rates:
    typical = statistics.median(rates)
    for label in "AB":
        for row in rows[label]:
            if row[6] and abs(row[6] - typical) > 0.1 * typical:
                print(f"warning: {label}-{row[7]} carried {row[6]:.1f} reports/s against a median of {typical:.1f} (the console moved its beat?): "
                      "its CPU per report is not comparable; pass a fixed beat with --fleet-args \"--beat N\"")
print()
print("per-second fit of console CPU on reports: slope ms/report, intercept % of a core")
for label in "AB":
    print("  " + "; ".join(fits[label]))
print(f"A: {names['A']}\nB: {names['B']}")
sys.exit(1 if failed else 0)
PY
