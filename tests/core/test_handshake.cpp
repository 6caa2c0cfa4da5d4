// The opening handshake (RFC 6455 §4), both roles, alone and wired together.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nexus/core/handshake.hpp"

namespace nexus::core {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 6455 §1.3 / §4.1: the sample nonce and its key and accept values.
constexpr std::string_view k_rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view k_rfc_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::array<std::uint8_t, 16> rfc_nonce() {
    constexpr std::string_view text = "the sample nonce";
    std::array<std::uint8_t, 16> n{};
    for (std::size_t i = 0; i < n.size(); ++i) {
        n[i] = static_cast<std::uint8_t>(text[i]);
    }
    return n;
}

/// A request head: the request line, then `fields` as given, then CRLF.
std::string request_with(std::string_view request_line, const std::vector<std::string>& fields) {
    std::string r(request_line);
    r += "\r\n";
    for (const auto& f : fields) {
        r += f;
        r += "\r\n";
    }
    r += "\r\n";
    return r;
}

std::vector<std::string> valid_fields() {
    return {"Host: server.example.com", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: " + std::string(k_rfc_key), "Sec-WebSocket-Version: 13"};
}

/// valid_fields() with the field named `name` replaced by `replacement`
/// (removed when empty) and `extra` appended.
std::vector<std::string> fields_with(std::string_view name, std::string_view replacement,
                                     const std::vector<std::string>& extra = {}) {
    std::vector<std::string> out;
    for (auto& f : valid_fields()) {
        if (f.compare(0, name.size(), name) == 0 && f[name.size()] == ':') {
            if (!replacement.empty()) {
                out.emplace_back(replacement);
            }
        } else {
            out.push_back(f);
        }
    }
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

/// Feeds `input` whole to a fresh server handshake.
struct ServerResult {
    ParseStatus status;
    Error error;
    std::size_t consumed;
};

ServerResult serve(ServerHandshake& s, std::string_view input) {
    std::size_t consumed = 0;
    const ParseStatus st = s.receive_data(bytes_of(input), consumed);
    return {st, s.error(), consumed};
}

Error server_error(std::string_view input) {
    ServerHandshake s;
    return serve(s, input).error;
}

/// A parsed response, for checking what we generate.
struct Response {
    int code = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::vector<std::string> values(std::string_view name) const {
        std::vector<std::string> out;
        for (const auto& [n, v] : headers) {
            if (ascii_iequals(n, name)) {
                out.push_back(v);
            }
        }
        return out;
    }
};

Response parse_response(std::string_view text) {
    HttpHeadParser p(HttpKind::response);
    std::size_t consumed = 0;
    EXPECT_EQ(p.feed(bytes_of(text), consumed), ParseStatus::complete) << text;
    Response r;
    r.code = p.status_code();
    r.reason = p.reason();
    for (const auto& h : p.headers()) {
        r.headers.emplace_back(h.name, h.value);
    }
    r.body = text.substr(consumed);
    return r;
}

ClientConfig basic_config() {
    ClientConfig c;
    c.host = "server.example.com";
    c.target = "/chat";
    c.nonce = rfc_nonce();
    return c;
}

std::string response_with(const std::vector<std::string>& fields,
                          std::string_view status_line = "HTTP/1.1 101 Switching Protocols") {
    return request_with(status_line, fields);
}

std::vector<std::string> valid_response_fields() {
    return {"Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Accept: " + std::string(k_rfc_accept)};
}

Error client_error(const ClientConfig& config, std::string_view response) {
    ClientHandshake c(config);
    std::size_t consumed = 0;
    c.receive_data(bytes_of(response), consumed);
    return c.error();
}

// ------------------------------------------------------------ accept key

TEST(HandshakeKey, RfcExample) {
    EXPECT_EQ(websocket_accept_key(k_rfc_key), k_rfc_accept);
}

TEST(HandshakeKey, HashAcrossBlockBoundaries) {
    // The key is hashed as given, so keys of n 'x' put the end of key+GUID
    // on each side of SHA-1's 56- and 64-byte padding boundaries and over
    // several blocks. Expected: Python's base64(hashlib.sha1(...)).
    const std::pair<std::size_t, std::string_view> cases[] = {
        {0, "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w="},   {19, "qQsxh2Nb/vsnD9od6HBiP6Igif0="},
        {20, "7jD6MP55bPPoLSNhT1mD/AE8sjc="},  {27, "WWp/NRXr3+N4xy7O/17rN1JrRGc="},
        {28, "atUL8kQGe4qplhq19Y5TKRw/Uj4="},  {29, "EoHUgLwSj5LVfz4NhAZzg2z0i4Y="},
        {83, "dkd2ySOIPSpsGLKtMj2xKG4ec9U="},  {91, "InslgUhEUGrE7unh07gEbqvKX/Y="},
        {92, "N6jQH9SY1VrfN6p4qvkUdTUUhwQ="},  {93, "VLoMsYpfUyI53GDGVcOE0uhJF04="},
        {200, "2/xdrRDawKrkzT3zWJGBWn134JI="}, {1000, "4HJC4L551QMnEp8N9epJkCtSKYs="},
    };
    for (const auto& [n, accept] : cases) {
        EXPECT_EQ(websocket_accept_key(std::string(n, 'x')), accept) << n;
    }
}

TEST(HandshakeKey, Base64Vectors) {
    // RFC 4648 §10.
    const auto enc = [](std::string_view s) { return base64_encode(bytes_of(s)); };
    EXPECT_EQ(enc(""), "");
    EXPECT_EQ(enc("f"), "Zg==");
    EXPECT_EQ(enc("fo"), "Zm8=");
    EXPECT_EQ(enc("foo"), "Zm9v");
    EXPECT_EQ(enc("foob"), "Zm9vYg==");
    EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
    EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
    const std::array<std::uint8_t, 3> high{0xFB, 0xFF, 0xBF};
    EXPECT_EQ(base64_encode(high), "+/+/");
}

// ------------------------------------------------------------ server

TEST(ServerHandshake, AcceptsTheRfcExample) {
    // RFC 6455 §1.3.
    const std::string request =
        request_with("GET /chat HTTP/1.1",
                     {"Host: server.example.com", "Upgrade: websocket", "Connection: Upgrade",
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Origin: http://example.com",
                      "Sec-WebSocket-Protocol: chat, superchat", "Sec-WebSocket-Version: 13"});
    ServerHandshake s;
    const ServerResult r = serve(s, request);
    ASSERT_EQ(r.status, ParseStatus::complete) << describe(r.error);
    EXPECT_EQ(r.consumed, request.size());
    EXPECT_EQ(s.head_size(), request.size());
    EXPECT_EQ(s.method(), "GET");
    EXPECT_EQ(s.path(), "/chat");
    EXPECT_EQ(s.query(), "");
    EXPECT_EQ(s.host(), "server.example.com");
    EXPECT_EQ(s.origin(), "http://example.com");
    EXPECT_EQ(s.key(), k_rfc_key);
    EXPECT_EQ(s.subprotocols(), (std::vector<std::string_view>{"chat", "superchat"}));
    EXPECT_TRUE(s.extensions().empty());
    EXPECT_EQ(s.headers().size(), 7u);

    AcceptOptions options;
    options.subprotocol = "chat";
    std::string out;
    ASSERT_EQ(s.accept(options, out), Error::ok);
    const Response resp = parse_response(out);
    EXPECT_EQ(resp.code, 101);
    EXPECT_EQ(resp.reason, "Switching Protocols");
    EXPECT_EQ(resp.values("Upgrade"), std::vector<std::string>{"websocket"});
    EXPECT_EQ(resp.values("Connection"), std::vector<std::string>{"Upgrade"});
    EXPECT_EQ(resp.values("Sec-WebSocket-Accept"),
              std::vector<std::string>{"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="});
    EXPECT_EQ(resp.values("Sec-WebSocket-Protocol"), std::vector<std::string>{"chat"});
    EXPECT_TRUE(resp.values("Sec-WebSocket-Extensions").empty());
    EXPECT_TRUE(resp.body.empty());
}

TEST(ServerHandshake, PathQueryAndTrailingBytes) {
    const std::string head = request_with("GET /room/1?user=a&x=%20 HTTP/1.1", valid_fields());
    const std::string input = head + "\x81\x85\x01\x02\x03\x04";
    ServerHandshake s;
    const ServerResult r = serve(s, input);
    ASSERT_EQ(r.status, ParseStatus::complete);
    EXPECT_EQ(r.consumed, head.size()); // frame bytes are left for the Connection
    EXPECT_EQ(s.target(), "/room/1?user=a&x=%20");
    EXPECT_EQ(s.path(), "/room/1");
    EXPECT_EQ(s.query(), "user=a&x=%20");
    EXPECT_FALSE(s.origin().has_value());
    // Done: nothing more is consumed.
    std::size_t consumed = 1;
    EXPECT_EQ(s.receive_data(bytes_of("more"), consumed), ParseStatus::complete);
    EXPECT_EQ(consumed, 0u);
}

TEST(ServerHandshake, AnyChunkingGivesTheSameResult) {
    const std::string head = request_with(
        "GET /chat?a=b HTTP/1.1",
        fields_with("Connection", "Connection: keep-alive, Upgrade",
                    {"Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: , v2",
                     "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"}));
    const std::string input = head + "tail";
    std::string whole_response;
    {
        ServerHandshake s;
        ASSERT_EQ(serve(s, input).status, ParseStatus::complete);
        AcceptOptions o;
        o.subprotocol = "v2";
        ASSERT_EQ(s.accept(o, whole_response), Error::ok);
    }
    const auto run = [&](const std::vector<std::size_t>& cuts) {
        ServerHandshake s;
        std::size_t pos = 0;
        std::size_t total = 0;
        ParseStatus st = ParseStatus::need_more;
        for (std::size_t k = 0; pos < input.size() && st == ParseStatus::need_more; ++k) {
            const std::size_t n = k < cuts.size() ? cuts[k] : input.size() - pos;
            std::size_t consumed = 0;
            st = s.receive_data(bytes_of(std::string_view(input).substr(pos, n)), consumed);
            total += consumed;
            pos += n;
        }
        EXPECT_EQ(st, ParseStatus::complete);
        EXPECT_EQ(total, head.size());
        EXPECT_EQ(s.path(), "/chat");
        EXPECT_EQ(s.subprotocols(), (std::vector<std::string_view>{"chat", "v2"}));
        ASSERT_EQ(s.extensions().size(), 1u);
        EXPECT_EQ(s.extensions()[0].name, "permessage-deflate");
        AcceptOptions o;
        o.subprotocol = "v2";
        std::string out;
        EXPECT_EQ(s.accept(o, out), Error::ok);
        EXPECT_EQ(out, whole_response);
    };
    run(std::vector<std::size_t>(input.size(), 1));
    for (std::size_t split = 0; split <= input.size(); ++split) {
        run({split});
    }
}

TEST(ServerHandshake, ValidationErrors) {
    const std::string line = "GET / HTTP/1.1";
    struct Case {
        std::string request;
        Error expected;
    };
    const std::vector<Case> cases = {
        {request_with("POST / HTTP/1.1", valid_fields()), Error::http_bad_method},
        {request_with("get / HTTP/1.1", valid_fields()), Error::http_bad_method},
        {request_with("GET / HTTP/1.0", valid_fields()), Error::http_bad_version},
        {request_with("GET / HTTP/2.0", valid_fields()), Error::http_bad_version},
        {request_with(line, fields_with("Host", "")), Error::missing_host},
        {request_with(line, fields_with("Host", "Host:")), Error::missing_host},
        {request_with(line, fields_with("Host", "Host: a", {"Host: b"})), Error::duplicate_header},
        {request_with("GET * HTTP/1.1", valid_fields()), Error::http_malformed},
        {request_with("GET http://a/ HTTP/1.1", valid_fields()), Error::http_malformed},
        {request_with(line, fields_with("Upgrade", "")), Error::not_websocket_upgrade},
        {request_with(line, fields_with("Upgrade", "Upgrade: h2c")), Error::not_websocket_upgrade},
        {request_with(line, fields_with("Upgrade", "Upgrade: websockets")),
         Error::not_websocket_upgrade},
        {request_with(line, fields_with("Connection", "")), Error::missing_connection_upgrade},
        {request_with(line, fields_with("Connection", "Connection: keep-alive")),
         Error::missing_connection_upgrade},
        {request_with(line, fields_with("Sec-WebSocket-Version", "")),
         Error::unsupported_websocket_version},
        {request_with(line, fields_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")),
         Error::unsupported_websocket_version},
        {request_with(line, fields_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8")),
         Error::unsupported_websocket_version},
        {request_with(line, fields_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13",
                                        {"Sec-WebSocket-Version: 13"})),
         Error::unsupported_websocket_version},
        {request_with(line, fields_with("Sec-WebSocket-Key", "")), Error::bad_websocket_key},
        {request_with(line, fields_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: abc")),
         Error::bad_websocket_key},
        // 15 bytes and 17 bytes of base64.
        {request_with(line,
                      fields_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA")),
         Error::bad_websocket_key},
        {request_with(
             line, fields_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=")),
         Error::bad_websocket_key},
        {request_with(
             line, fields_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!=")),
         Error::bad_websocket_key},
        // Non-zero unused bits: not the canonical encoding of 16 bytes.
        {request_with(
             line, fields_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==")),
         Error::bad_websocket_key},
        {request_with(line, fields_with("Sec-WebSocket-Key",
                                        "Sec-WebSocket-Key: " + std::string(k_rfc_key),
                                        {"Sec-WebSocket-Key: " + std::string(k_rfc_key)})),
         Error::bad_websocket_key},
        {request_with(line,
                      fields_with("Host", "Host: a", {"Origin: http://a", "Origin: http://b"})),
         Error::duplicate_header},
        {request_with(line, fields_with("Host", "Host: a", {"Sec-WebSocket-Protocol: chat, a/b"})),
         Error::http_malformed},
        {request_with(line, fields_with("Host", "Host: a", {"Sec-WebSocket-Protocol: a b"})),
         Error::http_malformed},
        {request_with(line, fields_with("Host", "Host: a", {"Sec-WebSocket-Extensions: foo; =1"})),
         Error::bad_extension_header},
        {request_with(line,
                      fields_with("Host", "Host: a",
                                  {"Sec-WebSocket-Extensions: a", "Sec-WebSocket-Extensions: ;"})),
         Error::bad_extension_header},
    };
    for (const auto& c : cases) {
        ServerHandshake s;
        const ServerResult r = serve(s, c.request);
        EXPECT_EQ(r.status, ParseStatus::failed) << c.request;
        EXPECT_EQ(r.error, c.expected) << c.request << " got: " << describe(r.error);
        std::string out = "untouched";
        EXPECT_EQ(s.accept({}, out), Error::invalid_state);
        EXPECT_EQ(out, "untouched");
    }
}

TEST(ServerHandshake, ChecksRunInOrder) {
    // A plain GET (static file) is not_websocket_upgrade, with the request
    // available to serve it.
    ServerHandshake s;
    const std::string plain =
        request_with("GET /index.html?v=2 HTTP/1.1", {"Host: example.com", "Accept: text/html"});
    ASSERT_EQ(serve(s, plain).error, Error::not_websocket_upgrade);
    EXPECT_TRUE(s.head_complete());
    EXPECT_EQ(s.path(), "/index.html");
    EXPECT_EQ(s.query(), "v=2");
    EXPECT_EQ(s.http().header("accept"), "text/html");
    EXPECT_EQ(http_status_for(s.error()), 426);
    // Method before everything, version before host, host before upgrade.
    EXPECT_EQ(server_error(request_with("POST / HTTP/1.0", {})), Error::http_bad_method);
    EXPECT_EQ(server_error(request_with("GET / HTTP/1.0", {})), Error::http_bad_version);
    EXPECT_EQ(server_error(request_with("GET / HTTP/1.1", {})), Error::missing_host);
    EXPECT_EQ(server_error(request_with("GET / HTTP/1.1", {"Host: a"})),
              Error::not_websocket_upgrade);
    // Upgrade before Connection, Connection before version, version before key.
    EXPECT_EQ(server_error(request_with("GET / HTTP/1.1", {"Host: a", "Upgrade: websocket"})),
              Error::missing_connection_upgrade);
    EXPECT_EQ(server_error(request_with("GET / HTTP/1.1",
                                        {"Host: a", "Upgrade: websocket", "Connection: upgrade"})),
              Error::unsupported_websocket_version);
    EXPECT_EQ(server_error(request_with("GET / HTTP/1.1",
                                        {"Host: a", "Upgrade: websocket", "Connection: upgrade",
                                         "Sec-WebSocket-Version: 13"})),
              Error::bad_websocket_key);
    // Parse errors come before all of them.
    ServerHandshake broken;
    EXPECT_EQ(serve(broken, "GET / HTTP/1.1\r\nHost : a\r\n\r\n").error, Error::http_malformed);
    EXPECT_FALSE(broken.head_complete());
}

TEST(ServerHandshake, CaseInsensitiveAndListValues) {
    const std::string request = request_with(
        "GET /x HTTP/1.1",
        {"host: a.example:8080", "UPGRADE: WebSocket", "connection: keep-alive",
         "CONNECTION: foo, UPGRADE", "sec-websocket-key: " + std::string(k_rfc_key),
         "SEC-WEBSOCKET-VERSION: 13", "sec-websocket-protocol: a, b", "Sec-WebSocket-Protocol: c",
         "sec-websocket-extensions: x-one; p=\"q\", x-two"});
    ServerHandshake s;
    ASSERT_EQ(serve(s, request).status, ParseStatus::complete) << describe(s.error());
    EXPECT_EQ(s.host(), "a.example:8080");
    EXPECT_EQ(s.key(), k_rfc_key);
    EXPECT_EQ(s.subprotocols(), (std::vector<std::string_view>{"a", "b", "c"}));
    ASSERT_EQ(s.extensions().size(), 2u);
    EXPECT_EQ(s.extensions()[0].params[0].value, "q");
    EXPECT_EQ(s.extensions()[1].name, "x-two");
    // Upgrade in a list ("websocket" among others) is fine too.
    EXPECT_EQ(server_error(request_with("GET / HTTP/1.1",
                                        fields_with("Upgrade", "Upgrade: foo/2, websocket"))),
              Error::ok);
    // HTTP/1.9 is "1.1 or later".
    EXPECT_EQ(server_error(request_with("GET / HTTP/1.9", valid_fields())), Error::ok);
}

TEST(ServerHandshake, LimitsReachTheServer) {
    HttpLimits limits;
    limits.max_start_line = 64;
    ServerHandshake s(limits);
    EXPECT_EQ(
        serve(s, request_with("GET /" + std::string(100, 'a') + " HTTP/1.1", valid_fields())).error,
        Error::http_request_line_too_long);
    EXPECT_EQ(parse_response(s.error_response()).code, 414);
    limits.max_header_count = 4;
    ServerHandshake t(limits);
    EXPECT_EQ(serve(t, request_with("GET / HTTP/1.1", valid_fields())).error,
              Error::http_headers_too_large);
    EXPECT_EQ(parse_response(t.error_response()).code, 431);
}

TEST(ServerHandshake, AcceptOptionsAndErrors) {
    ServerHandshake s;
    ASSERT_EQ(
        serve(s, request_with("GET / HTTP/1.1",
                              fields_with("Host", "Host: a", {"Sec-WebSocket-Protocol: chat"})))
            .status,
        ParseStatus::complete);
    std::string out = "untouched";
    AcceptOptions o;
    o.subprotocol = "superchat";
    EXPECT_EQ(s.accept(o, out), Error::local_subprotocol_not_offered);
    o.subprotocol = "CHAT"; // subprotocol names are compared exactly
    EXPECT_EQ(s.accept(o, out), Error::local_subprotocol_not_offered);
    o.subprotocol = "chat";
    o.extensions = "permessage-deflate; =";
    EXPECT_EQ(s.accept(o, out), Error::local_bad_argument);
    o.extensions = "permessage-deflate\r\nX: y";
    EXPECT_EQ(s.accept(o, out), Error::local_bad_argument);
    o.extensions = "permessage-deflate; server_no_context_takeover";
    o.headers = {{"Set-Cookie", "a=b\r\nX-Injected: 1"}};
    EXPECT_EQ(s.accept(o, out), Error::local_bad_argument);
    o.headers = {{"Bad Name", "v"}};
    EXPECT_EQ(s.accept(o, out), Error::local_bad_argument);
    o.headers = {{"sec-websocket-accept", "forged"}};
    EXPECT_EQ(s.accept(o, out), Error::local_bad_argument);
    o.headers = {{"Connection", "close"}};
    EXPECT_EQ(s.accept(o, out), Error::local_bad_argument);
    o.headers = {{"X-Nul", std::string("a\0b", 3)}};
    EXPECT_EQ(s.accept(o, out), Error::local_bad_argument);
    EXPECT_EQ(out, "untouched");

    o.headers = {{"Set-Cookie", "id=1"}, {"X-Server", "nexus"}};
    ASSERT_EQ(s.accept(o, out), Error::ok);
    const Response r = parse_response(out);
    EXPECT_EQ(r.code, 101);
    EXPECT_EQ(r.values("Sec-WebSocket-Protocol"), std::vector<std::string>{"chat"});
    EXPECT_EQ(r.values("Sec-WebSocket-Extensions"),
              std::vector<std::string>{"permessage-deflate; server_no_context_takeover"});
    EXPECT_EQ(r.values("Set-Cookie"), std::vector<std::string>{"id=1"});
    EXPECT_EQ(r.values("X-Server"), std::vector<std::string>{"nexus"});
    EXPECT_EQ(r.values("Sec-WebSocket-Accept"),
              std::vector<std::string>{std::string(k_rfc_accept)});

    ServerHandshake fresh;
    EXPECT_EQ(fresh.accept({}, out), Error::invalid_state);
}

// ------------------------------------------------------------ responses

TEST(HandshakeResponse, ErrorResponsesCarryStatusAndLength) {
    const std::vector<std::pair<Error, int>> cases = {
        {Error::http_malformed, 400},         {Error::http_request_line_too_long, 414},
        {Error::http_headers_too_large, 431}, {Error::http_bad_method, 405},
        {Error::http_bad_version, 505},       {Error::missing_host, 400},
        {Error::not_websocket_upgrade, 426},  {Error::missing_connection_upgrade, 400},
        {Error::bad_websocket_key, 400},      {Error::unsupported_websocket_version, 426},
        {Error::bad_extension_header, 400},   {Error::duplicate_header, 400},
        {Error::invalid_state, 500},
    };
    for (const auto& [error, status] : cases) {
        const Response r = parse_response(handshake_error_response(error));
        EXPECT_EQ(r.code, status) << describe(error);
        EXPECT_EQ(r.reason, http_reason_phrase(status));
        EXPECT_EQ(r.values("Content-Length"),
                  std::vector<std::string>{std::to_string(r.body.size())});
        EXPECT_EQ(r.values("Content-Type"), std::vector<std::string>{"text/plain; charset=utf-8"});
        EXPECT_NE(r.body.find(describe(error)), std::string::npos);
        ASSERT_EQ(r.values("Connection").size(), 1u);
        EXPECT_TRUE(list_contains_token(r.values("Connection")[0], "close"));
        if (status == 426) {
            // RFC 6455 §4.4.
            EXPECT_EQ(r.values("Sec-WebSocket-Version"), std::vector<std::string>{"13"});
            EXPECT_EQ(r.values("Upgrade"), std::vector<std::string>{"websocket"});
        } else {
            EXPECT_TRUE(r.values("Sec-WebSocket-Version").empty());
        }
        if (status == 405) {
            EXPECT_EQ(r.values("Allow"), std::vector<std::string>{"GET"});
        }
    }
}

TEST(HandshakeResponse, RejectBuildsAResponse) {
    std::string out;
    ASSERT_EQ(ServerHandshake::reject(403, "forbidden origin", {{"X-Reason", "origin"}}, out),
              Error::ok);
    Response r = parse_response(out);
    EXPECT_EQ(r.code, 403);
    EXPECT_EQ(r.reason, "Forbidden");
    EXPECT_EQ(r.body, "forbidden origin");
    EXPECT_EQ(r.values("Content-Length"), std::vector<std::string>{"16"});
    EXPECT_EQ(r.values("Connection"), std::vector<std::string>{"close"});
    EXPECT_EQ(r.values("X-Reason"), std::vector<std::string>{"origin"});

    // A caller's Content-Type replaces ours; an empty body has length 0.
    ASSERT_EQ(build_http_response(503, "", {{"Content-Type", "application/json"}}, out), Error::ok);
    r = parse_response(out);
    EXPECT_EQ(r.code, 503);
    EXPECT_EQ(r.reason, "Service Unavailable");
    EXPECT_EQ(r.values("Content-Type"), std::vector<std::string>{"application/json"});
    EXPECT_EQ(r.values("Content-Length"), std::vector<std::string>{"0"});

    ASSERT_EQ(build_http_response(426, "upgrade", {}, out), Error::ok);
    EXPECT_EQ(parse_response(out).values("Sec-WebSocket-Version"), std::vector<std::string>{"13"});

    for (const int status : {400, 403, 404, 405, 414, 426, 431, 500, 503, 505}) {
        ASSERT_EQ(build_http_response(status, "x", {}, out), Error::ok);
        EXPECT_NE(parse_response(out).reason, "Unknown") << status;
    }

    out = "untouched";
    EXPECT_EQ(build_http_response(101, "", {}, out), Error::local_bad_argument);
    EXPECT_EQ(build_http_response(600, "", {}, out), Error::local_bad_argument);
    EXPECT_EQ(build_http_response(400, "", {{"X", "a\nb"}}, out), Error::local_bad_argument);
    EXPECT_EQ(build_http_response(400, "", {{"X:", "a"}}, out), Error::local_bad_argument);
    EXPECT_EQ(build_http_response(400, "", {{"Content-Length", "9"}}, out),
              Error::local_bad_argument);
    EXPECT_EQ(out, "untouched");
}

// ------------------------------------------------------------ client

TEST(ClientHandshake, RfcExample) {
    ClientConfig config = basic_config();
    config.origin = "http://example.com";
    config.subprotocols = {"chat", "superchat"};
    ClientHandshake c(config);
    ASSERT_EQ(c.error(), Error::ok);
    EXPECT_EQ(c.key(), k_rfc_key);

    // The request is what a server accepts, carrying everything configured.
    ServerHandshake s;
    ASSERT_EQ(serve(s, c.request()).status, ParseStatus::complete) << describe(s.error());
    EXPECT_EQ(s.method(), "GET");
    EXPECT_EQ(s.target(), "/chat");
    EXPECT_EQ(s.http().version_minor(), 1);
    EXPECT_EQ(s.host(), "server.example.com");
    EXPECT_EQ(s.key(), k_rfc_key);
    EXPECT_EQ(s.origin(), "http://example.com");
    EXPECT_EQ(s.subprotocols(), (std::vector<std::string_view>{"chat", "superchat"}));
    EXPECT_EQ(s.http().header("Sec-WebSocket-Version"), "13");
    EXPECT_FALSE(s.http().header("Sec-WebSocket-Extensions").has_value());

    // RFC 6455 §1.3's response.
    const std::string response = "HTTP/1.1 101 Switching Protocols\r\n"
                                 "Upgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                 "Sec-WebSocket-Protocol: chat\r\n"
                                 "\r\n";
    std::size_t consumed = 0;
    ASSERT_EQ(c.receive_data(bytes_of(response), consumed), ParseStatus::complete)
        << describe(c.error());
    EXPECT_EQ(consumed, response.size());
    EXPECT_EQ(c.status_code(), 101);
    EXPECT_EQ(c.subprotocol(), "chat");
    EXPECT_TRUE(c.extensions().empty());
    EXPECT_EQ(c.headers().size(), 4u);
}

TEST(ClientHandshake, WiredToServer) {
    ClientConfig config = basic_config();
    config.host = "localhost:9000";
    config.target = "/ws?token=abc";
    config.subprotocols = {"v2.json", "v1.json"};
    config.extensions = "permessage-deflate; client_max_window_bits, x-webkit-deflate-frame";
    config.headers = {{"Authorization", "Bearer t"}, {"User-Agent", "nexus-test"}};
    config.nonce = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    ClientHandshake client(config);
    ASSERT_EQ(client.error(), Error::ok);

    // Client → server, with the first frame right behind the request.
    const std::string first_frame = "\x81\x82\x00\x00\x00\x00hi";
    const std::string to_server = client.request() + first_frame;
    ServerHandshake server;
    const ServerResult sr = serve(server, to_server);
    ASSERT_EQ(sr.status, ParseStatus::complete) << describe(sr.error);
    EXPECT_EQ(to_server.substr(sr.consumed), first_frame);
    EXPECT_EQ(server.path(), "/ws");
    EXPECT_EQ(server.query(), "token=abc");
    EXPECT_EQ(server.host(), "localhost:9000");
    EXPECT_EQ(server.http().header("authorization"), "Bearer t");
    ASSERT_EQ(server.extensions().size(), 2u);
    EXPECT_EQ(server.extensions()[0].name, "permessage-deflate");
    EXPECT_EQ(server.extensions()[0].params[0].name, "client_max_window_bits");
    EXPECT_EQ(server.extensions()[1].name, "x-webkit-deflate-frame");

    // Server → client, with a server frame behind the 101.
    AcceptOptions o;
    o.subprotocol = server.subprotocols()[1];
    o.extensions = "permessage-deflate; client_max_window_bits=12";
    std::string response;
    ASSERT_EQ(server.accept(o, response), Error::ok);
    const std::string server_frame = "\x81\x02ok";
    const std::string to_client = response + server_frame;
    std::size_t consumed = 0;
    ASSERT_EQ(client.receive_data(bytes_of(to_client), consumed), ParseStatus::complete)
        << describe(client.error());
    EXPECT_EQ(to_client.substr(consumed), server_frame);
    EXPECT_EQ(client.subprotocol(), "v1.json");
    ASSERT_EQ(client.extensions().size(), 1u);
    EXPECT_EQ(client.extensions()[0].name, "permessage-deflate");
    EXPECT_EQ(client.extensions()[0].params[0].value, "12");

    // Byte by byte and at every split, the client reaches the same state.
    for (std::size_t split = 0; split <= to_client.size(); ++split) {
        ClientHandshake c(config);
        std::size_t a = 0;
        std::size_t b = 0;
        ParseStatus st = c.receive_data(bytes_of(std::string_view(to_client).substr(0, split)), a);
        if (st == ParseStatus::need_more) {
            st = c.receive_data(bytes_of(std::string_view(to_client).substr(split)), b);
        }
        EXPECT_EQ(st, ParseStatus::complete) << split;
        EXPECT_EQ(a + b, response.size()) << split;
        EXPECT_EQ(c.subprotocol(), "v1.json");
    }
    ClientHandshake bytewise(config);
    std::size_t total = 0;
    ParseStatus st = ParseStatus::need_more;
    for (std::size_t i = 0; i < to_client.size() && st == ParseStatus::need_more; ++i) {
        std::size_t n = 0;
        st = bytewise.receive_data(bytes_of(std::string_view(to_client).substr(i, 1)), n);
        total += n;
    }
    EXPECT_EQ(st, ParseStatus::complete);
    EXPECT_EQ(total, response.size());
}

TEST(ClientHandshake, ResponseValidationErrors) {
    ClientConfig config = basic_config();
    config.subprotocols = {"chat"};
    config.extensions = "permessage-deflate";
    const auto with = [](std::vector<std::string> extra, std::string_view drop = {}) {
        std::vector<std::string> fields;
        for (auto& f : valid_response_fields()) {
            if (drop.empty() || f.compare(0, drop.size(), drop) != 0) {
                fields.push_back(f);
            }
        }
        fields.insert(fields.end(), extra.begin(), extra.end());
        return response_with(fields);
    };
    EXPECT_EQ(client_error(config, with({})), Error::ok);
    EXPECT_EQ(client_error(config, response_with(valid_response_fields(), "HTTP/1.0 101 OK")),
              Error::http_bad_version);
    EXPECT_EQ(client_error(config, response_with(valid_response_fields(), "HTTP/2.0 101 OK")),
              Error::http_bad_version);
    EXPECT_EQ(client_error(config, with({}, "Upgrade")), Error::not_websocket_upgrade);
    EXPECT_EQ(client_error(config, with({"Upgrade: h2c"}, "Upgrade")),
              Error::not_websocket_upgrade);
    EXPECT_EQ(client_error(config, with({}, "Connection")), Error::missing_connection_upgrade);
    EXPECT_EQ(client_error(config, with({"Connection: close"}, "Connection")),
              Error::missing_connection_upgrade);
    EXPECT_EQ(client_error(config, with({}, "Sec-WebSocket-Accept")), Error::bad_accept_key);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp="},
                                        "Sec-WebSocket-Accept")),
              Error::bad_accept_key);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Accept: " + std::string(k_rfc_key)},
                                        "Sec-WebSocket-Accept")),
              Error::bad_accept_key);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Accept: " + std::string(k_rfc_accept)})),
              Error::duplicate_header);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Protocol: superchat"})),
              Error::unoffered_subprotocol);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Protocol: CHAT"})),
              Error::unoffered_subprotocol);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Protocol: chat, chat"})),
              Error::unoffered_subprotocol);
    EXPECT_EQ(client_error(config,
                           with({"Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"})),
              Error::unoffered_subprotocol);
    EXPECT_EQ(client_error(basic_config(), with({"Sec-WebSocket-Protocol: chat"})),
              Error::unoffered_subprotocol);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Extensions: x-other"})),
              Error::unoffered_extension);
    EXPECT_EQ(client_error(basic_config(), with({"Sec-WebSocket-Extensions: permessage-deflate"})),
              Error::unoffered_extension);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Extensions: permessage-deflate, "
                                         "permessage-deflate"})),
              Error::unoffered_extension);
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Extensions: permessage-deflate;"})),
              Error::bad_extension_header);
    EXPECT_EQ(client_error(config, "HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n"),
              Error::http_malformed);
    // Extension names compare case-insensitively; parameters pass through.
    EXPECT_EQ(client_error(config, with({"Sec-WebSocket-Extensions: PerMessage-Deflate; "
                                         "server_no_context_takeover"})),
              Error::ok);
    // Case-insensitive fields and list values are accepted.
    EXPECT_EQ(
        client_error(config, response_with({"upgrade: WebSocket", "connection: keep-alive, UPGRADE",
                                            "sec-websocket-accept: " + std::string(k_rfc_accept)})),
        Error::ok);
}

TEST(ClientHandshake, NonSwitchingStatusIsReported) {
    ClientHandshake c(basic_config());
    const std::string response = "HTTP/1.1 503 Service Unavailable\r\n"
                                 "Retry-After: 5\r\nContent-Length: 4\r\n\r\nbusy";
    std::size_t consumed = 0;
    EXPECT_EQ(c.receive_data(bytes_of(response), consumed), ParseStatus::failed);
    EXPECT_EQ(c.error(), Error::bad_status);
    EXPECT_EQ(c.status_code(), 503);
    EXPECT_EQ(c.reason(), "Service Unavailable");
    EXPECT_EQ(c.http().header("retry-after"), "5");
    EXPECT_EQ(response.substr(consumed), "busy"); // the body is left for the caller
    EXPECT_EQ(client_error(basic_config(), "HTTP/1.1 403 Forbidden\r\n\r\n"), Error::bad_status);
    EXPECT_EQ(client_error(basic_config(), "HTTP/1.1 200 OK\r\n\r\n"), Error::bad_status);
}

TEST(ClientHandshake, RejectsBadConfig) {
    std::vector<ClientConfig> bad(14, basic_config());
    bad[0].host = "";
    bad[1].host = "a b";
    bad[2].host = "a\r\nX: y";
    bad[3].target = "chat";
    bad[4].target = "/a b";
    bad[5].target = "/a#frag";
    bad[6].subprotocols = {"chat", "a b"};
    bad[7].subprotocols = {"chat", "chat"};
    bad[8].extensions = "permessage-deflate; =";
    bad[9].origin = "http://a\r\nX: y";
    bad[10].headers = {{"Bad Name", "v"}};
    bad[11].headers = {{"X", "a\nb"}};
    bad[12].headers = {{"sec-websocket-key", "forged"}};
    bad[13].headers = {{"Host", "other"}};
    for (std::size_t i = 0; i < bad.size(); ++i) {
        ClientHandshake c(bad[i]);
        EXPECT_EQ(c.error(), Error::local_bad_argument) << i;
        EXPECT_EQ(c.status(), ParseStatus::failed) << i;
        EXPECT_TRUE(c.request().empty()) << i;
        std::size_t consumed = 1;
        EXPECT_EQ(c.receive_data(bytes_of("HTTP/1.1 101 OK\r\n\r\n"), consumed),
                  ParseStatus::failed);
        EXPECT_EQ(consumed, 0u);
    }
    ClientConfig empty_subprotocol = basic_config();
    empty_subprotocol.subprotocols = {""};
    EXPECT_EQ(ClientHandshake(empty_subprotocol).error(), Error::local_bad_argument);
    ClientConfig empty_origin = basic_config();
    empty_origin.origin = "";
    EXPECT_EQ(ClientHandshake(empty_origin).error(), Error::local_bad_argument);
}

TEST(ClientHandshake, DifferentNoncesGiveDifferentKeys) {
    ClientConfig a = basic_config();
    ClientConfig b = basic_config();
    b.nonce[15] ^= 1;
    const ClientHandshake ca(a);
    const ClientHandshake cb(b);
    EXPECT_NE(ca.key(), cb.key());
    EXPECT_EQ(ca.key().size(), 24u);
    // The server accepts every key a client makes.
    for (int i = 0; i < 256; ++i) {
        ClientConfig c = basic_config();
        c.nonce.fill(static_cast<std::uint8_t>(i));
        ClientHandshake client(c);
        EXPECT_EQ(server_error(client.request()), Error::ok) << i;
    }
}

} // namespace
} // namespace nexus::core
