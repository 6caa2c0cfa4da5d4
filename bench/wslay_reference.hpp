// wslay (Debian libwslay-dev) decoding a byte stream with its event API, as
// a reference in the same benchmark run. wslay leaves UTF-8 to its user, so
// the text variant validates each message the way a wslay user would have
// to: a plain byte-at-a-time check written here, not nexus' validator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

struct wslay_event_context;

namespace nexus::bench {

class WslayDecoder {
public:
    explicit WslayDecoder(bool validate_utf8);
    ~WslayDecoder();
    WslayDecoder(const WslayDecoder&) = delete;
    WslayDecoder& operator=(const WslayDecoder&) = delete;

    /// Feeds the whole stream and lets wslay deliver every message in it.
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
