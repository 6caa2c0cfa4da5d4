// Helpers shared by the core tests: recording events as values, feeding
// input in chosen chunks, and a deterministic entropy source.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "nexus/core/connection.hpp"

namespace nexus::core::testing {

/// An event copied out of the connection (views do not outlive next_event).
struct Recorded {
    EventType type = EventType::binary;
    std::string payload;
    std::uint16_t close_code = 0;
    Error error = Error::ok;

    bool operator==(const Recorded&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Recorded& r) {
    static const char* const names[] = {"text", "binary", "ping", "pong", "close", "error"};
    return os << names[static_cast<int>(r.type)] << "(" << r.payload.size() << " bytes, code "
              << r.close_code << ", error " << static_cast<int>(r.error) << ")";
}

inline Recorded record(const Event& e) {
    return {e.type, std::string(e.text()), e.close_code, e.error};
}

inline std::vector<std::uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

inline std::span<const std::uint8_t> as_span(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Deterministic "entropy": a counter-based generator, so encoded client
/// frames are reproducible.
inline EntropySource fixed_entropy(std::uint32_t seed = 0x12345678) {
    return [state = seed](std::span<std::uint8_t> out) mutable {
        for (auto& b : out) {
            state = state * 1664525u + 1013904223u;
            b = static_cast<std::uint8_t>(state >> 24);
        }
    };
}

/// Drains every event the connection has for its current input.
inline void drain_events(Connection& c, std::vector<Recorded>& out) {
    Event e;
    while (c.next_event(e)) {
        out.push_back(record(e));
    }
}

/// Feeds `input` (copied, since the connection unmasks in place) in pieces
/// of the given sizes (the last piece takes the rest), optionally followed by
/// EOF, and returns every event.
inline std::vector<Recorded> feed(Connection& c, std::vector<std::uint8_t> input,
                                  const std::vector<std::size_t>& pieces = {}, bool eof = false) {
    std::vector<Recorded> events;
    std::size_t pos = 0;
    for (std::size_t piece : pieces) {
        if (pos >= input.size()) {
            break;
        }
        const std::size_t n = std::min(piece, input.size() - pos);
        c.receive_data({input.data() + pos, n});
        drain_events(c, events);
        pos += n;
    }
    if (pos < input.size()) {
        c.receive_data({input.data() + pos, input.size() - pos});
        drain_events(c, events);
    }
    if (eof) {
        c.receive_eof();
        drain_events(c, events);
    }
    return events;
}

/// Takes (and marks written) everything the connection wants to send.
inline std::vector<std::uint8_t> take_output(Connection& c) {
    const auto out = c.data_to_send();
    std::vector<std::uint8_t> copy(out.begin(), out.end());
    c.consume(copy.size());
    return copy;
}

inline ConnectionConfig server_config() {
    ConnectionConfig config;
    config.role = Role::server;
    return config;
}

inline ConnectionConfig client_config(std::uint32_t seed = 0x12345678) {
    ConnectionConfig config;
    config.role = Role::client;
    config.entropy = fixed_entropy(seed);
    return config;
}

} // namespace nexus::core::testing
