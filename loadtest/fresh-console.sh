# Sourced by loadtest/ab.sh and loadtest/idle-cost.sh: a fresh all-in-one console per run.
#
# start_console BINARY DATA LOG PORT [console options…]: starts BINARY all-in-one on a new data
# directory DATA (its embedded PostgreSQL; deleted first), logging to LOG, listening on PORT with
# no per-address connection limit; returns once it answers /deepfence/ping and has written
# DATA/credentials.env; exits the script if the console dies first or does not answer within
# 120 s. Sets $console_pid.
# stop_console: SIGTERM, up to 60 s, then SIGKILL. The sourcing script traps it on EXIT.
console_pid=""

start_console() {
    local binary=$1 data=$2 log=$3 port=$4
    shift 4
    rm -rf "$data"
    mkdir -p "$data"
    "$binary" all-in-one --port "$port" --data-dir "$data" --log-level warning --max-connections-per-address 0 "$@" > "$log" 2>&1 &
    console_pid=$!
    for _ in $(seq 1 120); do
        [[ -s "$data/credentials.env" ]] && curl -skf "https://127.0.0.1:$port/deepfence/ping" > /dev/null && return 0
        kill -0 "$console_pid" 2>/dev/null || { echo "console $binary exited; see $log" >&2; exit 1; }
        sleep 1
    done
    echo "console $binary did not answer within 120 s; see $log" >&2
    exit 1
}

stop_console() {
    [[ -n "$console_pid" ]] || return 0
    kill -TERM "$console_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$console_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$console_pid" 2>/dev/null || true
    wait "$console_pid" 2>/dev/null || true
    console_pid=""
}
