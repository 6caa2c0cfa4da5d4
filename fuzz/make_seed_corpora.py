#!/usr/bin/env python3
"""Writes the hand-made seed corpora into fuzz/corpora/<target>/.

Each seed is data followed by the parameter bytes the harness reads from the
input's end (see fuzz_input.hpp and connection_oracles.hpp: the LAST byte is
read first). Run it again after changing a harness's parameter layout.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(opcode, payload=b"", fin=True, rsv1=False, mask=None):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n <= 0xFFFF:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += mask
    return head + payload


def config_tail(deflate=False, auto_pong=True, frame_bits=24, message_bits=24):
    """Parameter bytes of config_from(), in file order (read back to front)."""
    tail = []
    if deflate:
        # read order: server_nct, client_nct, server_bits, client_bits, threshold
        tail = [0, 15 - 8, 15 - 8, 0, 0] + tail  # threshold, cbits, sbits, cnct, snct
    return bytes(tail + [1 if deflate else 0, 1 if auto_pong else 0, message_bits,
                         frame_bits])


def write(target, name, data):
    folder = os.path.join(HERE, "corpora", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


HELLO_DEFLATED = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])  # RFC 7692 §7.2.3.1


def frame_seeds(target, mask):
    def tail(**kw):
        # frame_fuzz reads: config, then chunk seed, then eof flag.
        return bytes([0, 7]) + config_tail(**kw)

    seeds = {
        "hello": frame(1, b"Hello", mask=mask),
        "fragmented_with_ping": frame(1, b"Hel", fin=False, mask=mask) + frame(9, b"x", mask=mask)
        + frame(0, b"lo", mask=mask),
        "binary_256": frame(2, bytes(range(256)), mask=mask),
        "binary_64k": frame(2, b"\x00" * 65536, mask=mask),
        "utf8_multibyte": frame(1, "κόσμε €𝄞".encode(), mask=mask),
        "close_1000": frame(8, struct.pack(">H", 1000) + b"bye", mask=mask),
        "close_empty": frame(8, mask=mask),
        "pong": frame(10, b"p", mask=mask),
        "bad_opcode": frame(3, mask=mask),
        "bad_utf8": frame(1, b"\xce\xba\xe1", mask=mask),
    }
    for name, data in seeds.items():
        write(target, name, data + tail())
    write(target, "deflate_hello", frame(1, HELLO_DEFLATED, rsv1=True, mask=mask) + tail(deflate=True))
    write(target, "deflate_fragmented", frame(1, HELLO_DEFLATED[:3], fin=False, rsv1=True, mask=mask)
          + frame(0, HELLO_DEFLATED[3:], mask=mask) + tail(deflate=True))


def connection_seeds():
    # ops: 0 feed n+1 bytes, 1 text, 2 binary (n*4), 3 ping/pong, 4 fragment,
    # 5 close, 6 write n*16, 7 eof.  Each op byte is followed by n.
    def op(code, n, data=b""):
        return bytes([code, n]) + data

    hello_in = frame(1, b"Hello", mask=MASK)
    script = (op(1, 5, b"hello") + op(2, 1, b"\x00\x01\x02\x03") + op(3, 4 | 0, b"ping")
              + op(0, len(hello_in) - 1, hello_in) + op(4, 0x82, b"\x02ab")
              + op(6, 2) + op(5, 0x03, b"\xe8\x03bye") + op(7, 0))
    # Parameter tail: config (read last first) then role (read first).
    write("connection", "server_script", script + config_tail() + bytes([1]))
    unmasked = frame(1, b"Hi") + frame(9, b"p") + frame(8, struct.pack(">H", 1001))
    client_script = op(0, len(unmasked) - 1, unmasked) + op(1, 2, b"ok") + op(6, 255) + op(7, 0)
    write("connection", "client_script", client_script + config_tail() + bytes([0]))
    write("connection", "server_deflate", op(1, 100, b"a" * 100) + op(0, 12, frame(
        1, HELLO_DEFLATED, rsv1=True, mask=MASK)) + config_tail(deflate=True) + bytes([1]))


def inflate_seeds():
    def tail(limit_bits=16):
        # read order: snct, cnct, sbits, cbits, role, limit bits, chunk seed
        return bytes([5, limit_bits, 1, 7, 7, 0, 0])

    write("inflate", "rfc7692_hello", HELLO_DEFLATED + tail())
    write("inflate", "stored_block", bytes([0x00, 0x05, 0x00, 0xFA, 0xFF]) + b"Hello" + tail())
    write("inflate", "two_blocks", bytes([0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA,
                                          0xC9, 0xC9, 0x07, 0x00]) + tail())
    write("inflate", "plain_text", b"The quick brown fox jumps over the lazy dog" + tail(4))




def server_handshake_seeds():
    import base64
    tail = bytes([7, 99, 0xF0, 0x3F, 0xF0, 0x1F])  # generous limits, see the harness
    key = base64.b64encode(b"the sample nonce").decode()
    base = ("GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
            "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n" % key)
    write("server_handshake", "rfc_request", (base + "\r\n").encode() + tail)
    write("server_handshake", "with_protocols_and_extensions", (
        base + "Origin: https://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; a=\"b c\"\r\n"
        "\r\n").encode() + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" + tail)
    write("server_handshake", "plain_get", b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n" + tail)
    write("server_handshake", "bad_version", (base.replace("Version: 13", "Version: 8") + "\r\n").encode() + tail)
    write("server_handshake", "post", (base.replace("GET", "POST") + "\r\n").encode() + tail)


def client_handshake_seeds():
    import base64
    import hashlib
    nonce = bytes(range(16))
    offer = 0b1011  # chat, superchat, deflate
    tail = bytes([7]) + bytes(reversed(nonce)) + bytes([offer, 1, 0x90, 0x1F])
    key = base64.b64encode(nonce).decode()
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    ok = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: %s\r\n" % accept)
    write("client_handshake", "accepted", (ok + "\r\n").encode() + tail)
    write("client_handshake", "accepted_with_choices", (
        ok + "Sec-WebSocket-Protocol: superchat\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"
    ).encode() + b"\x81\x02hi" + tail)
    write("client_handshake", "refused_503", b"HTTP/1.1 503 Service Unavailable\r\n"
          b"Content-Length: 4\r\n\r\nbusy" + tail)
    write("client_handshake", "wrong_accept", (ok.replace(accept[:4], "AAAA") + "\r\n").encode() + tail)


if __name__ == "__main__":
    frame_seeds("frame_server", MASK)
    frame_seeds("frame_client", None)
    connection_seeds()
    inflate_seeds()
    server_handshake_seeds()
    client_handshake_seeds()
