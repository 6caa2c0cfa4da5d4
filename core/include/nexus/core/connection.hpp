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
    /// Throws std::invalid_argument when a client has no entropy source.
    explicit Connection(ConnectionConfig config);
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
        return out_.view().subspan(out_pos_);
    }
    bool wants_write() const noexcept { return out_pos_ < out_.size(); }
    /// Marks the first `n` bytes of data_to_send() as written.
    void consume(std::size_t n) noexcept;

    // ---- state ----

    State state() const noexcept { return state_; }
    bool close_sent() const noexcept { return close_sent_; }
    bool close_received() const noexcept { return close_received_; }
    /// True after a protocol failure.
    bool failed() const noexcept { return error_ != Error::ok; }
    Error error() const noexcept { return error_; }
    /// The transport should be closed once data_to_send() is empty: the
    /// close handshake is over (a server closes first, §7.1.1) or the
    /// connection failed. A client whose handshake is over waits for the
    /// server to close, with a deadline of the caller's.
    bool should_close_transport() const noexcept;

    /// Frees buffers kept for reuse while nothing is in them (call on idle
    /// connections to hold memory per connection down).
    void release_buffers() noexcept;

    const ConnectionConfig& config() const noexcept { return config_; }

private:
    enum class Phase : std::uint8_t { header, payload };
    /// What one parsing step did: produced an event, used up the input, or
    /// made progress and can go on.
    enum class Step : std::uint8_t { event, more, again };

    Step parse_header(Event& event);
    Step begin_frame(Event& event);
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

    ConnectionConfig config_;
    FrameRules rules_;

    // input
    std::span<std::uint8_t> in_;
    std::size_t in_pos_ = 0;
    std::uint8_t header_bytes_[k_max_frame_header_size]{};
    std::size_t header_have_ = 0;
    Phase phase_ = Phase::header;
    FrameHeader frame_;
    std::uint64_t remaining_ = 0; // payload bytes of frame_ still to come
    std::uint64_t frame_offset_ = 0;
    bool eof_ = false;

    // message being received
    bool in_message_ = false;
    Opcode message_opcode_ = Opcode::binary;
    bool message_compressed_ = false;
    std::uint64_t message_wire_bytes_ = 0;
    ByteBuffer message_;
    bool message_delivered_ = false;
    Utf8Validator receive_utf8_;
    ByteBuffer control_; // a control frame split across reads (rare: no storage until then)

    // output
    ByteBuffer out_;
    std::size_t out_pos_ = 0;
    bool sending_message_ = false;
    bool sending_compressed_ = false;
    Opcode sending_opcode_ = Opcode::binary;
    Utf8Validator send_utf8_;
    ByteBuffer scratch_; // compressed payloads before framing

    std::unique_ptr<Deflater> deflater_;
    std::unique_ptr<Inflater> inflater_;

    State state_ = State::open;
    bool close_sent_ = false;
    bool close_received_ = false;
    Error error_ = Error::ok;
};

} // namespace nexus::core
