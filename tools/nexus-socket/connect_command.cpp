// `nexus-socket connect URL`: an interactive client, like wscat — each line
// of standard input goes out as a text message, every message that comes in
// is printed. With --echo it sends every message back with its opcode until
// the server closes (how conformance suites drive a client).
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "nexus/io/websocket_client.hpp"

namespace nexus::tool {
namespace {

constexpr const char* k_usage =
    "usage: nexus-socket connect [options] ws[s]://HOST[:PORT][/PATH]\n"
    "Sends each line of standard input as a text message and prints what arrives.\n\n"
    "  --host ADDR --port N     build the URL from these instead (path /)\n"
    "  --echo                   send every message back until the server closes\n"
    "  --subprotocol NAME       offer a subprotocol (repeat with commas)\n"
    "  --header 'Name: value'   add a request header\n"
    "  --deflate                offer permessage-deflate\n"
    "  --timeout S              connect timeout in seconds (default 10)\n"
    "  --cafile FILE            wss://: trust the CAs in FILE (default: the system's)\n"
    "  --insecure               wss://: accept any certificate (tests only)\n"
    "  --help                   this text\n";

int run_echo(io::WebSocketClient& client) {
    for (;;) {
        auto m = client.receive(std::chrono::hours(24));
        if (!m) {
            continue;
        }
        switch (m->kind) {
        case io::ClientMessage::Kind::text:
            client.send_text(m->data);
            break;
        case io::ClientMessage::Kind::binary:
            client.send_binary(
                {reinterpret_cast<const std::uint8_t*>(m->data.data()), m->data.size()});
            break;
        case io::ClientMessage::Kind::close:
            return 0;
        default:
            break;
        }
    }
}

int run_interactive(io::WebSocketClient& client) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {client.native_handle(), POLLIN, 0}};
    bool stdin_open = true;
    for (;;) {
        fds[0].fd = stdin_open ? STDIN_FILENO : -1;
        if (::poll(fds, 2, -1) < 0) {
            continue; // EINTR
        }
        if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            while (auto m = client.receive(std::chrono::milliseconds(0))) {
                switch (m->kind) {
                case io::ClientMessage::Kind::text:
                    std::printf("< %s\n", m->data.c_str());
                    break;
                case io::ClientMessage::Kind::binary:
                    std::printf("< (binary, %zu bytes)\n", m->data.size());
                    break;
                case io::ClientMessage::Kind::close:
                    std::printf("closed: %u %s\n", m->close_code, m->data.c_str());
                    return 0;
                default:
                    break;
                }
            }
            std::fflush(stdout);
        }
        if (stdin_open && (fds[0].revents & (POLLIN | POLLHUP)) != 0) {
            std::string line;
            if (!std::getline(std::cin, line)) {
                stdin_open = false;
                client.close(1000, "bye");
                continue;
            }
            try {
                client.send_text(line);
            } catch (const std::invalid_argument& e) {
                std::fprintf(stderr, "not sent: %s\n", e.what());
            }
        }
    }
}

} // namespace

int connect_command(const std::vector<std::string>& args) {
    const Options options(args, {"host", "port", "subprotocol", "header", "timeout", "cafile"},
                          {"help", "echo", "deflate", "insecure"});
    if (options.has("help")) {
        std::printf("%s", k_usage);
        return 0;
    }
    std::string url;
    if (options.positional().size() == 1) {
        url = options.positional()[0];
    } else if (options.positional().empty() && options.has("port")) {
        url = "ws://" + options.get("host", "127.0.0.1") + ":" +
              std::to_string(options.get_uint("port", 0, 1, 65535)) + "/";
    } else {
        throw UsageError("give one ws:// or wss:// URL (or --host and --port)");
    }
    io::ClientOptions client_options;
    client_options.tls.cafile = options.get("cafile", "");
    if (options.has("insecure")) {
        client_options.tls.verify_peer = false;
        client_options.tls.verify_peer_name = false;
    }
    client_options.connect_timeout = std::chrono::milliseconds(
        static_cast<std::int64_t>(options.get_seconds("timeout", 10) * 1000));
    client_options.permessage_deflate = options.has("deflate");
    if (options.has("subprotocol")) {
        std::string list = options.get("subprotocol", "");
        std::size_t start = 0;
        while (start < list.size()) {
            const auto comma = list.find(',', start);
            client_options.subprotocols.push_back(list.substr(start, comma - start));
            start = comma == std::string::npos ? list.size() : comma + 1;
        }
    }
    if (options.has("header")) {
        const std::string header = options.get("header", "");
        const auto colon = header.find(':');
        if (colon == std::string::npos) {
            throw UsageError("--header needs 'Name: value'");
        }
        std::string value = header.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        client_options.headers.emplace_back(header.substr(0, colon), value);
    }
    client_options.max_message_size = 16 * 1024 * 1024;
    try {
        io::WebSocketClient client(url, client_options);
        if (options.has("echo")) {
            return run_echo(client);
        }
        std::fprintf(stderr, "connected to %s%s%s\n", url.c_str(),
                     client.subprotocol().empty() ? "" : " with subprotocol ",
                     client.subprotocol().c_str());
        return run_interactive(client);
    } catch (const io::ClientError& e) {
        if (e.kind() == io::ConnectError::bad_url) {
            throw UsageError(e.what());
        }
        std::fprintf(stderr, "nexus-socket connect: %s\n", e.what());
        return 1;
    }
}

} // namespace nexus::tool
