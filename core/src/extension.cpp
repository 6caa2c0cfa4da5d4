#include "nexus/core/extension.hpp"

#include "nexus/core/http.hpp"

namespace nexus::core {
namespace {

/// A cursor over one header value with the lexical pieces of RFC 7230 §3.2.6.
class Lexer {
public:
    explicit Lexer(std::string_view s) noexcept : s_(s) {}

    bool at_end() const noexcept { return i_ == s_.size(); }
    char peek() const noexcept { return s_[i_]; }
    void advance() noexcept { ++i_; }

    void skip_ows() noexcept {
        while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t')) {
            ++i_;
        }
    }

    /// Reads 1*tchar; returns an empty view when none is there.
    std::string_view token() noexcept {
        const std::size_t begin = i_;
        while (!at_end() && is_tchar(s_[i_])) {
            ++i_;
        }
        return s_.substr(begin, i_ - begin);
    }

    /// Reads a quoted-string at the cursor (which is on the DQUOTE) into
    /// `out`, unescaped. Returns false when it is unterminated or holds a
    /// character quoted-string does not allow.
    bool quoted_string(std::string& out) {
        ++i_; // DQUOTE
        while (!at_end()) {
            const auto c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') {
                return true;
            }
            if (c == '\\') {
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                if (at_end()) {
                    return false;
                }
                const auto q = static_cast<unsigned char>(s_[i_++]);
                if (q != '\t' && (q < 0x20 || q == 0x7F)) {
                    return false;
                }
                out.push_back(static_cast<char>(q));
                continue;
            }
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            if (c != '\t' && (c < 0x20 || c == 0x7F)) {
                return false;
            }
            out.push_back(static_cast<char>(c));
        }
        return false;
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

bool parse_param(Lexer& lex, ExtensionParam& param) {
    // extension-param = token [ "=" (token | quoted-string) ] (RFC 6455 §9.1);
    // OWS around "=" is tolerated (RFC 7230 §4.3 BWS).
    const std::string_view name = lex.token();
    if (name.empty()) {
        return false;
    }
    param.name.assign(name);
    lex.skip_ows();
    if (lex.at_end() || lex.peek() != '=') {
        return true;
    }
    lex.advance();
    lex.skip_ows();
    std::string value;
    if (!lex.at_end() && lex.peek() == '"') {
        // §9.1: after unescaping, a quoted value must itself be a token.
        if (!lex.quoted_string(value) || !is_token(value)) {
            return false;
        }
    } else {
        const std::string_view tok = lex.token();
        if (tok.empty()) {
            return false;
        }
        value.assign(tok);
    }
    param.value = std::move(value);
    lex.skip_ows();
    return true;
}

} // namespace

Error parse_extension_list(std::string_view header_value, std::vector<Extension>& out) {
    // extension-list = 1#extension; extension = token *( ";" extension-param )
    // (RFC 6455 §9.1), list rules of RFC 7230 §7.
    Lexer lex(header_value);
    while (true) {
        lex.skip_ows();
        if (lex.at_end()) {
            return Error::ok;
        }
        if (lex.peek() == ',') {
            lex.advance(); // empty list element
            continue;
        }
        Extension ext;
        const std::string_view name = lex.token();
        if (name.empty()) {
            return Error::bad_extension_header;
        }
        ext.name.assign(name);
        lex.skip_ows();
        while (!lex.at_end() && lex.peek() == ';') {
            lex.advance();
            lex.skip_ows();
            ExtensionParam param;
            if (!parse_param(lex, param)) {
                return Error::bad_extension_header;
            }
            ext.params.push_back(std::move(param));
        }
        if (!lex.at_end() && lex.peek() != ',') {
            return Error::bad_extension_header;
        }
        out.push_back(std::move(ext));
    }
}

std::string format_extension(const Extension& extension) {
    std::string out = extension.name;
    for (const auto& param : extension.params) {
        out += "; ";
        out += param.name;
        if (!param.value) {
            continue;
        }
        out += '=';
        if (is_token(*param.value)) {
            out += *param.value;
            continue;
        }
        // Not a token: send it as a quoted-string (RFC 7230 §3.2.6).
        out += '"';
        for (const char c : *param.value) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    return out;
}

} // namespace nexus::core
