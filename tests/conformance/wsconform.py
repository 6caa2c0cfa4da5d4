"""A raw-socket WebSocket client for server conformance tests (RFC 6455, RFC 7692).

Unlike a normal client library it sends whatever it is told to: any opcode, any
RSV bits, masked or unmasked, non-minimal payload lengths, fragmented control
frames, and any split of the bytes into TCP writes. It reads with bounded
waits (socket timeouts) and never sleeps.

Only the standard library is used.
"""
import base64
import hashlib
import os
import socket
import struct
import time
import zlib

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

DEFLATE_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.1


class Timeout(Exception):
    """Nothing (or not enough) arrived within the bound."""


class PeerClosed(Exception):
    """The server closed the TCP connection (EOF or reset)."""


class HandshakeError(Exception):
    pass


# ---------------------------------------------------------------- frames


def mask_bytes(key, data):
    """XOR `data` with the 4-byte `key` (RFC 6455 §5.3)."""
    if not data:
        return b""
    n = len(data)
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None,
                length_bytes=None):
    """One frame, exactly as asked.

    rsv: 3-bit value (4 = RSV1, 2 = RSV2, 1 = RSV3).
    length_bytes: None for the minimal encoding, else 0 (7-bit), 2 (16-bit) or
    8 (64-bit) to force an encoding, minimal or not.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload)
    first = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    if length_bytes is None:
        length_bytes = 0 if n < 126 else 2 if n < 65536 else 8
    mask_bit = 0x80 if mask else 0
    if length_bytes == 0:
        if n > 125:
            raise ValueError("payload too long for a 7-bit length")
        header = struct.pack("!BB", first, mask_bit | n)
    elif length_bytes == 2:
        header = struct.pack("!BBH", first, mask_bit | 126, n)
    elif length_bytes == 8:
        header = struct.pack("!BBQ", first, mask_bit | 127, n)
    else:
        raise ValueError("length_bytes must be None, 0, 2 or 8")
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        return header + key + mask_bytes(key, payload)
    return header + payload


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "masked", "payload")

    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = fin, rsv, opcode, masked, payload

    @property
    def close_code(self):
        """The status code of a close frame; None when it has no payload."""
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self):
        return self.payload[2:]

    def __repr__(self):
        shown = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return "Frame(fin=%d rsv=%d op=%#x masked=%d len=%d %r)" % (
            self.fin, self.rsv, self.opcode, self.masked, len(self.payload), shown)


# ---------------------------------------------------------------- deflate (RFC 7692)


def parse_extensions(header_values):
    """Sec-WebSocket-Extensions values -> [(name, [(param, value-or-None), ...]), ...].

    Parameters keep their order and duplicates so that a caller can check them.
    """
    result = []
    for value in header_values:
        for element in value.split(","):
            parts = [p.strip() for p in element.split(";")]
            if not parts[0]:
                continue
            params = []
            for p in parts[1:]:
                if "=" in p:
                    k, v = p.split("=", 1)
                    v = v.strip()
                    if len(v) >= 2 and v[0] == v[-1] == '"':
                        v = v[1:-1]
                    params.append((k.strip().lower(), v))
                else:
                    params.append((p.lower(), None))
            result.append((parts[0].lower(), params))
    return result


class Deflate:
    """permessage-deflate state for one connection, from the negotiated response."""

    def __init__(self, params):
        p = dict(params)
        self.server_no_context_takeover = "server_no_context_takeover" in p
        self.client_no_context_takeover = "client_no_context_takeover" in p
        self.server_max_window_bits = int(p.get("server_max_window_bits") or 15)
        cmwb = p.get("client_max_window_bits")
        self.client_max_window_bits = int(cmwb) if cmwb else 15
        self._compressor = None
        self._decompressor = None

    def _zlib_bits(self, bits):
        # zlib cannot make a raw deflate stream with an 8-bit window and uses
        # 9; its streams never reach further back than 2^bits - 262 bytes, so
        # they are valid for a 256-byte window too.
        return -max(bits, 9)

    def compress(self, data):
        """One message's payload, compressed, without the 00 00 ff ff tail."""
        if self._compressor is None or self.client_no_context_takeover:
            self._compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED,
                                                self._zlib_bits(self.client_max_window_bits))
        out = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(DEFLATE_TAIL)
        return out[:-4]

    def decompress(self, data, max_size=64 << 20):
        """Decompress one message from the server, honouring the negotiated
        server window and context takeover. Raises zlib.error on bad data."""
        if self._decompressor is None or self.server_no_context_takeover:
            # The server promised a window of 2^server_max_window_bits: a
            # stream reaching further back fails to inflate ("too far back").
            self._decompressor = zlib.decompressobj(-self.server_max_window_bits)
        out = self._decompressor.decompress(data + DEFLATE_TAIL, max_size)
        if self._decompressor.unconsumed_tail:
            raise zlib.error("decompressed message larger than %d bytes" % max_size)
        return out


# ---------------------------------------------------------------- connection


class Connection:
    """One client connection. `extensions` is the Sec-WebSocket-Extensions
    offer (a string) or None."""

    def __init__(self, host, port, path="/", extensions=None, timeout=5.0, extra_headers=()):
        self.host, self.port = host, port
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()
        self._partial = []
        self.deflate = None
        self.response_status = None
        self.response_headers = []
        self._handshake(path, extensions, extra_headers)

    # ---- handshake (RFC 6455 §4.1, §4.2.2)

    def _handshake(self, path, extensions, extra_headers):
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET %s HTTP/1.1" % path,
            "Host: %s:%d" % (self.host, self.port),
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: %s" % key,
            "Sec-WebSocket-Version: 13",
        ]
        if extensions is not None:
            lines.append("Sec-WebSocket-Extensions: %s" % extensions)
        lines.extend(extra_headers)
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())

        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > 65536:
                raise HandshakeError("response head too long")
            self._fill(deadline)
        end = self.buffer.index(b"\r\n\r\n")
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[:end + 4]
        status_line, *header_lines = head.split("\r\n")
        self.response_status = status_line
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or parts[1] != "101":
            raise HandshakeError("expected 101, got %r" % status_line)
        for line in header_lines:
            name, _, value = line.partition(":")
            self.response_headers.append((name.strip().lower(), value.strip()))

        def tokens(name):
            return [t.strip().lower() for v in self.headers(name) for t in v.split(",")]

        if "websocket" not in tokens("upgrade"):
            raise HandshakeError("no Upgrade: websocket: %r" % head)
        if "upgrade" not in tokens("connection"):
            raise HandshakeError("no Connection: Upgrade: %r" % head)
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        accept = self.headers("sec-websocket-accept")
        if accept != [expected]:
            raise HandshakeError("Sec-WebSocket-Accept %r, expected %r" % (accept, expected))
        self.extensions = parse_extensions(self.headers("sec-websocket-extensions"))

    def headers(self, name):
        return [v for n, v in self.response_headers if n == name.lower()]

    def enable_deflate(self, params):
        self.deflate = Deflate(params)

    # ---- writing

    def send_raw(self, data, chunk=None):
        """Write `data`; with `chunk`, as separate writes of at most that many
        bytes each (TCP_NODELAY is on, so each usually is its own segment)."""
        if chunk is None:
            self.sock.sendall(data)
            return
        view = memoryview(data)
        for i in range(0, len(view), chunk):
            self.sock.sendall(view[i:i + chunk])

    def send_frame(self, opcode, payload=b"", chunk=None, **kw):
        self.send_raw(build_frame(opcode, payload, **kw), chunk=chunk)

    def send_message(self, opcode, payload, compress=None, fragment_size=None, chunk=None):
        """A data message, compressed when deflate is on (unless compress=False),
        optionally split into frames of `fragment_size` payload bytes."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        rsv = 0
        if compress is None:
            compress = self.deflate is not None
        if compress:
            payload = self.deflate.compress(payload)
            rsv = 4
        if fragment_size is None or fragment_size >= len(payload):
            pieces = [payload]
        else:
            pieces = [payload[i:i + fragment_size] for i in range(0, len(payload), fragment_size)]
        data = b"".join(
            build_frame(opcode if i == 0 else OP_CONT, piece, fin=(i == len(pieces) - 1),
                        rsv=rsv if i == 0 else 0)
            for i, piece in enumerate(pieces))
        self.send_raw(data, chunk=chunk)

    def send_close(self, code=None, reason=b"", **kw):
        self.send_frame(OP_CLOSE, close_payload(code, reason), **kw)

    # ---- reading

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("waited %.1fs; have %d bytes" % (self.timeout, len(self.buffer)))
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise Timeout("waited; have %d bytes" % len(self.buffer)) from None
        except (ConnectionResetError, BrokenPipeError) as e:
            raise PeerClosed("reset: %s" % e) from None
        if not data:
            raise PeerClosed("EOF with %d bytes unparsed" % len(self.buffer))
        self.buffer += data

    def _need(self, n, deadline):
        while len(self.buffer) < n:
            self._fill(deadline)

    def recv_frame(self, timeout=None):
        """The next frame, waiting at most `timeout` seconds (default: the
        connection's)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._need(2, deadline)
        b0, b1 = self.buffer[0], self.buffer[1]
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            self._need(4, deadline)
            n = struct.unpack_from("!H", self.buffer, 2)[0]
            pos = 4
        elif n == 127:
            self._need(10, deadline)
            n = struct.unpack_from("!Q", self.buffer, 2)[0]
            pos = 10
        masked = bool(b1 & 0x80)
        key = None
        if masked:
            self._need(pos + 4, deadline)
            key = bytes(self.buffer[pos:pos + 4])
            pos += 4
        self._need(pos + n, deadline)
        payload = bytes(self.buffer[pos:pos + n])
        del self.buffer[:pos + n]
        if masked:
            payload = mask_bytes(key, payload)
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, payload)

    def recv_message(self, timeout=None, decompress=True):
        """The next data message as (opcode, payload, frames), or a control
        frame as (opcode, payload, [frame]). Fragments are joined; a compressed
        message (RSV1 on its first frame) is decompressed when deflate is on."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        frames = self._partial  # fragments read before an interleaved control frame
        while True:
            frame = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if frame.opcode >= 8:
                return frame.opcode, frame.payload, [frame]
            frames.append(frame)
            if frame.fin:
                break
        self._partial = []
        payload = b"".join(f.payload for f in frames)
        if decompress and self.deflate is not None and frames[0].rsv & 4:
            payload = self.deflate.decompress(payload)
        return frames[0].opcode, payload, frames

    def expect_eof(self, timeout=None):
        """Wait for the server to close the TCP connection; any bytes that
        arrive first are returned (they should be none)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        extra = bytes(self.buffer)
        self.buffer.clear()
        while True:
            try:
                self._fill(deadline)
            except PeerClosed:
                return extra + bytes(self.buffer)
            extra += bytes(self.buffer)
            self.buffer.clear()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
