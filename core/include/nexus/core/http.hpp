// Incremental HTTP/1.1 message-head parser (RFC 7230 §3), sans I/O.
//
// Feeds on bytes in any chunking and stops exactly after the empty line that
// ends the head: what follows belongs to someone else (the WebSocket frame
// parser after an Upgrade) and is never consumed. The head is copied into the
// parser's own storage, bounded by `HttpLimits`; a limit is reported as soon
// as the bytes seen cross it, before anything more is buffered.
//
// Accepted syntax (strict, with the tolerances RFC 7230 §3.5 allows):
//   request-line = method SP request-target SP HTTP-version       (§3.1.1)
//   status-line  = HTTP-version SP 3DIGIT [ SP reason-phrase ]     (§3.1.2)
//   header-field = field-name ":" OWS field-value OWS              (§3.2)
//   HTTP-version = "HTTP/1." DIGIT                                 (§2.6)
// Lines end in CRLF or a bare LF (§3.5). Rejected: obs-fold (a line starting
// with SP/HT, §3.2.4), whitespace between name and colon (§3.2.4), a field
// name that is not a token, control characters (other than HT) or NUL in a
// value, a bare CR, a request-target with characters outside VCHAR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nexus/core/error.hpp"

namespace nexus::core {

/// Bounds on what one message head may make the parser buffer.
struct HttpLimits {
    /// Bytes of the request or status line, not counting its line ending.
    /// Over it: Error::http_request_line_too_long.
    std::size_t max_start_line = std::size_t{8} * 1024;
    /// Bytes after the start line up to and including the empty line that
    /// ends the head, line endings counted. Over it: http_headers_too_large.
    std::size_t max_header_bytes = std::size_t{16} * 1024;
    /// Number of header fields. Over it: Error::http_headers_too_large.
    std::size_t max_header_count = 100;
};

/// Whether the head is a request (server side) or a response (client side).
enum class HttpKind : std::uint8_t { request, response };

/// Progress of an incremental parse (also used by the handshakes).
enum class ParseStatus : std::uint8_t { need_more, complete, failed };

/// One header field as received: the name keeps its case, the value is
/// stripped of leading and trailing OWS.
struct HttpHeader {
    std::string_view name;
    std::string_view value;
};

/// Header fields to add to a message, as (name, value).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// RFC 7230 §3.2.6 tchar.
constexpr bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/// True when `s` is a non-empty RFC 7230 token (1*tchar).
bool is_token(std::string_view s) noexcept;

/// ASCII case-insensitive equality (header names, tokens).
bool ascii_iequals(std::string_view a, std::string_view b) noexcept;

/// True when `value` can be sent as a header field value by us: no NUL, CR,
/// LF or other control character except HT (RFC 7230 §3.2).
bool is_valid_field_value(std::string_view value) noexcept;

/// True when some element of the comma-separated list `value` (RFC 7230 §7,
/// elements trimmed of OWS) equals `token` case-insensitively.
bool list_contains_token(std::string_view value, std::string_view token) noexcept;

/// Parses one request head or one response head.
///
/// Views returned by the accessors point into the parser's storage: they are
/// valid while the parser lives and survive moving it (the storage moves with
/// it); they are meaningful once `status()` is complete. Not copyable (copies
/// would point into the original).
class HttpHeadParser {
public:
    explicit HttpHeadParser(HttpKind kind, const HttpLimits& limits = {});
    HttpHeadParser(HttpHeadParser&&) noexcept = default;
    HttpHeadParser& operator=(HttpHeadParser&&) noexcept = default;
    HttpHeadParser(const HttpHeadParser&) = delete;
    HttpHeadParser& operator=(const HttpHeadParser&) = delete;
    ~HttpHeadParser() = default;

    /// Consumes bytes of the head from the front of `in` and sets `consumed`
    /// to how many it took.
    /// - need_more: all of `in` was consumed; the head is not finished.
    /// - complete: the head ended; `consumed` counts up to and including the
    ///   empty line, and the rest of `in` was not looked at.
    /// - failed: `error()` says why (http_malformed, http_bad_version for an
    ///   HTTP major version other than 1, http_request_line_too_long,
    ///   http_headers_too_large); `consumed` is then unspecified (at most
    ///   `in.size()`): nothing after a failure is meant to be parsed.
    /// Once complete or failed, further calls consume nothing and return the
    /// same status. Any split of the same bytes gives the same result.
    /// Throws only std::bad_alloc.
    ParseStatus feed(std::span<const std::uint8_t> in, std::size_t& consumed);

    ParseStatus status() const noexcept { return status_; }
    /// Error::ok unless status() is failed.
    Error error() const noexcept { return error_; }
    HttpKind kind() const noexcept { return kind_; }

    /// Request only: method and request-target as received.
    std::string_view method() const noexcept { return view(method_); }
    std::string_view target() const noexcept { return view(target_); }
    /// The x of "HTTP/1.x".
    int version_minor() const noexcept { return version_minor_; }
    /// Response only: the status code (100..999) and reason phrase.
    int status_code() const noexcept { return status_code_; }
    std::string_view reason() const noexcept { return view(reason_); }

    /// Every header field in order of arrival (names may repeat).
    const std::vector<HttpHeader>& headers() const noexcept { return headers_; }
    /// Every value of the fields named `name` (case-insensitive), in order.
    std::vector<std::string_view> header_values(std::string_view name) const;
    /// The first value of `name` (case-insensitive), or nullopt.
    std::optional<std::string_view> header(std::string_view name) const noexcept;
    /// How many fields are named `name` (case-insensitive).
    std::size_t header_count(std::string_view name) const noexcept;
    /// Bytes of the head consumed so far (the whole head once complete).
    std::size_t head_size() const noexcept { return buf_.size(); }

private:
    struct Span {
        std::size_t pos = 0;
        std::size_t len = 0;
    };
    enum class Stage : std::uint8_t { start_line, headers, done };

    std::string_view view(Span s) const noexcept {
        return buf_.empty() ? std::string_view{} : std::string_view(buf_.data() + s.pos, s.len);
    }
    bool check_limits(const std::uint8_t* chunk, std::size_t n, bool line_ends) noexcept;
    void fail(Error e) noexcept;
    bool parse_request_line(std::string_view line) noexcept;
    bool parse_status_line(std::string_view line) noexcept;
    bool parse_version(std::string_view v) noexcept;
    bool parse_header_line(std::size_t start, std::string_view line);
    void finish();

    HttpKind kind_;
    HttpLimits limits_;
    ParseStatus status_ = ParseStatus::need_more;
    Error error_ = Error::ok;
    Stage stage_ = Stage::start_line;
    std::vector<char> buf_;      // the head so far; never reallocated into by views
    std::size_t line_start_ = 0; // offset in buf_ of the line being read
    std::size_t headers_start_ = 0;
    Span method_;
    Span target_;
    Span reason_;
    int version_minor_ = 0;
    int status_code_ = 0;
    std::vector<std::pair<Span, Span>> fields_; // offsets until the head completes
    std::vector<HttpHeader> headers_;           // views, built when complete
};

} // namespace nexus::core
