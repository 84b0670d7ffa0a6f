#!/usr/bin/env bash
# Starts a cluster on loopback for benchmarks and trials: throwaway PostgreSQL servers (by
# default two: the catalog and placement "a" on the first, placement "b" on the second), then
# coordinators, workers and gateways as separate `console` processes. Prints the gateway URLs and
# the keys, and writes them to <dir>/cluster.env. `loadtest/cluster.sh stop <dir>` ends everything.
#
# usage: loadtest/cluster.sh [--dir D] [--gateways 2] [--workers 3] [--coordinators 2]
#                            [--placements 2] [--catalog-apart] [--cpu-quota CORES] [--cpu-period-us 100000]
#                            [--shard-count 256] [--binary .build/release/console] [--gateway-arg ARG]…
#                            [--coordinator-arg ARG]… [-- worker options…]
#
# --placements N puts each placement (a, b, c, …) on a PostgreSQL server of its own;
# --catalog-apart gives the catalog a server of its own too (otherwise it shares placement a's).
# --cpu-quota caps every gateway, every worker and every placement's server at CORES of a core
# (e.g. 0.1), each in a CPU cgroup of its own (loadtest/cgroup.sh; needs root), as a pod's CPU
# limit does; the coordinators and a catalog kept apart get groups without a cap, so that every
# role's CPU time can be read from its group (cg_read in loadtest/cgroup.sh).
# --gateway-arg passes one argument to every gateway (repeat it: --gateway-arg --idle-timeout
# --gateway-arg 30m), --coordinator-arg one to every coordinator (the cluster's beat:
# --coordinator-arg --beat-rate --coordinator-arg 30); what follows -- goes to every worker.
set -euo pipefail
cd "$(dirname "$0")/.."
. loadtest/cgroup.sh
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
# The cgroups of the cluster in directory $1 are named tm-<its basename>-<role>.
group_prefix_of() { echo "tm-$(basename "$1")-"; }
dir=/tmp/tm-cluster gateways=2 workers=3 coordinators=2 placements=2 catalog_apart=0 shards=256
binary=.build/release/console quota="" period=100000 gateway_extra=() coordinator_extra=()
if [[ ${1:-} == stop ]]; then
    dir=${2:-$dir}
    pids=()
    for pidfile in "$dir"/*.pid; do
        [[ -f $pidfile ]] || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null && pids+=("$pid:${pidfile##*/}")
    done
    # SIGTERM drains; a role still there after 15 s is killed, and said so.
    for _ in $(seq 1 15); do
        alive=0
        for entry in "${pids[@]}"; do kill -0 "${entry%%:*}" 2>/dev/null && alive=1; done
        (( alive )) || break
        sleep 1
    done
    for entry in "${pids[@]}"; do
        if kill -0 "${entry%%:*}" 2>/dev/null; then
            # Its threads' stacks first, where gdb is there: what it waited on.
            stacks=$dir/${entry#*:}
            stacks=${stacks%.pid}.stacks
            command -v gdb >/dev/null && timeout 60 gdb -p "${entry%%:*}" -batch -ex "thread apply all bt" > "$stacks" 2>&1
            echo "${entry#*:}: process ${entry%%:*} still running 15 s after SIGTERM: killed (stacks: $stacks)" >&2
            kill -KILL "${entry%%:*}" 2>/dev/null || true
        fi
    done
    for data in "$dir"/pg*/data; do
        [[ -d $data ]] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    done
    sleep 1
    cg_remove_all "$(group_prefix_of "$dir")"
    exit 0
fi
while [[ $# -gt 0 ]]; do
    case $1 in
        --dir) dir=$2; shift 2 ;;
        --gateways) gateways=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --coordinators) coordinators=$2; shift 2 ;;
        --placements) placements=$2; shift 2 ;;
        --catalog-apart) catalog_apart=1; shift ;;
        --cpu-quota) quota=$2; shift 2 ;;
        --cpu-period-us) period=$2; shift 2 ;;
        --shard-count) shards=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --gateway-arg) gateway_extra+=("$2"); shift 2 ;;
        --coordinator-arg) coordinator_extra+=("$2"); shift 2 ;;
        --) shift; break ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
extra=("$@")
(( placements >= 1 && placements <= 26 )) || { echo "--placements must be 1 to 26" >&2; exit 2; }
scripts/setup-debian.sh
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)  # again: setup may have installed it
# A throwaway cluster: a directory left by an earlier run is stopped and removed first.
[[ -d $dir ]] && "$0" stop "$dir"
rm -rf "$dir"
mkdir -p "$dir"
group_prefix=$(group_prefix_of "$dir")
# With --cpu-quota, moves the calling subshell (and what it then execs) into the cgroup named
# after the role: capped at the quota, or only counted ("none").
enter_group() { # name, cores
    [[ -z $quota ]] && return 0
    cg_create "$group_prefix$1" "$2" "$period"
    cg_enter "$group_prefix$1"
}
[[ -z $quota ]] || cg_available || { echo "--cpu-quota: no writable cpu cgroup controller here (needs root)" >&2; exit 1; }
as_server=()
[[ $(id -u) -eq 0 ]] && as_server=(runuser -u postgres --)
url() { echo "postgres://postgres@127.0.0.1:$1/$2?sslmode=disable"; }
# Server n listens on 25430 + n; server 0 exists only with --catalog-apart.
server() { # n, group name, cores
    local n=$1 name=$2 cores=$3 port=$((25430 + $1))
    mkdir -p "$dir/pg$n"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir/pg$n"
    "${as_server[@]}" "$pgbin/initdb" -D "$dir/pg$n/data" -U postgres --auth=trust --locale=C >/dev/null
    local start=("${as_server[@]}" "$pgbin/pg_ctl" -D "$dir/pg$n/data" -l "$dir/pg$n/log" -w -o
        "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/pg$n -c max_connections=400 -c synchronous_commit=off" start)
    ( enter_group "$name" "$cores"; exec "${start[@]}" ) >/dev/null
}
placement_args=()
letters=(a b c d e f g h i j k l m n o p q r s t u v w x y z)
if (( catalog_apart )); then
    server 0 catalog none
    psql -qh 127.0.0.1 -p 25430 -U postgres -c "CREATE DATABASE catalog"
    catalog=$(url 25430 catalog)
fi
for n in $(seq 1 "$placements"); do
    letter=${letters[$((n - 1))]}
    server "$n" "placement-$letter" "$quota"
    psql -qh 127.0.0.1 -p $((25430 + n)) -U postgres -c "CREATE DATABASE p$letter"
    placement_args+=(--placement "$letter=$(url $((25430 + n)) "p$letter")")
done
if (( ! catalog_apart )); then
    psql -qh 127.0.0.1 -p 25431 -U postgres -c "CREATE DATABASE catalog"
    catalog=$(url 25431 catalog)
fi
"$binary" migrate --database-url "$catalog" --shard-count "$shards" "${placement_args[@]}" > "$dir/migrate.out"
cat "$dir/migrate.out"
start() { # name, capped (0 or 1), args…
    local name=$1 cap=$2; shift 2
    local cores=none
    (( cap )) && cores=$quota
    # The subshell enters the role's group and becomes the process, so its PID is the role's.
    ( enter_group "$name" "$cores"; exec nohup "$binary" "$@" ) > "$dir/$name.log" 2>&1 &
    echo $! > "$dir/$name.pid"
}
for i in $(seq 1 "$coordinators"); do
    start "coordinator-$i" 0 coordinator --database-url "$catalog" --id "coordinator-$i" --metrics-address "127.0.0.1:$((19500 + i))" \
        "${coordinator_extra[@]}"
done
for i in $(seq 1 "$workers"); do
    start "worker-$i" 1 worker --database-url "$catalog" --id "worker-$i" --internal-host 127.0.0.1 --internal-port $((19600 + i)) \
        --advertise-address "127.0.0.1:$((19600 + i))" --metrics-address "127.0.0.1:$((19650 + i))" "${extra[@]}"
done
urls=()
for i in $(seq 1 "$gateways"); do
    start "gateway-$i" 1 gateway --database-url "$catalog" --id "gateway-$i" --port $((19700 + i)) --advertise-host 127.0.0.1 \
        --metrics-address "127.0.0.1:$((19750 + i))" --max-connections-per-address 0 "${gateway_extra[@]}"
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
    echo "CLUSTER_PLACEMENT_PORTS=\"$(seq -s ' ' 25431 $((25430 + placements)))\""
    echo "CLUSTER_CGROUP_PREFIX=${quota:+$group_prefix}"
    sed -n 's/^Sensor API key: /DEEPFENCE_KEY=/p; s/^Admin API key:  /CONSOLE_ADMIN_KEY=/p' "$dir/migrate.out"
} > "$dir/cluster.env"
echo "ready: $ready of $((workers + gateways)) workers and gateways; gateways: ${urls[*]}"
echo "keys and URLs: $dir/cluster.env; logs: $dir/*.log; stop: loadtest/cluster.sh stop $dir"
(( ready == workers + gateways )) || { echo "not every worker and gateway became ready within 60 s: see $dir/*.log" >&2; exit 1; }
