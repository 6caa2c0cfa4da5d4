// The frame decoder harness for one role: random bytes as received from the
// peer. Oracles: documented errors only; whole and chunked input give the
// same events; each message re-encoded and decoded again is unchanged; what
// the decoder wrote back (pongs, close) is valid for the peer.
#pragma once

#include <algorithm>

#include "connection_oracles.hpp"

namespace nexus::fuzz {

inline int fuzz_frames(Role role, const std::uint8_t* data, std::size_t size) {
    FuzzInput in(data, size);
    const ConnectionConfig config = config_from(in, role);
    std::uint32_t chunk_state = in.param_byte() | 1u;
    const bool eof = in.param_bool();
    const auto body = in.rest();

    std::vector<std::uint8_t> whole_input(body.begin(), body.end());
    Connection whole(config);
    std::vector<Recorded> expected;
    whole.receive_data(whole_input);
    drain(whole, expected);
    if (eof) {
        whole.receive_eof();
        drain(whole, expected);
    }

    std::vector<std::uint8_t> chunked_input(body.begin(), body.end());
    Connection chunked(config);
    std::vector<Recorded> got;
    std::size_t pos = 0;
    while (pos < chunked_input.size()) {
        chunk_state = chunk_state * 1664525u + 1013904223u;
        const std::size_t n = 1 + (chunk_state >> 24) % 64;
        const std::size_t take = n < chunked_input.size() - pos ? n : chunked_input.size() - pos;
        chunked.receive_data({chunked_input.data() + pos, take});
        drain(chunked, got);
        pos += take;
    }
    if (eof) {
        chunked.receive_eof();
        drain(chunked, got);
    }
    NX_FUZZ_CHECK(got == expected);
    // The same events produce the same answers (pongs, close), byte for byte.
    const auto a = whole.data_to_send();
    const auto b = chunked.data_to_send();
    NX_FUZZ_CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
    peer_decodes(whole);

    // Round trip: every message, sent back by a peer, decodes to itself.
    for (const auto& e : expected) {
        if (e.type != EventType::text && e.type != EventType::binary) {
            continue;
        }
        Connection sender(peer_of(config));
        const auto bytes = std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(e.payload.data()), e.payload.size());
        const Error sent =
            e.type == EventType::text ? sender.send_text(e.payload) : sender.send_binary(bytes);
        NX_FUZZ_CHECK(sent == Error::ok);
        auto out = sender.data_to_send();
        std::vector<std::uint8_t> wire(out.begin(), out.end());
        ConnectionConfig receiver_config = config;
        receiver_config.max_frame_size = std::uint64_t{1} << 40;
        receiver_config.max_message_size = std::uint64_t{1} << 40;
        Connection receiver(receiver_config);
        receiver.receive_data(wire);
        std::vector<Recorded> echoed;
        drain(receiver, echoed);
        NX_FUZZ_CHECK(echoed.size() == 1 && echoed[0] == e);
    }
    return 0;
}

} // namespace nexus::fuzz
