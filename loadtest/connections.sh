#!/usr/bin/env bash
# Many sensors connected to one cluster on one machine (issue 27): a loopback cluster
# (loadtest/cluster.sh, uncapped) with G gateways and W workers, and one `fleet run` per gateway,
# each opening its share of the sensors as TLS + HTTP/2 connections to its gateway; every sensor
# logs in, polls its controls and reports at the beat the console hands out. The console cannot
# carry them at the 30 s beat on 2 cores: the run shows the beat it stretches to, what it then
# sustains, and that nothing acknowledged is lost.
#
# Why one fleet and one gateway per share: a process may hold at most the hard open-file limit
# of connections (`ulimit -Hn`; 20,000 on these machines, and raising it needs CAP_SYS_RESOURCE,
# which they do not give), so the sensors are split until each share fits under it. Each
# gateway listens on a port of its own, so each share has the whole ephemeral port range
# (ip_local_port_range) towards its gateway; the script checks that too.
#
# About every 10 s it samples each gateway's open sensor connections
# (ingest_http_connections{listener="public"}), each worker's beat rate, backlog and nodes, the
# resident memory of every process and the machine's busy time (samples.txt). At the end:
# every role's metrics (metrics/), summary.txt (connections at the peak, the beat each worker
# handed out over time, RSS per gateway, worker and fleet, the gateways' error answers by code,
# each fleet's reports and polls per second, p50/p99 and loss check), the fleets' own results
# (fleet-N.json/.html) and the cluster's logs (cluster/).
#
# usage: loadtest/connections.sh [--sensors 100000] [--gateways 6] [--workers 2] [--placements 2]
#                                [--mix small=1] [--ramp 10m] [--duration 10m] [--beat-rate 30]
#                                [--max-beat-rate 960] [--max-pending-reports 2000]
#                                [--idle-timeout 30m] [--out /tmp/connections]
# The gateways' --idle-timeout must exceed half the longest beat (sensors poll every beat / 2),
# or idle sensors are disconnected between polls; the script refuses a shorter one.
set -euo pipefail
cd "$(dirname "$0")/.."
sensors=100000 gateways=6 workers=2 placements=2 mix=small=1 ramp=10m duration=10m
beat_rate=30 max_beat=960 max_pending=2000 idle=30m out=/tmp/connections
while [[ $# -gt 0 ]]; do
    case $1 in
        --sensors) sensors=$2; shift 2 ;;
        --gateways) gateways=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --placements) placements=$2; shift 2 ;;
        --mix) mix=$2; shift 2 ;;
        --ramp) ramp=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --beat-rate) beat_rate=$2; shift 2 ;;
        --max-beat-rate) max_beat=$2; shift 2 ;;
        --max-pending-reports) max_pending=$2; shift 2 ;;
        --idle-timeout) idle=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
. loadtest/durations.sh
ramp_s=$(seconds "$ramp")
duration_s=$(seconds "$duration")
idle_s=$(seconds "$idle")
(( gateways >= 1 && workers >= 1 && sensors >= gateways )) || { echo "--gateways and --workers at least 1, --sensors at least --gateways" >&2; exit 2; }
(( idle_s > max_beat / 2 )) || { echo "--idle-timeout ($idle_s s) must exceed half --max-beat-rate ($max_beat s): sensors poll every beat / 2" >&2; exit 2; }
share=$(( (sensors + gateways - 1) / gateways ))
limit=$(ulimit -Hn)
# A fleet and a gateway each hold one descriptor per sensor, and a few hundred of their own.
if (( share + 500 > limit )); then
    echo "$share connections per gateway and per fleet do not fit under the hard open-file limit ($limit):" \
        "use --gateways $(( (sensors + limit - 501) / (limit - 500) )) or more" >&2
    exit 2
fi
read -r port_low port_high < /proc/sys/net/ipv4/ip_local_port_range
(( share < port_high - port_low )) || { echo "$share connections to one gateway exceed the ephemeral port range ($port_low-$port_high): use more --gateways" >&2; exit 2; }
for binary in .build/release/console .build/release/fleet; do
    [[ -x $binary ]] || { echo "$binary is missing: swift build -c release --product ${binary##*/}" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"
cluster=$out/cluster
cleanup() {
    [[ -n ${sampler:-} ]] && kill "$sampler" 2>/dev/null
    loadtest/cluster.sh stop "$cluster" || true
}
trap cleanup EXIT
loadtest/cluster.sh --dir "$cluster" --gateways "$gateways" --workers "$workers" --coordinators 1 \
    --placements "$placements" --gateway-arg --idle-timeout --gateway-arg "$idle" \
    --coordinator-arg --beat-rate --coordinator-arg "$beat_rate" --coordinator-arg --max-beat-rate --coordinator-arg "$max_beat" -- \
    --beat-rate "$beat_rate" --max-beat-rate "$max_beat" --max-pending-reports "$max_pending" > "$out/cluster.out"
set -a
. "$cluster/cluster.env"
set +a
read -ra urls <<< "$CLUSTER_URLS"

# One line per 10 s: the elapsed time, then role=value pairs.
metric() { # port, series (name{labels} as exported): its value
    curl -sf "http://127.0.0.1:$1/metrics" | awk -v series="$2" '$1 == series { sum += $2 } END { printf "%d", sum }'
}
rss_mb() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
sample() {
    local started=$SECONDS
    while true; do
        local line="t=$((SECONDS - started))"
        for i in $(seq 1 "$gateways"); do
            line+=" gateway-$i.connections=$(metric $((19750 + i)) 'ingest_http_connections{listener="public"}')"
            line+=" gateway-$i.rss=$(rss_mb "$(cat "$cluster/gateway-$i.pid")")"
            line+=" gateway-$i.beat=$(metric $((19750 + i)) ingest_gateway_beat_rate)"
        done
        line+=" coordinator.beat=$(metric 19501 ingest_coordinator_beat_rate)"
        for i in $(seq 1 "$workers"); do
            local port=$((19650 + i))
            line+=" worker-$i.beat=$(metric $port ingest_worker_beat_rate) worker-$i.backlog=$(metric $port ingest_worker_backlog)"
            line+=" worker-$i.nodes=$(metric $port ingest_worker_nodes) worker-$i.committed=$(metric $port ingest_worker_reports_committed)"
            line+=" worker-$i.rss=$(rss_mb "$(cat "$cluster/worker-$i.pid")")"
        done
        for i in $(seq 1 "$gateways"); do
            [[ -f $out/fleet-$i.pid ]] && line+=" fleet-$i.rss=$(rss_mb "$(cat "$out/fleet-$i.pid")")"
        done
        line+=" machine.busy=$(awk '/^cpu / { print $2 + $3 + $4 + $6 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat | tr ' ' '/')"
        echo "$line" >> "$out/samples.txt"
        sleep 10
    done
}
sample &
sampler=$!

remaining=$sensors
for i in $(seq 1 "$gateways"); do
    n=$(( remaining < share ? remaining : share ))
    remaining=$(( remaining - n ))
    .build/release/fleet run --url "${urls[$((i - 1))]}" --sensors "$n" --mix "$mix" --ramp "$ramp" \
        --duration "$duration" --seed "$i" --name-prefix "conn$i" --output "$out/fleet-$i" \
        > "$out/fleet-$i.out" 2> "$out/fleet-$i.err" &
    echo $! > "$out/fleet-$i.pid"
done
echo "$sensors sensors in $gateways fleets of up to $share, ramp ${ramp_s} s, held ${duration_s} s; samples: $out/samples.txt"
status=0
for i in $(seq 1 "$gateways"); do
    wait "$(cat "$out/fleet-$i.pid")" || { echo "fleet $i failed (exit $?): $out/fleet-$i.out" >&2; status=1; }
done
kill "$sampler" 2>/dev/null || true
sampler=""
# Every role's metrics as the run left them (the summary reads the gateways' refusals from them).
mkdir -p "$out/metrics"
for i in $(seq 1 "$gateways"); do curl -sf "http://127.0.0.1:$((19750 + i))/metrics" > "$out/metrics/gateway-$i.txt" || true; done
for i in $(seq 1 "$workers"); do curl -sf "http://127.0.0.1:$((19650 + i))/metrics" > "$out/metrics/worker-$i.txt" || true; done

python3 - "$out" "$gateways" "$workers" "$sensors" "$ramp_s" "$duration_s" <<'EOF' | tee "$out/summary.txt"
import json, sys
out, gateways, workers, sensors, ramp, duration = sys.argv[1], *map(int, sys.argv[2:])
samples = []
for line in open(f"{out}/samples.txt"):
    sample = dict(part.split("=", 1) for part in line.split())
    samples.append(sample)
def num(sample, key):
    try: return float(sample.get(key, "0").split("/")[0])
    except ValueError: return 0.0
connections = [sum(num(s, f"gateway-{i}.connections") for i in range(1, gateways + 1)) for s in samples]
print(f"{sensors} sensors, {gateways} gateways, {workers} workers; ramp {ramp} s, held {duration} s")
print(f"open sensor connections (sum over gateways, sampled every 10 s): peak {max(connections):.0f}")
roles = ["coordinator"] + [f"worker-{i}" for i in range(1, workers + 1)] + [f"gateway-{i}" for i in range(1, gateways + 1)]
beats = {name: [num(s, f"{name}.beat") for s in samples] for name in roles}
print("beat rate, s (the cluster's as the coordinator decided it, each worker's own, the cluster's as each gateway "
      "heard it, 0: not raised; sampled every 10 s): " + "; ".join(
    f"{name} last {values[-1]:.0f}, highest {max(values):.0f}" for name, values in beats.items()))
trail = " ".join(f"{s['t']}s:" + "/".join(f"{num(s, f'{name}.beat'):.0f}" for name in roles) for s in samples[::6])
print(f"  over time (every minute; coordinator, workers, then gateways): {trail}")
backlog = [sum(num(s, f"worker-{i}.backlog") for i in range(1, workers + 1)) for s in samples]
print(f"backlog (reports accepted, not committed; summed): highest {max(backlog):.0f}, last {backlog[-1]:.0f}")
nodes = sum(num(samples[-1], f"worker-{i}.nodes") for i in range(1, workers + 1))
print(f"nodes held by the workers at the end: {nodes:.0f}")
def mb(role, count):
    peaks = [max(num(s, f"{role}-{i}.rss") for s in samples) for i in range(1, count + 1)]
    return f"{role} peak RSS MB: " + ", ".join(f"{p:.0f}" for p in peaks) + f" (sum {sum(peaks):.0f})"
print(mb("gateway", gateways)); print(mb("worker", workers)); print(mb("fleet", gateways))
peak = max(range(len(samples)), key=lambda k: connections[k])
if connections[peak]:
    per = sum(num(samples[peak], f"gateway-{i}.rss") for i in range(1, gateways + 1)) / connections[peak] * 1024
    print(f"gateway RSS per connection at the peak: {per:.0f} KiB")
refusals = {}
for i in range(1, gateways + 1):
    try: lines = open(f"{out}/metrics/gateway-{i}.txt").read().splitlines()
    except OSError: continue
    for line in lines:
        if line.startswith("ingest_gateway_errors{code=") and not line.endswith(" 0"):
            code = line.split('"')[1]
            refusals.setdefault(code, []).append(f"{float(line.split()[-1]):.0f}")
print("gateway error answers by code (each gateway with any): " + ("; ".join(f"{code} {', '.join(v)}" for code, v in sorted(refusals.items())) or "none"))
totals = {"reports": 0.0, "polls": 0.0, "sensors": 0}
passed = True
print("per fleet, steady window: sensors, reports/s, polls/s, report p50/p99 ms, poll p50/p99 ms, non-2xx, fleet CPU ms per report; loss check")
for i in range(1, gateways + 1):
    try:
        result = json.load(open(f"{out}/fleet-{i}.json"))
    except (OSError, ValueError):
        print(f"  fleet {i}: no result"); passed = False; continue
    window = result.get("steady") or result["overall"]
    ms = lambda summary, key: f"{summary[key] / 1000:.0f}" if summary else "-"
    loss = result.get("lossCheck") or {}
    ok = not result.get("failures")
    passed &= ok
    totals["reports"] += window["reportsPerSecond"]; totals["polls"] += window["pollsPerSecond"]; totals["sensors"] += window["sensors"]
    cpu = (window.get("cpu") or {}).get("fleetMillisPerReport")
    print(f"  fleet {i} [{window['from']}-{window['to']} s]: {window['sensors']}, {window['reportsPerSecond']:.1f}, {window['pollsPerSecond']:.1f}, "
          f"{ms(window.get('report'), 'p50')}/{ms(window.get('report'), 'p99')}, {ms(window.get('poll'), 'p50')}/{ms(window.get('poll'), 'p99')}, "
          f"{window['nonSuccess']}, {cpu if cpu is None else round(cpu, 2)}; loss check {'passed' if loss and not loss.get('mismatches') else 'FAILED'} "
          f"({loss.get('sensorsChecked', 0)} checked, {loss.get('missingNodes', 0)} missing)" + ("" if ok else f"; failures: {result['failures']}"))
beat = totals["sensors"] / totals["reports"] if totals["reports"] else float("inf")
print(f"all fleets, steady: {totals['sensors']} sensors, {totals['reports']:.1f} reports/s, {totals['polls']:.1f} polls/s "
      f"(one report per sensor every {beat:.0f} s)")
print("result: " + ("passed (every fleet's loss check)" if passed else "FAILED"))
EOF
exit $status
