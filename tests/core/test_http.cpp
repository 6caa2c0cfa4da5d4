// HttpHeadParser: syntax, limits, chunking and the bytes after the head.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nexus/core/http.hpp"

namespace nexus::core {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Everything a parse produced, copied out so results can be compared.
struct Parsed {
    ParseStatus status = ParseStatus::need_more;
    Error error = Error::ok;
    std::size_t consumed = 0;
    std::string method;
    std::string target;
    int minor = -1;
    int code = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;

    bool operator==(const Parsed&) const = default;
};

void PrintTo(const Parsed& p, std::ostream* os) {
    *os << "status " << static_cast<int>(p.status) << " error " << static_cast<int>(p.error)
        << " consumed " << p.consumed << " headers " << p.headers.size();
}

/// Feeds `input` in chunks of the given sizes (the remainder as a last
/// chunk), stopping at complete/failed, and records the outcome.
Parsed parse_chunks(HttpKind kind, std::string_view input, const std::vector<std::size_t>& sizes,
                    const HttpLimits& limits = {}) {
    HttpHeadParser parser(kind, limits);
    Parsed out;
    std::size_t pos = 0;
    std::size_t k = 0;
    while (true) {
        const std::size_t n =
            k < sizes.size() ? std::min(sizes[k++], input.size() - pos) : input.size() - pos;
        std::size_t consumed = 0;
        out.status = parser.feed(bytes_of(input.substr(pos, n)), consumed);
        EXPECT_LE(consumed, n);
        out.consumed += consumed;
        pos += n;
        if (out.status != ParseStatus::need_more || pos == input.size()) {
            break;
        }
        EXPECT_EQ(consumed, n); // need_more consumes everything
    }
    out.error = parser.error();
    if (out.status == ParseStatus::failed) {
        out.consumed = 0; // unspecified on failure
    }
    if (out.status == ParseStatus::complete) {
        out.method = parser.method();
        out.target = parser.target();
        out.minor = parser.version_minor();
        out.code = parser.status_code();
        out.reason = parser.reason();
        for (const auto& h : parser.headers()) {
            out.headers.emplace_back(h.name, h.value);
        }
    }
    return out;
}

Parsed parse_whole(HttpKind kind, std::string_view input, const HttpLimits& limits = {}) {
    return parse_chunks(kind, input, {}, limits);
}

/// The chunking property: whole, byte by byte and every two-way split agree.
void expect_chunking_invariant(HttpKind kind, std::string_view input,
                               const HttpLimits& limits = {}) {
    const Parsed whole = parse_whole(kind, input, limits);
    EXPECT_EQ(parse_chunks(kind, input, std::vector<std::size_t>(input.size() + 1, 1), limits),
              whole)
        << "byte by byte: " << input;
    for (std::size_t split = 0; split <= input.size(); ++split) {
        EXPECT_EQ(parse_chunks(kind, input, {split}, limits), whole)
            << "split at " << split << ": " << input;
    }
}

constexpr std::string_view k_request = "GET /chat?x=1 HTTP/1.1\r\n"
                                       "Host: server.example.com\r\n"
                                       "Upgrade:websocket\r\n"
                                       "Connection: \t Upgrade \t\r\n"
                                       "X-Empty:\r\n"
                                       "x-multi: a\r\n"
                                       "X-Multi: b, c\r\n"
                                       "\r\n";

TEST(HttpParser, ParsesRequestHead) {
    HttpHeadParser p(HttpKind::request);
    std::size_t consumed = 0;
    ASSERT_EQ(p.feed(bytes_of(k_request), consumed), ParseStatus::complete);
    EXPECT_EQ(consumed, k_request.size());
    EXPECT_EQ(p.head_size(), k_request.size());
    EXPECT_EQ(p.error(), Error::ok);
    EXPECT_EQ(p.method(), "GET");
    EXPECT_EQ(p.target(), "/chat?x=1");
    EXPECT_EQ(p.version_minor(), 1);
    ASSERT_EQ(p.headers().size(), 6u);
    EXPECT_EQ(p.headers()[0].name, "Host");
    EXPECT_EQ(p.headers()[0].value, "server.example.com");
    EXPECT_EQ(p.headers()[1].value, "websocket"); // no OWS after the colon
    EXPECT_EQ(p.headers()[2].value, "Upgrade");   // OWS on both sides trimmed
    EXPECT_EQ(p.headers()[3].value, "");
    EXPECT_EQ(p.header("HOST"), "server.example.com");
    EXPECT_EQ(p.header("x-empty"), "");
    EXPECT_FALSE(p.header("Origin").has_value());
    EXPECT_EQ(p.header_count("X-MULTI"), 2u);
    EXPECT_EQ(p.header_values("x-Multi"), (std::vector<std::string_view>{"a", "b, c"}));
    EXPECT_TRUE(p.header_values("nope").empty());
}

TEST(HttpParser, ParsesResponseHead) {
    const Parsed r = parse_whole(HttpKind::response,
                                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    ASSERT_EQ(r.status, ParseStatus::complete);
    EXPECT_EQ(r.code, 101);
    EXPECT_EQ(r.reason, "Switching Protocols");
    EXPECT_EQ(r.minor, 1);
    ASSERT_EQ(r.headers.size(), 1u);

    // Empty reason, with and without the SP before it; no headers at all.
    const Parsed empty_reason = parse_whole(HttpKind::response, "HTTP/1.1 503 \r\n\r\n");
    EXPECT_EQ(empty_reason.status, ParseStatus::complete);
    EXPECT_EQ(empty_reason.code, 503);
    EXPECT_EQ(empty_reason.reason, "");
    const Parsed no_reason = parse_whole(HttpKind::response, "HTTP/1.0 200\r\n\r\n");
    EXPECT_EQ(no_reason.status, ParseStatus::complete);
    EXPECT_EQ(no_reason.code, 200);
    EXPECT_EQ(no_reason.minor, 0);
    EXPECT_TRUE(no_reason.headers.empty());
}

TEST(HttpParser, AcceptsBareLf) {
    const Parsed r = parse_whole(HttpKind::request, "GET / HTTP/1.1\nHost: a\n\n");
    ASSERT_EQ(r.status, ParseStatus::complete);
    EXPECT_EQ(r.headers, (std::vector<std::pair<std::string, std::string>>{{"Host", "a"}}));
    // Mixed endings.
    EXPECT_EQ(parse_whole(HttpKind::request, "GET / HTTP/1.1\r\nHost: a\n\r\n").status,
              ParseStatus::complete);
}

TEST(HttpParser, LeavesBytesAfterHeadUnconsumed) {
    const std::string head = "HTTP/1.1 101 OK\r\nA: b\r\n\r\n";
    const std::string input = head + "\x81\x05hello";
    HttpHeadParser p(HttpKind::response);
    std::size_t consumed = 0;
    ASSERT_EQ(p.feed(bytes_of(input), consumed), ParseStatus::complete);
    EXPECT_EQ(consumed, head.size());
    // Once complete nothing more is taken.
    EXPECT_EQ(p.feed(bytes_of("more"), consumed), ParseStatus::complete);
    EXPECT_EQ(consumed, 0u);
    // The same at every split point.
    for (std::size_t split = 0; split <= input.size(); ++split) {
        EXPECT_EQ(parse_chunks(HttpKind::response, input, {split}).consumed, head.size());
    }
}

TEST(HttpParser, FailedParserConsumesNothingMore) {
    HttpHeadParser p(HttpKind::request);
    std::size_t consumed = 0;
    ASSERT_EQ(p.feed(bytes_of("GET / HTTP/1.1\r\n Host: a\r\n"), consumed), ParseStatus::failed);
    EXPECT_EQ(p.error(), Error::http_malformed);
    EXPECT_EQ(p.feed(bytes_of("\r\n"), consumed), ParseStatus::failed);
    EXPECT_EQ(consumed, 0u);
}

TEST(HttpParser, RejectsMalformedRequests) {
    const std::vector<std::string_view> cases = {
        "\r\n\r\n",                              // empty request line
        "GET\r\n\r\n",                           // no target
        "GET / \r\n\r\n",                        // no version
        "GET  / HTTP/1.1\r\n\r\n",               // two spaces
        "GET / HTTP/1.1 \r\n\r\n",               // trailing space
        "G(T / HTTP/1.1\r\n\r\n",                // method not a token
        "GET /a\x01 HTTP/1.1\r\n\r\n",           // control in target
        "GET /\xC3\xA9 HTTP/1.1\r\n\r\n",        // non-ASCII target
        "GET / HTTP/1.1x\r\n\r\n",               // junk after version
        "GET / HTTP/1\r\n\r\n",                  // short version
        "GET / http/1.1\r\n\r\n",                // version is case-sensitive
        "GET / HTTP/1.a\r\n\r\n",                // minor not a digit
        "GET / HTTP/1.1\rX\r\n\r\n",             // bare CR in the line
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n",    // obs-fold at first line
        "GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", // obs-fold continuation
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",    // space before colon
        "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",   // tab before colon
        "GET / HTTP/1.1\r\nHost a\r\n\r\n",      // no colon
        "GET / HTTP/1.1\r\n: a\r\n\r\n",         // empty name
        "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n",    // name not a token
        "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n",    // DEL in value
        "GET / HTTP/1.1\r\nA: b\x01 c\r\n\r\n",  // control in value
        "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",     // bare CR in value
        "GET / HTTP/1.1\r\nA: b\r\n\r\r\n",      // CR CR LF as the end
    };
    for (const auto c : cases) {
        const Parsed r = parse_whole(HttpKind::request, c);
        EXPECT_EQ(r.status, ParseStatus::failed) << c;
        EXPECT_EQ(r.error, Error::http_malformed) << c;
    }
    // NUL in a value (a literal with an embedded NUL).
    const char raw[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
    const std::string nul(raw, sizeof(raw) - 1);
    EXPECT_EQ(parse_whole(HttpKind::request, nul).error, Error::http_malformed);
}

TEST(HttpParser, RejectsMalformedStatusLines) {
    const std::vector<std::string_view> cases = {
        "HTTP/1.1\r\n\r\n",           "HTTP/1.1 10\r\n\r\n",    "HTTP/1.1 1011 X\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",    "HTTP/1.1 099 X\r\n\r\n", "HTTP/1.1  101 X\r\n\r\n",
        "HTTP/1.1 101 X\x01\r\n\r\n", "HTTP/1.1101 X\r\n\r\n",  "ICY 200 OK\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
    };
    for (const auto c : cases) {
        const Parsed r = parse_whole(HttpKind::response, c);
        EXPECT_EQ(r.status, ParseStatus::failed) << c;
        EXPECT_EQ(r.error, Error::http_malformed) << c;
    }
}

TEST(HttpParser, VersionOtherThanOneIsBadVersion) {
    EXPECT_EQ(parse_whole(HttpKind::request, "GET / HTTP/2.0\r\n\r\n").error,
              Error::http_bad_version);
    EXPECT_EQ(parse_whole(HttpKind::request, "GET / HTTP/0.9\r\n\r\n").error,
              Error::http_bad_version);
    EXPECT_EQ(parse_whole(HttpKind::response, "HTTP/3.0 200 OK\r\n\r\n").error,
              Error::http_bad_version);
    // HTTP/1.0 and 1.9 parse; judging them is the handshake's job.
    EXPECT_EQ(parse_whole(HttpKind::request, "GET / HTTP/1.0\r\n\r\n").minor, 0);
    EXPECT_EQ(parse_whole(HttpKind::request, "GET / HTTP/1.9\r\n\r\n").minor, 9);
}

TEST(HttpParser, StartLineLimitExactlyAtAndOneOver) {
    HttpLimits limits;
    limits.max_start_line = 32;
    const std::string at = "GET /" + std::string(32 - 14, 'a') + " HTTP/1.1"; // 32 bytes
    ASSERT_EQ(at.size(), 32u);
    const std::string over = "GET /" + std::string(32 - 13, 'a') + " HTTP/1.1"; // 33 bytes
    for (const char* ending : {"\r\n", "\n"}) {
        const std::string e = ending;
        EXPECT_EQ(parse_whole(HttpKind::request, at + e + "\r\n", limits).status,
                  ParseStatus::complete);
        EXPECT_EQ(parse_whole(HttpKind::request, over + e + "\r\n", limits).error,
                  Error::http_request_line_too_long);
        expect_chunking_invariant(HttpKind::request, at + e + "\r\n", limits);
        expect_chunking_invariant(HttpKind::request, over + e + "\r\n", limits);
    }
    // Exactly at the limit plus a CR is still undecided: need more.
    EXPECT_EQ(parse_whole(HttpKind::request, at + "\r", limits).status, ParseStatus::need_more);
    // The limit is reported as soon as it is crossed, before any line end.
    HttpHeadParser p(HttpKind::request, limits);
    std::size_t consumed = 0;
    EXPECT_EQ(p.feed(bytes_of(std::string(33, 'A')), consumed), ParseStatus::failed);
    EXPECT_EQ(p.error(), Error::http_request_line_too_long);
    HttpHeadParser q(HttpKind::request, limits);
    EXPECT_EQ(q.feed(bytes_of(std::string(32, 'A') + "\rX"), consumed), ParseStatus::failed);
    EXPECT_EQ(q.error(), Error::http_request_line_too_long);
    // Responses too.
    const std::string status_line = "HTTP/1.1 200 " + std::string(32 - 13, 'r');
    EXPECT_EQ(parse_whole(HttpKind::response, status_line + "\r\n\r\n", limits).status,
              ParseStatus::complete);
    EXPECT_EQ(parse_whole(HttpKind::response, status_line + "r\r\n\r\n", limits).error,
              Error::http_request_line_too_long);
}

TEST(HttpParser, HeaderBytesLimitExactlyAtAndOneOver) {
    const std::string start = "GET / HTTP/1.1\r\n";
    const std::string fields = "Host: a\r\nX-Long: " + std::string(40, 'v') + "\r\n\r\n";
    HttpLimits limits;
    limits.max_header_bytes = fields.size(); // the header section, final CRLF included
    EXPECT_EQ(parse_whole(HttpKind::request, start + fields, limits).status, ParseStatus::complete);
    limits.max_header_bytes = fields.size() - 1;
    EXPECT_EQ(parse_whole(HttpKind::request, start + fields, limits).error,
              Error::http_headers_too_large);
    expect_chunking_invariant(HttpKind::request, start + fields, limits);

    // Reported when crossed: a never-ending header fails without its LF.
    limits.max_header_bytes = 100;
    HttpHeadParser p(HttpKind::request, limits);
    std::size_t consumed = 0;
    EXPECT_EQ(p.feed(bytes_of(start + "X: " + std::string(97, 'v')), consumed),
              ParseStatus::need_more);
    EXPECT_EQ(p.feed(bytes_of("v"), consumed), ParseStatus::failed);
    EXPECT_EQ(p.error(), Error::http_headers_too_large);
    // The parser never buffers more than the limits.
    EXPECT_LE(p.head_size(), start.size() + 100);
}

TEST(HttpParser, HeaderCountLimitExactlyAtAndOneOver) {
    HttpLimits limits;
    limits.max_header_count = 5;
    std::string head = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 5; ++i) {
        head += "X-" + std::to_string(i) + ": v\r\n";
    }
    const Parsed at = parse_whole(HttpKind::request, head + "\r\n", limits);
    EXPECT_EQ(at.status, ParseStatus::complete);
    EXPECT_EQ(at.headers.size(), 5u);
    const std::string over = head + "X-5: v\r\n\r\n";
    EXPECT_EQ(parse_whole(HttpKind::request, over, limits).error, Error::http_headers_too_large);
    expect_chunking_invariant(HttpKind::request, over, limits);
    // Fails on the first byte of the sixth field.
    HttpHeadParser p(HttpKind::request, limits);
    std::size_t consumed = 0;
    EXPECT_EQ(p.feed(bytes_of(head), consumed), ParseStatus::need_more);
    EXPECT_EQ(p.feed(bytes_of("X"), consumed), ParseStatus::failed);
    EXPECT_EQ(p.error(), Error::http_headers_too_large);
}

TEST(HttpParser, AnyChunkingGivesTheSameResult) {
    const std::vector<std::string_view> requests = {
        k_request,
        "GET / HTTP/1.1\nHost: a\n\ntrailing frame bytes",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        "GET / HTTP/1.1\rX\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n\r\r\n",
        "GET / HTTP/1.1\r\nA: b",
    };
    for (const auto r : requests) {
        expect_chunking_invariant(HttpKind::request, r);
    }
    expect_chunking_invariant(HttpKind::response,
                              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\n\r\n\x81\x00");
    expect_chunking_invariant(HttpKind::response, "HTTP/1.1 1011 X\r\n\r\n");
}

TEST(HttpParser, ViewsSurviveAMove) {
    HttpHeadParser p(HttpKind::request);
    std::size_t consumed = 0;
    ASSERT_EQ(p.feed(bytes_of(k_request), consumed), ParseStatus::complete);
    const HttpHeadParser moved = std::move(p);
    EXPECT_EQ(moved.target(), "/chat?x=1");
    EXPECT_EQ(moved.header("host"), "server.example.com");
}

TEST(HttpHelpers, TokensAndLists) {
    EXPECT_TRUE(is_token("permessage-deflate"));
    EXPECT_TRUE(is_token("!#$%&'*+-.^_`|~09azAZ"));
    EXPECT_FALSE(is_token(""));
    EXPECT_FALSE(is_token("a b"));
    EXPECT_FALSE(is_token("a,b"));
    EXPECT_FALSE(is_token("a\"b"));
    EXPECT_FALSE(is_token("caf\xC3\xA9"));

    EXPECT_TRUE(ascii_iequals("WebSocket", "websocket"));
    EXPECT_FALSE(ascii_iequals("websocket", "websockets"));
    EXPECT_FALSE(ascii_iequals("a", "b"));

    EXPECT_TRUE(list_contains_token("keep-alive, Upgrade", "upgrade"));
    EXPECT_TRUE(list_contains_token(" ,UPGRADE ,", "upgrade"));
    EXPECT_TRUE(list_contains_token("upgrade", "upgrade"));
    EXPECT_FALSE(list_contains_token("upgraded, keep-alive", "upgrade"));
    EXPECT_FALSE(list_contains_token("", "upgrade"));

    EXPECT_TRUE(is_valid_field_value("text/plain; q=1\tx \xC3\xA9"));
    EXPECT_FALSE(is_valid_field_value("a\r\nb"));
    EXPECT_FALSE(is_valid_field_value(std::string_view("a\0b", 3)));
    EXPECT_FALSE(is_valid_field_value("a\x7f"));
}

} // namespace
} // namespace nexus::core
