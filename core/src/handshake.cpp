#include "nexus/core/handshake.hpp"

#include <array>
#include <cstring>
#include <initializer_list>
#include <new>

namespace nexus::core {
namespace {

constexpr std::string_view k_base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// SHA-1 (FIPS 180-4 §6.1) of `data`. The handshake hashes one short key
/// per connection and needs no cryptographic strength (RFC 6455 §10.8 uses
/// it only to prove the server read the key), so a plain implementation
/// serves: libcrypto's EVP_Digest would page in about 2 MiB of its provider
/// machinery on the first call, which a server carries for its lifetime.
std::array<std::uint8_t, 20> sha1(std::string_view data) noexcept {
    std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const auto rotl = [](std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
    const auto block = [&h, &rotl](const std::uint8_t* p) {
        std::uint32_t w[80];
        for (int t = 0; t < 16; ++t) {
            w[t] = static_cast<std::uint32_t>(p[4 * t]) << 24 |
                   static_cast<std::uint32_t>(p[4 * t + 1]) << 16 |
                   static_cast<std::uint32_t>(p[4 * t + 2]) << 8 | p[4 * t + 3];
        }
        for (int t = 16; t < 80; ++t) {
            w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        }
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int t = 0; t < 80; ++t) {
            std::uint32_t f = 0;
            std::uint32_t k = 0;
            if (t < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (t < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (t < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            const std::uint32_t temp = rotl(a, 5) + f + e + k + w[t];
            e = d;
            d = c;
            c = rotl(b, 30);
            b = a;
            a = temp;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    };
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
    std::size_t size = data.size();
    const std::uint64_t bit_length = static_cast<std::uint64_t>(size) * 8;
    for (; size >= 64; size -= 64, bytes += 64) {
        block(bytes);
    }
    // §5.1.1: a 1 bit, zeros, and the length in bits, big-endian, filling
    // one or two last blocks.
    std::uint8_t tail[128]{};
    if (size != 0) {
        std::memcpy(tail, bytes, size);
    }
    tail[size] = 0x80;
    const std::size_t tail_size = size < 56 ? 64 : 128;
    for (int i = 0; i < 8; ++i) {
        tail[tail_size - 1 - static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(bit_length >> (8 * i));
    }
    block(tail);
    if (tail_size == 128) {
        block(tail + 64);
    }
    std::array<std::uint8_t, 20> digest{};
    for (std::size_t i = 0; i < 5; ++i) {
        digest[4 * i] = static_cast<std::uint8_t>(h[i] >> 24);
        digest[4 * i + 1] = static_cast<std::uint8_t>(h[i] >> 16);
        digest[4 * i + 2] = static_cast<std::uint8_t>(h[i] >> 8);
        digest[4 * i + 3] = static_cast<std::uint8_t>(h[i]);
    }
    return digest;
}

/// The 6-bit value of a base64 character, or -1.
int base64_value(char c) noexcept {
    const std::size_t pos = k_base64_alphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

/// True when `key` is the canonical base64 encoding of exactly 16 bytes
/// (RFC 6455 §4.1 item 7, §4.2.1 item 5): 22 alphabet characters, "==", and
/// the last character's unused low 4 bits zero (RFC 4648 §3.5).
bool is_valid_key(std::string_view key) noexcept {
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') {
        return false;
    }
    for (std::size_t i = 0; i < 22; ++i) {
        if (base64_value(key[i]) < 0) {
            return false;
        }
    }
    return (base64_value(key[21]) & 0x0F) == 0;
}

bool is_vchar_string(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F) {
            return false;
        }
    }
    return true;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) noexcept {
    for (const auto n : names) {
        if (ascii_iequals(name, n)) {
            return true;
        }
    }
    return false;
}

/// An extra header a caller may add: a token name, a value we can send
/// (RFC 7230 §3.2), and not one of `reserved` nor a Sec-WebSocket-* field
/// when `no_websocket` is set.
bool valid_extra_headers(const HeaderList& headers,
                         std::initializer_list<std::string_view> reserved,
                         bool no_websocket) noexcept {
    for (const auto& [name, value] : headers) {
        if (!is_token(name) || !is_valid_field_value(value) || is_one_of(name, reserved) ||
            (no_websocket && starts_with_ci(name, "Sec-WebSocket-"))) {
            return false;
        }
    }
    return true;
}

bool has_header(const HeaderList& headers, std::string_view name) noexcept {
    for (const auto& h : headers) {
        if (ascii_iequals(h.first, name)) {
            return true;
        }
    }
    return false;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
}

void append_headers(std::string& out, const HeaderList& headers) {
    for (const auto& [name, value] : headers) {
        append_header(out, name, value);
    }
}

/// True when some field `name` of `http` holds `token` in its list (§4.2.1
/// items 3-4: Upgrade and Connection may be lists and may repeat).
bool any_list_has(const HttpHeadParser& http, std::string_view name,
                  std::string_view token) noexcept {
    for (const auto& h : http.headers()) {
        if (ascii_iequals(h.name, name) && list_contains_token(h.value, token)) {
            return true;
        }
    }
    return false;
}

} // namespace

std::string base64_encode(std::span<const std::uint8_t> data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                                std::uint32_t{data[i + 2]};
        out += k_base64_alphabet[(v >> 18) & 0x3F];
        out += k_base64_alphabet[(v >> 12) & 0x3F];
        out += k_base64_alphabet[(v >> 6) & 0x3F];
        out += k_base64_alphabet[v & 0x3F];
    }
    const std::size_t rest = data.size() - i;
    if (rest != 0) {
        std::uint32_t v = std::uint32_t{data[i]} << 16;
        if (rest == 2) {
            v |= std::uint32_t{data[i + 1]} << 8;
        }
        out += k_base64_alphabet[(v >> 18) & 0x3F];
        out += k_base64_alphabet[(v >> 12) & 0x3F];
        out += rest == 2 ? k_base64_alphabet[(v >> 6) & 0x3F] : '=';
        out += '=';
    }
    return out;
}

std::string websocket_accept_key(std::string_view key) {
    // §4.2.2 item 5.4: base64(SHA-1(key ++ GUID)).
    std::string input;
    input.reserve(key.size() + k_websocket_guid.size());
    input += key;
    input += k_websocket_guid;
    const std::array<std::uint8_t, 20> digest = sha1(input);
    return base64_encode(digest);
}

std::string_view http_reason_phrase(int status) noexcept {
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

Error build_http_response(int status, std::string_view body, const HeaderList& headers,
                          std::string& out) {
    if (status < 200 || status > 599 ||
        !valid_extra_headers(headers,
                             {"Connection", "Content-Length", "Transfer-Encoding", "Upgrade",
                              "Sec-WebSocket-Version"},
                             false)) {
        return Error::local_bad_argument;
    }
    std::string r = "HTTP/1.1 ";
    r += std::to_string(status);
    r += ' ';
    r += http_reason_phrase(status);
    r += "\r\n";
    if (status == 426) {
        // RFC 7231 §6.5.15 / RFC 7230 §6.7: a 426 names the protocol to
        // upgrade to; RFC 6455 §4.4: and the WebSocket version we speak.
        append_header(r, "Connection", "Upgrade, close");
        append_header(r, "Upgrade", "websocket");
        append_header(r, "Sec-WebSocket-Version", "13");
    } else {
        append_header(r, "Connection", "close");
    }
    if (status == 405 && !has_header(headers, "Allow")) {
        append_header(r, "Allow", "GET"); // RFC 7231 §6.5.5
    }
    if (!has_header(headers, "Content-Type")) {
        append_header(r, "Content-Type", "text/plain; charset=utf-8");
    }
    append_header(r, "Content-Length", std::to_string(body.size()));
    append_headers(r, headers);
    r += "\r\n";
    r += body;
    out = std::move(r);
    return Error::ok;
}

std::string handshake_error_response(Error error) {
    int status = http_status_for(error);
    if (status == 0) {
        status = 500;
    }
    std::string body(describe(error));
    body += '\n';
    std::string out;
    build_http_response(status, body, {}, out); // cannot fail: valid status, no headers
    return out;
}

namespace {

/// What both handshakes do with incoming bytes: feed the head parser, and
/// once the head is complete run the role's checks. The outcome is sticky:
/// after complete or failed nothing more is consumed.
template <typename Validate>
ParseStatus feed_then_validate(HttpHeadParser& parser, std::span<const std::uint8_t> data,
                               std::size_t& consumed, ParseStatus& status, Error& error,
                               Validate validate) {
    consumed = 0;
    if (status != ParseStatus::need_more) {
        return status;
    }
    const ParseStatus parsed = parser.feed(data, consumed);
    if (parsed == ParseStatus::failed) {
        error = parser.error();
        status = ParseStatus::failed;
    } else if (parsed == ParseStatus::complete) {
        error = validate();
        status = error == Error::ok ? ParseStatus::complete : ParseStatus::failed;
    }
    return status;
}

} // namespace

// ---------------------------------------------------------------- server

ServerHandshake::ServerHandshake(const HttpLimits& limits) : parser_(HttpKind::request, limits) {}

void ServerHandshake::fail(Error e) noexcept {
    status_ = ParseStatus::failed;
    error_ = e;
}

ParseStatus ServerHandshake::receive_data(std::span<const std::uint8_t> data,
                                          std::size_t& consumed) {
    return feed_then_validate(parser_, data, consumed, status_, error_,
                              [this] { return validate(); });
}

Error ServerHandshake::validate() {
    const HttpHeadParser& http = parser_;
    // §4.2.1 item 1: "An HTTP/1.1 or higher GET request". Methods are
    // case-sensitive (RFC 7231 §4.1).
    if (http.method() != "GET") {
        return Error::http_bad_method;
    }
    if (http.version_minor() < 1) {
        return Error::http_bad_version;
    }
    // §4.2.1 item 2; RFC 7230 §5.4: exactly one Host.
    const std::size_t hosts = http.header_count("Host");
    if (hosts > 1) {
        return Error::duplicate_header;
    }
    if (hosts == 0 || http.header("Host")->empty()) {
        return Error::missing_host;
    }
    // §4.1 item 2 / §3: the /resource name/ is in origin-form.
    if (http.target().empty() || http.target().front() != '/') {
        return Error::http_malformed;
    }
    // §4.2.1 item 3: Upgrade lists "websocket" (case-insensitive). Checked
    // after method/version/host so that a plain GET reads as
    // not_websocket_upgrade and can be served as ordinary HTTP.
    if (!any_list_has(http, "Upgrade", "websocket")) {
        return Error::not_websocket_upgrade;
    }
    // §4.2.1 item 4: Connection includes "Upgrade" (case-insensitive).
    if (!any_list_has(http, "Connection", "upgrade")) {
        return Error::missing_connection_upgrade;
    }
    // §4.2.1 item 6, §4.4: version 13 only, else 426 naming it.
    if (http.header_count("Sec-WebSocket-Version") != 1 ||
        *http.header("Sec-WebSocket-Version") != "13") {
        return Error::unsupported_websocket_version;
    }
    // §4.2.1 item 5: a base64-encoded 16-byte value, once.
    if (http.header_count("Sec-WebSocket-Key") != 1 ||
        !is_valid_key(*http.header("Sec-WebSocket-Key"))) {
        return Error::bad_websocket_key;
    }
    // §4.2.1 item 7 / §10.2: one Origin, so that an origin check cannot be
    // sidestepped by a second value.
    if (http.header_count("Origin") > 1) {
        return Error::duplicate_header;
    }
    // §4.2.1 item 8, §11.3.4: Sec-WebSocket-Protocol = 1#token, maybe over
    // several fields (RFC 7230 §3.2.2).
    for (const auto& h : http.headers()) {
        if (!ascii_iequals(h.name, "Sec-WebSocket-Protocol")) {
            continue;
        }
        std::string_view rest = h.value;
        while (true) {
            const std::size_t comma = rest.find(',');
            std::string_view item = rest.substr(0, comma);
            while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
                item.remove_prefix(1);
            }
            while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
                item.remove_suffix(1);
            }
            if (!item.empty()) { // empty elements are allowed (RFC 7230 §7)
                if (!is_token(item)) {
                    return Error::http_malformed;
                }
                subprotocols_.push_back(item);
            }
            if (comma == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(comma + 1);
        }
    }
    // §4.2.1 item 9, §9.1.
    for (const auto& value : http.header_values("Sec-WebSocket-Extensions")) {
        if (parse_extension_list(value, extensions_) != Error::ok) {
            return Error::bad_extension_header;
        }
    }
    return Error::ok;
}

std::string_view ServerHandshake::path() const noexcept {
    const std::string_view t = parser_.target();
    return t.substr(0, t.find('?'));
}

std::string_view ServerHandshake::query() const noexcept {
    const std::string_view t = parser_.target();
    const std::size_t q = t.find('?');
    return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::string_view ServerHandshake::host() const noexcept {
    return parser_.header("Host").value_or(std::string_view{});
}

std::string_view ServerHandshake::key() const noexcept {
    return parser_.header("Sec-WebSocket-Key").value_or(std::string_view{});
}

Error ServerHandshake::accept(const AcceptOptions& options, std::string& out) const {
    if (status_ != ParseStatus::complete) {
        return Error::invalid_state;
    }
    if (!options.subprotocol.empty()) {
        // §4.2.2 item 5.5: one of the values the client offered.
        bool offered = false;
        for (const auto p : subprotocols_) {
            offered = offered || p == options.subprotocol;
        }
        if (!offered) {
            return Error::local_subprotocol_not_offered;
        }
    }
    if (!options.extensions.empty()) {
        std::vector<Extension> parsed;
        if (!is_valid_field_value(options.extensions) ||
            parse_extension_list(options.extensions, parsed) != Error::ok || parsed.empty()) {
            return Error::local_bad_argument;
        }
    }
    if (!valid_extra_headers(options.headers,
                             {"Upgrade", "Connection", "Content-Length", "Transfer-Encoding"},
                             true)) {
        return Error::local_bad_argument;
    }
    // §4.2.2 item 5: the 101 response.
    std::string r = "HTTP/1.1 101 Switching Protocols\r\n";
    append_header(r, "Upgrade", "websocket");
    append_header(r, "Connection", "Upgrade");
    append_header(r, "Sec-WebSocket-Accept", websocket_accept_key(key()));
    if (!options.subprotocol.empty()) {
        append_header(r, "Sec-WebSocket-Protocol", options.subprotocol);
    }
    if (!options.extensions.empty()) {
        append_header(r, "Sec-WebSocket-Extensions", options.extensions);
    }
    append_headers(r, options.headers);
    r += "\r\n";
    out = std::move(r);
    return Error::ok;
}

// ---------------------------------------------------------------- client

ClientHandshake::ClientHandshake(ClientConfig config, const HttpLimits& limits)
    : config_(std::move(config)), parser_(HttpKind::response, limits) {
    const ClientConfig& c = config_;
    bool ok = is_vchar_string(c.host) && is_vchar_string(c.target) && c.target.front() == '/' &&
              c.target.find('#') == std::string::npos;
    for (std::size_t i = 0; ok && i < c.subprotocols.size(); ++i) {
        // §4.1 item 10: unique tokens.
        ok = is_token(c.subprotocols[i]);
        for (std::size_t j = 0; ok && j < i; ++j) {
            ok = c.subprotocols[j] != c.subprotocols[i];
        }
    }
    if (ok && !c.extensions.empty()) {
        std::vector<Extension> offer;
        ok = is_valid_field_value(c.extensions) &&
             parse_extension_list(c.extensions, offer) == Error::ok && !offer.empty();
        for (auto& e : offer) {
            offered_extensions_.push_back(std::move(e.name));
        }
    }
    if (ok && c.origin) {
        ok = !c.origin->empty() && is_valid_field_value(*c.origin);
    }
    ok = ok && valid_extra_headers(c.headers,
                                   {"Host", "Upgrade", "Connection", "Origin", "Content-Length",
                                    "Transfer-Encoding"},
                                   true);
    if (!ok) {
        fail(Error::local_bad_argument);
        return;
    }

    // §4.1 item 7: the key is the base64 of 16 random bytes (given to us).
    key_ = base64_encode(c.nonce);
    expected_accept_ = websocket_accept_key(key_);

    // §4.1 items 1-12.
    std::string r = "GET ";
    r += c.target;
    r += " HTTP/1.1\r\n";
    append_header(r, "Host", c.host);
    append_header(r, "Upgrade", "websocket");
    append_header(r, "Connection", "Upgrade");
    append_header(r, "Sec-WebSocket-Key", key_);
    append_header(r, "Sec-WebSocket-Version", "13");
    if (c.origin) {
        append_header(r, "Origin", *c.origin);
    }
    if (!c.subprotocols.empty()) {
        std::string list;
        for (const auto& p : c.subprotocols) {
            if (!list.empty()) {
                list += ", ";
            }
            list += p;
        }
        append_header(r, "Sec-WebSocket-Protocol", list);
    }
    if (!c.extensions.empty()) {
        append_header(r, "Sec-WebSocket-Extensions", c.extensions);
    }
    append_headers(r, c.headers);
    r += "\r\n";
    request_ = std::move(r);
}

void ClientHandshake::fail(Error e) noexcept {
    status_ = ParseStatus::failed;
    error_ = e;
}

ParseStatus ClientHandshake::receive_data(std::span<const std::uint8_t> data,
                                          std::size_t& consumed) {
    return feed_then_validate(parser_, data, consumed, status_, error_,
                              [this] { return validate(); });
}

Error ClientHandshake::validate() {
    const HttpHeadParser& http = parser_;
    // §4.1, handling the server's response, item 1: anything but 101 is
    // handled as HTTP (the caller reports the status).
    if (http.status_code() != 101) {
        return Error::bad_status;
    }
    if (http.version_minor() < 1) {
        return Error::http_bad_version;
    }
    // Items 2-3: Upgrade "websocket", Connection "Upgrade" (case-insensitive).
    if (!any_list_has(http, "Upgrade", "websocket")) {
        return Error::not_websocket_upgrade;
    }
    if (!any_list_has(http, "Connection", "upgrade")) {
        return Error::missing_connection_upgrade;
    }
    // Item 4: Sec-WebSocket-Accept is base64(SHA-1(key + GUID)), exactly.
    const std::size_t accepts = http.header_count("Sec-WebSocket-Accept");
    if (accepts > 1) {
        return Error::duplicate_header;
    }
    if (accepts == 0 || *http.header("Sec-WebSocket-Accept") != expected_accept_) {
        return Error::bad_accept_key;
    }
    // Item 6: no subprotocol, or exactly one we offered.
    const std::size_t protocols = http.header_count("Sec-WebSocket-Protocol");
    if (protocols > 1) {
        return Error::unoffered_subprotocol;
    }
    if (protocols == 1) {
        const std::string_view chosen = *http.header("Sec-WebSocket-Protocol");
        bool offered = false;
        for (const auto& p : config_.subprotocols) {
            offered = offered || p == chosen;
        }
        if (!offered) {
            return Error::unoffered_subprotocol;
        }
        subprotocol_ = chosen;
    }
    // Item 5: every extension in use must have been offered; each once.
    for (const auto& value : http.header_values("Sec-WebSocket-Extensions")) {
        if (parse_extension_list(value, extensions_) != Error::ok) {
            return Error::bad_extension_header;
        }
    }
    for (std::size_t i = 0; i < extensions_.size(); ++i) {
        bool offered = false;
        for (const auto& name : offered_extensions_) {
            offered = offered || ascii_iequals(name, extensions_[i].name);
        }
        for (std::size_t j = 0; offered && j < i; ++j) {
            offered = !ascii_iequals(extensions_[j].name, extensions_[i].name);
        }
        if (!offered) {
            return Error::unoffered_extension;
        }
    }
    return Error::ok;
}

} // namespace nexus::core
