#include "nexus/core/connection.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "nexus/core/close_code.hpp"

namespace nexus::core {
namespace {

/// Buffers larger than this are returned to the allocator once empty, so a
/// connection that once saw a big message does not keep its memory forever.
constexpr std::size_t k_retained_capacity = 64 * 1024;
/// A close reason fits in a control frame after the 2-byte code (§5.5.1).
constexpr std::size_t k_max_close_reason = k_max_control_payload - 2;

std::span<const std::uint8_t> as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void shrink_if_large(ByteBuffer& buffer) noexcept {
    buffer.clear();
    if (buffer.capacity() > k_retained_capacity) {
        buffer.release();
    }
}

} // namespace

Connection::Connection(ConnectionConfig config)
    : Connection(new ConnectionConfig(std::move(config)), true) {}

Connection::Connection(const ConnectionConfig* shared_config) : Connection(shared_config, false) {}

Connection::Connection(const ConnectionConfig* config, bool owned)
    : config_(config), owns_config_(owned) {
    if (config_ == nullptr) {
        throw std::invalid_argument("nexus::core::Connection: no configuration");
    }
    if (config_->role == Role::client && !config_->entropy) {
        if (owns_config_) {
            delete config_;
        }
        throw std::invalid_argument("nexus::core::Connection: a client needs an entropy source");
    }
    rules_.receiver = config_->role;
    rules_.rsv1_allowed = config_->deflate.has_value();
}

Connection::~Connection() {
    if (owns_config_) {
        delete config_;
    }
}

Connection::Extra& Connection::extra() {
    if (!extra_) {
        extra_ = std::make_unique<Extra>();
    }
    return *extra_;
}

// ---------------------------------------------------------------- input

Error Connection::receive_data(std::span<std::uint8_t> data) noexcept {
    if (in_pos_ < in_.size()) {
        return Error::invalid_state;
    }
    if (state_ == State::closed) {
        in_ = {};
        in_pos_ = 0;
        return Error::ok;
    }
    in_ = data;
    in_pos_ = 0;
    return Error::ok;
}

void Connection::receive_eof() noexcept {
    eof_ = true;
}

bool Connection::next_event(Event& event) {
    if (message_delivered_) {
        shrink_if_large(extra_->message);
        message_delivered_ = false;
    }
    for (;;) {
        if (state_ == State::closed) {
            in_ = {};
            in_pos_ = 0;
            return false;
        }
        const bool have_input = in_pos_ < in_.size();
        Step step = Step::again;
        if (phase_ == Phase::payload && (have_input || remaining_ == 0)) {
            step = take_payload(event);
        } else if (have_input) {
            step = parse_header(event);
        } else {
            in_ = {};
            in_pos_ = 0;
            if (eof_) {
                // The stream ended without a finished close handshake (§7.1.5: 1006).
                state_ = State::closed;
                event = Event{};
                event.type = EventType::close;
                event.close_code = close_code::abnormal;
                event.error = Error::abnormal_closure;
                return true;
            }
            return false;
        }
        if (step == Step::event) {
            return true;
        }
        if (step == Step::more) {
            in_ = {};
            in_pos_ = 0;
            if (!eof_) {
                return false;
            }
        }
    }
}

Connection::Step Connection::parse_header(Event& event) {
    const std::span<std::uint8_t> rest = in_.subspan(in_pos_);
    if (!extra_ || extra_->header_have == 0) {
        FrameHeader header;
        const HeaderDecodeResult r = decode_frame_header(rest, rules_, header);
        if (r.status == HeaderStatus::complete) {
            in_pos_ += r.size;
            return begin_frame(event, header);
        }
        if (r.status == HeaderStatus::failed) {
            return fail(event, r.error);
        }
    }
    // The header is split across reads: collect it in header_bytes, taking
    // no more than it needs so the payload stays in the caller's buffer.
    Extra& x = extra();
    std::size_t needed = std::max<std::size_t>(2, x.header_have);
    for (;;) {
        if (x.header_have < needed) {
            const std::size_t take = std::min(needed - x.header_have, in_.size() - in_pos_);
            std::memcpy(x.header_bytes + x.header_have, in_.data() + in_pos_, take);
            x.header_have = static_cast<std::uint8_t>(x.header_have + take);
            in_pos_ += take;
            if (x.header_have < needed) {
                return Step::more;
            }
        }
        FrameHeader header;
        const HeaderDecodeResult r =
            decode_frame_header({x.header_bytes, x.header_have}, rules_, header);
        if (r.status == HeaderStatus::failed) {
            return fail(event, r.error);
        }
        if (r.status == HeaderStatus::complete) {
            x.header_have = 0;
            return begin_frame(event, header);
        }
        needed = r.size;
    }
}

Connection::Step Connection::begin_frame(Event& event, const FrameHeader& header) {
    frame_mask_ = header.mask_key;
    frame_opcode_ = header.opcode;
    frame_fin_ = header.fin;
    frame_rsv1_ = header.rsv1;
    frame_masked_ = header.masked;
    const bool control = is_control(frame_opcode_);
    const std::uint64_t length = header.payload_length;
    if (!control) {
        // §5.4: a message is one start frame and then only continuations.
        if (frame_opcode_ == Opcode::continuation) {
            if (!in_message_) {
                return fail(event, Error::unexpected_continuation);
            }
        } else if (in_message_) {
            return fail(event, Error::expected_continuation);
        }
    }
    // Limits are checked on the declared length, before any payload is kept.
    if (length > config_->max_frame_size) {
        return fail(event, Error::frame_too_big);
    }
    if (!control) {
        std::uint64_t wire_bytes = length; // of the message so far
        if (frame_opcode_ != Opcode::continuation) {
            in_message_ = true;
            message_opcode_ = frame_opcode_;
            message_compressed_ = frame_rsv1_;
            if (extra_) {
                extra_->receive_utf8.reset(); // a new part starts reset
            }
        } else {
            wire_bytes += extra_->message_wire_bytes; // kept by the frame before (not fin)
        }
        // A compressed message is limited by its inflated size instead.
        if (!message_compressed_ && wire_bytes > config_->max_message_size) {
            return fail(event, Error::message_too_big);
        }
        if (!frame_fin_) {
            extra().message_wire_bytes = wire_bytes;
        }
    }
    remaining_ = length;
    frame_offset_ = 0;
    if (extra_) {
        extra_->control.clear();
    }

    const std::size_t available = in_.size() - in_pos_;
    if (length <= available) {
        const bool whole_message =
            !control && frame_fin_ && frame_opcode_ != Opcode::continuation && !frame_rsv1_;
        if (control || whole_message) {
            // Zero copy: the frame lies whole in the caller's buffer.
            const std::span<std::uint8_t> payload =
                in_.subspan(in_pos_, static_cast<std::size_t>(length));
            if (frame_masked_) {
                apply_mask(payload.data(), payload.size(), frame_mask_);
            }
            in_pos_ += payload.size();
            remaining_ = 0;
            if (control) {
                return finish_control(event, payload);
            }
            in_message_ = false;
            if (frame_opcode_ == Opcode::text && !is_valid_utf8(payload)) {
                return fail(event, Error::invalid_utf8); // §8.1
            }
            event = Event{};
            event.type = frame_opcode_ == Opcode::text ? EventType::text : EventType::binary;
            event.payload = payload;
            return Step::event;
        }
    }
    phase_ = Phase::payload;
    return Step::again;
}

Connection::Step Connection::take_payload(Event& event) {
    const std::size_t available = in_.size() - in_pos_;
    const std::size_t take =
        remaining_ < available ? static_cast<std::size_t>(remaining_) : available;
    const std::span<std::uint8_t> chunk = in_.subspan(in_pos_, take);
    if (frame_masked_) {
        apply_mask(chunk.data(), chunk.size(), frame_mask_, frame_offset_);
    }
    in_pos_ += take;
    remaining_ -= take;
    frame_offset_ = static_cast<std::uint8_t>((frame_offset_ + take) & 3);

    const bool frame_done = remaining_ == 0;
    if (is_control(frame_opcode_)) {
        extra().control.append(chunk); // at most 125 bytes (checked on the header)
    } else {
        const Step step = add_message_bytes(chunk, frame_done && frame_fin_, event);
        if (step == Step::event) {
            return step;
        }
    }
    if (!frame_done) {
        return Step::more;
    }
    phase_ = Phase::header;
    if (is_control(frame_opcode_)) {
        return finish_control(event, extra().control.view());
    }
    if (frame_fin_) {
        return deliver_message(event);
    }
    return Step::again;
}

Connection::Step Connection::add_message_bytes(std::span<const std::uint8_t> chunk, bool last,
                                               Event& event) {
    Extra& x = extra();
    ByteBuffer& message = x.message;
    const std::size_t before = message.size();
    Error inflate_error = Error::ok;
    if (message_compressed_) {
        inflate_error = inflater().decompress(chunk, last, message,
                                              static_cast<std::size_t>(config_->max_message_size));
    } else {
        message.append(chunk);
    }
    // §8.1 fail fast: check what arrived now, not the whole message at its
    // end. The text inflated before a corrupt or oversized part is checked
    // first, so the verdict does not depend on how the input was split.
    if (message_opcode_ == Opcode::text &&
        !x.receive_utf8.feed(message.data() + before, message.size() - before)) {
        return fail(event, Error::invalid_utf8);
    }
    if (inflate_error != Error::ok) {
        return fail(event, inflate_error);
    }
    return Step::again;
}

Connection::Step Connection::deliver_message(Event& event) {
    in_message_ = false;
    if (message_opcode_ == Opcode::text && !extra().receive_utf8.complete()) {
        return fail(event, Error::invalid_utf8); // ends inside a code point
    }
    event = Event{};
    event.type = message_opcode_ == Opcode::text ? EventType::text : EventType::binary;
    event.payload = extra().message.view();
    message_delivered_ = true;
    return Step::event;
}

Connection::Step Connection::finish_control(Event& event, std::span<const std::uint8_t> payload) {
    event = Event{};
    switch (frame_opcode_) {
    case Opcode::ping:
        if (config_->auto_pong && !close_sent_) {
            queue_frame(Opcode::pong, true, false, payload); // §5.5.3: same payload
        }
        event.type = EventType::ping;
        event.payload = payload;
        return Step::event;
    case Opcode::pong:
        event.type = EventType::pong;
        event.payload = payload;
        return Step::event;
    default:
        break;
    }
    // Close (§5.5.1): no body, or a 2-byte code and a UTF-8 reason.
    close_received_ = true;
    std::uint16_t code = close_code::no_status;
    std::span<const std::uint8_t> reason;
    if (payload.size() == 1) {
        return fail(event, Error::bad_close_payload);
    }
    if (payload.size() >= 2) {
        code = static_cast<std::uint16_t>(payload[0] << 8 | payload[1]);
        if (!close_code::is_valid_on_wire(code)) {
            return fail(event, Error::bad_close_code);
        }
        reason = payload.subspan(2);
        if (!is_valid_utf8(reason)) {
            return fail(event, Error::invalid_close_reason);
        }
    }
    if (!close_sent_) {
        // §5.5.1: answer with a close frame, echoing the code.
        queue_close(code == close_code::no_status ? 0 : code, {});
        close_sent_ = true;
    }
    state_ = State::closed;
    in_message_ = false;
    event.type = EventType::close;
    event.close_code = code;
    event.payload = reason;
    return Step::event;
}

Connection::Step Connection::fail(Event& event, Error e) {
    error_ = static_cast<std::uint8_t>(e); // framing errors: all below 256
    if (!close_sent_) {
        // §7.1.7: fail the connection with the code the violation calls for.
        std::string_view reason = describe(e);
        reason = reason.substr(0, k_max_close_reason);
        queue_close(close_code_for(e), reason);
        close_sent_ = true;
    }
    state_ = State::closed;
    in_message_ = false;
    in_ = {};
    in_pos_ = 0;
    if (extra_) {
        shrink_if_large(extra_->message);
    }
    event = Event{};
    event.type = EventType::error;
    event.close_code = close_code_for(e);
    event.error = e;
    return Step::event;
}

// ---------------------------------------------------------------- output

Error Connection::check_can_send() const noexcept {
    return close_sent_ || state_ == State::closed ? Error::invalid_state : Error::ok;
}

Error Connection::send_text(std::string_view text) {
    return send_frame(Opcode::text, as_bytes(text), true);
}

Error Connection::send_binary(std::span<const std::uint8_t> data) {
    return send_frame(Opcode::binary, data, true);
}

Error Connection::send_frame(Opcode opcode, std::span<const std::uint8_t> payload, bool fin) {
    if (const Error e = check_can_send(); e != Error::ok) {
        return e;
    }
    if (is_control(opcode)) {
        return Error::local_bad_argument;
    }
    const bool starts = opcode != Opcode::continuation;
    if (starts && sending_message_) {
        return Error::local_message_in_progress;
    }
    if (!starts && !sending_message_) {
        return Error::local_no_message_in_progress;
    }
    const Opcode message_opcode = starts ? opcode : sending_opcode_;
    if (message_opcode == Opcode::text) {
        // A fragmented message keeps its state between frames (in extra_,
        // which stays while sending_message_).
        Utf8Validator check = starts ? Utf8Validator{} : extra().send_utf8;
        if (!check.feed(payload) || (fin && !check.complete())) {
            return Error::local_invalid_utf8;
        }
        if (!fin) {
            extra().send_utf8 = check;
        }
    }
    if (starts) {
        sending_opcode_ = opcode;
        // RFC 7692 §6: the choice to compress is made per message.
        sending_compressed_ = config_->deflate.has_value() &&
                              (!fin || payload.size() >= config_->compression_threshold);
    }
    if (sending_compressed_) {
        ByteBuffer& scratch = extra().scratch;
        scratch.clear();
        deflater().compress(payload, fin, scratch);
        queue_frame(opcode, fin, starts, scratch.view());
        if (scratch.capacity() > k_retained_capacity) {
            scratch.release();
        }
    } else {
        queue_frame(opcode, fin, false, payload);
    }
    sending_message_ = !fin;
    return Error::ok;
}

std::size_t Connection::direct_frame_header(Opcode opcode, std::span<const std::uint8_t> payload,
                                            std::uint8_t* header) noexcept {
    const bool compress =
        config_->deflate.has_value() && payload.size() >= config_->compression_threshold;
    if (config_->role != Role::server || wants_write() || compress || sending_message_ ||
        check_can_send() != Error::ok || (opcode != Opcode::text && opcode != Opcode::binary) ||
        (opcode == Opcode::text && !is_valid_utf8(payload))) {
        return 0;
    }
    return encode_frame_header(header, opcode, true, false, payload.size(), nullptr);
}

Error Connection::send_ping(std::span<const std::uint8_t> payload) {
    if (const Error e = check_can_send(); e != Error::ok) {
        return e;
    }
    if (payload.size() > k_max_control_payload) {
        return Error::local_control_too_long;
    }
    queue_frame(Opcode::ping, true, false, payload);
    return Error::ok;
}

Error Connection::send_pong(std::span<const std::uint8_t> payload) {
    if (const Error e = check_can_send(); e != Error::ok) {
        return e;
    }
    if (payload.size() > k_max_control_payload) {
        return Error::local_control_too_long;
    }
    queue_frame(Opcode::pong, true, false, payload);
    return Error::ok;
}

Error Connection::close(std::uint16_t code, std::string_view reason) {
    if (const Error e = check_can_send(); e != Error::ok) {
        return e;
    }
    if (code == 0 || code == close_code::no_status) {
        if (!reason.empty()) {
            return Error::local_bad_argument; // a reason needs a code before it
        }
        code = 0;
    } else if (!close_code::is_valid_on_wire(code)) {
        return Error::local_invalid_close_code;
    }
    if (reason.size() > k_max_close_reason) {
        return Error::local_control_too_long;
    }
    if (!is_valid_utf8(reason)) {
        return Error::local_invalid_utf8;
    }
    queue_close(code, reason);
    close_sent_ = true;
    state_ = State::closing;
    return Error::ok;
}

Error Connection::send_encoded(std::span<const std::uint8_t> frames, bool compressed) {
    if (const Error e = check_can_send(); e != Error::ok) {
        return e;
    }
    if (config_->role != Role::server || sending_message_) {
        return Error::invalid_state;
    }
    if (compressed) {
        if (!config_->deflate) {
            return Error::local_bad_argument;
        }
        if (extra_ && extra_->deflater) {
            extra_->deflater->reset();
        }
    }
    extra().out.append(frames);
    return Error::ok;
}

void Connection::consume(std::size_t n) noexcept {
    if (!extra_) {
        return;
    }
    std::size_t& pos = extra_->out_pos;
    ByteBuffer& out = extra_->out;
    pos += std::min(n, out.size() - pos);
    if (pos == out.size()) {
        pos = 0;
        shrink_if_large(out);
    }
}

bool Connection::should_close_transport() const noexcept {
    return state_ == State::closed && (config_->role == Role::server || failed() || eof_);
}

void Connection::release_buffers() noexcept {
    if (!extra_) {
        return;
    }
    if (!wants_write()) {
        extra_->out.release();
        extra_->out_pos = 0;
    }
    if (!in_message_) {
        extra_->message.release();
        message_delivered_ = false;
    }
    extra_->scratch.release();
    if (phase_ == Phase::header) {
        extra_->control.release();
    }
    // Codecs that borrow from a pool hold a zlib stream only within a
    // message (deflate.hpp): between messages they are empty shells.
    if (extra_->deflater && !extra_->deflater->has_stream() && !sending_message_) {
        extra_->deflater.reset();
    }
    if (extra_->inflater && !extra_->inflater->has_stream() && !in_message_) {
        extra_->inflater.reset();
    }
    // The part goes too once nothing in it is in use: no message half
    // received or sent, no split header, no deflate state (with context
    // takeover that is the history both sides rely on).
    if (extra_->out.capacity() == 0 && extra_->message.capacity() == 0 &&
        extra_->control.capacity() == 0 && !extra_->deflater && !extra_->inflater && !in_message_ &&
        !sending_message_ && extra_->header_have == 0) {
        extra_.reset();
    }
}

void Connection::queue_frame(Opcode opcode, bool fin, bool rsv1,
                             std::span<const std::uint8_t> payload) {
    Extra& x = extra();
    // Written bytes at the front are dropped before the buffer grows.
    if (x.out_pos > 4096 && x.out_pos * 2 > x.out.size()) {
        x.out.erase_front(x.out_pos);
        x.out_pos = 0;
    }
    const bool masked = config_->role == Role::client;
    MaskKey key{};
    if (masked) {
        config_->entropy(key); // §5.3: a fresh, unpredictable key per frame
    }
    const std::size_t header = frame_header_size(payload.size(), masked);
    std::uint8_t* p = x.out.extend(header + payload.size());
    const std::size_t written =
        encode_frame_header(p, opcode, fin, rsv1, payload.size(), masked ? &key : nullptr);
    if (!payload.empty()) {
        std::memcpy(p + written, payload.data(), payload.size());
        if (masked) {
            apply_mask(p + written, payload.size(), key);
        }
    }
}

void Connection::queue_close(std::uint16_t code, std::string_view reason) {
    std::uint8_t body[k_max_control_payload];
    std::size_t size = 0;
    if (code != 0) {
        body[0] = static_cast<std::uint8_t>(code >> 8);
        body[1] = static_cast<std::uint8_t>(code);
        if (!reason.empty()) {
            std::memcpy(body + 2, reason.data(), reason.size());
        }
        size = 2 + reason.size();
    }
    queue_frame(Opcode::close, true, false, {body, size});
}

Deflater& Connection::deflater() {
    Extra& x = extra();
    if (!x.deflater) {
        x.deflater =
            std::make_unique<Deflater>(*config_->deflate, config_->role, config_->compression_level,
                                       config_->compression_memory_level, config_->deflate_streams);
    }
    return *x.deflater;
}

Inflater& Connection::inflater() {
    Extra& x = extra();
    if (!x.inflater) {
        x.inflater =
            std::make_unique<Inflater>(*config_->deflate, config_->role, config_->deflate_streams);
    }
    return *x.inflater;
}

} // namespace nexus::core
