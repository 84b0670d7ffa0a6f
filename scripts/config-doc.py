#!/usr/bin/env python3
"""Writes docs/configuration.md from `console <command> --help` of every serving and operator
command, so the table cannot drift.

usage: scripts/config-doc.py [path/to/console]   (default: the debug build)
"""
import re, subprocess, sys

binary = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/console"
commands = ["all-in-one", "gateway", "worker", "coordinator", "migrate", "status"]

def options(command):
    text = subprocess.run([binary, command, "--help"], capture_output=True, text=True, check=True).stdout
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
    special = {"--database-url": "databaseURL", "--worker-id": "workerID"}
    if flag in special:
        return special[flag]
    first, *rest = flag[2:].split("-")
    return first + "".join(part.capitalize() for part in rest)

def environment(name):
    # swift-configuration's mapping: camelCase boundaries become underscores, then upper case.
    return "CONSOLE_" + re.sub(r"([a-z])([A-Z])", r"\1_\2", name).upper()

def commands_of(flag):
    names = where[flag]
    return "all" if len(names) == len(commands) else ", ".join(names)

rows = [f"| `{flag}` | `{environment(key(flag))}` | `{key(flag)}` | {commands_of(flag)} | {help} |"
        for flag, help in entries if flag not in ("--help", "--version")]
document = """# Configuration

Every setting of the console's commands can be given three ways; the first that has it wins:

1. the command-line option (`--beat-rate 60`),
2. an environment variable `CONSOLE_<NAME>` (`CONSOLE_BEAT_RATE=60`),
3. a JSON file named by `--config` or `CONSOLE_CONFIG` (`{"beatRate": "60"}`; numbers may be JSON numbers).

Durations are written `500ms`, `30s`, `5m`, `26h`, `7d` (a bare number is seconds); byte counts
`65536`, `64KiB`, `8MiB`, `1GiB`. Settings are validated at start; every problem found is
reported at once, naming the option. `console apikey …` takes the database options
(`--data-dir`, `--database-url`, `--postgres-bin`, `--config`, `--log-level`). The cluster
roles (`gateway`, `worker`, `coordinator`) need `--database-url`: the catalog database.
`--placement` may be repeated; in the environment, `CONSOLE_PLACEMENT` holds the list
space-separated.

This table is generated from `console <command> --help` of every command by
`scripts/config-doc.py`; the commands column says which take the option.

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
open("docs/configuration.md", "w").write(document)
print(f"docs/configuration.md: {len(rows)} options")
