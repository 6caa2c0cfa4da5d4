// The WebSocket connection state machine after the opening handshake
// (RFC 6455 §5-§8, RFC 7692 §6), for either role, with no I/O.
//
// Input: the caller hands received bytes to `receive_data()` and then calls
// `next_event()` until it returns false; the end of the stream is reported
// with `receive_eof()`. Output: every `send_*()` / `close()` appends frames to
// an internal buffer that the caller drains with `data_to_send()` and
// `consume()`. The connection never calls out while parsing, never blocks and
// never reads a clock: timers (ping interval, close deadline) belong to the
// caller.
//
// Zero copy: a complete, unfragmented, uncompressed frame that lies whole in
// the buffer given to receive_data() is unmasked in place and delivered as a
// view into that buffer. Frames split across reads, fragmented messages and
// compressed messages are assembled in a buffer of the connection's own,
// bounded by ConnectionConfig::max_message_size.
//
// Failure: when the peer breaks the protocol, next_event() returns one
// Event::error carrying the close code of the RFC, a close frame with that
// code is queued, the state becomes closed and all later input is ignored.
//
// Memory: an idle connection is one object of 64 bytes (x86-64) and holds no
// heap: the configuration may be shared between connections (see the
// constructor taking a pointer), and what only busy, fragmenting or
// compressing connections need (the output queue, message assembly, deflate
// state) lives in a part allocated on first use and freed by
// release_buffers() once idle. A server holds many idle connections.
//
// Thread safety: none; one thread at a time per Connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "nexus/core/byte_buffer.hpp"
#include "nexus/core/deflate.hpp"
#include "nexus/core/error.hpp"
#include "nexus/core/frame.hpp"
#include "nexus/core/role.hpp"
#include "nexus/core/utf8.hpp"

namespace nexus::core {

/// Fills its argument with unpredictable bytes (RFC 6455 §5.3 wants mask
/// keys from "a strong source of entropy"). The client role needs one; tests
/// plug in a fixed sequence.
using EntropySource = std::function<void(std::span<std::uint8_t>)>;

struct ConnectionConfig {
    Role role = Role::server;
    /// Largest declared payload length of one frame; over it the connection
    /// fails with 1009 before any of the payload is buffered.
    std::uint64_t max_frame_size = 16 * 1024 * 1024;
    /// Largest message (after decompression); over it: 1009.
    std::uint64_t max_message_size = 16 * 1024 * 1024;
    /// Answer every ping with a pong carrying its payload (§5.5.2). The ping
    /// event is delivered either way.
    bool auto_pong = true;
    /// permessage-deflate parameters agreed in the handshake, if any.
    std::optional<DeflateParams> deflate;
    int compression_level = -1;
    int compression_memory_level = 8;
    /// With deflate agreed, messages shorter than this go out uncompressed.
    std::size_t compression_threshold = 64;
    /// Streams to lend per message where no context takeover was agreed
    /// (see ZlibStreamPool); null: each connection keeps its own. Not owned:
    /// it must outlive the connections, and every connection using it must
    /// be used by one thread at a time in all.
    ZlibStreamPool* deflate_streams = nullptr;
    /// Required for Role::client (mask keys); unused by a server.
    EntropySource entropy;
};

enum class EventType : std::uint8_t {
    text,   // a complete text message (valid UTF-8)
    binary, // a complete binary message
    ping,   // a ping; the pong is already queued when auto_pong is on
    pong,   // a pong
    close,  // the peer's close frame, or the end of the stream without one (1006)
    error,  // the peer broke the protocol; the connection is closed
};

struct Event {
    EventType type = EventType::binary;
    /// text/binary/ping/pong: the payload. close: the reason (UTF-8).
    /// Valid until the next call of next_event() or receive_data().
    std::span<const std::uint8_t> payload;
    /// close: the peer's code, 1005 when its frame had none, 1006 when the
    /// stream ended without a close frame. error: the code sent to the peer.
    std::uint16_t close_code = 0;
    /// error: what the peer did wrong. close after an abrupt end:
    /// abnormal_closure.
    Error error = Error::ok;

    std::string_view text() const noexcept {
        return {reinterpret_cast<const char*>(payload.data()), payload.size()};
    }
};

enum class State : std::uint8_t {
    open,    // both directions open
    closing, // we sent a close frame and wait for the peer's
    closed,  // the close handshake is over, or the connection failed
};

class Connection {
public:
    /// Keeps a copy of `config` (on the heap). Throws std::invalid_argument
    /// when a client has no entropy source.
    explicit Connection(ConnectionConfig config);
    /// Uses `*shared_config` without copying it, so that many connections
    /// (a server's) share one configuration: it must outlive the connection
    /// and not change meanwhile. Throws std::invalid_argument when it is
    /// null or a client's without an entropy source.
    explicit Connection(const ConnectionConfig* shared_config);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // ---- input ----

    /// Hands `data` to the connection. The bytes must stay valid, and the
    /// caller must not touch them, until next_event() has returned false: the
    /// connection unmasks payloads in place and events point into them.
    /// Returns Error::invalid_state (and ignores `data`) when the previous
    /// input has not been drained by next_event() yet. Input after the
    /// connection closed is ignored.
    Error receive_data(std::span<std::uint8_t> data) noexcept;

    /// Reports the end of the input stream (the peer closed the transport).
    void receive_eof() noexcept;

    /// Parses as much input as needed for the next event. Returns true and
    /// fills `event`, or returns false when all input is consumed and more is
    /// needed (bytes of an incomplete frame are kept internally). The
    /// previous event's payload view ends here. Throws std::bad_alloc.
    bool next_event(Event& event);

    // ---- output ----
    // Each returns Error::ok and queues the frame(s), or a local error and
    // queues nothing. All fail with invalid_state once a close frame was
    // sent or the connection closed. Throw std::bad_alloc.

    /// One whole text message; `text` must be UTF-8 (local_invalid_utf8).
    Error send_text(std::string_view text);
    /// One whole binary message.
    Error send_binary(std::span<const std::uint8_t> data);
    /// One frame of a message: `opcode` text or binary starts a message,
    /// continuation goes on with it; `fin` ends it. Text fragments are
    /// checked as UTF-8 across the whole message. Control frames are refused
    /// here (local_bad_argument): use send_ping/send_pong/close.
    Error send_frame(Opcode opcode, std::span<const std::uint8_t> payload, bool fin);
    /// Ping / pong with at most 125 bytes (local_control_too_long).
    Error send_ping(std::span<const std::uint8_t> payload = {});
    Error send_pong(std::span<const std::uint8_t> payload = {});
    /// Starts the close handshake (§7.1.2). `code` 0 or 1005 sends a close
    /// frame without a body; otherwise the code must be valid on the wire
    /// (local_invalid_close_code) and `reason` UTF-8 (local_invalid_utf8) of
    /// at most 123 bytes (local_control_too_long).
    Error close(std::uint16_t code = 1000, std::string_view reason = {});

    /// Queues bytes that already form complete frames (a broadcast encoded
    /// once for many connections). Server role only; refused while a
    /// fragmented message is being sent or after close (invalid_state).
    /// `compressed`: the frames carry a permessage-deflate message made by
    /// another compressor (requires deflate agreed; local_bad_argument
    /// otherwise); our own compressor then forgets its history.
    Error send_encoded(std::span<const std::uint8_t> frames, bool compressed = false);

    /// For a server writing a whole message straight from the caller's
    /// buffer, with no copy into the queue: when nothing is queued and the
    /// message would go out as one uncompressed frame, checks it as
    /// send_frame(opcode, payload, true) would, writes its frame header to
    /// `header` (room for k_max_frame_header_size bytes) and returns the
    /// header's size. The caller then writes header and payload itself and
    /// hands whatever it could not write to send_encoded(), in order.
    /// Returns 0 and changes nothing when the message must go through
    /// send_text()/send_binary() instead (which also say what is wrong with
    /// an invalid one).
    std::size_t direct_frame_header(Opcode opcode, std::span<const std::uint8_t> payload,
                                    std::uint8_t* header) noexcept;

    /// Bytes waiting to be written; valid until the next non-const call.
    std::span<const std::uint8_t> data_to_send() const noexcept {
        return extra_ ? extra_->out.view().subspan(extra_->out_pos)
                      : std::span<const std::uint8_t>{};
    }
    bool wants_write() const noexcept { return extra_ && extra_->out_pos < extra_->out.size(); }
    /// Marks the first `n` bytes of data_to_send() as written.
    void consume(std::size_t n) noexcept;

    // ---- state ----

    State state() const noexcept { return state_; }
    bool close_sent() const noexcept { return close_sent_; }
    bool close_received() const noexcept { return close_received_; }
    /// True after a protocol failure.
    bool failed() const noexcept { return error_ != 0; }
    Error error() const noexcept { return static_cast<Error>(error_); }
    /// The transport should be closed once data_to_send() is empty: the
    /// close handshake is over (a server closes first, §7.1.1) or the
    /// connection failed. A client whose handshake is over waits for the
    /// server to close, with a deadline of the caller's.
    bool should_close_transport() const noexcept;

    /// Frees buffers kept for reuse while nothing is in them, and the part
    /// that holds them once nothing in it is in use (call on idle
    /// connections to hold memory per connection down).
    void release_buffers() noexcept;

    const ConnectionConfig& config() const noexcept { return *config_; }

private:
    /// What only busy, fragmenting or compressing connections need,
    /// allocated on first use and freed by release_buffers() once nothing in
    /// it is in use: the output queue, a message assembled from several
    /// frames or reads (with its UTF-8 state and size so far), a frame
    /// header or a control frame split across reads, the UTF-8 state of a
    /// message sent in fragments, compressed output before framing, and the
    /// deflate state. A whole frame in one read, answered with whole
    /// messages, never needs it beyond the output queue.
    struct Extra {
        ByteBuffer out;
        std::size_t out_pos = 0;
        ByteBuffer message;
        std::uint64_t message_wire_bytes = 0; // of a fragmented message so far
        ByteBuffer control;
        ByteBuffer scratch;
        std::unique_ptr<Deflater> deflater;
        std::unique_ptr<Inflater> inflater;
        Utf8Validator receive_utf8;
        Utf8Validator send_utf8;
        std::uint8_t header_bytes[k_max_frame_header_size]{};
        std::uint8_t header_have = 0;
    };
    enum class Phase : std::uint8_t { header, payload };
    /// What one parsing step did: produced an event, used up the input, or
    /// made progress and can go on.
    enum class Step : std::uint8_t { event, more, again };

    Step parse_header(Event& event);
    Step begin_frame(Event& event, const FrameHeader& header);
    Step take_payload(Event& event);
    Step add_message_bytes(std::span<const std::uint8_t> chunk, bool last, Event& event);
    Step deliver_message(Event& event);
    Step finish_control(Event& event, std::span<const std::uint8_t> payload);
    Step fail(Event& event, Error e);

    Error check_can_send() const noexcept;
    void queue_frame(Opcode opcode, bool fin, bool rsv1, std::span<const std::uint8_t> payload);
    void queue_close(std::uint16_t code, std::string_view reason);
    Deflater& deflater();
    Inflater& inflater();

    Connection(const ConnectionConfig* config, bool owned);
    Extra& extra();

    // Ordered and packed (flags as bits) to leave no padding: an idle
    // server holds one of these per client.
    const ConnectionConfig* config_;
    std::unique_ptr<Extra> extra_; // output, message assembly, deflate; on first use

    // input
    std::span<std::uint8_t> in_;
    std::size_t in_pos_ = 0;
    std::uint64_t remaining_ = 0; // payload bytes of the current frame still to come
    MaskKey frame_mask_{};        // the current frame's (its length is in remaining_)
    Opcode frame_opcode_ = Opcode::binary;
    Opcode message_opcode_ = Opcode::binary;
    Opcode sending_opcode_ = Opcode::binary;
    std::uint8_t error_ = 0;        // an Error (a framing one, below 256); 0: ok
    std::uint8_t frame_offset_ = 0; // payload bytes of the frame taken, modulo 4 (the mask phase)
    Phase phase_ = Phase::header;
    State state_ = State::open;
    FrameRules rules_;
    bool frame_fin_ : 1 = true;
    bool frame_rsv1_ : 1 = false;
    bool frame_masked_ : 1 = false;
    bool owns_config_ : 1 = false;
    bool eof_ : 1 = false;
    bool in_message_ : 1 = false;
    bool message_compressed_ : 1 = false;
    bool message_delivered_ : 1 = false;
    bool sending_message_ : 1 = false;
    bool sending_compressed_ : 1 = false;
    bool close_sent_ : 1 = false;
    bool close_received_ : 1 = false;
};

} // namespace nexus::core
