// The server's side of scaling: what arrives from other servers through the
// backplane becomes local operations, and cluster-wide queries add the other
// servers' presence to this one's registry.
#include <algorithm>

#include "backplane.hpp"
#include "nexus/io/log.hpp"
#include "server_impl.hpp"
#include "tls_context.hpp"

namespace nexus::io {
namespace detail {

class ClusterSink final : public BackplaneSink {
public:
    explicit ClusterSink(WebSocketServer::Impl& server) : server_(server) {}

    void deliver(const Envelope& e) override {
        const std::span<const std::uint8_t> payload(
            reinterpret_cast<const std::uint8_t*>(e.payload.data()), e.payload.size());
        try {
            switch (e.kind) {
            case Envelope::Kind::broadcast:
                server_.broadcast_local(payload, e.binary, e.client);
                break;
            case Envelope::Kind::publish:
                server_.publish_local(e.text, payload, e.binary);
                break;
            case Envelope::Kind::send:
                if (server_.backplane->is_local(e.client)) {
                    server_.send_local(e.client, payload, e.binary);
                }
                break;
            case Envelope::Kind::disconnect:
                if (server_.backplane->is_local(e.client)) {
                    server_.disconnect_local(e.client, e.code, e.text);
                }
                break;
            case Envelope::Kind::hello:
            case Envelope::Kind::bye:
                break;
            }
        } catch (const std::exception& error) { // out of memory: this one is lost
            log(LogLevel::error, "scaling: a message from server {} was lost: {}", e.origin,
                error.what());
        }
    }

    void backplane_event(bool error, const std::string& message) override {
        log(error ? LogLevel::warning : LogLevel::info, "{}", message);
        if (!error) {
            return;
        }
        // Handlers run on the loops: report from loop 0.
        try {
            server_.loops[0]->loop.post(
                [&handler = server_.handler, message] { handler.on_error(0, message); });
        } catch (const std::exception&) { // NOLINT(bugprone-empty-catch): logged above
        }
    }

    std::vector<std::pair<ClientId, std::string>> presence_snapshot() override {
        std::vector<std::pair<ClientId, std::string>> out;
        const std::shared_lock lock(server_.registry_mutex);
        out.reserve(server_.registry.size());
        server_.registry.for_each([&](const Session& session) {
            out.emplace_back(session.id(), server_.presence_record(session));
        });
        return out;
    }

    ServerStats local_stats() override { return server_.local_stats(); }

private:
    WebSocketServer::Impl& server_;
};

} // namespace detail

WebSocketServer::Impl::~Impl() {
    if (backplane) {
        backplane->stop(); // its threads reach the loops and the registry
    }
}

std::string WebSocketServer::Impl::presence_record(const detail::Session& session) const {
    return detail::encode_presence(session.client.expand(session.id(), config));
}

void WebSocketServer::Impl::make_backplane() {
    if (config.scaling.enabled) {
        cluster_sink = std::make_unique<detail::ClusterSink>(*this);
        backplane = std::make_unique<detail::Backplane>(config.scaling, *cluster_sink);
    }
}

void WebSocketServer::Impl::start_backplane() {
    if (backplane) {
        backplane->start();
        next_id.store(backplane->first_client_id());
    }
}

std::uint32_t WebSocketServer::node_id() const noexcept {
    return impl_->backplane && impl_->started.load() ? impl_->backplane->node() : 0;
}

bool WebSocketServer::is_local(ClientId id) const noexcept {
    return !impl_->backplane || impl_->backplane->is_local(id);
}

std::vector<ClientInfo> WebSocketServer::cluster_clients() const {
    std::vector<ClientInfo> out = clients();
    if (impl_->backplane) {
        auto remote = impl_->backplane->remote_clients();
        out.insert(out.end(), std::make_move_iterator(remote.begin()),
                   std::make_move_iterator(remote.end()));
        std::sort(out.begin(), out.end(),
                  [](const ClientInfo& a, const ClientInfo& b) { return a.id < b.id; });
    }
    return out;
}

ServerStats WebSocketServer::cluster_stats() const {
    ServerStats total = stats();
    if (!impl_->backplane) {
        return total;
    }
    for (const ServerStats& s : impl_->backplane->remote_stats()) {
        detail::add_stats(total, s);
    }
    return total;
}

} // namespace nexus::io
