#!/usr/bin/env bash
# Scale-out: the highest report rate a loopback cluster sustains against its number of workers,
# every gateway, worker and placement's PostgreSQL server capped at the same share of a core in a
# CPU cgroup of its own (loadtest/cluster.sh --cpu-quota), as pods with a CPU limit are.
#
# usage: loadtest/scale-out.sh [--workers "1 2 3 4"] [--placements "scaled one"] [--quota 0.1]
#            [--period-us 50000] [--beat 20] [--ramp 30s] [--duration 90s] [--start-sensors 500 (short: 200)]
#            [--trials 4] [--p99-ms 250] [--out /tmp/scale-out] [--binary .build/release/console]
#            [--fleet .build/release/fleet] [--short] [--sizes "1:550,650 4:2000,2600" [--repeat 3]]
#
# For each W in --workers and each trial, a fresh cluster of W gateways and W workers (one coordinator, the
# catalog on a server of its own, not capped) with its placements scaled with W ("scaled": W
# placements, each on its own server) or fixed at one ("one"). A search over the fleet's size at a
# fixed beat (host sensors; rate = sensors / beat) finds the highest rate the configuration
# sustains (the steady window: whole beats from one beat after the ramp to the end): report p99 ≤ --p99-ms, no non-2xx answer, at least 95 % of the offered
# reports acknowledged, and the loss check passed. The first trial of W starts from W times the
# best of W = 1 (one placement: 1.5 times it); each pass raises the fleet by 30 %, each failure
# lowers it by 30 %, and once both are known it halves the gap, for at most --trials trials.
# Per trial it records each role's CPU (its cgroup's usage and throttled time over the steady
# window) and the rows each placement wrote (pg_stat_database). It prints the curve (rate, per-
# worker efficiency against W = 1, CPU per role, rows/s per placement, the role that binds: the
# one whose group was throttled longest) to <out>/summary.txt and draws it in <out>/scale-out.html.
#
# --sizes replaces the search with fixed fleets: for each "W:N,N,…" every listed fleet size of W
# workers, --repeat times (rounds of every W and size in turn, so that drift on a shared machine
# falls on all alike). A size is sustained when a majority of its trials passed; each W's
# sustained rate is the largest such size's median acknowledged rate (and its median p50 / p99).
# Single trials of a search count the same way (one pass is a majority of one).
#
# The fleet runs --ramp, then --duration more; the steady window is its last (duration - beat),
# shortened at its start to whole beats.
#
# --short (for CI): W = 1 and 2, placements scaled, one trial each of about a minute at a fixed
# fleet (the W = 2 trial twice the W = 1 one); it prints the ratio of their acknowledged rates
# (2.0 when both pass: a check that the script and a capped cluster work, not a measurement of
# the curve) and fails only if the run itself fails (a cluster that does not start, a fleet that exits with a
# failure such as a lost report), not on the figures. Without a writable cgroup controller it
# runs uncapped and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
. loadtest/cgroup.sh
workers_list="1 2 3 4" modes="scaled one" quota=0.1 period=50000 beat=20 ramp=30s duration=90s
start_sensors="" trials=4 p99_ms=250 out=/tmp/scale-out binary=.build/release/console fleet=.build/release/fleet short=0
sizes="" repeat=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --workers) workers_list=$2; shift 2 ;;
        --placements) modes=$2; shift 2 ;;
        --quota) quota=$2; shift 2 ;;
        --period-us) period=$2; shift 2 ;;
        --beat) beat=$2; shift 2 ;;
        --ramp) ramp=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --start-sensors) start_sensors=$2; shift 2 ;;
        --trials) trials=$2; shift 2 ;;
        --p99-ms) p99_ms=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --fleet) fleet=$2; shift 2 ;;
        --short) short=1; shift ;;
        --sizes) sizes=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
    esac
done
if [[ -n $sizes ]]; then
    workers_list=""
    for spec in $sizes; do
        [[ $spec =~ ^[1-9][0-9]*:[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "--sizes takes W:N,N,… items, not '$spec'" >&2; exit 2; }
        workers_list+="${spec%%:*} "
    done
fi
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "--repeat must be a positive whole number, not '$repeat'" >&2; exit 2; }
if (( short )); then
    [[ -z $sizes ]] || { echo "--short and --sizes do not go together" >&2; exit 2; }
    workers_list="1 2" modes=scaled trials=1 ramp=10s duration=60s start_sensors=${start_sensors:-200}
    cg_available || { echo "no writable cpu cgroup controller here: the short run goes uncapped" >&2; quota=""; }
else
    start_sensors=${start_sensors:-500}
    cg_available || { echo "no writable cpu cgroup controller (cgroup v1 cpu or v2 cpu.max; needs root)" >&2; exit 1; }
fi
for executable in "$binary" "$fleet"; do
    [[ -x $executable ]] || { echo "not an executable: $executable (swift build -c release --product ${executable##*/})" >&2; exit 2; }
done
. loadtest/durations.sh
ramp_s=$(seconds "$ramp")
duration_s=$(seconds "$duration")
(( duration_s > beat + 10 )) || { echo "--duration must exceed --beat by more than 10 s (the steady window)" >&2; exit 2; }
# The steady window as the fleet cuts it (whole beats, unless less than one beat remains).
steady_s=$(( (duration_s - beat) / beat * beat ))
(( steady_s > 0 )) || steady_s=$((duration_s - beat))
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
: > "$out/trials.jsonl"
cluster_dir="$out/cluster"
trap 'loadtest/cluster.sh stop "$cluster_dir" >/dev/null 2>&1 || true' EXIT

# Counters of every role's group and every placement, as one JSON object.
counters() {
    local groups="{" prefix=${CLUSTER_CGROUP_PREFIX:-} port rows="{"
    if [[ -n $prefix ]]; then
        for path in "$cg_v1_cpu/$prefix"* "$cg_v2/$prefix"*; do
            [[ -d $path ]] || continue
            read -r usage throttled < <(cg_read "${path##*/}")
            groups+="\"${path##*/$prefix}\": [$usage, $throttled],"
        done
    fi
    for port in $CLUSTER_PLACEMENT_PORTS; do
        rows+="\"$port\": $(psql -qtAh 127.0.0.1 -p "$port" -U postgres -d postgres -c \
            "SELECT coalesce(sum(tup_inserted + tup_updated + tup_deleted), 0) FROM pg_stat_database WHERE datname LIKE 'p_'"),"
    done
    # The whole machine: busy and all jiffies since boot (cpu line of /proc/stat).
    local machine
    machine=$(awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy ", " busy + $5 + $6 }' /proc/stat)
    echo "{\"time\": $(date +%s.%N), \"groups\": ${groups%,}}, \"rows\": ${rows%,}}, \"machine\": [$machine]}"
}

# One trial: the fleet at $1 sensors against the running cluster; prints pass or fail.
trial() {
    local sensors=$1 label="$2-n$1" status=0
    # The fleet's steady window: whole beats up to the end (ramp + duration), from one beat after the ramp.
    (sleep $((ramp_s + duration_s - steady_s)); counters > "$out/$label.start"; sleep "$steady_s"; counters > "$out/$label.end") &
    local reader=$!
    local urls=()
    for u in $CLUSTER_URLS; do urls+=(--url "$u"); done
    "$fleet" run "${urls[@]}" --sensors "$sensors" --beat "$beat" --ramp "$ramp" --duration "$duration" \
        --name-prefix "so-$label" --quiet --output "$out/$label" > "$out/$label.fleet.txt" 2>&1 || status=$?
    wait "$reader" || true
    python3 - "$out" "$label" "$sensors" "$beat" "$p99_ms" "$status" "$W" "$P" "$mode" <<'PY'
import json, sys
out, label, sensors, beat, p99_ms, status, w, p, mode = sys.argv[1:]
sensors, beat, p99_ms, status = int(sensors), float(beat), float(p99_ms), int(status)
try:
    result = json.load(open(f"{out}/{label}.json"))
except (OSError, ValueError):
    result = None
steady = (result or {}).get("steady") or {}
loss = (result or {}).get("lossCheck") or {}
offered = sensors / beat
rate = steady.get("reportsPerSecond", 0)
p99 = (steady.get("report") or {}).get("p99", 0) / 1000
reasons = []
if result is None: reasons.append("no result")
if status != 0: reasons.append(f"fleet exited {status}")
if p99 > p99_ms: reasons.append(f"p99 {p99:.0f} ms")
if steady.get("nonSuccess", 0): reasons.append(f"{steady['nonSuccess']} non-2xx")
if rate < 0.95 * offered: reasons.append(f"{rate:.1f} of {offered:.1f} reports/s")
if loss.get("missingNodes") or loss.get("mismatches"): reasons.append("loss check")
try:
    start, end = (json.load(open(f"{out}/{label}.{k}")) for k in ("start", "end"))
    span = end["time"] - start["time"]
    groups = {g: [(end["groups"][g][i] - v[i]) / 1e9 / span for i in (0, 1)] for g, v in start["groups"].items() if g in end["groups"]}
    rows = {port: (end["rows"][port] - v) / span for port, v in start["rows"].items()}
    machine = (end["machine"][0] - start["machine"][0]) / (end["machine"][1] - start["machine"][1])
except (OSError, ValueError, KeyError, ZeroDivisionError):
    groups, rows, machine = {}, {}, None
record = {"mode": mode, "workers": int(w), "placements": int(p), "sensors": sensors, "beat": beat, "offered": offered,
          "rate": rate, "p50": (steady.get("report") or {}).get("p50", 0) / 1000, "p99": p99,
          "fleetMillisPerReport": ((steady.get("cpu") or {}).get("fleetMillisPerReport")),
          "passed": not reasons, "reasons": reasons, "cpu": groups, "rowsPerSecond": rows, "exit": status,
          "machineBusy": machine}
open(f"{out}/trials.jsonl", "a").write(json.dumps(record) + "\n")
print(f"W={w} placements={p} ({mode}) {sensors} sensors: {rate:.1f} of {offered:.1f} reports/s, p99 {p99:.0f} ms: "
      + ("pass" if not reasons else "fail (" + ", ".join(reasons) + ")"), file=sys.stderr)
# A fleet that failed (a lost report, a crash) fails the whole run, whatever the figures.
print("pass" if not reasons else ("crash" if status != 0 or result is None else "fail"))
PY
}

round_sensors() { # sensors [factor] → sensors × factor, to the nearest 25 (at least 25)
    python3 -c "import sys; print(max(25, int(round(float(sys.argv[1]) * float(sys.argv[2]) / 25)) * 25))" "$1" "${2:-1}"
}
best_one=""
run_failed=0
# The placements of W workers in $mode: W when scaled, 1 when fixed at one.
placement_count() { if [[ $mode == one ]]; then echo 1; else echo "$W"; fi; }
# One trial of W workers ($P placements, from placement_count) at $n sensors on a fresh cluster (no nodes, rows
# or background work left by the one before); sets $verdict.
fresh_trial() {
    loadtest/cluster.sh --dir "$cluster_dir" --gateways "$W" --workers "$W" --coordinators 1 --placements "$P" \
        --catalog-apart ${quota:+--cpu-quota "$quota" --cpu-period-us "$period"} --binary "$binary" > "$out/cluster-W$W-$mode${round:+-r$round}-n$n.txt" 2>&1 ||
        { echo "the cluster did not start: $out/cluster-W$W-$mode${round:+-r$round}-n$n.txt" >&2; exit 1; }
    set -a; . "$cluster_dir/cluster.env"; set +a
    verdict=$(trial "$n" "W$W-$mode${round:+-r$round}")
    loadtest/cluster.sh stop "$cluster_dir" >/dev/null 2>&1 || true
    if [[ $verdict == crash ]]; then
        echo "the fleet failed at $n sensors: $out/W$W-$mode${round:+-r$round}-n$n.fleet.txt" >&2; run_failed=1
    fi
}
if [[ -n $sizes ]]; then
    for round in $(seq 1 "$repeat"); do
        for mode in $modes; do
            for spec in $sizes; do
                W=${spec%%:*} P=$(placement_count)
                if [[ $mode == one && $W == 1 && $modes == *scaled* ]]; then continue; fi
                list=${spec#*:}
                for n in ${list//,/ }; do
                    echo "== round $round of $repeat: W=$W ($mode) at $n sensors, cap ${quota:-none} of a core each" >&2
                    fresh_trial
                    (( run_failed )) && break 4
                done
            done
        done
    done
    workers_list=""  # the search below is skipped
fi
for mode in $modes; do
    for W in $workers_list; do
        P=$(placement_count)
        # W = 1 is the same configuration in both modes: measured once.
        if [[ $mode == one && $W == 1 && $modes == *scaled* ]]; then continue; fi
        echo "== W=$W gateways=$W placements=$P ($mode), cap ${quota:-none} of a core each" >&2
        if [[ -z $best_one ]]; then guess=$start_sensors
        elif (( short )); then guess=$((start_sensors * W))
        elif [[ $mode == one ]]; then guess=$(round_sensors "$best_one" 1.5)
        else guess=$((best_one * W)); fi
        n=$guess passed=0 failed=0
        for _ in $(seq 1 "$trials"); do
            fresh_trial
            (( run_failed )) && break
            if [[ $verdict == pass ]]; then (( n > passed )) && passed=$n; else (( failed == 0 || n < failed )) && failed=$n; fi
            if (( failed == 0 )); then n=$(round_sensors "$n" 1.3)
            elif (( passed == 0 )); then n=$(round_sensors "$n" 0.7)
            else
                (( failed - passed <= 25 || failed - passed <= passed / 10 )) && break
                n=$(round_sensors "$(((passed + failed) / 2))")
            fi
        done
        [[ $W == 1 && -z $best_one && $passed -gt 0 ]] && best_one=$passed
        [[ $W == 1 && -z $best_one ]] && best_one=$start_sensors
    done
done

python3 - "$out" "${quota:-none}" "$period" "$beat" "$p99_ms" <<'PY' | tee "$out/summary.txt"
import json, sys, html
out, quota, period, beat, p99_ms = sys.argv[1:]
trials = [json.loads(line) for line in open(f"{out}/trials.jsonl")]
def median(values):
    values = sorted(values)
    return (values[(len(values) - 1) // 2] + values[len(values) // 2]) / 2 if values else 0
# A size is sustained when a majority of its trials passed; a W's sustained rate is its largest
# such size, as the passed trial of median rate with the median rate, p50 and p99 of its passes.
sizes = {}
for t in trials:
    sizes.setdefault((t["mode"], t["workers"], t["sensors"]), []).append(t)
best = {}
for (mode, w, sensors), runs in sorted(sizes.items()):
    passes = [x for x in runs if x["passed"]]
    if 2 * len(passes) <= len(runs) or ((mode, w) in best and best[(mode, w)]["sensors"] > sensors):
        continue
    middle = dict(sorted(passes, key=lambda x: x["rate"])[(len(passes) - 1) // 2])
    middle.update(rate=median([x["rate"] for x in passes]), p50=median([x["p50"] for x in passes]),
                  p99=median([x["p99"] for x in passes]), trials=f"{len(passes)}/{len(runs)}")
    best[(mode, w)] = middle
one = best.get(("scaled", 1)) or best.get(("one", 1))
print(f"cap: {quota} of a core per gateway, worker and placement server (CFS period {int(period) // 1000} ms); "
      f"host sensors at a {beat} s beat; sustained = steady p99 <= {p99_ms} ms, no non-2xx, no loss")
if any(len(runs) > 1 for runs in sizes.values()):
    print("per size (repeated trials): W  placements  sensors  passed  median reports/s  median p99 ms  failures")
    for (mode, w, sensors), runs in sorted(sizes.items()):
        fails = "; ".join(", ".join(x["reasons"]) for x in runs if not x["passed"])
        print(f"  {w}  {mode:>10}  {sensors:7d}  {sum(x['passed'] for x in runs)}/{len(runs)}  "
              f"{median([x['rate'] for x in runs]):16.1f}  {median([x['p99'] for x in runs]):13.0f}  {fails}")
print("W  placements  sustained reports/s  per-worker efficiency  p50 / p99 ms  "
      "CPU % of a core: gateways  workers  placements  catalog  coordinator  machine  (throttled %: gw / wk / pl)  rows/s per placement  binds")
rows_out = []
for mode in ("scaled", "one"):
    for w in sorted({t["workers"] for t in trials}):
        t = best.get((mode, w)) or (one if w == 1 and mode == "one" and any(x["mode"] == "one" for x in trials) else None)
        tried = [x for x in trials if x["mode"] == mode and x["workers"] == w]
        if t is one and mode == "one" and not tried:  # W = 1 is measured once, under "scaled"
            tried = [x for x in trials if x["workers"] == 1]
        if t is None:
            if tried:
                passes = sum(x["passed"] for x in tried)
                print(f"{w}  {mode:>10}  no size sustained: {passes} of {len(tried)} trials passed, none by a majority of its size's trials ("
                      + "; ".join(f"{x['sensors']}: {', '.join(x['reasons']) or 'pass'}" for x in tried) + ")")
            continue
        def role(prefix, i=0, trial=t):
            return sum(v[i] for g, v in trial["cpu"].items() if g.startswith(prefix)) * 100
        def throttled_per_process(trial):
            return {name: role(prefix, 1, trial) / max(1, sum(1 for g in trial["cpu"] if g.startswith(prefix)))
                    for name, prefix in (("gateways", "gateway"), ("workers", "worker"), ("placements", "placement"))}
        throttled = throttled_per_process(t)
        # The role that binds: the one whose processes were throttled longest (none below 5 %) in
        # the smallest failed trial above the sustained rate, where the limit was crossed.
        over = min((x for x in tried if not x["passed"] and x["sensors"] > t["sensors"]), key=lambda x: x["sensors"], default=t)
        over_throttled = throttled_per_process(over)
        binds = max(over_throttled, key=over_throttled.get) if max(over_throttled.values()) >= 5 else "-"
        if binds != "-":
            binds += f" ({over_throttled[binds]:.0f} % throttled at {over['sensors']} sensors)"
        eff = t["rate"] / (w * one["rate"]) if one else float("nan")
        per_placement = " / ".join(f"{v:.0f}" for v in t["rowsPerSecond"].values())
        print(f"{w}  {t['placements']:>10}  {t['rate']:19.1f}  {eff:21.2f}  {t['p50']:5.0f} / {t['p99']:4.0f}  "
              f"{role('gateway'):24.1f}  {role('worker'):7.1f}  {role('placement'):10.1f}  {role('catalog'):7.1f}  {role('coordinator'):11.1f}  "
              f"{(t.get('machineBusy') or 0) * 100:6.0f}%  "
              f"({throttled['gateways']:.0f} / {throttled['workers']:.0f} / {throttled['placements']:.0f})  {per_placement:>20}  {binds}")
        rows_out.append((mode, w, t["rate"], eff))
if best.get(("scaled", 1)) and best.get(("scaled", max(w for m, w in best if m == "scaled"))):
    top = max(w for m, w in best if m == "scaled")
    print(f"scaled placements: {best[('scaled', top)]['rate'] / best[('scaled', 1)]['rate']:.2f}x the reports/s of W=1 at W={top} "
          f"({best[('scaled', top)]['rate'] / (top * best[('scaled', 1)]['rate']):.2f} of linear)")
# The chart: sustained reports/s against W, one line per placement mode, and the linear line.
width, height, pad = 560, 340, 50
ws = sorted({w for _, w, _, _ in rows_out}) or [1]
top_rate = max([r for _, _, r, _ in rows_out] + [one["rate"] * max(ws) if one else 1])
x = lambda w: pad + (w - 1) / max(1, max(ws) - 1) * (width - 2 * pad)
y = lambda r: height - pad - r / top_rate * (height - 2 * pad)
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
       f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>',
       f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>',
       f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">workers (each with a gateway; cap {html.escape(quota)} core per process)</text>',
       f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle">sustained reports/s</text>']
for w in ws:
    svg.append(f'<text x="{x(w)}" y="{height - pad + 16}" text-anchor="middle">{w}</text>')
for k in range(5):
    r = top_rate * k / 4
    svg.append(f'<text x="{pad - 6}" y="{y(r) + 4}" text-anchor="end">{r:.0f}</text>')
if one:
    base = one["rate"]
    linear = " ".join(f"{x(w)},{y(w * base)}" for w in ws)
    svg.append(f'<polyline fill="none" stroke="#999" stroke-dasharray="4 4" points="{linear}"/>'
               f'<text x="{x(max(ws)) - 4}" y="{y(max(ws) * base) - 6}" text-anchor="end" fill="#777">linear</text>')
for mode, colour in (("scaled", "#1f6feb"), ("one", "#d1242f")):
    points = [(w, r) for m, w, r, _ in rows_out if m == mode or (mode == "one" and m == "scaled" and w == 1)]
    if not points or (len(points) < 2 and mode == "one"):
        continue
    line = " ".join(f"{x(w)},{y(r)}" for w, r in points)
    svg.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/>')
    for w, r in points:
        svg.append(f'<circle cx="{x(w)}" cy="{y(r)}" r="3" fill="{colour}"/>')
    label = "placements scaled with W" if mode == "scaled" else "one placement"
    svg.append(f'<text x="{x(points[-1][0]) - 4}" y="{y(points[-1][1]) + 16}" text-anchor="end" fill="{colour}">{label}</text>')
svg.append("</svg>")
with open(f"{out}/scale-out.html", "w") as page:
    page.write("<!doctype html><meta charset=utf-8><title>Scale-out</title><h1>Sustained reports/s against workers</h1>\n")
    page.write("\n".join(svg))
    page.write("<h2>Trials</h2><table border=1 cellpadding=3><tr><th>placements</th><th>W</th><th>sensors</th><th>offered/s</th>"
               "<th>acknowledged/s</th><th>p99 ms</th><th>verdict</th></tr>\n")
    for t in trials:
        page.write(f"<tr><td>{t['mode']}</td><td>{t['workers']}</td><td>{t['sensors']}</td><td>{t['offered']:.1f}</td>"
                   f"<td>{t['rate']:.1f}</td><td>{t['p99']:.0f}</td><td>{'pass' if t['passed'] else html.escape('; '.join(t['reasons']))}</td></tr>\n")
    page.write("</table>\n")
print(f"trials: {out}/trials.jsonl; chart: {out}/scale-out.html")
PY
exit "$run_failed"
