"""WebSocket server conformance cases for `nexus-socket echo`.

The case list follows the public descriptions of the Autobahn testsuite's
server cases (sections 1-10, 12-13); the code and expectations are our own and
are "strict": each assertion is what RFC 6455 (RFC 7692 for 12-13) requires of
a server, with the section cited next to it.

Usage: test_server_cases.py PATH/TO/nexus-socket [unittest args, e.g. -k 5_6]
"""
import os
import random
import sys
import time
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from nexus_process import NexusProcess  # noqa: E402
from wsconform import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,  # noqa: E402
                       Connection, PeerClosed, Timeout, build_frame, close_payload,
                       parse_extensions)

BINARY = None
MiB = 1 << 20
BIG = 16 * MiB  # the echo tool accepts messages up to 16 MiB
WAIT = 5.0  # bound for one expected answer
BIG_WAIT = 30.0  # bound for a 16 MiB echo


class ServerCase(unittest.TestCase):
    """One echo server per test class; one connection per test."""

    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.server = NexusProcess(BINARY, "echo", *cls.server_args)

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()
        cls.server.__exit__()

    def setUp(self):
        if self.server.proc.poll() is not None:
            # A crash in an earlier case must not hide behind this one.
            type(self).server = NexusProcess(BINARY, "echo", *self.server_args)
            self.fail("the echo server had exited (status %s) before this case"
                      % self.server.proc.returncode)
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()

    def connect(self, extensions=None, timeout=WAIT):
        c = Connection("127.0.0.1", self.server.port, extensions=extensions, timeout=timeout)
        self.conns.append(c)
        return c

    # ---- expectations

    def send_tolerant(self, c, data, chunk=None):
        """Send bytes the server may refuse midway (it may fail the
        connection at the first bad byte): a reset here is not an error."""
        try:
            c.send_raw(data, chunk=chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def expect_frame(self, c, timeout=WAIT):
        try:
            frame = c.recv_frame(timeout)
        except Timeout:
            self.fail("no frame from the server within %.0fs" % timeout)
        except PeerClosed as e:
            self.fail("server closed the TCP connection while a frame was expected (%s)" % e)
        # §5.1: "A server MUST NOT mask any frames that it sends to the client."
        self.assertFalse(frame.masked, "server sent a masked frame: %r" % frame)
        return frame

    def expect_message(self, c, opcode, payload, timeout=WAIT):
        """The next frames form exactly this message (the server may fragment
        it any way it likes, §5.4; no control frames are expected here)."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        frames = []
        while True:
            frame = self.expect_frame(c, timeout)
            self.assertLess(frame.opcode, 8, "expected a data frame, got %r" % frame)
            if not c.deflate:
                # §5.2: no RSV bits without a negotiated extension.
                self.assertEqual(frame.rsv, 0, "RSV bits set: %r" % frame)
            # §5.4: first frame has the message's opcode, the rest are continuations.
            self.assertEqual(frame.opcode, opcode if not frames else OP_CONT,
                             "frame %d of the echo: %r" % (len(frames), frame))
            frames.append(frame)
            if frame.fin:
                break
        data = b"".join(f.payload for f in frames)
        if c.deflate and frames[0].rsv & 4:
            data = c.deflate.decompress(data)
        if data != payload:
            self.fail("echo differs: got %d bytes %r..., expected %d bytes %r..."
                      % (len(data), data[:40], len(payload), payload[:40]))

    def expect_pong(self, c, payload):
        frame = self.expect_frame(c)
        # §5.5.3: the Pong "MUST have identical Application data" to the Ping.
        self.assertEqual(frame.opcode, OP_PONG, "expected a pong, got %r" % frame)
        self.assertTrue(frame.fin, "§5.5: control frames are not fragmented")
        self.assertEqual(frame.payload, payload)

    def expect_close(self, c, codes, timeout=WAIT):
        """The next frame is a close with one of `codes` (None = no status
        code); then the server closes the TCP connection."""
        frame = self.expect_frame(c, timeout)
        self.assertEqual(frame.opcode, OP_CLOSE,
                         "expected a close frame with %s, got %r" % (codes, frame))
        self.assertIn(frame.close_code, codes, "close frame %r" % frame)
        # §5.5.1 / §8.1: a close reason, if any, is UTF-8.
        frame.close_reason.decode("utf-8")
        self.finish_close(c, frame)
        return frame

    def finish_close(self, c, frame):
        # Answer the close, as a client does (§5.5.1), then §7.1.1: "the
        # server MUST close the underlying TCP connection immediately" after
        # the closing handshake. Nothing else may follow the close (§5.5.1:
        # no data frames after a close frame).
        try:
            c.send_close(frame.close_code, b"") if frame.close_code else c.send_close()
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            extra = c.expect_eof(WAIT)
        except Timeout:
            self.fail("server did not close the TCP connection within %.0fs after the "
                      "close handshake (§7.1.1)" % WAIT)
        self.assertEqual(extra, b"", "bytes after the server's close frame")

    def expect_fail(self, c, code, timeout=WAIT):
        """§7.1.7 _Fail the WebSocket Connection_: strict expectation is a close
        frame with `code` (§7.4.1), nothing before it, then TCP close."""
        return self.expect_close(c, (code,), timeout)

    def echo(self, c, opcode, payload, timeout=WAIT, chunk=None):
        c.send_message(opcode, payload, chunk=chunk)
        self.expect_message(c, opcode, payload, timeout)

    def clean_close(self, c):
        c.send_close(1000)
        self.expect_close(c, (1000,))


# ======================================================================= 1.x


def _payload(length, text):
    if text:
        return ("*" * length).encode()
    return bytes((i * 7 + 3) & 0xFF for i in range(min(length, 256))) * (length // 256 + 1)


class Section1Framing(ServerCase):
    """1.1.x text and 1.2.x binary messages of the boundary lengths (§5.2:
    7-bit, 16-bit and 64-bit payload length encodings), echoed exactly, sent
    in one write and in small writes."""

    def check_length(self, opcode, length):
        payload = _payload(length, opcode == OP_TEXT)[:length]
        small = 1 if length <= 128 else 997 if length <= 65536 else 64 * 1024
        timeout = BIG_WAIT if length >= MiB else WAIT
        for delivery, chunk in (("one write", None), ("writes of %d bytes" % small, small)):
            with self.subTest(delivery=delivery):
                c = self.connect(timeout=timeout)
                self.echo(c, opcode, payload, timeout, chunk=chunk)
                self.clean_close(c)

    def test_case_1_3_1_unmasked_client_frame_is_refused(self):
        # §5.1: "a server MUST close the connection upon receiving a frame
        # that is not masked ... MAY send a Close frame with a status code of
        # 1002". The TCP close is required; the close frame is optional.
        c = self.connect()
        c.send_frame(OP_TEXT, b"not masked", mask=False)
        try:
            frame = c.recv_frame(WAIT)
        except PeerClosed:
            return
        except Timeout:
            self.fail("server kept the connection open after an unmasked frame (§5.1)")
        self.assertEqual((frame.opcode, frame.close_code), (OP_CLOSE, 1002), repr(frame))
        self.finish_close(c, frame)

    def test_case_1_3_2_non_minimal_lengths(self):
        # §5.2 tells the *sender* to use the minimal length encoding; it does
        # not say what a receiver does with a longer one. Either it is
        # accepted (echoed) or the connection fails with 1002; not a hang.
        for payload, length_bytes in ((b"x" * 5, 2), (b"x" * 5, 8), (b"y" * 300, 8)):
            with self.subTest(length=len(payload), length_bytes=length_bytes):
                c = self.connect()
                c.send_raw(build_frame(OP_TEXT, payload, length_bytes=length_bytes))
                frame = self.expect_frame(c)
                if frame.opcode == OP_CLOSE:
                    self.assertEqual(frame.close_code, 1002)
                    self.finish_close(c, frame)
                else:
                    self.assertEqual((frame.opcode, frame.fin, frame.payload),
                                     (OP_TEXT, True, payload))
                    self.clean_close(c)


_LENGTHS = [(1, 0), (2, 125), (3, 126), (4, 127), (5, 128), (6, 65535), (7, 65536), (8, BIG)]
for _kind, _op in ((1, OP_TEXT), (2, OP_BINARY)):
    for _n, _len in _LENGTHS:
        def _t(self, _op=_op, _len=_len):
            self.check_length(_op, _len)
        _name = "test_case_1_%d_%d_%s_length_%d" % (_kind, _n, "text" if _op == OP_TEXT else
                                                    "binary", _len)
        _t.__name__ = _name
        setattr(Section1Framing, _name, _t)


# ======================================================================= 2.x


class Section2Pings(ServerCase):
    """§5.5.2/§5.5.3: a Ping is answered by a Pong with identical payload;
    an unsolicited Pong needs no answer; control payloads are <= 125 bytes."""

    def test_case_2_1_ping_without_payload(self):
        c = self.connect()
        c.send_frame(OP_PING, b"")
        self.expect_pong(c, b"")
        self.clean_close(c)

    def test_case_2_2_ping_with_text_payload(self):
        c = self.connect()
        c.send_frame(OP_PING, "Hello, world!")
        self.expect_pong(c, b"Hello, world!")
        self.clean_close(c)

    def test_case_2_3_ping_with_binary_payload(self):
        c = self.connect()
        c.send_frame(OP_PING, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")
        self.expect_pong(c, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")
        self.clean_close(c)

    def test_case_2_4_ping_payloads_0_to_125(self):
        c = self.connect()
        for n in range(126):
            payload = bytes((i + n) & 0xFF for i in range(n))
            c.send_frame(OP_PING, payload)
            self.expect_pong(c, payload)
        self.clean_close(c)

    def test_case_2_5_ping_with_126_bytes_fails(self):
        # §5.5: "All control frames MUST have a payload length of 125 bytes or
        # less"; a violation is a protocol error (§7.4.1: 1002).
        c = self.connect()
        self.send_tolerant(c, build_frame(OP_PING, b"\xfe" * 126))
        self.expect_fail(c, 1002)

    def test_case_2_6_ping_125_bytes_in_1_byte_writes(self):
        c = self.connect()
        c.send_frame(OP_PING, b"\xfe" * 125, chunk=1)
        self.expect_pong(c, b"\xfe" * 125)
        self.clean_close(c)

    def test_case_2_7_unsolicited_pong_without_payload_is_ignored(self):
        # §5.5.3: "A response to an unsolicited Pong frame is not expected."
        # The ping after it shows that nothing came for the pong.
        c = self.connect()
        c.send_frame(OP_PONG, b"")
        c.send_frame(OP_PING, b"after")
        self.expect_pong(c, b"after")
        self.clean_close(c)

    def test_case_2_8_unsolicited_pong_with_payload_is_ignored(self):
        c = self.connect()
        c.send_frame(OP_PONG, b"unsolicited pong payload")
        c.send_frame(OP_PING, b"after")
        self.expect_pong(c, b"after")
        self.clean_close(c)

    def test_case_2_9_unsolicited_pong_then_ping(self):
        c = self.connect()
        c.send_raw(build_frame(OP_PONG, b"unsolicited") + build_frame(OP_PING, b"ping payload"))
        self.expect_pong(c, b"ping payload")
        self.clean_close(c)

    def ten_pings(self, chunk):
        # Strict (as Autobahn): every ping gets its pong, in order. Note that
        # §5.5.3 lets an endpoint that has not yet answered earlier pings
        # answer only the most recent one; a failure here is "non-strict".
        c = self.connect()
        payloads = [("payload-%d" % i).encode() for i in range(10)]
        c.send_raw(b"".join(build_frame(OP_PING, p) for p in payloads), chunk=chunk)
        for p in payloads:
            self.expect_pong(c, p)
        self.clean_close(c)

    def test_case_2_10_ten_pings_in_one_write(self):
        self.ten_pings(None)

    def test_case_2_11_ten_pings_in_1_byte_writes(self):
        self.ten_pings(1)


# ======================================================================= 3.x


class Section3ReservedBits(ServerCase):
    """§5.2: "If a nonzero value is received and none of the negotiated
    extensions defines the meaning of such a nonzero value, the receiving
    endpoint MUST _Fail the WebSocket Connection_" (status 1002, §7.4.1).
    No extension is negotiated here. Nothing after the bad frame is
    processed: the ping that follows it gets no pong."""

    def bad_rsv(self, rsv, opcode=OP_TEXT, payload=b"with RSV", before=True, chunk=None):
        c = self.connect()
        data = b""
        if before:
            data += build_frame(OP_TEXT, b"good message")
        data += build_frame(opcode, payload, rsv=rsv) + build_frame(OP_PING, b"after")
        self.send_tolerant(c, data, chunk=chunk)
        if before:
            self.expect_message(c, OP_TEXT, b"good message")
        self.expect_fail(c, 1002)

    def test_case_3_1_text_rsv3(self):
        self.bad_rsv(1, before=False)

    def test_case_3_2_text_then_text_rsv2_then_ping(self):
        self.bad_rsv(2)

    def test_case_3_3_text_then_text_rsv3_and_rsv2_then_ping(self):
        self.bad_rsv(3)

    def test_case_3_4_same_in_1_byte_writes(self):
        self.bad_rsv(4, chunk=1)

    def test_case_3_5_binary_rsv1_and_rsv3(self):
        self.bad_rsv(5, opcode=OP_BINARY, payload=bytes(range(256)))

    def test_case_3_6_ping_rsv1_and_rsv2(self):
        self.bad_rsv(6, opcode=OP_PING, payload=b"ping")

    def test_case_3_7_close_all_rsv(self):
        self.bad_rsv(7, opcode=OP_CLOSE, payload=close_payload(1000))

    def test_case_3_8_continuation_rsv1(self):
        c = self.connect()
        self.send_tolerant(c, build_frame(OP_TEXT, b"frag", fin=False)
                           + build_frame(OP_CONT, b"ment", rsv=4))
        self.expect_fail(c, 1002)


# ======================================================================= 4.x


class Section4Opcodes(ServerCase):
    """§5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved; "If an unknown opcode
    is received, the receiving endpoint MUST _Fail the WebSocket
    Connection_" (1002, §7.4.1). A good message before it is echoed, the
    ping after it is not answered."""

    def bad_opcode(self, opcode, payload, chunk):
        c = self.connect()
        data = (build_frame(OP_TEXT, b"good message") + build_frame(opcode, payload)
                + build_frame(OP_PING, b"after"))
        self.send_tolerant(c, data, chunk=chunk)
        self.expect_message(c, OP_TEXT, b"good message")
        self.expect_fail(c, 1002)


for _op, _section, _n in ([(op, 1, op - 2) for op in range(3, 8)]
                          + [(op, 2, op - 10) for op in range(11, 16)]):
    def _t(self, _op=_op, _n=_n):
        self.bad_opcode(_op, b"reserved" if _n % 2 == 0 else b"", 1 if _n == 5 else None)
    _name = "test_case_4_%d_%d_reserved_opcode_%d%s" % (_section, _n, _op,
                                                        "_in_1_byte_writes" if _n == 5 else "")
    _t.__name__ = _name
    setattr(Section4Opcodes, _name, _t)


# ======================================================================= 5.x


class Section5Fragmentation(ServerCase):
    """§5.4 fragmentation: data messages may be split into a first frame and
    continuation frames; control frames may be injected between fragments
    and MUST NOT themselves be fragmented (§5.5); a continuation with no
    message started, or a new data frame inside a fragmented message, is a
    protocol error (§5.4 "fragments ... MUST be delivered ... in the order
    sent", §7.4.1 1002)."""

    def frames(self, *specs):
        return b"".join(build_frame(op, p, fin=fin) for op, p, fin in specs)

    def test_case_5_1_fragmented_ping_fails(self):
        c = self.connect()
        self.send_tolerant(c, self.frames((OP_PING, b"frag", False), (OP_CONT, b"ment", True)))
        self.expect_fail(c, 1002)

    def test_case_5_2_fragmented_pong_fails(self):
        c = self.connect()
        self.send_tolerant(c, self.frames((OP_PONG, b"frag", False), (OP_CONT, b"ment", True)))
        self.expect_fail(c, 1002)

    def fragmented(self, opcode, chunk):
        c = self.connect()
        c.send_raw(self.frames((opcode, b"fragment1", False), (OP_CONT, b"fragment2", True)),
                   chunk=chunk)
        self.expect_message(c, opcode, b"fragment1fragment2")
        self.clean_close(c)

    def test_case_5_3_fragmented_text(self):
        self.fragmented(OP_TEXT, None)

    def test_case_5_4_fragmented_text_in_frame_writes(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"fragment1", fin=False)
        c.send_frame(OP_CONT, b"fragment2", fin=True)
        self.expect_message(c, OP_TEXT, b"fragment1fragment2")
        self.clean_close(c)

    def test_case_5_5_fragmented_text_in_1_byte_writes(self):
        self.fragmented(OP_TEXT, 1)

    def test_case_5_5b_fragmented_binary(self):
        self.fragmented(OP_BINARY, None)

    def control_inside(self, control, chunk):
        c = self.connect()
        c.send_raw(self.frames((OP_TEXT, b"fragment1", False), (control, b"control inside", True),
                               (OP_CONT, b"fragment2", True)), chunk=chunk)
        if control == OP_PING:
            # §5.5.2: the pong is due on receipt of the ping, i.e. before the
            # message (which is only complete after it) can be echoed.
            self.expect_pong(c, b"control inside")
        self.expect_message(c, OP_TEXT, b"fragment1fragment2")
        self.clean_close(c)

    def test_case_5_6_fragmented_text_with_ping_inside(self):
        self.control_inside(OP_PING, None)

    def test_case_5_7_fragmented_text_with_ping_inside_in_frame_writes(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"fragment1", fin=False)
        c.send_frame(OP_PING, b"control inside")
        self.expect_pong(c, b"control inside")
        c.send_frame(OP_CONT, b"fragment2")
        self.expect_message(c, OP_TEXT, b"fragment1fragment2")
        self.clean_close(c)

    def test_case_5_8_fragmented_text_with_ping_inside_in_1_byte_writes(self):
        self.control_inside(OP_PING, 1)

    def test_case_5_8b_fragmented_text_with_unsolicited_pong_inside(self):
        self.control_inside(OP_PONG, None)

    def orphan_continuation(self, fin, chunk):
        c = self.connect()
        self.send_tolerant(c, self.frames((OP_CONT, b"non-continuation payload", fin),
                                          (OP_TEXT, b"Hello, world!", True)), chunk=chunk)
        self.expect_fail(c, 1002)

    def test_case_5_9_continuation_fin_without_start(self):
        self.orphan_continuation(True, None)

    def test_case_5_10_continuation_fin_without_start_in_1_byte_writes(self):
        self.orphan_continuation(True, 1)

    def test_case_5_12_continuation_no_fin_without_start(self):
        self.orphan_continuation(False, None)

    def test_case_5_13_continuation_no_fin_without_start_in_1_byte_writes(self):
        self.orphan_continuation(False, 1)

    def test_case_5_15_continuation_after_completed_message(self):
        c = self.connect()
        self.send_tolerant(c, self.frames((OP_TEXT, b"fragment1", False),
                                          (OP_CONT, b"fragment2", True),
                                          (OP_CONT, b"fragment3", False),
                                          (OP_TEXT, b"fragment4", True)))
        self.expect_message(c, OP_TEXT, b"fragment1fragment2")
        self.expect_fail(c, 1002)

    def test_case_5_17_new_text_start_inside_fragmented_message(self):
        c = self.connect()
        self.send_tolerant(c, self.frames((OP_TEXT, b"fragment1", False),
                                          (OP_TEXT, b"fragment2", True)))
        self.expect_fail(c, 1002)

    def test_case_5_18_new_binary_start_inside_fragmented_text(self):
        c = self.connect()
        self.send_tolerant(c, self.frames((OP_TEXT, b"fragment1", False),
                                          (OP_BINARY, b"fragment2", False),
                                          (OP_CONT, b"fragment3", True)))
        self.expect_fail(c, 1002)

    def test_case_5_19_five_fragments_with_pings_between(self):
        # Each ping is answered while the message is still open (§5.4, §5.5.2).
        c = self.connect()
        parts = [b"fragment%d" % i for i in range(1, 6)]
        for i, part in enumerate(parts):
            c.send_frame(OP_TEXT if i == 0 else OP_CONT, part, fin=(i == 4))
            if i < 4:
                c.send_frame(OP_PING, b"pong%d" % i)
                self.expect_pong(c, b"pong%d" % i)
        self.expect_message(c, OP_TEXT, b"".join(parts))
        self.clean_close(c)

    def test_case_5_20_five_fragments_with_pings_between_in_1_byte_writes(self):
        c = self.connect()
        parts = [b"fragment%d" % i for i in range(1, 6)]
        data = b""
        for i, part in enumerate(parts):
            data += build_frame(OP_TEXT if i == 0 else OP_CONT, part, fin=(i == 4))
            if i < 4:
                data += build_frame(OP_PING, b"pong%d" % i)
        c.send_raw(data, chunk=1)
        for i in range(4):
            self.expect_pong(c, b"pong%d" % i)
        self.expect_message(c, OP_TEXT, b"".join(parts))
        self.clean_close(c)

    def test_case_5_21_many_1_byte_fragments(self):
        for opcode in (OP_TEXT, OP_BINARY):
            with self.subTest(opcode=opcode):
                c = self.connect()
                payload = b"abcdefghij" * 200  # 2000 one-byte fragments
                c.send_message(opcode, payload, fragment_size=1)
                self.expect_message(c, opcode, payload)
                self.clean_close(c)

    def test_case_5_22_empty_fragments(self):
        c = self.connect()
        c.send_raw(self.frames((OP_TEXT, b"", False), (OP_CONT, b"", False), (OP_CONT, b"", True)))
        self.expect_message(c, OP_TEXT, b"")
        self.clean_close(c)

    def test_case_5_23_close_inside_fragmented_message(self):
        # §5.4: control frames may be injected in the middle of a fragmented
        # message; a close there is answered (§5.5.1) and the unfinished
        # message is dropped.
        c = self.connect()
        c.send_raw(self.frames((OP_TEXT, b"fragment1", False)) + build_frame(
            OP_CLOSE, close_payload(1000)) + self.frames((OP_CONT, b"fragment2", True)))
        self.expect_close(c, (1000,))


# ======================================================================= 6.x

# Valid UTF-8, each echoed exactly (§5.6: text is UTF-8; §8.1).
VALID_UTF8 = [
    ("ascii", b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"),
    ("greek_kosme", "κόσμε".encode()),
    ("nul", b"\x00"),
    ("u_007f", b"\x7f"),
    ("u_0080", b"\xc2\x80"),
    ("u_07ff", b"\xdf\xbf"),
    ("u_0800", b"\xe0\xa0\x80"),
    ("u_d7ff", b"\xed\x9f\xbf"),
    ("u_e000", b"\xee\x80\x80"),
    ("u_fffd", b"\xef\xbf\xbd"),
    ("u_fffe_noncharacter", b"\xef\xbf\xbe"),
    ("u_ffff", b"\xef\xbf\xbf"),
    ("u_10000_4_byte", b"\xf0\x90\x80\x80"),
    ("emoji_4_byte", "🎉✓ ok 😀".encode()),
    ("u_10ffff", b"\xf4\x8f\xbf\xbf"),
    ("bom", b"\xef\xbb\xbfafter a bom"),
    ("all_widths", "a\u00e9\u20ac\U0001f600".encode() * 50),
]

# Invalid UTF-8 (RFC 3629 §3/§4: overlongs, surrogates, > U+10FFFF, bad lead
# bytes and truncated sequences are all ill-formed).
INVALID_UTF8 = [
    ("lone_continuation_80", b"\x80"),
    ("lone_continuation_bf", b"ab\xbfcd"),
    ("continuations_only", bytes(range(0x80, 0xC0))),
    ("lead_c0", b"\xc0"),
    ("lead_c1", b"\xc1\xbf"),
    ("lead_f5", b"\xf5\x80\x80\x80"),
    ("lead_f8_5_byte", b"\xf8\x88\x80\x80\x80"),
    ("lead_fc_6_byte", b"\xfc\x84\x80\x80\x80\x80"),
    ("byte_fe", b"\xfe"),
    ("byte_ff", b"\xff"),
    ("overlong_slash_2", b"\xc0\xaf"),
    ("overlong_slash_3", b"\xe0\x80\xaf"),
    ("overlong_slash_4", b"\xf0\x80\x80\xaf"),
    ("overlong_max_2", b"\xc1\xbf"),
    ("overlong_max_3", b"\xe0\x9f\xbf"),
    ("overlong_max_4", b"\xf0\x8f\xbf\xbf"),
    ("overlong_nul", b"\xc0\x80"),
    ("surrogate_d800", b"\xed\xa0\x80"),
    ("surrogate_dbff", b"\xed\xaf\xbf"),
    ("surrogate_dc00", b"\xed\xb0\x80"),
    ("surrogate_dfff", b"\xed\xbf\xbf"),
    ("surrogate_pair", b"\xed\xa0\x80\xed\xb0\x80"),
    ("above_10ffff", b"\xf4\x90\x80\x80"),
    ("above_10ffff_f7", b"\xf7\xbf\xbf\xbf"),
    ("truncated_2_at_end", b"abc\xc2"),
    ("truncated_3_at_end", b"abc\xe2\x82"),
    ("truncated_4_at_end", b"abc\xf0\x9f\x98"),
    ("truncated_then_ascii", b"\xe2\x82A"),
    ("truncated_4_then_ascii", b"\xf0\x9f\x98A"),
    ("kosme_with_surrogate", "κόσμε".encode() + b"\xed\xa0\x80edited"),
]


class Section6Utf8(ServerCase):
    """§5.6 / §8.1: "When an endpoint is to interpret a byte stream as UTF-8
    but finds that the byte stream is not, in fact, a valid UTF-8 stream,
    that endpoint MUST _Fail the WebSocket Connection_" with 1007 (§7.4.1)."""

    def test_case_6_1_1_empty_text(self):
        c = self.connect()
        self.echo(c, OP_TEXT, b"")
        self.clean_close(c)

    def test_case_6_1_2_empty_text_fragments(self):
        c = self.connect()
        c.send_raw(build_frame(OP_TEXT, b"", fin=False) + build_frame(OP_CONT, b"", fin=False)
                   + build_frame(OP_CONT, b"", fin=True))
        self.expect_message(c, OP_TEXT, b"")
        self.clean_close(c)

    def test_case_6_1_3_empty_fragments_around_text(self):
        c = self.connect()
        c.send_raw(build_frame(OP_TEXT, b"", fin=False) + build_frame(OP_CONT, b"middle", fin=False)
                   + build_frame(OP_CONT, b"", fin=True))
        self.expect_message(c, OP_TEXT, b"middle")
        self.clean_close(c)

    def deliveries(self, payload):
        """(description, bytes) ways of sending one text message."""
        one = build_frame(OP_TEXT, payload)
        per_byte = b"".join(build_frame(OP_TEXT if i == 0 else OP_CONT, payload[i:i + 1],
                                        fin=(i == len(payload) - 1))
                            for i in range(len(payload)))
        return [("one frame", one, None),
                ("one frame in 1-byte writes", one, 1),
                ("1-byte fragments", per_byte, None)]

    def test_case_6_2_valid_utf8_echoed(self):
        # One connection per text so a failure names it; deliveries as subtests.
        for name, text in VALID_UTF8:
            for how, data, chunk in self.deliveries(text):
                with self.subTest(text=name, delivery=how):
                    c = self.connect()
                    c.send_raw(data, chunk=chunk)
                    self.expect_message(c, OP_TEXT, text)
                    self.clean_close(c)

    def test_case_6_3_invalid_utf8_fails_with_1007(self):
        for name, text in INVALID_UTF8:
            for how, data, chunk in self.deliveries(text):
                with self.subTest(text=name, delivery=how):
                    c = self.connect()
                    self.send_tolerant(c, data, chunk=chunk)
                    self.expect_fail(c, 1007)

    def test_case_6_3_2_invalid_sequence_split_across_fragments(self):
        # The code point itself straddles fragments: §5.6 checks the whole
        # message, not each frame.
        for name, parts in [
            ("surrogate_split", [b"ab\xed", b"\xa0\x80cd"]),
            ("overlong_split", [b"ab\xe0", b"\x80", b"\xafcd"]),
            ("above_max_split", [b"\xf4\x90", b"\x80\x80"]),
            ("truncated_then_ascii_split", [b"\xe2\x82", b"A"]),
            ("truncated_at_message_end", [b"abc", b"\xf0\x9f\x98"]),
        ]:
            with self.subTest(text=name):
                c = self.connect()
                data = b"".join(build_frame(OP_TEXT if i == 0 else OP_CONT, p,
                                            fin=(i == len(parts) - 1))
                                for i, p in enumerate(parts))
                self.send_tolerant(c, data)
                self.expect_fail(c, 1007)

    def test_case_6_3_3_valid_sequence_split_across_fragments_and_writes(self):
        text = "κόσμε 🎉 \U0010ffff \uffff".encode()
        for size in (1, 2, 3, 5):
            with self.subTest(fragment_size=size):
                c = self.connect()
                c.send_message(OP_TEXT, text, fragment_size=size, chunk=3)
                self.expect_message(c, OP_TEXT, text)
                self.clean_close(c)

    # ---- fail fast: the server does not wait for the rest of the message

    def test_case_6_4_1_invalid_in_first_fragment_fails_fast(self):
        # Only the first fragment is sent; it already holds a byte that no
        # continuation can make valid (§8.1), so the 1007 close must come
        # without the later fragments.
        c = self.connect()
        c.send_frame(OP_TEXT, "κόσμε".encode() + b"\xed\xa0\x80" + b"edited", fin=False)
        self.expect_fail(c, 1007)

    def test_case_6_4_2_invalid_last_byte_of_first_fragment_fails_fast(self):
        c = self.connect()
        c.send_frame(OP_TEXT, "κόσμε".encode() + b"\xf4\x90", fin=False)
        self.expect_fail(c, 1007)

    def test_case_6_4_3_invalid_lead_byte_in_first_fragment_fails_fast(self):
        c = self.connect()
        c.send_frame(OP_TEXT, b"valid prefix \xff", fin=False)
        self.expect_fail(c, 1007)

    def test_case_6_4_4_invalid_in_second_of_three_fragments_fails_fast(self):
        c = self.connect()
        c.send_frame(OP_TEXT, "κόσμε".encode(), fin=False)
        c.send_frame(OP_CONT, b"\xc0\xaf", fin=False)
        self.expect_fail(c, 1007)

    def test_case_6_4_5_invalid_in_frame_sent_in_chunks(self):
        c = self.connect()
        self.send_tolerant(c, build_frame(OP_TEXT, "κόσμε".encode() + b"\xed\xa0\x80edited"),
                           chunk=4)
        self.expect_fail(c, 1007)


# ======================================================================= 7.x

VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                     3000, 3999, 4000, 4999]
# §7.4.1/§7.4.2: 0-999 unused, 1004 reserved, 1005/1006/1015 MUST NOT be sent,
# 1016-2999 reserved for future RFCs, >= 5000 undefined.
INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


class Section7Close(ServerCase):
    """§5.5.1 and §7: a Close is answered with a Close (typically echoing the
    status code), nothing follows a Close, and the server then closes the
    TCP connection (§7.1.1)."""

    def test_case_7_1_1_text_then_close(self):
        c = self.connect()
        self.echo(c, OP_TEXT, b"Hello World!")
        self.clean_close(c)

    def test_case_7_1_2_close_twice(self):
        # After the first close nothing more is processed (§5.5.1: "after
        # sending a Close frame, the endpoint MUST NOT send any more data
        # frames"; the second close is not answered).
        c = self.connect()
        c.send_raw(build_frame(OP_CLOSE, close_payload(1000)) * 2)
        self.expect_close(c, (1000,))

    def test_case_7_1_3_close_then_ping(self):
        c = self.connect()
        c.send_raw(build_frame(OP_CLOSE, close_payload(1000)) + build_frame(OP_PING, b"late"))
        self.expect_close(c, (1000,))  # and no pong: expect_close checks nothing follows

    def test_case_7_1_4_close_then_text(self):
        c = self.connect()
        c.send_raw(build_frame(OP_CLOSE, close_payload(1000)) + build_frame(OP_TEXT, b"late"))
        self.expect_close(c, (1000,))

    def test_case_7_1_5_fragment_close_continuation(self):
        c = self.connect()
        c.send_raw(build_frame(OP_TEXT, b"fragment1", fin=False)
                   + build_frame(OP_CLOSE, close_payload(1000))
                   + build_frame(OP_CONT, b"fragment2"))
        self.expect_close(c, (1000,))

    def test_case_7_1_6_large_text_close_ping(self):
        c = self.connect()
        big = b"BAsd7&jh23" * 26214  # 256 KiB
        c.send_raw(build_frame(OP_TEXT, big) + build_frame(OP_CLOSE, close_payload(1000))
                   + build_frame(OP_PING, b"late"))
        self.expect_message(c, OP_TEXT, big)  # it arrived before the close
        self.expect_close(c, (1000,))

    def test_case_7_3_1_close_without_payload(self):
        # §5.5.1 the answer "typically echos the status code it received";
        # there is none (1005 is never sent, §7.4.1), so empty or 1000.
        c = self.connect()
        c.send_close()
        self.expect_close(c, (None, 1000))

    def test_case_7_3_2_close_with_1_byte_payload(self):
        # §5.5.1: a body "MUST" start with a 2-byte status code.
        c = self.connect()
        self.send_tolerant(c, build_frame(OP_CLOSE, b"\x03"))
        self.expect_fail(c, 1002)

    def test_case_7_3_3_close_with_code_only(self):
        c = self.connect()
        c.send_close(1000)
        self.expect_close(c, (1000,))

    def test_case_7_3_4_close_with_code_and_reason(self):
        c = self.connect()
        c.send_close(1000, "Hello World!")
        self.expect_close(c, (1000,))

    def test_case_7_3_5_close_with_123_byte_reason(self):
        c = self.connect()
        c.send_close(1000, "*" * 123)  # 125-byte payload: the maximum (§5.5)
        self.expect_close(c, (1000,))

    def test_case_7_3_6_close_with_124_byte_reason(self):
        c = self.connect()
        self.send_tolerant(c, build_frame(OP_CLOSE, close_payload(1000, "*" * 124)))
        self.expect_fail(c, 1002)  # 126 bytes: over the control frame limit (§5.5)

    def test_case_7_5_1_close_reason_invalid_utf8(self):
        # §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails with 1007.
        c = self.connect()
        self.send_tolerant(c, build_frame(OP_CLOSE, close_payload(1000) + b"\xce\xba\xe1\xbd"
                                          b"\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"))
        self.expect_fail(c, 1007)

    def test_case_7_5_2_close_reason_truncated_utf8(self):
        c = self.connect()
        self.send_tolerant(c, build_frame(OP_CLOSE, close_payload(1000) + b"abc\xe2\x82"))
        self.expect_fail(c, 1007)

    def test_case_7_7_valid_close_codes_are_echoed(self):
        for code in VALID_CLOSE_CODES:
            with self.subTest(code=code):
                c = self.connect()
                c.send_close(code, "reason %d" % code)
                self.expect_close(c, (code,))

    def test_case_7_9_invalid_close_codes_fail_with_1002(self):
        for code in INVALID_CLOSE_CODES:
            with self.subTest(code=code):
                c = self.connect()
                self.send_tolerant(c, build_frame(OP_CLOSE, close_payload(code)))
                self.expect_fail(c, 1002)

    def test_case_7_10_close_in_1_byte_writes(self):
        c = self.connect()
        c.send_close(4000, "slow close", chunk=1)
        self.expect_close(c, (4000,))

    def test_case_7_11_server_closes_tcp_after_close_handshake(self):
        # §7.1.1: the server closes first; the client does not have to. Here
        # the client sends its close and only waits.
        c = self.connect()
        c.send_close(1000)
        frame = self.expect_frame(c)
        self.assertEqual((frame.opcode, frame.close_code), (OP_CLOSE, 1000))
        start = time.monotonic()
        try:
            extra = c.expect_eof(WAIT)
        except Timeout:
            self.fail("TCP connection still open %.0fs after the close handshake" % WAIT)
        self.assertEqual(extra, b"")
        self.assertLess(time.monotonic() - start, WAIT)


# ======================================================================= 9.x


class Section9Limits(ServerCase):
    """Performance-lite: large messages, many messages in flight, delivery in
    small writes. Bounds are generous; this is about correctness."""

    def big(self, opcode, size, fragment_size=None, chunk=None):
        c = self.connect(timeout=BIG_WAIT)
        payload = _payload(size, opcode == OP_TEXT)[:size]
        c.send_message(opcode, payload, fragment_size=fragment_size, chunk=chunk)
        self.expect_message(c, opcode, payload, BIG_WAIT)
        self.clean_close(c)

    def test_case_9_1_1_text_4_mib(self):
        self.big(OP_TEXT, 4 * MiB)

    def test_case_9_1_2_text_16_mib(self):
        self.big(OP_TEXT, 16 * MiB)

    def test_case_9_2_1_binary_4_mib(self):
        self.big(OP_BINARY, 4 * MiB)

    def test_case_9_2_2_binary_16_mib(self):
        self.big(OP_BINARY, 16 * MiB)

    def test_case_9_3_1_text_4_mib_in_64_kib_fragments(self):
        self.big(OP_TEXT, 4 * MiB, fragment_size=64 * 1024)

    def test_case_9_4_1_binary_4_mib_in_4_kib_fragments(self):
        self.big(OP_BINARY, 4 * MiB, fragment_size=4 * 1024)

    def test_case_9_5_1_text_64_kib_in_64_kib_writes(self):
        self.big(OP_TEXT, 64 * 1024, chunk=64 * 1024)

    def test_case_9_5_2_text_64_kib_in_1_byte_writes(self):
        self.big(OP_TEXT, 64 * 1024, chunk=1)

    def test_case_9_6_1_binary_64_kib_in_1_byte_writes(self):
        self.big(OP_BINARY, 64 * 1024, chunk=1)

    def many(self, opcode, count=1000, size=64):
        c = self.connect()
        messages = [(b"%06d" % i) + b"m" * (size - 6) for i in range(count)]
        c.send_raw(b"".join(build_frame(opcode, m) for m in messages))
        for m in messages:
            self.expect_message(c, opcode, m)  # in order (§5.4, TCP order)
        self.clean_close(c)

    def test_case_9_7_1_thousand_text_messages_in_flight(self):
        self.many(OP_TEXT)

    def test_case_9_8_1_thousand_binary_messages_in_flight(self):
        self.many(OP_BINARY)

    def test_case_9_8_2_thousand_empty_messages_in_flight(self):
        self.many(OP_BINARY, size=6)


# ======================================================================= 10.x
# 10.1.1 (a 64 KiB message echoed with auto-fragmentation on the server) tests
# an option of Autobahn's own server/client, not an RFC 6455 requirement: a
# server may fragment its messages any way it likes (§5.4), and
# expect_message accepts every fragmentation. Not covered.


# ======================================================================= 12.x / 13.x

PMD = "permessage-deflate"

# Offers the echo server must accept (RFC 7692 §7.1: each parameter is one a
# server can honour). server_max_window_bits=8 is separate: zlib cannot
# compress with a 256-byte window, so declining is allowed (§7.1.2.1).
MUST_ACCEPT = (
    [("no_params", PMD),
     ("client_max_window_bits", PMD + "; client_max_window_bits")]
    + [("client_max_window_bits_%d" % n, PMD + "; client_max_window_bits=%d" % n)
       for n in range(8, 16)]
    + [("server_no_context_takeover", PMD + "; server_no_context_takeover"),
       ("client_no_context_takeover", PMD + "; client_no_context_takeover")]
    + [("server_max_window_bits_%d" % n, PMD + "; server_max_window_bits=%d" % n)
       for n in range(9, 16)]
    + [("all_params", PMD + "; client_max_window_bits=9; server_max_window_bits=10; "
        "client_no_context_takeover; server_no_context_takeover"),
       ("both_no_context_takeover", PMD + "; client_no_context_takeover; "
        "server_no_context_takeover"),
       ("unknown_extension_first", "x-nexus-unknown; foo=1, " + PMD),
       ("fallback_offer_after_unsupported_param", PMD + "; x_unknown_param, " + PMD
        + "; client_max_window_bits"),
       ("quoted_value", PMD + '; client_max_window_bits="10"')])

KNOWN_PARAMS = {"server_no_context_takeover", "client_no_context_takeover",
                "server_max_window_bits", "client_max_window_bits"}


def _offer_params(offer_element):
    """The parameters of the permessage-deflate offer element the server picked."""
    return dict(parse_extensions([offer_element])[0][1])


def _payloads(size, rng):
    compressible_text = (("The quick brown fox jumps over the lazy dog %d. " % (size % 97))
                         * (size // 40 + 1)).encode()[:size]
    words = [b"alpha", b"beta", b"gamma", b"delta", b"\xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5",
             b"\xf0\x9f\x8e\x89", b"zeta"]
    mixed = b""
    while len(mixed) < size:
        mixed += rng.choice(words) + b" "
    mixed = mixed[:size]
    while True:  # keep it valid UTF-8 after truncation
        try:
            mixed.decode()
            break
        except UnicodeDecodeError:
            mixed = mixed[:-1]
    return [(OP_TEXT, compressible_text),          # compresses well
            (OP_TEXT, mixed),                      # multi-byte UTF-8, some repetition
            (OP_BINARY, rng.randbytes(size)),      # incompressible
            (OP_BINARY, bytes(size))]              # all zeros


SIZES = [0, 16, 64, 256, 1024, 4096, 16384, 65536, 131072]


class DeflateCase(ServerCase):
    server_args = ("--deflate",)

    def negotiate(self, offer, offer_element=None):
        """Connect offering `offer`; fail loudly unless permessage-deflate is
        negotiated with a response valid per RFC 7692 §7; returns the
        connection with deflate state for the negotiated parameters."""
        c = self.connect(extensions=offer)
        accepted = [e for e in c.extensions if e[0] == PMD]
        others = [e for e in c.extensions if e[0] != PMD]
        # RFC 6455 §9.1: the server may only answer with extensions offered.
        self.assertEqual(others, [], "server answered with extensions not offered")
        self.assertEqual(len(accepted), 1,
                         "permessage-deflate was offered (%r) but the server did not "
                         "negotiate it; response headers: %r" % (offer, c.response_headers))
        params = accepted[0][1]
        names = [k for k, _ in params]
        # RFC 7692 §7: a response with an unknown or a duplicated parameter
        # is invalid (the client must fail the connection).
        self.assertEqual(len(names), len(set(names)), "duplicate parameter: %r" % params)
        self.assertTrue(set(names) <= KNOWN_PARAMS, "unknown parameter: %r" % params)
        p = dict(params)
        # The element the server accepted: the last one listing the
        # parameters it answered with is ours to check (offers here put the
        # acceptable one last when there are several).
        offered = _offer_params(offer_element or offer.split(",")[-1])
        for flag in ("server_no_context_takeover", "client_no_context_takeover"):
            if flag in p:
                self.assertIsNone(p[flag], "%s takes no value (§7.1.1)" % flag)
        # §7.1.1.1: accepting an offer with server_no_context_takeover means
        # including it in the response.
        if "server_no_context_takeover" in offered:
            self.assertIn("server_no_context_takeover", p)
        for name in ("server_max_window_bits", "client_max_window_bits"):
            if name in p:
                v = p[name]
                # §7.1.2.1/§7.1.2.2: a decimal 8..15 without leading zeroes.
                self.assertIsNotNone(v, "%s needs a value in a response" % name)
                self.assertRegex(v, r"^(8|9|1[0-5])$", "%s=%r" % (name, v))
        # §7.1.2.2: client_max_window_bits only if the client offered it,
        # and not larger than an offered value.
        if "client_max_window_bits" in p:
            self.assertIn("client_max_window_bits", offered,
                          "client_max_window_bits in the response but not in the offer")
            if offered["client_max_window_bits"]:
                self.assertLessEqual(int(p["client_max_window_bits"]),
                                     int(offered["client_max_window_bits"]))
        # §7.1.2.1: server_max_window_bits answered with the same or a smaller value.
        if "server_max_window_bits" in offered:
            self.assertIn("server_max_window_bits", p,
                          "offer with server_max_window_bits accepted without it (§7.1.2.1)")
            self.assertLessEqual(int(p["server_max_window_bits"]),
                                 int(offered["server_max_window_bits"]))
        c.enable_deflate(params)
        return c

    def exchange(self, c, sizes=SIZES, uncompressed_every=None, fragment_size=None, seed=1):
        """Echo the payloads of every size; with uncompressed_every=k, every
        k-th message goes out without compression (RFC 7692 §6: compression
        is per message, RSV1 says which)."""
        rng = random.Random(seed)
        i = 0
        for size in sizes:
            for opcode, payload in _payloads(size, rng):
                compress = not (uncompressed_every and i % uncompressed_every == 0)
                i += 1
                c.send_message(opcode, payload, compress=compress, fragment_size=fragment_size)
                self.expect_compressed_echo(c, opcode, payload)

    def expect_compressed_echo(self, c, opcode, payload):
        frames = []
        while True:
            frame = self.expect_frame(c)
            self.assertLess(frame.opcode, 8, "expected a data frame, got %r" % frame)
            self.assertEqual(frame.opcode, opcode if not frames else OP_CONT)
            # RFC 7692 §6: RSV1 only on the first frame; RSV2/3 never.
            self.assertEqual(frame.rsv & 3, 0, "RSV2/RSV3 set: %r" % frame)
            if frames:
                self.assertEqual(frame.rsv, 0, "RSV1 on a continuation frame (§6.1)")
            frames.append(frame)
            if frame.fin:
                break
        data = b"".join(f.payload for f in frames)
        if frames[0].rsv & 4:
            try:
                # Honours server_max_window_bits and server_no_context_takeover.
                data = c.deflate.decompress(data)
            except zlib.error as e:
                self.fail("server's compressed message does not inflate with the "
                          "negotiated parameters: %s" % e)
        self.assertEqual(len(data), len(payload))
        self.assertTrue(data == payload, "echo differs for a %d-byte message" % len(payload))


class Section12Deflate(DeflateCase):
    """12.x: messages of many sizes and kinds through permessage-deflate with
    the default parameters."""

    def test_case_12_1_text_and_binary_all_compressed(self):
        c = self.negotiate(PMD)
        self.exchange(c)
        self.clean_close(c)

    def test_case_12_2_some_messages_uncompressed(self):
        c = self.negotiate(PMD)
        self.exchange(c, uncompressed_every=2)
        self.clean_close(c)

    def test_case_12_3_all_messages_uncompressed(self):
        c = self.negotiate(PMD)
        self.exchange(c, uncompressed_every=1)
        self.clean_close(c)

    def test_case_12_4_compressed_messages_fragmented(self):
        # RFC 7692 §6.1: a compressed message may be fragmented; RSV1 on the first frame only.
        c = self.negotiate(PMD)
        self.exchange(c, sizes=[64, 4096, 65536], fragment_size=100)
        self.clean_close(c)

    def test_case_12_5_large_compressible_message(self):
        c = self.negotiate(PMD)
        payload = b"0123456789abcdef" * (MiB // 4)  # 4 MiB
        c.send_message(OP_TEXT, payload)
        self.expect_compressed_echo(c, OP_TEXT, payload)
        self.clean_close(c)

    def test_case_12_6_rsv1_on_control_frame_fails(self):
        # RFC 7692 §6.1: RSV1 on a control frame: _Fail the WebSocket Connection_.
        c = self.negotiate(PMD)
        self.send_tolerant(c, build_frame(OP_PING, b"x", rsv=4))
        self.expect_fail(c, 1002)

    def test_case_12_7_rsv1_on_continuation_fails(self):
        # RFC 7692 §6.1: RSV1 on a non-first fragment: fail the connection.
        c = self.negotiate(PMD)
        data = c.deflate.compress(b"hello hello hello")
        self.send_tolerant(c, build_frame(OP_TEXT, data[:3], fin=False, rsv=4)
                           + build_frame(OP_CONT, data[3:], rsv=4))
        self.expect_fail(c, 1002)

    def test_case_12_8_rsv1_without_offer_fails(self):
        # No offer, so nothing negotiated: RSV1 is unknown (RFC 6455 §5.2).
        c = self.connect()
        self.assertEqual(c.extensions, [], "an extension answered without an offer (§9.1)")
        self.send_tolerant(c, build_frame(OP_TEXT, zlib.compress(b"x")[2:-4], rsv=4))
        self.expect_fail(c, 1002)


class Section13DeflateParameters(DeflateCase):
    """13.x: negotiation with each parameter (RFC 7692 §7.1), then an echo
    exchange that honours what was negotiated."""

    def test_case_13_0_server_max_window_bits_8_accepted_or_declined(self):
        # §7.1.2.1: accept with server_max_window_bits=8, or decline the offer.
        # The server must negotiate permessage-deflate at all first, so that
        # a server without it fails here instead of passing by "declining".
        self.negotiate(PMD).close()
        offer = PMD + "; server_max_window_bits=8"
        c = self.connect(extensions=offer)
        if not c.extensions:
            self.clean_close(c)
            return
        c.close()
        c = self.negotiate(offer)
        self.assertEqual(c.deflate.server_max_window_bits, 8)
        self.exchange(c, sizes=[16, 1024, 65536])
        self.clean_close(c)


def _make_13(name, offer):
    def t(self):
        c = self.negotiate(offer)
        # Fewer sizes than 12.x keep the runtime down across ~25 offers.
        self.exchange(c, sizes=[0, 64, 1024, 16384, 131072], uncompressed_every=3)
        self.clean_close(c)
    t.__name__ = "test_case_13_%d_%s" % (_i + 1, name)
    return t


for _i, (_name, _offer) in enumerate(MUST_ACCEPT):
    _t = _make_13(_name, _offer)
    setattr(Section13DeflateParameters, _t.__name__, _t)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
