#!/usr/bin/env bash
# The web console in a real browser: Debian's chromium and chromium-driver (scripts/setup-debian.sh
# installs them) and selenium from PyPI in a virtual environment (BROWSER_TEST_VENV, default
# /tmp/console-browser-venv), against a real `console all-in-one` (tests/browser/web_console_test.py).
# Screenshots of every page go to the folder given (default /tmp/console-browser-screenshots).
# usage: scripts/browser-test.sh path/to/console [screenshot-folder]
set -euo pipefail
binary=$(realpath "${1:?usage: scripts/browser-test.sh path/to/console [screenshot-folder]}")
shots=${2:-/tmp/console-browser-screenshots}
venv=${BROWSER_TEST_VENV:-/tmp/console-browser-venv}
for tool in chromium chromedriver psql; do
    command -v "$tool" > /dev/null || { echo "$tool is missing: run scripts/setup-debian.sh" >&2; exit 1; }
done
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import selenium' 2> /dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check selenium==4.50.0
fi
cd "$(dirname "$0")/.."
"$venv/bin/python" tests/browser/web_console_test.py "$binary" "$shots"
