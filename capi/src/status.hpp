// What every entry point shares: the thread-local error for calls without a
// handle, the exception barrier, and the mapping of io's results to the
// pinned status codes.
#pragma once

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "nexus/io/socket_error.hpp"
#include "nexus/io/tls.hpp"
#include "nexus/io/websocket_server.hpp"
#include "nexus/socket.h"

namespace nexus::capi {

/// The thread-local detail behind nx_last_error().
void set_thread_error(std::string_view message) noexcept;

/// Keeps `message` in `slot` (a handle's last error) without throwing.
inline void set_error(std::string& slot, std::string_view message) noexcept {
    try {
        slot.assign(message);
    } catch (...) {
        slot.clear(); // no memory for the detail; the status still says what
    }
}

/// Returns `status` after recording `message` in `slot`.
inline int fail(std::string& slot, int status, std::string_view message) noexcept {
    set_error(slot, message);
    return status;
}

/// Returns `status` after recording `message` thread-locally (no handle).
inline int fail_thread(int status, std::string_view message) noexcept {
    set_thread_error(message);
    return status;
}

/// Runs `body` (returning int) with every exception turned into a status
/// and a message in `slot`: nothing ever unwinds into C.
template <typename Body>
int guard(std::string& slot, Body&& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(slot, NX_ENOMEM, "out of memory");
    } catch (const std::invalid_argument& e) {
        return fail(slot, NX_EINVAL, e.what());
    } catch (const std::exception& e) {
        return fail(slot, NX_EINTERNAL, e.what());
    } catch (...) {
        return fail(slot, NX_EINTERNAL, "unknown exception");
    }
}

/// The status of an io operation's result, with its detail in `slot`.
int status_of(io::SendResult result, std::string& slot, std::uint64_t client) noexcept;

/// The status of a socket or TLS failure.
int status_of(io::SocketErrorKind kind) noexcept;

/// guard() that also turns io::SocketError into its status and message.
template <typename Body>
int socket_call(std::string& slot, Body&& body) noexcept {
    return guard(slot, [&]() -> int {
        try {
            return body();
        } catch (const io::SocketError& e) {
            return fail(slot, status_of(e.kind()), e.what());
        }
    });
}

/// Sets TLS option `name` from text: a TlsOptions name (PHP's `ssl`
/// context), or "sni:HOST" = "CERT_FILE,KEY_FILE[,PASSPHRASE]" for one more
/// server certificate chosen by SNI. False for an unknown name; throws
/// std::invalid_argument for a bad value.
bool set_tls_option(io::TlsOptions& tls, std::string_view name, std::string_view value);

/// Valid opcodes for messages: NX_OPCODE_TEXT or NX_OPCODE_BINARY.
inline bool is_message_opcode(int opcode) noexcept {
    return opcode == NX_OPCODE_TEXT || opcode == NX_OPCODE_BINARY;
}

/// Splits "a, b,c" into trimmed non-empty items.
std::vector<std::string> split_list(const char* text);

} // namespace nexus::capi
