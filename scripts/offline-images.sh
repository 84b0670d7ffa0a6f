#!/usr/bin/env bash
# Builds the console's image with podman on a machine that reaches Debian's package mirror but
# no container registry (the project's build machines): the public base images the Dockerfile
# and the compose files name are made here first, under the same names, from Debian packages
# (debootstrap) and the local Swift toolchain, then `podman build -f deploy/Dockerfile` runs
# unchanged, with the local Swift package mirror mounted for `swift build`.
#
# usage: scripts/offline-images.sh [--tag localhost/threatmapper-console:latest]
# Stand-ins made (only when missing): docker.io/library/debian:bookworm-slim,
# docker.io/library/swift:6.3.1-bookworm (toolchain from /opt/swift),
# docker.io/library/postgres:15-bookworm and docker.io/library/haproxy:2.8-bookworm (enough of
# the official images' behaviour for deploy/compose: POSTGRES_* first-start variables; haproxy
# reading /usr/local/etc/haproxy/haproxy.cfg).
#
# Podman in the project's sandbox needed /etc/containers/containers.conf to say
#   [containers]
#   default_ulimits = ["nofile=16384:16384", "nproc=32768:32768"]   # below the sandbox's own limits
#   [engine]
#   runtime = "runc"                                                # crun refuses hybrid cgroups
# (Debian packages: podman buildah runc debootstrap.)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=localhost/threatmapper-console:latest
[[ ${1:-} == --tag ]] && tag=$2
mirror=${SWIFT_PACKAGE_MIRROR:-/opt/swift-packages}
toolchain=${SWIFT_TOOLCHAIN:-/opt/swift}
work=${OFFLINE_IMAGES_WORK:-/var/tmp/console-offline-images}
mkdir -p "$work"

have() { podman image exists "$1"; }

if ! have docker.io/library/debian:bookworm-slim; then
    [[ -d $work/rootfs/usr ]] || debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian
    tar -C "$work/rootfs" -c . | podman import --change 'CMD ["bash"]' - docker.io/library/debian:bookworm-slim
fi

build() { # name, Containerfile text, podman build options…
    local name=$1 file=$2; shift 2
    have "$name" && return 0
    mkdir -p "$work/ctx"
    printf '%s\n' "$file" > "$work/ctx/Containerfile"
    podman build "$@" -t "$name" -f "$work/ctx/Containerfile" "$work/ctx"
}

# The packages the official swift image carries, and the toolchain copied in from the host.
build docker.io/library/swift:6.3.1-bookworm '
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends binutils git gnupg2 libc6-dev \
      libcurl4-openssl-dev libedit2 libgcc-12-dev libpython3-dev libsqlite3-0 libstdc++-12-dev \
      libxml2-dev libncurses-dev libz3-dev pkg-config tzdata zlib1g-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN cp -a /host-swift/usr/. /usr/ && swift --version' --volume "$toolchain:/host-swift:ro"

build docker.io/library/postgres:15-bookworm '
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 gosu \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
RUN printf "%s\n" "#!/bin/bash" "set -e" \
    "if [ \"\$(id -u)\" = 0 ]; then chown -R postgres:postgres \"\$PGDATA\"; exec gosu postgres \"\$0\" \"\$@\"; fi" \
    "if [ ! -s \"\$PGDATA/PG_VERSION\" ]; then" \
    "  echo \"\$POSTGRES_PASSWORD\" > /tmp/pw; initdb -D \"\$PGDATA\" -U \"\${POSTGRES_USER:-postgres}\" --pwfile=/tmp/pw --auth-host=scram-sha-256 --auth-local=trust; rm /tmp/pw" \
    "  echo \"host all all all scram-sha-256\" >> \"\$PGDATA/pg_hba.conf\"" \
    "  pg_ctl -D \"\$PGDATA\" -o \"-c listen_addresses=\" -w start" \
    "  [ \"\${POSTGRES_DB:-postgres}\" = postgres ] || createdb -U \"\${POSTGRES_USER:-postgres}\" \"\$POSTGRES_DB\"" \
    "  pg_ctl -D \"\$PGDATA\" -m fast -w stop" \
    "fi" \
    "exec \"\$@\" -c listen_addresses=*" > /usr/local/bin/docker-entrypoint.sh && chmod +x /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]'

build docker.io/library/haproxy:2.8-bookworm '
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends haproxy && rm -rf /var/lib/apt/lists/*
USER haproxy
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'

# The console's image, from deploy/Dockerfile as it is.
# --format docker: the OCI format has no HEALTHCHECK.
podman build --format docker --volume "$mirror:$mirror:ro" --volume /etc/gitconfig:/etc/gitconfig:ro \
    -f deploy/Dockerfile -t "$tag" .
podman image inspect "$tag" --format 'built {{.Id}} ({{.Size}} bytes)'
