#!/usr/bin/env bash
# What one fleet run made a console write: the rows PostgreSQL inserted, updated and deleted per
# table and the change log by kind and change, for one console binary and one fleet binary.
#
# usage: loadtest/rows-written.sh CONSOLE FLEET [--out /tmp/rows-written] [--port 18443]
#            [--sensors 6000] [--duration 150s] [-- fleet run options…]
#
# A fresh all-in-one on its embedded PostgreSQL (loadtest/fresh-console.sh), then
# `fleet run --sensors N --ramp 30s --duration D --mix host=0.9,busy=0.05,cluster=0.05 --beat 60`
# (options after -- are added). Once the console has stopped, its PostgreSQL is started alone
# (as the postgres user, autovacuum off, on the data directory's socket) and read:
# `pg_stat_user_tables` (tables with over 1,000 rows inserted) and
# `SELECT kind, change, count(*) FROM entity_changes`. Prints both with the fleet's steady and
# whole-run lines and its loss check to OUT/rows.txt and standard output. A fleet whose parser
# differs from the console's (another build) fails the loss check; the rows are still read.
# The data directory (several GB) is deleted at the end. Run as root (the cluster belongs to
# postgres) with nothing else running.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 2 ]] || { awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
console=$(realpath "$1") fleet=$(realpath "$2"); shift 2
out=/tmp/rows-written port=18443 sensors=6000 duration=150s extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --sensors) sensors="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "unknown argument $1 (see $0 without arguments)" >&2; exit 2 ;;
    esac
done
. loadtest/fresh-console.sh
trap stop_console EXIT
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
chmod 755 "$out"
data="$out/data"
start_console "$console" "$data" "$out/console.log" "$port"
(
    set -a
    . "$data/credentials.env"
    set +a
    "$fleet" run --url "https://127.0.0.1:$port" --sensors "$sensors" --ramp 30s --duration "$duration" \
        --mix host=0.9,busy=0.05,cluster=0.05 --beat 60 --quiet --watch-pid "$console_pid" \
        --watch-process postgres --output "$out/run" "${extra[@]}" > "$out/fleet.txt" 2>&1
) || true
stop_console

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
socket="$data/postgres-run"
server_log=$(mktemp /tmp/rows-written-pg.XXXXXX)
chmod 666 "$server_log"
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$data/postgres" -l "$server_log" \
    -o "-c listen_addresses= -c unix_socket_directories=$socket -c autovacuum=off" -w start > /dev/null
psql=(runuser -u postgres -- psql -h "$socket" -U console -d console)
{
    "${psql[@]}" -c "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables
                     WHERE n_tup_ins > 1000 ORDER BY n_tup_ins DESC" \
        -c "SELECT kind, change, count(*) FROM entity_changes GROUP BY 1, 2 ORDER BY 3 DESC"
    grep -h "^steady\|^whole\|loss check" "$out/fleet.txt" || true
} > "$out/rows.txt" 2>&1
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$data/postgres" -m fast -w stop > /dev/null
rm -f "$server_log"
rm -rf "$data"
cat "$out/rows.txt"
