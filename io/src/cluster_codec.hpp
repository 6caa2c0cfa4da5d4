// Private: what servers tell each other through Redis, as bytes.
//
// Envelopes travel on pub/sub channels; presence records are values of a
// Redis hash. Both are versioned binary layouts (little-endian integers,
// strings as a LEB128 length and bytes) so payloads stay binary-safe and
// decoding is bounded by the input. Decoders return nullopt for anything
// malformed: a server ignores what it cannot read instead of trusting it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nexus/io/websocket_server.hpp"

namespace nexus::io::detail {

/// Client ids carry their server: the node id in the bits above
/// k_node_shift, a per-server counter below (2^40 connections per run).
inline constexpr int k_node_shift = 40;
/// Node ids from Redis's counter wrap below this; a server that could not
/// reach Redis at start picks one at random above it.
inline constexpr std::uint32_t k_counted_nodes = 1u << 22;
inline constexpr std::uint32_t k_max_node = (1u << 23) - 1;

inline std::uint32_t node_of(ClientId id) noexcept {
    return static_cast<std::uint32_t>(id >> k_node_shift);
}

struct Envelope {
    enum class Kind : std::uint8_t {
        broadcast = 1,  // to every client (but `client`) of every other server
        publish = 2,    // to the subscribers of `channel` on every other server
        send = 3,       // to `client`, on its server
        disconnect = 4, // close `client` with `code` and `text` (the reason)
        hello = 5,      // a server (origin) joined
        bye = 6,        // a server (origin) is leaving
    };
    Kind kind = Kind::broadcast;
    bool binary = false;
    std::uint16_t code = 0;
    std::uint32_t origin = 0; // the sending server's node id
    ClientId client = 0;      // broadcast: the one excluded (0: none)
    std::string text;         // publish: the channel; disconnect: the reason
    std::string payload;
};

std::string encode(const Envelope& envelope);
std::optional<Envelope> decode_envelope(std::string_view bytes);

/// A client as presence keeps it (ClientInfo without its id, which is the
/// hash field).
std::string encode_presence(const ClientInfo& info);
std::optional<ClientInfo> decode_presence(ClientId id, std::string_view bytes);

/// A server's statistics as its presence key holds them.
std::string encode_stats(const ServerStats& stats);
std::optional<ServerStats> decode_stats(std::string_view bytes);
/// Adds every counter of `more` to `total` (servers too).
void add_stats(ServerStats& total, const ServerStats& more);

} // namespace nexus::io::detail
