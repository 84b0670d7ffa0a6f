# Sourced by the load-test scripts: one parser for their duration options.
# seconds DURATION: 90, 90s, 2m, 1m30s → seconds on standard output; anything else is an error
# (the message on standard error, exit status 2, which ends a script run with set -e when the
# substitution is an assignment of its own: in `a=$(seconds x) b=$(seconds y)` only the last counts).
seconds() {
    python3 -c "import re,sys; m=re.fullmatch(r'(?:(\d+)m)?(?:(\d+)s?)?', sys.argv[1]); assert m and sys.argv[1], sys.argv[1]; print(int(m[1] or 0) * 60 + int(m[2] or 0))" "$1" 2>/dev/null ||
        { echo "not a duration: $1 (e.g. 90s, 2m, 1m30s)" >&2; exit 2; }
}
