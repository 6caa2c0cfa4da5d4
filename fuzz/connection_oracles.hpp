// Shared by the connection fuzz harnesses: events recorded as values, a
// config drawn from the input's parameters, and the oracles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "nexus/core/close_code.hpp"
#include "nexus/core/connection.hpp"

namespace nexus::fuzz {

using core::Connection;
using core::ConnectionConfig;
using core::Error;
using core::Event;
using core::EventType;
using core::Role;

struct Recorded {
    EventType type;
    std::string payload;
    std::uint16_t close_code;
    Error error;
    bool operator==(const Recorded&) const = default;
};

inline core::EntropySource counter_entropy() {
    return [state = std::uint32_t{1}](std::span<std::uint8_t> out) mutable {
        for (auto& b : out) {
            state = state * 1103515245u + 12345u;
            b = static_cast<std::uint8_t>(state >> 16);
        }
    };
}

/// Limits, auto-pong and permessage-deflate parameters from the input tail.
inline ConnectionConfig config_from(FuzzInput& in, Role role) {
    ConnectionConfig config;
    config.role = role;
    config.entropy = counter_entropy();
    config.max_frame_size = std::uint64_t{1} << in.param_range(0, 24);
    config.max_message_size = std::uint64_t{1} << in.param_range(0, 24);
    config.auto_pong = in.param_bool();
    if (in.param_bool()) {
        core::DeflateParams p;
        p.server_no_context_takeover = in.param_bool();
        p.client_no_context_takeover = in.param_bool();
        p.server_max_window_bits = static_cast<int>(in.param_range(8, 15));
        p.client_max_window_bits = static_cast<int>(in.param_range(8, 15));
        config.deflate = p;
        config.compression_threshold = in.param_range(0, 64);
    }
    return config;
}

/// The peer of `config`: the other role, same extension, no limits to speak of.
inline ConnectionConfig peer_of(const ConnectionConfig& config) {
    ConnectionConfig peer;
    peer.role = config.role == Role::server ? Role::client : Role::server;
    peer.entropy = counter_entropy();
    peer.max_frame_size = std::uint64_t{1} << 40;
    peer.max_message_size = std::uint64_t{1} << 40;
    peer.auto_pong = false;
    peer.deflate = config.deflate;
    return peer;
}

/// Only documented values come out of the receive side: errors are remote
/// framing violations with a close code, closes carry a code that may be on
/// the wire (or 1005/1006).
inline void check_event(const Event& e) {
    if (e.type == EventType::error) {
        NX_FUZZ_CHECK(core::close_code_for(e.error) != 0);
        NX_FUZZ_CHECK(!core::is_local(e.error) && !core::is_handshake(e.error));
        NX_FUZZ_CHECK(e.error != Error::abnormal_closure);
        NX_FUZZ_CHECK(e.close_code == core::close_code_for(e.error));
    } else if (e.type == EventType::close) {
        NX_FUZZ_CHECK(core::close_code::is_valid_on_wire(e.close_code) ||
                      e.close_code == core::close_code::no_status ||
                      e.close_code == core::close_code::abnormal);
    } else if (e.type == EventType::text) {
        NX_FUZZ_CHECK(core::is_valid_utf8(e.payload));
    }
    if (e.type == EventType::ping || e.type == EventType::pong) {
        NX_FUZZ_CHECK(e.payload.size() <= core::k_max_control_payload);
    }
}

inline void drain(Connection& c, std::vector<Recorded>& out) {
    Event e;
    while (c.next_event(e)) {
        check_event(e);
        out.push_back({e.type, std::string(e.text()), e.close_code, e.error});
    }
}

/// Everything `c` wrote, decoded by its peer, must be free of errors: our
/// encoder never emits an invalid frame, whatever it was fed.
inline std::vector<Recorded> peer_decodes(Connection& c) {
    auto out = c.data_to_send();
    std::vector<std::uint8_t> wire(out.begin(), out.end());
    c.consume(wire.size());
    Connection peer(peer_of(c.config()));
    std::vector<Recorded> events;
    peer.receive_data(wire);
    drain(peer, events);
    for (const auto& e : events) {
        NX_FUZZ_CHECK(e.type != EventType::error);
    }
    return events;
}

} // namespace nexus::fuzz
