#include "backplane.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "nexus/io/log.hpp"
#include "nexus/io/socket_error.hpp"
#include "redis_link.hpp"
#include "thread_name.hpp"

namespace nexus::io::detail {
namespace {

using Poco::Redis::Array;
using Poco::Redis::RedisType;
using namespace std::chrono_literals;

constexpr auto k_first_retry = 100ms;
constexpr auto k_last_retry = 2000ms;
/// At most this much of the queue goes out in one pipelined write.
constexpr std::size_t k_batch_items = 512;
constexpr std::size_t k_batch_bytes = 1024 * 1024;
/// Presence fields written per HSET when a whole snapshot goes out.
constexpr std::size_t k_snapshot_chunk = 512;

std::string_view as_text(std::span<const std::uint8_t> data) {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
}

/// The backplane's threads write to sockets that may be closed under them:
/// a SIGPIPE must not end the process (it stays pending on this thread).
void block_sigpipe() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

std::vector<RedisType::Ptr> elements(const RedisType::Ptr& reply) {
    check_reply(reply);
    if (!reply->isArray()) {
        throw RedisReplyError("redis answered with " + reply->toString() +
                              " where an array was expected");
    }
    const auto& array = dynamic_cast<const Poco::Redis::Type<Array>&>(*reply).value();
    if (array.isNull()) {
        return {};
    }
    return {array.begin(), array.end()};
}

std::uint32_t parse_node(const std::string& text) {
    std::uint32_t node = 0;
    for (char c : text) {
        if (c < '0' || c > '9' || node > k_max_node) {
            return 0;
        }
        node = node * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return node <= k_max_node ? node : 0;
}

std::string what_of(const std::exception& e) {
    return e.what();
}

} // namespace

namespace {

RedisEndpoint parse_url(const std::string& url) {
    try {
        return RedisEndpoint::parse(url);
    } catch (const std::invalid_argument& e) {
        // (Not the URL: it may hold a password.)
        throw std::invalid_argument(std::string("scaling redis_url: ") + e.what());
    }
}

} // namespace

Backplane::Backplane(const ScalingConfig& config, Sink& sink)
    : config_(config), endpoint_(parse_url(config.redis_url)), sink_(sink) {
    if (config_.prefix.empty() || config_.prefix.find_first_of(" \r\n*?[]") != std::string::npos) {
        throw std::invalid_argument(
            "scaling prefix: 1 or more characters, none of space, CR, LF, * ? [ ]");
    }
    if (config_.presence_lease < 300ms) {
        throw std::invalid_argument("scaling presence lease: at least 0.3 s");
    }
    if (config_.redis_timeout <= 0ms) {
        throw std::invalid_argument("scaling redis timeout: more than 0");
    }
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "eventfd");
    }
}

Backplane::~Backplane() {
    stop();
    ::close(wake_fd_);
}

std::string Backplane::key(std::string_view suffix) const {
    return config_.prefix + ":" + std::string(suffix);
}

std::string Backplane::node_key(std::string_view what, std::uint32_t node) const {
    return config_.prefix + ":" + std::string(what) + ":" + std::to_string(node);
}

void Backplane::start() {
    try {
        RedisLink link(endpoint_, config_.redis_timeout);
        Array incr;
        incr << "INCR" << key("node-seq");
        const std::int64_t count = reply_integer(link.call(incr));
        node_ = static_cast<std::uint32_t>((count - 1) % (k_counted_nodes - 1)) + 1;
    } catch (const std::exception& e) {
        // Serve anyway; ids stay unique unless two random picks collide
        // (1 in 4 million per pair of servers started while Redis was away).
        std::random_device random;
        node_ =
            k_counted_nodes + static_cast<std::uint32_t>(random() % (k_max_node - k_counted_nodes));
        errors_.fetch_add(1, std::memory_order_relaxed);
        {
            const std::lock_guard lock(mutex_);
            reported_down_ = true;
        }
        sink_.backplane_event(true, "scaling: " + what_of(e) +
                                        "; serving local clients only until Redis is back");
    }
    all_channel_ = key("all");
    own_channel_ = node_key("node", node_);
    log(LogLevel::info, "scaling through redis {} as server {}", endpoint_.where(), node_);
    publisher_ = std::thread([this] {
        detail::name_this_thread("nx-redis-pub");
        publisher_main();
    });
    subscriber_ = std::thread([this] {
        detail::name_this_thread("nx-redis-sub");
        subscriber_main();
    });
}

void Backplane::request_stop() noexcept {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wakeup_.notify_all();
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

void Backplane::stop() noexcept {
    request_stop();
    if (publisher_.joinable()) {
        publisher_.join();
    }
    if (subscriber_.joinable()) {
        subscriber_.join();
    }
}

// ------------------------------------------------------------ outgoing

bool Backplane::enqueue(Outgoing item) {
    bool wake = false;
    {
        const std::lock_guard lock(mutex_);
        const std::size_t bytes = item.wire.size();
        if (!publisher_up_ || queued_bytes_ + bytes > config_.max_backlog) {
            if (item.message) {
                remote_dropped_.fetch_add(1, std::memory_order_relaxed);
            } else if (publisher_up_) {
                resync_ = true; // a presence change was lost: rewrite it all
            }
            return false;
        }
        wake = queue_.empty(); // the publisher takes everything queued when it wakes
        queue_.push_back(std::move(item));
        queued_bytes_ += bytes;
    }
    if (wake) {
        wakeup_.notify_all();
    }
    return true;
}

bool Backplane::publish_envelope(const std::string& channel, const Envelope& envelope) {
    Array command;
    command << "PUBLISH" << channel << encode(envelope);
    return enqueue({command.toString(), 1, true});
}

bool Backplane::broadcast(std::span<const std::uint8_t> data, bool binary, ClientId except) {
    Envelope e;
    e.kind = Envelope::Kind::broadcast;
    e.binary = binary;
    e.origin = node_;
    e.client = except;
    e.payload = as_text(data);
    return publish_envelope(all_channel_, e);
}

bool Backplane::publish(std::string_view channel, std::span<const std::uint8_t> data, bool binary) {
    Envelope e;
    e.kind = Envelope::Kind::publish;
    e.binary = binary;
    e.origin = node_;
    e.text = channel;
    e.payload = as_text(data);
    return publish_envelope(all_channel_, e);
}

SendResult Backplane::to_client(const Envelope& envelope) {
    const std::uint32_t node = node_of(envelope.client);
    {
        const std::lock_guard lock(mutex_);
        if (!publisher_up_) {
            remote_dropped_.fetch_add(1, std::memory_order_relaxed);
            return SendResult::unavailable;
        }
        if (live_.count(node) == 0) {
            return SendResult::unknown_client;
        }
    }
    return publish_envelope(node_key("node", node), envelope) ? SendResult::ok
                                                              : SendResult::unavailable;
}

SendResult Backplane::send(ClientId id, std::span<const std::uint8_t> data, bool binary) {
    Envelope e;
    e.kind = Envelope::Kind::send;
    e.binary = binary;
    e.origin = node_;
    e.client = id;
    e.payload = as_text(data);
    return to_client(e);
}

SendResult Backplane::disconnect(ClientId id, std::uint16_t code, std::string_view reason) {
    Envelope e;
    e.kind = Envelope::Kind::disconnect;
    e.origin = node_;
    e.client = id;
    e.code = code;
    e.text = reason;
    return to_client(e);
}

void Backplane::client_joined(ClientId id, const std::string& record) {
    // The lease goes with every write: HSET on a hash that did not exist
    // (the first client) makes one without it, which would outlive a server
    // killed before its next heartbeat.
    const std::string clients = node_key("clients", node_);
    Array hset;
    hset << "HSET" << clients << std::to_string(id) << record;
    Array expire;
    expire << "PEXPIRE" << clients << std::to_string(config_.presence_lease.count());
    enqueue({hset.toString() + expire.toString(), 2, false});
}

void Backplane::client_left(ClientId id) {
    Array command;
    command << "HDEL" << node_key("clients", node_) << std::to_string(id);
    enqueue({command.toString(), 1, false});
}

// ------------------------------------------------------------ publisher

void Backplane::publisher_main() {
    block_sigpipe();
    std::unique_ptr<RedisLink> link;
    auto retry = k_first_retry;
    const auto beat_every = config_.presence_lease / 3;
    auto next_beat = std::chrono::steady_clock::now();
    std::vector<Outgoing> batch;
    for (;;) {
        if (!link) {
            {
                const std::lock_guard lock(mutex_);
                if (stopping_) {
                    return; // nothing can be said to Redis
                }
            }
            try {
                link = std::make_unique<RedisLink>(endpoint_, config_.redis_timeout);
                register_node(*link);
                link_up(true);
                retry = k_first_retry;
                next_beat = std::chrono::steady_clock::now() + beat_every;
            } catch (const std::exception& e) {
                link.reset();
                link_lost(true, e);
                if (!pause(retry)) {
                    return;
                }
                retry = std::min(retry * 2, k_last_retry);
                continue;
            }
        }
        bool stopping = false;
        bool resync = false;
        bool refresh = false;
        batch.clear();
        {
            std::unique_lock lock(mutex_);
            wakeup_.wait_until(lock, next_beat, [this] {
                return stopping_ || !queue_.empty() || resync_ || refresh_;
            });
            std::size_t bytes = 0;
            while (!queue_.empty() && batch.size() < k_batch_items && bytes < k_batch_bytes) {
                bytes += queue_.front().wire.size();
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            queued_bytes_ -= bytes;
            stopping = stopping_ && queue_.empty();
            resync = std::exchange(resync_, false);
            refresh = std::exchange(refresh_, false);
        }
        try {
            if (!batch.empty()) {
                for (const Outgoing& item : batch) {
                    link->write_raw(item.wire);
                }
                link->flush();
                for (const Outgoing& item : batch) {
                    bool refused = false;
                    for (int i = 0; i < item.replies; ++i) {
                        const RedisType::Ptr reply = link->read();
                        if (reply->isError()) {
                            refused = true;
                            log(LogLevel::warning, "scaling: redis refused a command: {}",
                                reply->toString());
                        }
                    }
                    if (item.message && !refused) {
                        remote_out_.fetch_add(1, std::memory_order_relaxed);
                    }
                }
                batch.clear();
            }
            if (resync) {
                register_node(*link);
            } else if (refresh) {
                refresh_live_nodes(*link);
            }
            if (stopping) {
                Envelope bye;
                bye.kind = Envelope::Kind::bye;
                bye.origin = node_;
                Array publish, srem, del;
                publish << "PUBLISH" << all_channel_ << encode(bye);
                srem << "SREM" << key("nodes") << std::to_string(node_);
                del << "DEL" << node_key("alive", node_) << node_key("clients", node_);
                link->write(publish);
                link->write(srem);
                link->write(del);
                link->flush();
                for (int i = 0; i < 3; ++i) {
                    link->read();
                }
                return;
            }
            if (std::chrono::steady_clock::now() >= next_beat) {
                heartbeat(*link);
                next_beat = std::chrono::steady_clock::now() + beat_every;
            }
        } catch (const std::exception& e) {
            // What was in flight may or may not have reached Redis: counted
            // as dropped, never sent twice.
            for (const Outgoing& item : batch) {
                if (item.message) {
                    remote_dropped_.fetch_add(1, std::memory_order_relaxed);
                }
            }
            link.reset();
            link_lost(true, e);
            if (stopping || !pause(retry)) {
                return;
            }
        }
    }
}

void Backplane::register_node(RedisLink& link) {
    // Accept presence changes from now on, then write everything there is:
    // changes queued meanwhile are applied after the snapshot, and each of
    // them (HSET of a record, HDEL of an id) leaves the same result
    // whichever came first.
    {
        const std::lock_guard lock(mutex_);
        publisher_up_ = true;
    }
    const auto snapshot = sink_.presence_snapshot();
    const std::string clients = node_key("clients", node_);
    const std::string lease = std::to_string(config_.presence_lease.count());
    std::size_t replies = 0;
    Array del;
    del << "DEL" << clients;
    link.write(del);
    ++replies;
    for (std::size_t i = 0; i < snapshot.size(); i += k_snapshot_chunk) {
        Array hset;
        hset << "HSET" << clients;
        for (std::size_t j = i; j < std::min(snapshot.size(), i + k_snapshot_chunk); ++j) {
            hset << std::to_string(snapshot[j].first) << snapshot[j].second;
        }
        link.write(hset);
        ++replies;
    }
    Array expire, sadd, alive, hello;
    expire << "PEXPIRE" << clients << lease;
    sadd << "SADD" << key("nodes") << std::to_string(node_);
    alive << "SET" << node_key("alive", node_) << encode_stats(sink_.local_stats()) << "PX"
          << lease;
    Envelope hi;
    hi.kind = Envelope::Kind::hello;
    hi.origin = node_;
    hello << "PUBLISH" << all_channel_ << encode(hi);
    for (const Array* command : {&expire, &sadd, &alive, &hello}) {
        link.write(*command);
        ++replies;
    }
    link.flush();
    for (std::size_t i = 0; i < replies; ++i) {
        check_reply(link.read());
    }
    refresh_live_nodes(link);
}

void Backplane::heartbeat(RedisLink& link) {
    const std::string lease = std::to_string(config_.presence_lease.count());
    Array alive, expire, sadd;
    alive << "SET" << node_key("alive", node_) << encode_stats(sink_.local_stats()) << "PX"
          << lease;
    expire << "PEXPIRE" << node_key("clients", node_) << lease;
    sadd << "SADD" << key("nodes") << std::to_string(node_);
    link.write(alive);
    link.write(expire);
    link.write(sadd);
    link.flush();
    for (int i = 0; i < 3; ++i) {
        check_reply(link.read());
    }
    refresh_live_nodes(link);
}

std::vector<std::uint32_t> Backplane::live_nodes(RedisLink& link) {
    Array members;
    members << "SMEMBERS" << key("nodes");
    std::vector<std::uint32_t> nodes;
    for (const RedisType::Ptr& member : elements(link.call(members))) {
        const std::uint32_t node = parse_node(reply_text(member));
        if (node != 0 && node != node_) {
            nodes.push_back(node);
        }
    }
    if (nodes.empty()) {
        return nodes;
    }
    Array mget;
    mget << "MGET";
    for (std::uint32_t node : nodes) {
        mget << node_key("alive", node);
    }
    const auto alive = elements(link.call(mget));
    std::vector<std::uint32_t> live;
    Array srem;
    srem << "SREM" << key("nodes");
    bool dead = false;
    for (std::size_t i = 0; i < nodes.size() && i < alive.size(); ++i) {
        if (reply_text(alive[i]).empty()) {
            srem << std::to_string(nodes[i]); // its lease ran out: it is gone
            dead = true;
        } else {
            live.push_back(nodes[i]);
        }
    }
    if (dead) {
        link.call(srem);
    }
    return live;
}

void Backplane::refresh_live_nodes(RedisLink& link) {
    const auto nodes = live_nodes(link);
    const std::lock_guard lock(mutex_);
    live_ = {nodes.begin(), nodes.end()};
}

// ------------------------------------------------------------ subscriber

void Backplane::subscriber_main() {
    block_sigpipe();
    std::unique_ptr<RedisLink> link;
    auto retry = k_first_retry;
    for (;;) {
        {
            const std::lock_guard lock(mutex_);
            if (stopping_) {
                return;
            }
        }
        try {
            if (!link) {
                link = std::make_unique<RedisLink>(endpoint_, config_.redis_timeout);
                Array subscribe;
                subscribe << "SUBSCRIBE" << all_channel_ << own_channel_;
                link->write(subscribe);
                link->flush();
                for (int i = 0; i < 2; ++i) {
                    check_reply(link->read());
                }
                link_up(false);
                retry = k_first_retry;
                // Servers that said hello before this subscription are
                // learnt from presence.
                {
                    const std::lock_guard lock(mutex_);
                    refresh_ = true;
                }
                wakeup_.notify_all();
            }
            if (!link->wait_readable(wake_fd_, 1000ms)) {
                continue;
            }
            // Everything that arrived together is handed over together: the
            // loops then run it in one iteration and write each client's
            // frames with one send, as they do for their own clients'
            // bursts (one wakeup per message cost a third of the throughput).
            // Bounded in bytes as well as in count: the hand-over's bound
            // (max_backlog, in the Sink) is only checked between batches.
            std::vector<Envelope> batch;
            std::size_t batch_bytes = 0;
            do {
                if (auto envelope = received(link->read())) {
                    batch_bytes += envelope->payload.size() + envelope->text.size();
                    batch.push_back(std::move(*envelope));
                }
            } while (batch.size() < k_batch_items && batch_bytes < k_batch_bytes &&
                     link->has_buffered());
            if (!batch.empty()) {
                remote_in_.fetch_add(batch.size(), std::memory_order_relaxed);
                sink_.deliver(batch);
            }
        } catch (const std::exception& e) {
            link.reset();
            link_lost(false, e);
            if (!pause(retry)) {
                return;
            }
            retry = std::min(retry * 2, k_last_retry);
        }
    }
}

std::optional<Envelope> Backplane::received(const RedisType::Ptr& reply) {
    const auto parts = elements(reply);
    if (parts.size() != 3 || reply_text(parts[0]) != "message") {
        return std::nullopt; // a subscription confirmation
    }
    auto envelope = decode_envelope(reply_text(parts[2]));
    if (!envelope || envelope->origin == node_) {
        return std::nullopt; // our own broadcast coming back, or unreadable
    }
    {
        const std::lock_guard lock(mutex_);
        if (envelope->kind == Envelope::Kind::bye) {
            live_.erase(envelope->origin);
        } else {
            live_.insert(envelope->origin);
        }
    }
    if (envelope->kind == Envelope::Kind::hello || envelope->kind == Envelope::Kind::bye) {
        return std::nullopt;
    }
    return envelope;
}

// ------------------------------------------------------------ link state

void Backplane::link_lost(bool publisher, const std::exception& e) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    bool report = false;
    {
        const std::lock_guard lock(mutex_);
        if (publisher) {
            publisher_up_ = false;
            for (const Outgoing& item : queue_) {
                if (item.message) {
                    remote_dropped_.fetch_add(1, std::memory_order_relaxed);
                }
            }
            queue_.clear();
            queued_bytes_ = 0;
        } else {
            subscriber_up_ = false;
        }
        report = !reported_down_ && !stopping_;
        reported_down_ = reported_down_ || !stopping_;
    }
    if (report) {
        sink_.backplane_event(true, "scaling: " + what_of(e) +
                                        "; other servers are out of reach until it is back");
    }
}

void Backplane::link_up(bool publisher) {
    bool report = false;
    {
        const std::lock_guard lock(mutex_);
        (publisher ? publisher_up_ : subscriber_up_) = true;
        if (publisher_up_ && subscriber_up_ && reported_down_) {
            reported_down_ = false;
            report = true;
        }
    }
    if (report) {
        sink_.backplane_event(false, "scaling: redis " + endpoint_.where() + " is back");
    }
}

bool Backplane::pause(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    return !wakeup_.wait_for(lock, delay, [this] { return stopping_; });
}

// ------------------------------------------------------------ queries

template <typename Query>
auto Backplane::query(Query&& run) -> decltype(run(std::declval<RedisLink&>())) {
    const std::lock_guard lock(query_mutex_);
    // A kept connection may have died since its last use (Redis restarted):
    // then one retry on a fresh one.
    for (int attempt = 0;; ++attempt) {
        const bool reused = query_link_ != nullptr;
        try {
            if (!query_link_) {
                query_link_ = std::make_unique<RedisLink>(endpoint_, config_.redis_timeout);
            }
            return run(*query_link_);
        } catch (const RedisReplyError& e) {
            query_link_.reset();
            throw SocketError(SocketErrorKind::io, std::string("scaling: redis: ") + e.what());
        } catch (const SocketError&) {
            query_link_.reset();
            if (!reused || attempt > 0) {
                throw;
            }
        }
    }
}

std::vector<ClientInfo> Backplane::remote_clients() {
    return query([this](RedisLink& link) {
        const auto nodes = live_nodes(link);
        for (std::uint32_t node : nodes) {
            Array hgetall;
            hgetall << "HGETALL" << node_key("clients", node);
            link.write(hgetall);
        }
        link.flush();
        std::vector<ClientInfo> out;
        for (std::size_t n = 0; n < nodes.size(); ++n) {
            const auto fields = elements(link.read());
            for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
                const std::string id_text = reply_text(fields[i]);
                const ClientId id = std::strtoull(id_text.c_str(), nullptr, 10);
                if (auto info = decode_presence(id, reply_text(fields[i + 1]))) {
                    out.push_back(std::move(*info));
                }
            }
        }
        return out;
    });
}

std::vector<ServerStats> Backplane::remote_stats() {
    return query([this](RedisLink& link) {
        const auto nodes = live_nodes(link);
        std::vector<ServerStats> out;
        if (nodes.empty()) {
            return out;
        }
        Array mget;
        mget << "MGET";
        for (std::uint32_t node : nodes) {
            mget << node_key("alive", node);
        }
        for (const RedisType::Ptr& value : elements(link.call(mget))) {
            if (auto stats = decode_stats(reply_text(value))) {
                out.push_back(*stats);
            }
        }
        return out;
    });
}

void Backplane::add_counters(ServerStats& stats) const {
    stats.remote_out = remote_out_.load(std::memory_order_relaxed);
    stats.remote_in = remote_in_.load(std::memory_order_relaxed);
    stats.remote_dropped = remote_dropped_.load(std::memory_order_relaxed);
    stats.backplane_errors = errors_.load(std::memory_order_relaxed);
    const std::lock_guard lock(mutex_);
    stats.backplane_up = publisher_up_ && subscriber_up_ ? 1 : 0;
}

} // namespace nexus::io::detail
