// The server side of the opening handshake, fed arbitrary request bytes.
//
// Oracles: whole and chunked input agree (status, error, consumed bytes on
// success, the request's fields); only handshake errors come out; an
// accepted request yields a 101 that parses back with the right
// Sec-WebSocket-Accept; a failed one yields an HTTP response with the
// status its error maps to.
#include <string>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "nexus/core/handshake.hpp"

using namespace nexus::core;

namespace {

HttpHeadParser parse_response(const std::string& response) {
    HttpHeadParser parser(HttpKind::response, HttpLimits{1 << 20, 1 << 20, 1000});
    std::size_t consumed = 0;
    parser.feed({reinterpret_cast<const std::uint8_t*>(response.data()), response.size()},
                consumed);
    NX_FUZZ_CHECK(parser.status() == ParseStatus::complete);
    return parser;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    nexus::fuzz::FuzzInput in(data, size);
    HttpLimits limits;
    limits.max_start_line = in.param_range(16, 8192);
    limits.max_header_bytes = in.param_range(16, 16384);
    limits.max_header_count = in.param_range(1, 100);
    std::uint32_t chunk_state = in.param_byte() | 1u;
    const auto body = in.rest();

    ServerHandshake whole(limits);
    std::size_t whole_consumed = 0;
    const ParseStatus whole_status = whole.receive_data(body, whole_consumed);

    ServerHandshake chunked(limits);
    std::size_t total = 0;
    ParseStatus status = ParseStatus::need_more;
    std::size_t pos = 0;
    while (pos < body.size() && status == ParseStatus::need_more) {
        chunk_state = chunk_state * 1664525u + 1013904223u;
        const std::size_t n =
            std::min<std::size_t>(1 + (chunk_state >> 24) % 40, body.size() - pos);
        std::size_t consumed = 0;
        status = chunked.receive_data(body.subspan(pos, n), consumed);
        NX_FUZZ_CHECK(consumed <= n);
        total += consumed;
        pos += n;
    }
    NX_FUZZ_CHECK(status == whole_status);
    NX_FUZZ_CHECK(chunked.error() == whole.error());
    if (whole_status == ParseStatus::need_more) {
        NX_FUZZ_CHECK(whole_consumed == body.size());
        return 0;
    }
    if (whole_status == ParseStatus::failed) {
        NX_FUZZ_CHECK(is_handshake(whole.error()));
        const HttpHeadParser response = parse_response(whole.error_response());
        const int expected = http_status_for(whole.error());
        NX_FUZZ_CHECK(response.status_code() == (expected != 0 ? expected : 500));
        return 0;
    }
    NX_FUZZ_CHECK(total == whole_consumed);
    NX_FUZZ_CHECK(whole.path() == chunked.path() && whole.query() == chunked.query());
    NX_FUZZ_CHECK(whole.subprotocols() == chunked.subprotocols());
    AcceptOptions options;
    if (!whole.subprotocols().empty()) {
        options.subprotocol = whole.subprotocols().back();
    }
    std::string response;
    NX_FUZZ_CHECK(whole.accept(options, response) == Error::ok);
    const HttpHeadParser parsed = parse_response(response);
    NX_FUZZ_CHECK(parsed.status_code() == 101);
    NX_FUZZ_CHECK(parsed.header("Sec-WebSocket-Accept") ==
                  std::optional<std::string_view>(websocket_accept_key(whole.key())));
    return 0;
}
