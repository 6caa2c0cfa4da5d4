// The server side of the WebSocket opening handshake for the bench servers
// that have none of their own (wslay_echo, floor_echo): reads the HTTP
// upgrade request (RFC 6455 §4.2.1) and makes the 101 answer (§4.2.2), with
// SHA-1 and base64 from OpenSSL's libcrypto. Bench code: it checks only that
// a Sec-WebSocket-Key is there, not the rest of the request.
#pragma once

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>

namespace bench_upgrade {

/// Sec-WebSocket-Accept for KEY (RFC 6455 §4.2.2, item 5.4).
inline std::string accept_value(std::string_view key) {
    std::string text(key);
    text += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    const int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
    return {reinterpret_cast<char*>(out), static_cast<std::size_t>(n)};
}

enum class Parsed { incomplete, bad, done };

/// Looks at the request bytes read so far in HEAD. `incomplete`: no blank
/// line yet (and under 16 KiB); `bad`: too long or no key; `done`: REPLY
/// holds the 101 answer and HEAD is left with the bytes that followed the
/// request (the first frames, when the client did not wait).
inline Parsed parse(std::string& head, std::string& reply) {
    const std::size_t end = head.find("\r\n\r\n");
    if (end == std::string::npos) {
        return head.size() > 16384 ? Parsed::bad : Parsed::incomplete;
    }
    std::string lower = head.substr(0, end);
    for (char& ch : lower) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    const std::size_t at = lower.find("\r\nsec-websocket-key:");
    if (at == std::string::npos) {
        return Parsed::bad;
    }
    std::size_t from = at + 20;
    const std::size_t eol = head.find("\r\n", from);
    while (from < eol && head[from] == ' ') {
        ++from;
    }
    std::size_t to = eol;
    while (to > from && head[to - 1] == ' ') {
        --to;
    }
    reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: ";
    reply += accept_value(std::string_view(head).substr(from, to - from));
    reply += "\r\n\r\n";
    head.erase(0, end + 4);
    return Parsed::done;
}

} // namespace bench_upgrade
