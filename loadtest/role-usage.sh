#!/usr/bin/env bash
# CPU and resident memory of each process of a loopback cluster (loadtest/cluster.sh) over a
# window: reads <dir>/*.pid, samples /proc at the start and the end of the window, and prints
# one line per process (CPU as % of one core over the window, RSS at the end and the highest
# VmHWM) and the total per role; PostgreSQL's CPU too (the postmaster of <dir>/pg1, pg2 and its
# backends; their RSS is not added up: shared buffers are counted in every backend). The
# sizing table in docs/operations.md is made from its output.
#
# usage: loadtest/role-usage.sh <dir> <seconds>
set -euo pipefail
dir=${1:?usage: loadtest/role-usage.sh <dir> <seconds>}
window=${2:?usage: loadtest/role-usage.sh <dir> <seconds>}
ticks=$(getconf CLK_TCK)
declare -A start
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
for pidfile in "$dir"/*.pid; do
    pid=$(cat "$pidfile")
    [[ -d /proc/$pid ]] && start[$pidfile]=$(cpu_ticks "$pid")
done
declare -A pgstart
for data in "$dir"/pg*/data; do
    [[ -f $data/postmaster.pid ]] || continue
    postmaster=$(head -1 "$data/postmaster.pid")
    for pid in "$postmaster" $(pgrep -P "$postmaster"); do pgstart[$pid]=$(cpu_ticks "$pid"); done
done
sleep "$window"
printf '%-16s %8s %10s %10s\n' process "cpu %" "rss MB" "peak MB"
declare -A role_cpu role_rss
for pidfile in "$dir"/*.pid; do
    pid=$(cat "$pidfile")
    [[ -n ${start[$pidfile]:-} && -d /proc/$pid ]] || continue
    name=$(basename "$pidfile" .pid)
    cpu=$(( ($(cpu_ticks "$pid") - ${start[$pidfile]}) * 100 * 100 / ticks / window ))
    rss=$(awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status")
    peak=$(awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$pid/status")
    printf '%-16s %5d.%02d %10d %10d\n' "$name" $((cpu / 100)) $((cpu % 100)) "$rss" "$peak"
    role=${name%%-*}
    role_cpu[$role]=$(( ${role_cpu[$role]:-0} + cpu ))
    role_rss[$role]=$(( ${role_rss[$role]:-0} + rss ))
done
pgcpu=0
for pid in "${!pgstart[@]}"; do
    [[ -d /proc/$pid ]] && pgcpu=$(( pgcpu + ($(cpu_ticks "$pid") - ${pgstart[$pid]}) * 100 * 100 / ticks / window ))
done
printf '%-16s %5d.%02d %10s\n' "postgres (all)" $((pgcpu / 100)) $((pgcpu % 100)) "-"
for role in "${!role_cpu[@]}"; do
    printf '%-16s %5d.%02d %10d   (all %s processes)\n' "$role total" $((role_cpu[$role] / 100)) $((role_cpu[$role] % 100)) "${role_rss[$role]}" "$role"
done
