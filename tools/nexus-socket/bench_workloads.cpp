#include "bench_workloads.hpp"

#include <array>
#include <cstring>
#include <string_view>

namespace nexus::tool::bench {

void Measured::sample(std::uint64_t latency_ns) noexcept {
    ++total;
    if (counting) {
        ++counted;
        latency.record(latency_ns);
    }
}

namespace {

// prose_variants() at its bounds: a big message has two texts (not sixteen
// 16 MiB ones), small ones fill 64 KiB, tiny ones stop at 4096.
static_assert(PingPong::prose_variants(16 * 1024 * 1024) == 2);
static_assert(PingPong::prose_variants(64 * 1024) == 2);
static_assert(PingPong::prose_variants(16384) == 4);
static_assert(PingPong::prose_variants(32) == 2048);
static_assert(PingPong::prose_variants(1) == PingPong::k_max_prose_variants);
static_assert(PingPong::prose_variants(0) == PingPong::k_max_prose_variants);

/// SIZE bytes of words from a small vocabulary in an order drawn from
/// RANDOM: ASCII, so valid as text; compresses to roughly a third.
std::vector<std::uint8_t> prose(std::size_t size, FastRandom& random) {
    static constexpr std::array<std::string_view, 32> k_words = {
        "the",     "server", "sends",  "message", "to",     "every",  "client", "and",
        "waits",   "for",    "an",     "answer",  "from",   "socket", "queue",  "frame",
        "channel", "reader", "writer", "loop",    "event",  "close",  "ping",   "pong",
        "text",    "binary", "hello",  "world",   "status", "ready",  "user",   "room"};
    std::vector<std::uint8_t> text;
    text.reserve(size + 16);
    while (text.size() < size) {
        const std::string_view word = k_words[random.next() % k_words.size()];
        text.insert(text.end(), word.begin(), word.end());
        text.push_back(random.next() % 8 == 0 ? '\n' : ' ');
    }
    text.resize(size);
    return text;
}

} // namespace

PingPong::PingPong(std::size_t size, bool binary, std::uint32_t in_flight, bool prose_text)
    : size_(size), binary_(binary), in_flight_(in_flight) {
    if (!prose_text) {
        payloads_.emplace_back(size, static_cast<std::uint8_t>('x'));
        return;
    }
    const std::size_t variants = prose_variants(size);
    FastRandom random(0x6e65787573); // the same texts in every run
    for (std::size_t i = 0; i < variants; ++i) {
        payloads_.push_back(prose(size, random));
    }
}

void PingPong::send_one(Loop& loop, std::uint32_t slot, std::uint64_t now) {
    Flight& flight = flights_[slot];
    flight.sent[(flight.head + flight.count) % in_flight_] = now;
    ++flight.count;
    loop.send(slot, payloads_[next_payload_], binary_);
    next_payload_ = (next_payload_ + 1) % payloads_.size();
}

void PingPong::on_open(Loop& loop, std::uint32_t slot, std::uint64_t now) {
    if (flights_.size() <= slot) {
        flights_.resize(slot + 1U);
    }
    Flight& flight = flights_[slot];
    flight.sent.assign(in_flight_, 0);
    flight.head = 0;
    flight.count = 0;
    while (flight.count < in_flight_) {
        send_one(loop, slot, now);
    }
}

void PingPong::on_message(Loop& loop, std::uint32_t slot, const core::Event& event,
                          std::uint64_t now) {
    Flight& flight = flights_[slot];
    const bool binary = event.type == core::EventType::binary;
    if (flight.count == 0 || event.payload.size() != size_ || binary != binary_) {
        loop.count_error(ErrorKind::bad_echo, "an echo that does not match a message sent");
        loop.close(slot);
        return;
    }
    sample(now - flight.sent[flight.head]);
    flight.head = (flight.head + 1) % in_flight_;
    --flight.count;
    if (loop.state(slot) == SlotState::open) {
        send_one(loop, slot, now);
    }
}

void PingPong::on_gone(Loop&, std::uint32_t slot) {
    if (slot < flights_.size()) {
        flights_[slot] = Flight{};
    }
}

void Storm::on_open(Loop& loop, std::uint32_t slot, std::uint64_t now) {
    sample(now - loop.started_ns(slot));
    loop.close(slot);
}

void Idle::on_open(Loop& loop, std::uint32_t slot, std::uint64_t now) {
    sample(now - loop.started_ns(slot));
}

Broadcast::Broadcast(std::size_t size, std::uint32_t in_flight)
    : payload_(size, static_cast<std::uint8_t>('b')), ring_(in_flight) {}

void Broadcast::start(Loop& loop, std::uint32_t sender) {
    sender_ = sender;
    sending_ = true;
    fill(loop);
}

void Broadcast::fill(Loop& loop) {
    while (sending_ && undone_ < ring_.size()) {
        if (loop.state(sender_) != SlotState::open) {
            sending_ = false;
            return;
        }
        Outstanding& message = ring_[next_seq_ % ring_.size()];
        message.seq = next_seq_;
        message.sent_ns = now_ns();
        message.remaining = loop.open_count();
        std::memcpy(payload_.data(), &next_seq_, sizeof next_seq_);
        ++next_seq_;
        ++undone_;
        loop.send(sender_, payload_, true);
    }
}

void Broadcast::delivered(Outstanding& message) {
    if (--message.remaining == 0) {
        --undone_;
    }
}

void Broadcast::on_message(Loop& loop, std::uint32_t slot, const core::Event& event,
                           std::uint64_t now) {
    std::uint64_t seq = 0;
    if (event.payload.size() != payload_.size() || event.type != core::EventType::binary) {
        loop.count_error(ErrorKind::bad_echo, "a broadcast that does not match a message sent");
        return;
    }
    std::memcpy(&seq, event.payload.data(), sizeof seq);
    if (last_seq_.size() <= slot) {
        last_seq_.resize(slot + 1U, 0);
    }
    last_seq_[slot] = seq + 1;
    Outstanding& message = ring_[seq % ring_.size()];
    if (message.seq != seq || message.remaining == 0) {
        return; // sent before this connection counted, or already given up on
    }
    sample(now - message.sent_ns);
    delivered(message);
    fill(loop);
}

void Broadcast::on_gone(Loop& loop, std::uint32_t slot) {
    // Messages this connection was still expected to receive are done
    // without it.
    const std::uint64_t next = slot < last_seq_.size() ? last_seq_[slot] : 0;
    for (Outstanding& message : ring_) {
        if (message.remaining > 0 && message.seq >= next) {
            delivered(message);
        }
    }
    if (slot < last_seq_.size()) {
        last_seq_[slot] = 0;
    }
    if (slot == sender_) {
        sending_ = false;
    }
    fill(loop);
}

} // namespace nexus::tool::bench
