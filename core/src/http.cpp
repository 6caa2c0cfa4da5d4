#include "nexus/core/http.hpp"

#include <cstring>

namespace nexus::core {
namespace {

constexpr bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// field-vchar / SP / HTAB (RFC 7230 §3.2); obs-text (0x80-0xFF) allowed.
constexpr bool is_field_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7F);
}

/// VCHAR only: what a request-target may hold (RFC 7230 §5.3, RFC 3986).
constexpr bool is_vchar(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7F;
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ows(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

} // namespace

bool is_token(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    for (const char c : s) {
        if (!is_tchar(c)) {
            return false;
        }
    }
    return true;
}

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool is_valid_field_value(std::string_view value) noexcept {
    for (const char c : value) {
        if (!is_field_char(c)) {
            return false;
        }
    }
    return true;
}

bool list_contains_token(std::string_view value, std::string_view token) noexcept {
    // RFC 7230 §7: #element lists, OWS around commas, empty elements allowed.
    while (true) {
        const std::size_t comma = value.find(',');
        if (ascii_iequals(trim_ows(value.substr(0, comma)), token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            return false;
        }
        value.remove_prefix(comma + 1);
    }
}

HttpHeadParser::HttpHeadParser(HttpKind kind, const HttpLimits& limits)
    : kind_(kind), limits_(limits) {}

void HttpHeadParser::fail(Error e) noexcept {
    status_ = ParseStatus::failed;
    error_ = e;
}

bool HttpHeadParser::check_limits(const std::uint8_t* chunk, std::size_t n,
                                  bool line_ends) noexcept {
    if (stage_ == Stage::start_line) {
        // The limit counts the line without its ending. A trailing CR may yet
        // turn out to be half of the CRLF, so one byte over is only certain
        // when that byte is not a CR.
        const std::size_t len = buf_.size() - line_start_ + n;
        if (line_ends) {
            std::size_t content = len - 1;
            const char before_lf = n >= 2        ? static_cast<char>(chunk[n - 2])
                                   : content > 0 ? buf_.back()
                                                 : '\0';
            if (content > 0 && before_lf == '\r') {
                --content;
            }
            if (content > limits_.max_start_line) {
                fail(Error::http_request_line_too_long);
                return false;
            }
        } else if (len > limits_.max_start_line + 1 ||
                   (len == limits_.max_start_line + 1 && chunk[n - 1] != '\r')) {
            fail(Error::http_request_line_too_long);
            return false;
        }
        return true;
    }
    if (buf_.size() - headers_start_ + n > limits_.max_header_bytes) {
        fail(Error::http_headers_too_large);
        return false;
    }
    return true;
}

ParseStatus HttpHeadParser::feed(std::span<const std::uint8_t> in, std::size_t& consumed) {
    consumed = 0;
    if (status_ != ParseStatus::need_more) {
        return status_;
    }
    while (consumed < in.size()) {
        const std::uint8_t* start = in.data() + consumed;
        const std::size_t rest = in.size() - consumed;
        // A new header line beyond the count limit fails at its first byte.
        if (stage_ == Stage::headers && buf_.size() == line_start_ && start[0] != '\r' &&
            start[0] != '\n' && fields_.size() >= limits_.max_header_count) {
            consumed += 1;
            fail(Error::http_headers_too_large);
            return status_;
        }
        const void* lf = std::memchr(start, '\n', rest);
        const std::size_t take =
            lf != nullptr
                ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(lf) - start) + 1
                : rest;
        if (!check_limits(start, take, lf != nullptr)) {
            consumed += take;
            return status_;
        }
        const auto* chars = reinterpret_cast<const char*>(start);
        buf_.insert(buf_.end(), chars, chars + take);
        consumed += take;
        if (lf == nullptr) {
            break;
        }

        // A whole line is buffered: [line_start_, size - 1) without the LF.
        const std::size_t begin = line_start_;
        std::string_view line(buf_.data() + begin, buf_.size() - 1 - begin);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1); // CRLF; a bare LF is tolerated (RFC 7230 §3.5)
        }
        line_start_ = buf_.size();
        if (line.find('\r') != std::string_view::npos) {
            fail(Error::http_malformed); // bare CR inside a line (§3.5)
            return status_;
        }
        if (stage_ == Stage::start_line) {
            const bool ok =
                kind_ == HttpKind::request ? parse_request_line(line) : parse_status_line(line);
            if (!ok) {
                return status_;
            }
            stage_ = Stage::headers;
            headers_start_ = buf_.size();
            continue;
        }
        if (line.empty()) {
            finish(); // the empty line ends the head (§3)
            return status_;
        }
        if (!parse_header_line(begin, line)) {
            return status_;
        }
    }
    return status_;
}

bool HttpHeadParser::parse_version(std::string_view v) noexcept {
    // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 7230 §2.6).
    if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' ||
        !is_digit(v[7])) {
        fail(Error::http_malformed);
        return false;
    }
    if (v[5] != '1') {
        fail(Error::http_bad_version);
        return false;
    }
    version_minor_ = v[7] - '0';
    return true;
}

bool HttpHeadParser::parse_request_line(std::string_view line) noexcept {
    // request-line = method SP request-target SP HTTP-version (RFC 7230 §3.1.1)
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || !is_token(line.substr(0, sp1))) {
        fail(Error::http_malformed);
        return false;
    }
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
        fail(Error::http_malformed);
        return false;
    }
    for (std::size_t i = sp1 + 1; i < sp2; ++i) {
        if (!is_vchar(line[i])) {
            fail(Error::http_malformed);
            return false;
        }
    }
    if (!parse_version(line.substr(sp2 + 1))) {
        return false;
    }
    method_ = {0, sp1}; // the start line is at offset 0
    target_ = {sp1 + 1, sp2 - sp1 - 1};
    return true;
}

bool HttpHeadParser::parse_status_line(std::string_view line) noexcept {
    // status-line = HTTP-version SP status-code SP reason-phrase (RFC 7230 §3.1.2);
    // "HTTP/1.1 101" without the second SP is tolerated.
    if (line.size() < 12 || line[8] != ' ' || !parse_version(line.substr(0, 8))) {
        if (status_ != ParseStatus::failed) {
            fail(Error::http_malformed);
        }
        return false;
    }
    if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0' ||
        (line.size() > 12 && line[12] != ' ')) {
        fail(Error::http_malformed);
        return false;
    }
    const std::string_view reason = line.size() > 12 ? line.substr(13) : std::string_view{};
    for (const char c : reason) {
        if (!is_field_char(c)) {
            fail(Error::http_malformed);
            return false;
        }
    }
    status_code_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    reason_ = line.size() > 12 ? Span{13, line.size() - 13} : Span{};
    return true;
}

bool HttpHeadParser::parse_header_line(std::size_t start, std::string_view line) {
    // header-field = field-name ":" OWS field-value OWS (RFC 7230 §3.2)
    if (is_ows(line.front())) {
        fail(Error::http_malformed); // obs-fold (§3.2.4)
        return false;
    }
    const std::size_t colon = line.find(':');
    // A name that is not a token covers whitespace before the colon (§3.2.4).
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
        fail(Error::http_malformed);
        return false;
    }
    std::size_t vbegin = colon + 1;
    std::size_t vend = line.size();
    while (vbegin < vend && is_ows(line[vbegin])) {
        ++vbegin;
    }
    while (vend > vbegin && is_ows(line[vend - 1])) {
        --vend;
    }
    if (!is_valid_field_value(line.substr(vbegin, vend - vbegin))) {
        fail(Error::http_malformed);
        return false;
    }
    fields_.push_back({Span{start, colon}, Span{start + vbegin, vend - vbegin}});
    return true;
}

void HttpHeadParser::finish() {
    headers_.reserve(fields_.size());
    for (const auto& [name, value] : fields_) {
        headers_.push_back({view(name), view(value)});
    }
    fields_.clear();
    fields_.shrink_to_fit();
    stage_ = Stage::done;
    status_ = ParseStatus::complete;
}

std::vector<std::string_view> HttpHeadParser::header_values(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& h : headers_) {
        if (ascii_iequals(h.name, name)) {
            out.push_back(h.value);
        }
    }
    return out;
}

std::optional<std::string_view> HttpHeadParser::header(std::string_view name) const noexcept {
    for (const auto& h : headers_) {
        if (ascii_iequals(h.name, name)) {
            return h.value;
        }
    }
    return std::nullopt;
}

std::size_t HttpHeadParser::header_count(std::string_view name) const noexcept {
    std::size_t n = 0;
    for (const auto& h : headers_) {
        if (ascii_iequals(h.name, name)) {
            ++n;
        }
    }
    return n;
}

} // namespace nexus::core
