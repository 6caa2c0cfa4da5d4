// The client side of the opening handshake, fed arbitrary response bytes
// after a request built from fuzzed parameters.
//
// Oracles: whole and chunked responses agree; only handshake errors come
// out; a completed handshake chose only what was offered; and a request
// the client builds is always accepted by our server, whose 101 completes
// the client (round trip).
#include <string>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "nexus/core/handshake.hpp"

using namespace nexus::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    nexus::fuzz::FuzzInput in(data, size);
    ClientConfig config;
    config.host = "example.com:" + std::to_string(in.param_range(1, 65535));
    config.target = in.param_bool() ? "/chat?room=1" : "/";
    static const char* const protocols[] = {"chat", "superchat", "v2.json"};
    const std::uint8_t offer = in.param_byte();
    for (int i = 0; i < 3; ++i) {
        if ((offer >> i) & 1) {
            config.subprotocols.emplace_back(protocols[i]);
        }
    }
    if ((offer & 8) != 0) {
        config.extensions = "permessage-deflate; client_max_window_bits";
    }
    for (auto& b : config.nonce) {
        b = in.param_byte();
    }
    std::uint32_t chunk_state = in.param_byte() | 1u;
    const auto body = in.rest();

    ClientHandshake whole(config);
    NX_FUZZ_CHECK(!whole.request().empty());
    std::size_t whole_consumed = 0;
    const ParseStatus whole_status = whole.receive_data(body, whole_consumed);

    ClientHandshake chunked(config);
    ParseStatus status = ParseStatus::need_more;
    std::size_t pos = 0;
    std::size_t total = 0;
    while (pos < body.size() && status == ParseStatus::need_more) {
        chunk_state = chunk_state * 1664525u + 1013904223u;
        const std::size_t n =
            std::min<std::size_t>(1 + (chunk_state >> 24) % 40, body.size() - pos);
        std::size_t consumed = 0;
        status = chunked.receive_data(body.subspan(pos, n), consumed);
        total += consumed;
        pos += n;
    }
    NX_FUZZ_CHECK(status == whole_status);
    NX_FUZZ_CHECK(chunked.error() == whole.error());
    if (whole_status == ParseStatus::failed) {
        NX_FUZZ_CHECK(is_handshake(whole.error()));
    }
    if (whole_status == ParseStatus::complete) {
        NX_FUZZ_CHECK(total == whole_consumed);
        const std::string_view chosen = whole.subprotocol();
        bool offered = chosen.empty();
        for (const auto& p : config.subprotocols) {
            offered = offered || p == chosen;
        }
        NX_FUZZ_CHECK(offered);
    }

    // Round trip with our own server.
    ServerHandshake server;
    std::size_t consumed = 0;
    const std::string& request = whole.request();
    NX_FUZZ_CHECK(
        server.receive_data({reinterpret_cast<const std::uint8_t*>(request.data()), request.size()},
                            consumed) == ParseStatus::complete);
    NX_FUZZ_CHECK(consumed == request.size());
    AcceptOptions options;
    if (!config.subprotocols.empty()) {
        options.subprotocol = server.subprotocols().front();
    }
    std::string response;
    NX_FUZZ_CHECK(server.accept(options, response) == Error::ok);
    ClientHandshake fresh(config);
    NX_FUZZ_CHECK(fresh.receive_data(
                      {reinterpret_cast<const std::uint8_t*>(response.data()), response.size()},
                      consumed) == ParseStatus::complete);
    NX_FUZZ_CHECK(fresh.subprotocol() == options.subprotocol);
    return 0;
}
