#!/usr/bin/env bash
# Builds the console (release) and runs `console all-in-one` on its embedded PostgreSQL,
# installing the Debian packages it needs first. Arguments go to `console all-in-one`
# (for example --port 8443 or --data-dir /var/lib/console); `--help` lists them all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
swift build -c release --product console >&2
exec .build/release/console all-in-one "$@"
