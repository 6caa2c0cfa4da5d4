// nx_ws_client: io's WebSocketClient behind the C API. The client is driven
// by the calling thread: connect blocks it, poll waits on the socket.
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <Poco/Exception.h>
#include <fmt/format.h>

#include "nexus/core/close_code.hpp"
#include "nexus/core/utf8.hpp"
#include "nexus/io/websocket_client.hpp"
#include "nexus/socket.h"
#include "status.hpp"

using nexus::capi::fail;
using nexus::capi::fail_thread;
using nexus::capi::guard;

struct nx_ws_client {
    nexus::io::ClientOptions options;
    std::unique_ptr<nexus::io::WebSocketClient> connection;
    bool closed = false; // the DISCONNECT event was handed out
    int http_status = 0;
    std::string subprotocol;
    std::string last_error;
    std::string event_data;
};

namespace {

int status_of(nexus::io::ConnectError kind) {
    using nexus::io::ConnectError;
    switch (kind) {
    case ConnectError::bad_url:
        return NX_EURL;
    case ConnectError::dns:
        return NX_EDNS;
    case ConnectError::refused:
        return NX_EREFUSED;
    case ConnectError::unreachable:
        return NX_EUNREACHABLE;
    case ConnectError::timeout:
        return NX_ETIMEDOUT;
    case ConnectError::handshake:
        return NX_EHANDSHAKE;
    case ConnectError::io:
        return NX_EIO;
    case ConnectError::tls:
        return NX_ETLS;
    case ConnectError::certificate:
        return NX_ECERT;
    case ConnectError::tls_config:
        return NX_ETLSCONFIG;
    }
    return NX_EINTERNAL;
}

/// Parses "Name: value\r\n" lines (a bare "\n" ends a line too).
bool parse_headers(const char* text, std::vector<std::pair<std::string, std::string>>& out) {
    if (text == nullptr) {
        return true;
    }
    std::string_view rest(text);
    while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            continue;
        }
        const std::size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) {
            return false;
        }
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        out.emplace_back(line.substr(0, colon), value);
    }
    return true;
}

/// The operations' exceptions, as io's client documents them; `invalid` is
/// the status of std::invalid_argument (NX_EUTF8 for text).
template <typename Body>
int client_call(nx_ws_client* c, int invalid, Body&& body) noexcept {
    return guard(c->last_error, [&]() -> int {
        try {
            body();
            return NX_OK;
        } catch (const std::invalid_argument& e) {
            return fail(c->last_error, invalid, e.what());
        } catch (const std::logic_error& e) {
            return fail(c->last_error, NX_ECLOSED, e.what());
        } catch (const std::runtime_error& e) {
            return fail(c->last_error, NX_EIO, e.what());
        } catch (const Poco::Exception& e) { // the socket under io's client
            return fail(c->last_error, NX_EIO, e.displayText());
        }
    });
}

int require_open(nx_ws_client* c) {
    if (!c->connection) {
        return fail(c->last_error, NX_ESTATE, "the client is not connected");
    }
    if (c->closed) {
        return fail(c->last_error, NX_ECLOSED, "the connection is closed");
    }
    return NX_OK;
}

#define NX_REQUIRE_CLIENT(c)                                                                       \
    do {                                                                                           \
        if ((c) == nullptr) {                                                                      \
            return fail_thread(NX_EINVAL, "client is NULL");                                       \
        }                                                                                          \
    } while (false)

} // namespace

extern "C" {

int nx_ws_client_options_init(nx_ws_client_options* options, unsigned int version) noexcept {
    if (options == nullptr) {
        return fail_thread(NX_EINVAL, "options is NULL");
    }
    if (version != NX_WS_CLIENT_OPTIONS_VERSION) {
        return fail_thread(NX_EINVAL, fmt::format("options version {} is not {}", version,
                                                  NX_WS_CLIENT_OPTIONS_VERSION));
    }
    const nexus::io::ClientOptions d;
    *options = nx_ws_client_options{};
    options->version = version;
    options->connect_timeout_ms = static_cast<std::uint32_t>(d.connect_timeout.count());
    options->permessage_deflate = d.permessage_deflate ? 1 : 0;
    options->max_message_size = d.max_message_size;
    options->auto_pong = d.auto_pong ? 1 : 0;
    return NX_OK;
}

int nx_ws_client_new(nx_ws_client** out, const nx_ws_client_options* options) noexcept {
    if (out == nullptr) {
        return fail_thread(NX_EINVAL, "out is NULL");
    }
    *out = nullptr;
    nx_ws_client_options defaults;
    if (options == nullptr) {
        nx_ws_client_options_init(&defaults, NX_WS_CLIENT_OPTIONS_VERSION);
        options = &defaults;
    }
    std::string error;
    const int status = guard(error, [&]() -> int {
        if (options->version != NX_WS_CLIENT_OPTIONS_VERSION) {
            return fail(error, NX_EINVAL,
                        fmt::format("options version {} is not {}", options->version,
                                    NX_WS_CLIENT_OPTIONS_VERSION));
        }
        if (options->max_message_size == 0) {
            return fail(error, NX_EINVAL, "max_message_size must be positive");
        }
        auto c = std::make_unique<nx_ws_client>();
        auto& o = c->options;
        o.connect_timeout = std::chrono::milliseconds(options->connect_timeout_ms);
        o.subprotocols = nexus::capi::split_list(options->subprotocols);
        if (!parse_headers(options->headers, o.headers)) {
            return fail(error, NX_EINVAL, "headers must be \"Name: value\\r\\n\" lines");
        }
        if (options->origin != nullptr) {
            o.origin = options->origin;
        }
        o.permessage_deflate = options->permessage_deflate != 0;
        o.max_message_size = options->max_message_size;
        o.auto_pong = options->auto_pong != 0;
        *out = c.release();
        return NX_OK;
    });
    if (status != NX_OK) {
        fail_thread(status, error);
    }
    return status;
}

void nx_ws_client_free(nx_ws_client* client) noexcept {
    delete client;
}

const char* nx_ws_client_last_error(const nx_ws_client* client) noexcept {
    return client == nullptr ? "client is NULL" : client->last_error.c_str();
}

int nx_ws_client_set_tls_option(nx_ws_client* client, const char* name,
                                const char* value) noexcept {
    NX_REQUIRE_CLIENT(client);
    if (name == nullptr || value == nullptr) {
        return fail(client->last_error, NX_EINVAL, "name or value is NULL");
    }
    if (client->connection) {
        return fail(client->last_error, NX_ESTATE, "TLS options are set before connecting");
    }
    return guard(client->last_error, [&]() -> int {
        if (std::string_view(name).starts_with("sni:") ||
            !nexus::capi::set_tls_option(client->options.tls, name, value)) {
            return fail(client->last_error, NX_EINVAL,
                        fmt::format("unknown TLS option '{}'", name));
        }
        return NX_OK;
    });
}

int nx_ws_client_connect(nx_ws_client* client, const char* url) noexcept {
    NX_REQUIRE_CLIENT(client);
    if (url == nullptr) {
        return fail(client->last_error, NX_EINVAL, "url is NULL");
    }
    if (client->connection) {
        return fail(client->last_error, NX_ESTATE, "the client is already connected");
    }
    return guard(client->last_error, [&]() -> int {
        client->http_status = 0;
        try {
            client->connection = std::make_unique<nexus::io::WebSocketClient>(url, client->options);
        } catch (const nexus::io::ClientError& e) {
            client->http_status = e.http_status();
            return fail(client->last_error, status_of(e.kind()), e.what());
        }
        client->closed = false;
        client->subprotocol = client->connection->subprotocol();
        return NX_OK;
    });
}

int nx_ws_client_http_status(const nx_ws_client* client) noexcept {
    NX_REQUIRE_CLIENT(client);
    return client->http_status;
}

const char* nx_ws_client_subprotocol(const nx_ws_client* client) noexcept {
    return client == nullptr ? "" : client->subprotocol.c_str();
}

int nx_ws_client_is_open(const nx_ws_client* client) noexcept {
    return client != nullptr && client->connection && !client->closed &&
                   client->connection->is_open()
               ? 1
               : 0;
}

int nx_ws_client_send(nx_ws_client* client, const char* data, std::size_t size,
                      int opcode) noexcept {
    NX_REQUIRE_CLIENT(client);
    if (data == nullptr && size != 0) {
        return fail(client->last_error, NX_EINVAL, "data is NULL but size is not 0");
    }
    if (!nexus::capi::is_message_opcode(opcode)) {
        return fail(
            client->last_error, NX_EINVAL,
            fmt::format("opcode {} is neither NX_OPCODE_TEXT nor NX_OPCODE_BINARY", opcode));
    }
    if (const int rc = require_open(client); rc != NX_OK) {
        return rc;
    }
    const std::string_view view(data == nullptr ? "" : data, size);
    if (opcode == NX_OPCODE_BINARY) {
        return client_call(client, NX_EINVAL, [&] {
            client->connection->send_binary(
                {reinterpret_cast<const std::uint8_t*>(view.data()), view.size()});
        });
    }
    return client_call(client, NX_EUTF8, [&] { client->connection->send_text(view); });
}

int nx_ws_client_ping(nx_ws_client* client, const char* data, std::size_t size) noexcept {
    NX_REQUIRE_CLIENT(client);
    if ((data == nullptr && size != 0) || size > 125) {
        return fail(client->last_error, NX_EINVAL, "a ping carries at most 125 bytes");
    }
    if (const int rc = require_open(client); rc != NX_OK) {
        return rc;
    }
    return client_call(client, NX_EINVAL, [&] {
        client->connection->ping(std::string_view(data == nullptr ? "" : data, size));
    });
}

int nx_ws_client_close(nx_ws_client* client, int code, const char* reason,
                       std::size_t reason_size) noexcept {
    NX_REQUIRE_CLIENT(client);
    if (reason == nullptr && reason_size != 0) {
        return fail(client->last_error, NX_EINVAL, "reason is NULL but reason_size is not 0");
    }
    const std::string_view text(reason == nullptr ? "" : reason, reason_size);
    if (code < 1000 || code > 4999 ||
        !nexus::core::close_code::is_valid_on_wire(static_cast<std::uint16_t>(code)) ||
        text.size() > 123 || !nexus::core::is_valid_utf8(text)) {
        return fail(client->last_error, NX_EINVAL,
                    "the close code must be sendable and the reason UTF-8 of at most 123 bytes");
    }
    if (const int rc = require_open(client); rc != NX_OK) {
        return rc;
    }
    return client_call(client, NX_EINVAL,
                       [&] { client->connection->close(static_cast<std::uint16_t>(code), text); });
}

int nx_ws_client_poll(nx_ws_client* client, int timeout_ms, nx_ws_event* event) noexcept {
    NX_REQUIRE_CLIENT(client);
    if (event == nullptr) {
        return fail(client->last_error, NX_EINVAL, "event is NULL");
    }
    if (const int rc = require_open(client); rc != NX_OK) {
        return rc;
    }
    return guard(client->last_error, [&]() -> int {
        using Kind = nexus::io::ClientMessage::Kind;
        std::optional<nexus::io::ClientMessage> message;
        try {
            // "Without limit" in slices, so a huge timeout never overflows.
            do {
                message = client->connection->receive(
                    std::chrono::milliseconds(timeout_ms < 0 ? 60'000 : timeout_ms));
            } while (!message && timeout_ms < 0);
        } catch (const std::runtime_error& e) {
            return fail(client->last_error, NX_EIO, e.what());
        } catch (const Poco::Exception& e) {
            return fail(client->last_error, NX_EIO, e.displayText());
        }
        *event = nx_ws_event{};
        event->data = "";
        if (!message) {
            event->kind = NX_EVENT_NONE;
            return NX_OK;
        }
        client->event_data = std::move(message->data);
        event->data = client->event_data.c_str();
        event->size = client->event_data.size();
        switch (message->kind) {
        case Kind::text:
        case Kind::binary:
            event->kind = NX_EVENT_MESSAGE;
            event->opcode = message->kind == Kind::text ? NX_OPCODE_TEXT : NX_OPCODE_BINARY;
            break;
        case Kind::ping:
            event->kind = NX_EVENT_PING;
            break;
        case Kind::pong:
            event->kind = NX_EVENT_PONG;
            break;
        case Kind::close:
            event->kind = NX_EVENT_DISCONNECT;
            event->close_code = message->close_code;
            client->closed = true;
            break;
        }
        return NX_OK;
    });
}

int nx_ws_client_fd(const nx_ws_client* client, int* fd) noexcept {
    NX_REQUIRE_CLIENT(client);
    if (fd == nullptr) {
        return fail_thread(NX_EINVAL, "fd is NULL");
    }
    if (!client->connection) {
        return NX_ESTATE;
    }
    *fd = client->connection->native_handle();
    return NX_OK;
}

} // extern "C"
