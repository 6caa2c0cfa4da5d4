#include "wslay_reference.hpp"

#include <wslay/wslay.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace nexus::bench {
namespace {

/// Byte-at-a-time UTF-8 check (RFC 3629), the obvious way.
bool simple_utf8(const std::uint8_t* s, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
        const std::uint8_t b = s[i];
        std::size_t extra = 0;
        std::uint32_t cp = 0;
        if (b < 0x80) {
            ++i;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            extra = 1;
            cp = b & 0x1Fu;
        } else if (b >= 0xE0 && b <= 0xEF) {
            extra = 2;
            cp = b & 0x0Fu;
        } else if (b >= 0xF0 && b <= 0xF4) {
            extra = 3;
            cp = b & 0x07u;
        } else {
            return false;
        }
        if (i + extra >= n) {
            return false; // truncated sequence
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

ssize_t recv_callback(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int,
                      void* user) {
    const long n = static_cast<WslayDecoder*>(user)->on_recv(buf, len);
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    return n;
}

ssize_t send_callback(wslay_event_context_ptr, const std::uint8_t*, std::size_t len, int, void*) {
    return static_cast<ssize_t>(len); // nothing is sent in this benchmark
}

void on_msg_recv(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    static_cast<WslayDecoder*>(user)->on_message(arg->msg, arg->msg_length,
                                                 arg->opcode == WSLAY_TEXT_FRAME);
}

} // namespace

WslayDecoder::WslayDecoder(bool validate_utf8) : validate_utf8_(validate_utf8) {
    static const wslay_event_callbacks callbacks = {
        recv_callback, send_callback, nullptr, nullptr, nullptr, nullptr, on_msg_recv};
    if (wslay_event_context_server_init(&context_, &callbacks, this) != 0) {
        throw std::runtime_error("wslay_event_context_server_init failed");
    }
    wslay_event_config_set_max_recv_msg_length(context_, std::uint64_t{1} << 30);
}

WslayDecoder::~WslayDecoder() {
    wslay_event_context_free(context_);
}

void WslayDecoder::decode(std::span<const std::uint8_t> stream) {
    input_ = stream;
    position_ = 0;
    while (position_ < input_.size()) {
        const std::size_t before = position_;
        if (wslay_event_recv(context_) != 0) {
            throw std::runtime_error("wslay_event_recv failed");
        }
        if (position_ == before) {
            // wslay stops reading after a close frame; never spin on that.
            throw std::runtime_error("wslay stopped reading before the end of the stream");
        }
    }
}

long WslayDecoder::on_recv(std::uint8_t* buffer, std::size_t length) {
    const std::size_t n = std::min(length, input_.size() - position_);
    std::memcpy(buffer, input_.data() + position_, n);
    position_ += n;
    return static_cast<long>(n);
}

void WslayDecoder::on_message(const std::uint8_t* data, std::size_t length, bool text) {
    ++messages_;
    if (text && validate_utf8_ && !simple_utf8(data, length)) {
        ++invalid_text_;
    }
}

} // namespace nexus::bench
