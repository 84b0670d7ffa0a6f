#!/usr/bin/env bash
# Installs the Debian packages the console and its tests need, when they are missing:
# PostgreSQL (server binaries for the embedded database and the test database), libdeflate and
# zlib headers (gzip), Python 3 (the tests' hostile HTTP/2 client, scripts/h2-abuse.py, is
# standard-library Python), python3-venv (scripts/check-deploy.sh installs its linters into a
# virtual environment), curl (the tests' 500 MB SBOM upload), and chromium with chromium-driver
# (scripts/browser-test.sh drives the web console in them).
# Extra packages can be named as arguments (the benchmark scripts add nghttp2-client and nginx).
set -euo pipefail

packages=(postgresql libdeflate-dev zlib1g-dev python3 python3-venv curl chromium chromium-driver "$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing Debian packages: ${missing[*]}" >&2
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's package starts a cluster of its own; the console and the tests run their own.
if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r version name _; do
        "${sudo[@]}" pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
    done
fi
