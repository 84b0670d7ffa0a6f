#!/usr/bin/env python3
"""Splits a `perf record -g` profile of one process into the stages of the report path.

Usage:
    perf record -F 299 -g -a -o perf.data -- sleep 40      # during a fleet run's steady window
    loadtest/profile-stages.py perf.data <console pid>

Each sample counts for the stage of the innermost frame of its call chain that names one (a
memcpy inside the report parser is the parser's; a syscall under a socket write is I/O). Samples
with no such frame are "other". Percentages are of the process's samples.
"""
import collections
import re
import subprocess
import sys

STAGES = [
    ("TLS (BoringSSL)", r"BoringSSL|NIOSSL|aes_|gcm_|sha256|ChaCha|poly1305"),
    ("gunzip (libdeflate)", r"inflate|crc32|adler32|Gzip|ReportBody|libz|libdeflate|deflate_decompress"),
    ("report parse + hash", r"ReportParser|JSONScanner|XXH64|JSONText"),
    ("diff + batch build", r"ReportDiff|NodeSnapshot|BatchBuilder|MetricSample"),
    ("PostgreSQL client (PostgresNIO)", r"PostgresNIO|PSQL|Postgres[A-Z]"),
    ("HTTP/2 (NIOHTTP2, HPACK)", r"NIOHTTP2|NIOHPACK|HTTP2FrameHandler|HPACK"),
    ("gateway + worker logic", r"IngestGateway|IngestWorker|IngestAuth|Gateway|Worker"),
    ("socket I/O + event loop (NIO, syscalls)", r"NIOPosix|NIOCore|SelectableEventLoop|epoll|sock_|tcp_|Socket"),
    ("Swift concurrency + thread wake-ups", r"swift_task|swift_job|_dispatch|swift::AsyncTask|TaskGroup|swift_Concurrency|sem_post|futex"),
]


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, pid = sys.argv[1], sys.argv[2]
    script = subprocess.run(["perf", "script", "-i", data, "--pid", pid, "-F", "tid,ip,sym,dso"],
                            capture_output=True, text=True, check=True).stdout
    patterns = [(name, re.compile(pattern, re.I if name.startswith("TLS") else 0)) for name, pattern in STAGES]
    counts: collections.Counter[str] = collections.Counter()
    frames: list[str] = []

    def finish() -> None:
        if not frames:
            return
        for frame in frames:
            stage = next((name for name, pattern in patterns if pattern.search(frame)), None)
            if stage:
                counts[stage] += 1
                break
        else:
            counts["other (runtime, kernel)"] += 1
        frames.clear()

    for line in script.splitlines():
        if not line.strip() or not line[0].isspace():
            finish()
            continue
        frames.append(line.strip())
    finish()
    total = sum(counts.values())
    for stage, count in counts.most_common():
        print(f"{100 * count / total:5.1f} %  {stage}")
    print(f"{total} samples")


if __name__ == "__main__":
    main()
