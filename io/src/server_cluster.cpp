// The server's side of scaling: what arrives from other servers through the
// backplane becomes local operations, and cluster-wide queries add the other
// servers' presence to this one's registry.
#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "backplane.hpp"
#include "nexus/io/log.hpp"
#include "server_impl.hpp"
#include "tls_context.hpp"

namespace nexus::io {
namespace detail {

class ClusterSink final : public BackplaneSink {
public:
    explicit ClusterSink(WebSocketServer::Impl& server) : server_(server) {}

    /// What arrived together runs as one task on loop 0: its loop applies
    /// all of it in one iteration and writes each client's frames with one
    /// send. Bounded: while more than max_backlog bytes wait for the loops,
    /// this waits (and Redis holds the rest, up to its own output limit for
    /// subscribers, past which it drops the connection and we reconnect).
    void deliver(std::vector<Envelope>& envelopes) override {
        std::size_t bytes = 0;
        for (const Envelope& e : envelopes) {
            bytes += e.payload.size() + e.text.size();
        }
        {
            std::unique_lock lock(mutex_);
            while (pending_ > server_.config.scaling.max_backlog &&
                   !server_.stopping.load(std::memory_order_acquire)) {
                drained_.wait_for(lock, std::chrono::milliseconds(100));
            }
            pending_ += bytes;
        }
        try {
            server_.loops[0]->loop.post([this, batch = std::move(envelopes), bytes] {
                for (const Envelope& e : batch) {
                    apply(e);
                }
                {
                    const std::lock_guard lock(mutex_);
                    pending_ -= bytes;
                }
                drained_.notify_all();
            });
        } catch (const std::exception& error) { // out of memory: these are lost
            const std::lock_guard lock(mutex_);
            pending_ -= bytes;
            log(LogLevel::error, "scaling: {} messages from other servers were lost: {}",
                envelopes.size(), error.what());
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
    void apply(const Envelope& e) {
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

    WebSocketServer::Impl& server_;
    std::mutex mutex_;
    std::condition_variable drained_;
    std::size_t pending_ = 0; // payload bytes posted to the loops and not yet applied
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
