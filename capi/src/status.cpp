// Version, status texts and the thread-local error.
#include "status.hpp"

#include <fmt/format.h>

#define NX_STRINGIFY_(x) #x
#define NX_STRINGIFY(x) NX_STRINGIFY_(x)
#define NX_VERSION_STRING_LITERAL                                                                  \
    NX_STRINGIFY(NX_VERSION_MAJOR)                                                                 \
    "." NX_STRINGIFY(NX_VERSION_MINOR) "." NX_STRINGIFY(NX_VERSION_PATCH)

namespace nexus::capi {
namespace {

thread_local std::string t_last_error;

} // namespace

void set_thread_error(std::string_view message) noexcept {
    set_error(t_last_error, message);
}

int status_of(io::SendResult result, std::string& slot, std::uint64_t client) noexcept {
    try {
        switch (result) {
        case io::SendResult::ok:
            return NX_OK;
        case io::SendResult::unknown_client:
            return fail(slot, NX_ENOCLIENT, fmt::format("no client with id {}", client));
        case io::SendResult::invalid_utf8:
            return fail(slot, NX_EUTF8, "text message is not valid UTF-8");
        case io::SendResult::closing:
            return fail(slot, NX_ECLOSING, fmt::format("client {} is closing", client));
        case io::SendResult::queue_full:
            return fail(
                slot, NX_EQUEUEFULL,
                fmt::format("client {} is over max_send_queue and is being disconnected", client));
        case io::SendResult::invalid_argument:
            return fail(slot, NX_EINVAL, "invalid argument");
        case io::SendResult::unavailable:
            return fail(
                slot, NX_EUNAVAILABLE,
                fmt::format("client {} is on another server and Redis is out of reach", client));
        }
    } catch (...) {
    }
    return fail(slot, NX_EINTERNAL, "unexpected operation result");
}

int status_of(io::SocketErrorKind kind) noexcept {
    using K = io::SocketErrorKind;
    switch (kind) {
    case K::dns:
        return NX_EDNS;
    case K::refused:
        return NX_EREFUSED;
    case K::unreachable:
        return NX_EUNREACHABLE;
    case K::timeout:
        return NX_ETIMEDOUT;
    case K::tls_handshake:
        return NX_ETLS;
    case K::certificate:
        return NX_ECERT;
    case K::closed:
        return NX_ECLOSED;
    case K::io:
        return NX_EIO;
    case K::address_in_use:
        return NX_EBIND;
    case K::not_connected:
        return NX_ESTATE;
    case K::invalid_argument:
        return NX_EINVAL;
    case K::tls_config:
        return NX_ETLSCONFIG;
    case K::too_large:
        return NX_ETOOBIG;
    }
    return NX_EINTERNAL;
}

bool set_tls_option(io::TlsOptions& tls, std::string_view name, std::string_view value) {
    if (name.starts_with("sni:")) {
        // "CERT,KEY[,PASSPHRASE]"
        const std::size_t comma = value.find(',');
        if (name.size() == 4 || comma == std::string_view::npos || comma == 0) {
            throw std::invalid_argument("sni:HOST takes \"CERT_FILE,KEY_FILE[,PASSPHRASE]\"");
        }
        io::CertificateFiles files;
        files.local_cert = std::string(value.substr(0, comma));
        const std::string_view rest = value.substr(comma + 1);
        const std::size_t second = rest.find(',');
        files.local_pk = std::string(rest.substr(0, second));
        if (second != std::string_view::npos) {
            files.passphrase = std::string(rest.substr(second + 1));
        }
        tls.SNI_server_certs[std::string(name.substr(4))] = std::move(files);
        return true;
    }
    try {
        return tls.set(name, value);
    } catch (const io::SocketError& e) {
        throw std::invalid_argument(e.what()); // a bad boolean
    }
}

std::vector<std::string> split_list(const char* text) {
    std::vector<std::string> out;
    if (text == nullptr) {
        return out;
    }
    std::string_view rest(text);
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            out.emplace_back(item);
        }
    }
    return out;
}

} // namespace nexus::capi

using nexus::capi::t_last_error;

extern "C" {

unsigned int nx_version(void) noexcept {
    return NX_VERSION_NUMBER;
}

const char* nx_version_string(void) noexcept {
    return NX_VERSION_STRING_LITERAL;
}

const char* nx_strerror(int status) noexcept {
    switch (status) {
    case NX_OK:
        return "success";
    case NX_EINVAL:
        return "invalid argument";
    case NX_ENOMEM:
        return "out of memory";
    case NX_ESTATE:
        return "not allowed in the current state";
    case NX_ENOCLIENT:
        return "no such client";
    case NX_EUTF8:
        return "text is not valid UTF-8";
    case NX_ECLOSING:
        return "the connection is closing";
    case NX_EQUEUEFULL:
        return "send queue limit reached";
    case NX_ETIMEDOUT:
        return "timed out";
    case NX_EBIND:
        return "cannot bind the address";
    case NX_EURL:
        return "malformed URL";
    case NX_EDNS:
        return "host name does not resolve";
    case NX_EREFUSED:
        return "connection refused";
    case NX_EUNREACHABLE:
        return "host unreachable";
    case NX_EHANDSHAKE:
        return "WebSocket handshake failed";
    case NX_EIO:
        return "connection broken";
    case NX_ECLOSED:
        return "connection closed";
    case NX_ETLS:
        return "TLS failure";
    case NX_ECERT:
        return "certificate refused";
    case NX_EINTERNAL:
        return "internal error";
    case NX_ETOOBIG:
        return "message too big";
    case NX_EUNAVAILABLE:
        return "the client is on another server and Redis is out of reach";
    case NX_ETLSCONFIG:
        return "unusable TLS options";
    default:
        return "unknown status";
    }
}

const char* nx_last_error(void) noexcept {
    return t_last_error.c_str();
}

} // extern "C"
