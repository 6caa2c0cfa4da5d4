// lws_echo: an echo (or --broadcast) server on libwebsockets 4.1 with its
// default poll() event loop, one service thread. Messages are assembled from
// LWS_CALLBACK_RECEIVE fragments, queued per client and written one per
// LWS_CALLBACK_SERVER_WRITEABLE, as lws's documentation asks (one lws_write
// per writeable callback). No extensions (no permessage-deflate); logging
// errors only.
//
// Usage: lws_echo [--host 127.0.0.1] [--port 0] [--broadcast]
// Prints "listening on ws://HOST:PORT/" once bound; runs until killed.
#include <libwebsockets.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "server_args.hpp"

namespace {

/// A message ready to write: LWS_PRE bytes of headroom, then the payload.
struct Message {
    std::string bytes;
    bool binary;
};

struct Client {
    struct lws* wsi;
    std::string partial; // payload of a message still arriving, after LWS_PRE bytes
    std::deque<std::shared_ptr<Message>> queue;
};

bool g_broadcast = false;
std::set<Client*> g_clients;

void enqueue(Client* c, std::shared_ptr<Message> m) {
    c->queue.push_back(std::move(m));
    if (c->queue.size() == 1) {
        lws_callback_on_writable(c->wsi);
    }
}

int callback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in, size_t len) {
    auto** slot = static_cast<Client**>(user); // lws zeroes the per-session area
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        const int one = 1;
        setsockopt(lws_get_socket_fd(wsi), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        *slot = new Client{wsi, std::string(LWS_PRE, '\0'), {}};
        g_clients.insert(*slot);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
        Client* c = *slot;
        c->partial.append(static_cast<const char*>(in), len);
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0) {
            return 0;
        }
        auto m = std::make_shared<Message>(Message{
            std::exchange(c->partial, std::string(LWS_PRE, '\0')), lws_frame_is_binary(wsi) != 0});
        if (!g_broadcast) {
            enqueue(c, std::move(m));
            return 0;
        }
        for (Client* each : g_clients) {
            enqueue(each, m);
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        Client* c = *slot;
        if (c == nullptr || c->queue.empty()) {
            return 0;
        }
        Message& m = *c->queue.front();
        const size_t size = m.bytes.size() - LWS_PRE;
        auto* payload = reinterpret_cast<unsigned char*>(m.bytes.data()) + LWS_PRE;
        if (lws_write(wsi, payload, size, m.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) <
            static_cast<int>(size)) {
            return -1; // close
        }
        c->queue.pop_front();
        if (!c->queue.empty()) {
            lws_callback_on_writable(wsi);
        }
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (*slot != nullptr) {
            g_clients.erase(*slot);
            delete *slot;
            *slot = nullptr;
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

const lws_protocols k_protocols[] = {
    {"echo", callback, sizeof(Client*), 65536, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

} // namespace

int main(int argc, char** argv) {
    const std::optional<bench_args::ServerArgs> args =
        bench_args::parse(argc, argv, "lws_echo", true);
    if (!args) {
        return 2;
    }
    g_broadcast = args->broadcast;
    const std::string host = args->host;
    const int port = args->port;
    lws_set_log_level(LLL_ERR, nullptr);
    lws_context_creation_info info{};
    info.port = port;
    info.iface = host.c_str();
    info.protocols = k_protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.count_threads = 1;
    lws_context* context = lws_create_context(&info);
    if (context == nullptr) {
        std::fprintf(stderr, "lws_echo: lws_create_context failed\n");
        return 1;
    }
    lws_vhost* vhost = lws_get_vhost_by_name(context, "default");
    std::printf("listening on ws://%s:%d/\n", host.c_str(),
                vhost != nullptr ? lws_get_vhost_listen_port(vhost) : port);
    std::fflush(stdout);
    while (lws_service(context, 0) >= 0) {
    }
    lws_context_destroy(context);
    return 0;
}
