# CPU caps for the processes of a loopback cluster, as a pod's CPU limit caps a container:
# one cgroup per process (and the children it forks), with a CFS quota, and its CPU time and
# throttled time read back. Sourced by loadtest/cluster.sh and loadtest/scale-out.sh.
#
# cgroup v1 (a writable `cpu` controller at /sys/fs/cgroup/cpu, `cpuacct` beside it) or cgroup
# v2 (`cpu` in /sys/fs/cgroup/cgroup.controllers); root is needed to write either.
#   cg_available                 → exit 0 when one of them can be used here
#   cg_create NAME CORES PERIOD  → a group capped at CORES of a core (e.g. 0.1; "none": counted, not
#                                  capped), CFS period in µs
#   cg_enter NAME                → moves the calling (sub)shell into the group: `(cg_enter g; exec cmd)`
#   cg_read NAME                 → "usage_ns throttled_ns" so far
#   cg_remove_all PREFIX         → removes the groups named PREFIX* (their processes must be gone)

cg_v1_cpu=/sys/fs/cgroup/cpu cg_v1_acct=/sys/fs/cgroup/cpuacct cg_v2=/sys/fs/cgroup

cg_version() {
    if [[ -f $cg_v1_cpu/cpu.cfs_quota_us && -w $cg_v1_cpu/cgroup.procs ]]; then
        echo 1
    elif [[ -f $cg_v2/cgroup.controllers ]] && grep -qw cpu "$cg_v2/cgroup.controllers" && [[ -w $cg_v2/cgroup.subtree_control ]]; then
        echo 2
    else
        echo 0
    fi
}

# Usable only if a capped group can really be made here (a container's cgroup namespace may
# show writable files and still refuse the controller).
cg_available() {
    [[ $(cg_version) != 0 ]] || return 1
    local probe="tm-probe-$$"
    if (cg_create "$probe" 0.5 100000) 2>/dev/null; then cg_remove_all "$probe"; return 0; fi
    cg_remove_all "$probe"
    return 1
}

cg_create() { # name, cores, period µs
    local name=$1 cores=$2 period=$3 quota
    if [[ $cores == none ]]; then quota=-1; else quota=$(python3 -c "print(max(1000, round($cores * $period)))"); fi
    local existing
    for existing in "$cg_v1_cpu/$name/cgroup.procs" "$cg_v2/$name/cgroup.procs"; do
        if [[ -s $existing ]]; then
            echo "cgroup $name still holds processes ($(tr '\n' ' ' < "$existing")): stop them first" >&2
            return 1
        fi
    done
    case $(cg_version) in
        1)
            mkdir -p "$cg_v1_cpu/$name"
            echo "$period" > "$cg_v1_cpu/$name/cpu.cfs_period_us"
            echo "$quota" > "$cg_v1_cpu/$name/cpu.cfs_quota_us"
            [[ -d $cg_v1_acct ]] && mkdir -p "$cg_v1_acct/$name"
            ;;
        2)
            grep -qw cpu "$cg_v2/cgroup.subtree_control" || echo +cpu > "$cg_v2/cgroup.subtree_control"
            mkdir -p "$cg_v2/$name"
            echo "${quota/#-1/max} $period" > "$cg_v2/$name/cpu.max"
            ;;
        *) echo "no writable cpu cgroup controller (cgroup v1 /sys/fs/cgroup/cpu or v2 cpu.max; needs root)" >&2; return 1 ;;
    esac
}

cg_enter() { # name: moves the calling (sub)shell into the group; what it execs stays there
    local name=$1
    case $(cg_version) in
        1)
            echo "$BASHPID" > "$cg_v1_cpu/$name/cgroup.procs"
            [[ -d $cg_v1_acct/$name ]] && echo "$BASHPID" > "$cg_v1_acct/$name/cgroup.procs"
            ;;
        2) echo "$BASHPID" > "$cg_v2/$name/cgroup.procs" ;;
    esac
}

cg_read() { # name → usage_ns throttled_ns
    local name=$1
    case $(cg_version) in
        1)
            local usage=0
            [[ -f $cg_v1_acct/$name/cpuacct.usage ]] && usage=$(cat "$cg_v1_acct/$name/cpuacct.usage")
            echo "$usage $(awk '$1 == "throttled_time" { print $2 }' "$cg_v1_cpu/$name/cpu.stat")"
            ;;
        2)
            awk '$1 == "usage_usec" { u = $2 } $1 == "throttled_usec" { t = $2 } END { printf "%d %d\n", u * 1000, t * 1000 }' "$cg_v2/$name/cpu.stat"
            ;;
    esac
}

cg_remove_all() { # prefix
    local prefix=$1 root
    for root in "$cg_v1_cpu" "$cg_v1_acct" "$cg_v2"; do
        for group in "$root/$prefix"*; do
            [[ -d $group ]] && rmdir "$group" 2>/dev/null || true
        done
    done
}
