// wslay (Debian libwslay-dev) decoding a byte stream with its event API, as
// a reference in the same benchmark run. wslay leaves UTF-8 to its user, so
// the text variant validates each message the way a wslay user would have
// to: a plain byte-at-a-time check written here, not nexus' validator.
//
// What the figure includes: wslay's event API pulls bytes through its
// recv_callback into a 4 KiB read buffer of its own, so the callback here
// copies from the prepared stream, standing in for the recv() a wslay user
// makes; wslay then unmasks into a message buffer it allocates. The core's
// figures have no such copy: the caller's recv() fills the buffer the core
// parses in place, and that recv() is outside the benchmark.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

struct wslay_event_context;

namespace nexus::bench {

class WslayDecoder {
public:
    /// A server-role event context with a 1 GiB message limit; with
    /// `validate_utf8` every text message is checked byte by byte.
    /// Throws std::runtime_error when wslay cannot make its context.
    explicit WslayDecoder(bool validate_utf8);
    ~WslayDecoder();
    WslayDecoder(const WslayDecoder&) = delete;
    WslayDecoder& operator=(const WslayDecoder&) = delete;

    /// Feeds the whole stream and lets wslay deliver every message in it;
    /// messages() and invalid_text() count on across calls. `stream` must
    /// be whole frames without a close frame. Throws std::runtime_error when
    /// wslay fails or stops reading before the end of the stream.
    void decode(std::span<const std::uint8_t> stream);
    std::size_t messages() const noexcept { return messages_; }
    std::size_t invalid_text() const noexcept { return invalid_text_; }

    // Called from wslay's C callbacks.
    long on_recv(std::uint8_t* buffer, std::size_t length);
    void on_message(const std::uint8_t* data, std::size_t length, bool text);

private:
    wslay_event_context* context_ = nullptr;
    std::span<const std::uint8_t> input_;
    std::size_t position_ = 0;
    std::size_t messages_ = 0;
    std::size_t invalid_text_ = 0;
    bool validate_utf8_;
};

} // namespace nexus::bench
