#!/usr/bin/env python3
"""Writes docs/configuration.md from `console <command> --help` of every serving and operator
command, so the table cannot drift. With --check it writes nothing and fails when the file
differs from what it would write (the tests and CI run it so).

usage: scripts/config-doc.py [--check] [path/to/console]   (default: the debug build)
"""
import os, re, subprocess, sys

arguments = [a for a in sys.argv[1:] if a != "--check"]
check = "--check" in sys.argv[1:]
binary = os.path.abspath(arguments[0]) if arguments else ".build/debug/console"
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
commands = ["all-in-one", "gateway", "worker", "coordinator", "migrate", "status"]

def options(command):
    text = subprocess.run([binary, *command.split(), "--help"], capture_output=True, text=True, check=True).stdout
    # The options end where the built-in ones begin.
    text = text.split("  -h, --help")[0]
    entries, current = [], None
    for line in text.split("OPTIONS:")[1].split("\n"):
        match = re.match(r"  (--[a-z0-9-]+)(?: <[^>]+>)?\s*(.*)", line)
        if match:
            if current:
                entries.append(current)
            current = [match.group(1), match.group(2).strip()]
        elif current and line.strip():
            current[1] = (current[1] + " " + line.strip()).strip()
    if current:
        entries.append(current)
    return entries

entries, where = [], {}
for command in commands:
    for flag, help in options(command):
        if flag not in where:
            entries.append([flag, help])
            where[flag] = []
        where[flag].append(command)

def key(flag):
    # The file key is the option in camelCase; a word the code spells in capitals stays so.
    special = {"--database-url": "databaseURL", "--worker-id": "workerID"}
    if flag in special:
        return special[flag]
    first, *rest = flag[2:].split("-")
    return first + "".join(part.capitalize() for part in rest)

def environment(flag):
    # Word by word from the option (SettingNames in IngestCore): --http2-reset-limit → CONSOLE_HTTP2_RESET_LIMIT.
    return "CONSOLE_" + flag[2:].replace("-", "_").upper()

def commands_of(flag):
    names = where[flag]
    return "all" if len(names) == len(commands) else ", ".join(names)

def file_key(flag):
    # The file cannot name another file.
    return "—" if flag == "--config" else f"`{key(flag)}`"

rows = [f"| `{flag}` | `{environment(flag)}` | {file_key(flag)} | {commands_of(flag)} | {help} |"
        for flag, help in entries if flag not in ("--help", "--version")]
document = """# Configuration

Every setting of the console's commands can be given three ways; the first that has it wins:

1. the command-line option (`--beat-rate 60`),
2. an environment variable `CONSOLE_<NAME>` (`CONSOLE_BEAT_RATE=60`),
3. a JSON file named by `--config` or `CONSOLE_CONFIG` (`{"beatRate": "60"}`; numbers may be JSON numbers).

Durations are written `500ms`, `30s`, `5m`, `26h`, `7d` (a bare number is seconds); byte counts
`65536`, `64KiB`, `8MiB`, `1GiB`. Settings are validated at start; every problem found is
reported at once, naming the option, and the command exits without starting.

A command takes only its own settings (the commands column below). An option it does not take
is refused by the option parser; a `CONSOLE_*` environment variable or a file key that names
none of its settings is refused too, with the nearest name it does take
(``CONSOLE_BEAT_RAET: `console worker` has no such setting (did you mean CONSOLE_BEAT_RATE?)``).
Two `CONSOLE_` names are not settings and are passed over: `CONSOLE_CONFIG` (the file) and
`CONSOLE_ADMIN_KEY` (the admin key `credentials.env` holds, which `fleet` reads), and so are the
variables Kubernetes makes for a service named `console-…` (`CONSOLE_GATEWAY_SERVICE_HOST`,
`CONSOLE_GATEWAY_PORT=tcp://…`, `CONSOLE_GATEWAY_PORT_443_TCP_PORT`; a service named `console`
would make `CONSOLE_PORT=tcp://…`, passed over with a warning; the manifests turn them all off
with `enableServiceLinks: false`).

Environment names follow the option word by word (`--http2-reset-limit` →
`CONSOLE_HTTP2_RESET_LIMIT`). Names from before that rule (`CONSOLE_HTTP2RESET_LIMIT`,
`CONSOLE_HTTP2CONTROL_FRAME_LIMIT`, `CONSOLE_HTTP2MAX_CONTINUATION_FRAMES`,
`CONSOLE_HTTP2MODE`) are still read, with a warning on standard error to rename them; the new
name wins when both are set.

Upgrading from a version before these rules: a `worker` now refuses the gateway's settings it
never used (`--key-rate-limit`, `--max-sbom-bytes`, `--upload-dir`, `--max-page-size`,
`--max-findings-per-request`, …) as options, variables or file keys, so a configuration shared
by every role must be split per role; and `all-in-one` holds its lease and member timeout to
the coordinator's rule, each longer than twice `--heartbeat-interval` (it took a lease just
over one interval before).

`console apikey …` takes the database options (`--data-dir`, `--database-url`,
`--database-password-file`, `--postgres-bin`, `--postgres-settings`, `--config`,
`--log-level`). The cluster roles (`gateway`, `worker`, `coordinator`) need `--database-url`:
the catalog database. `--placement` may be repeated; in the environment, `CONSOLE_PLACEMENT`
holds the list space-separated, and in the file it is a string or an array of strings.
`--database-password-file` also gives the password of placement URLs that have none, for every
command that opens placements (the roles, `migrate`, `status`).

This table is generated from `console <command> --help` of every command by
`scripts/config-doc.py` (the tests run it with `--check`, so it cannot drift); the commands
column says which take the option.

| option | environment | file key | commands | meaning (default) |
|---|---|---|---|---|
""" + "\n".join(rows) + """

The database URL is `postgres://user:password@host:port/database?sslmode=MODE[&sslrootcert=ca.pem]`,
or for a Unix socket `postgres://user@/database?host=/socket/directory&port=5432`. It is never
logged with its password; `--database-password-file` supplies the password of a URL that has
none (the catalog's and the placements'). `sslmode`: `disable`; `prefer` (the default) and
`require` check the server's certificate and host name like `verify-full`; `verify-ca` checks
the chain only. The chain is checked against `sslrootcert` (a PEM file) when given, else the
system's roots. Unlike libpq, `require` never accepts an unverified certificate.
"""
if check:
    if open("docs/configuration.md").read() != document:
        sys.exit("docs/configuration.md differs from the options' --help: run scripts/config-doc.py")
    print(f"docs/configuration.md matches the options ({len(rows)})")
else:
    open("docs/configuration.md", "w").write(document)
    print(f"docs/configuration.md: {len(rows)} options")
