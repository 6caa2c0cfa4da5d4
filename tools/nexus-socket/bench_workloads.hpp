// The workloads of `nexus-socket bench`: what each mode sends over the
// connections of a bench::Loop and what it measures. Counting happens only
// while `counting` is set (the measurement window, after the warm-up).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bench_loop.hpp"
#include "bench_stats.hpp"

namespace nexus::tool::bench {

/// Counters shared by every workload.
class Measured : public Workload {
public:
    bool counting = false;
    std::uint64_t total = 0;   // messages (or handshakes) since the start
    std::uint64_t counted = 0; // the same within the measurement window
    Histogram latency;         // nanoseconds, within the window

protected:
    void sample(std::uint64_t latency_ns) noexcept;
};

/// echo and pipelined: every connection keeps `in_flight` messages on the
/// way; each echo is checked for its length, timed against its send time
/// (the echo server keeps the order per connection) and replaced.
///
/// Messages are `size` bytes of 'x', or with `prose` (for --deflate) texts
/// of words in random order, sent in turn: they compress about as well as
/// chat text does, and there are prose_variants(size) of them: together
/// twice a 32 KiB LZ77 window, so no compressor finds a whole earlier message
/// in its history, yet never more than two of a big message (16 MiB texts
/// would otherwise cost the load generator far more memory than the run).
class PingPong final : public Measured {
public:
    static constexpr std::size_t k_prose_bytes = 64 * 1024;
    static constexpr std::size_t k_max_prose_variants = 4096;
    static constexpr std::size_t prose_variants(std::size_t size) noexcept {
        const std::size_t fill =
            size == 0 ? k_max_prose_variants : (k_prose_bytes + size - 1) / size;
        return fill < 2 ? 2 : (fill > k_max_prose_variants ? k_max_prose_variants : fill);
    }

    PingPong(std::size_t size, bool binary, std::uint32_t in_flight, bool prose = false);

    void on_open(Loop& loop, std::uint32_t slot, std::uint64_t now) override;
    void on_message(Loop& loop, std::uint32_t slot, const core::Event& event,
                    std::uint64_t now) override;
    void on_gone(Loop& loop, std::uint32_t slot) override;

private:
    /// Send times of one connection's messages in flight, oldest first.
    struct Flight {
        std::vector<std::uint64_t> sent; // ring of in_flight_ entries
        std::uint32_t head = 0;
        std::uint32_t count = 0;
    };
    void send_one(Loop& loop, std::uint32_t slot, std::uint64_t now);

    std::vector<std::vector<std::uint8_t>> payloads_; // sent in turn
    std::size_t next_payload_ = 0;
    std::size_t size_;
    bool binary_;
    std::uint32_t in_flight_;
    std::vector<Flight> flights_; // by slot
};

/// storm: every completed handshake counts (latency: connect() to 101) and
/// the connection is closed at once; the runner opens replacements.
class Storm final : public Measured {
public:
    void on_open(Loop& loop, std::uint32_t slot, std::uint64_t now) override;
    void on_message(Loop&, std::uint32_t, const core::Event&, std::uint64_t) override {}
    void on_gone(Loop&, std::uint32_t) override {}
};

/// idle: connections are only opened (latency: connect() to 101) and held.
class Idle final : public Measured {
public:
    void on_open(Loop& loop, std::uint32_t slot, std::uint64_t now) override;
    void on_message(Loop&, std::uint32_t, const core::Event&, std::uint64_t) override {}
    void on_gone(Loop&, std::uint32_t) override {}
};

/// broadcast: one connection (the sender) sends binary messages carrying a
/// sequence number; the server sends each to every client, the sender
/// included. A message is done when every connection open at its sending has
/// received it (or gone); `in_flight` messages may be undone at once. Each
/// delivery counts, timed from the send.
class Broadcast final : public Measured {
public:
    /// `size` >= 8 (the sequence number).
    Broadcast(std::size_t size, std::uint32_t in_flight);

    /// Makes `slot` the sender and sends the first messages.
    void start(Loop& loop, std::uint32_t sender);

    void on_open(Loop&, std::uint32_t, std::uint64_t) override {}
    void on_message(Loop& loop, std::uint32_t slot, const core::Event& event,
                    std::uint64_t now) override;
    void on_gone(Loop& loop, std::uint32_t slot) override;

    std::uint64_t sent() const noexcept { return next_seq_; }

private:
    struct Outstanding {
        std::uint64_t seq = 0;
        std::uint64_t sent_ns = 0;
        std::uint64_t remaining = 0; // deliveries still expected; 0: done
    };
    void fill(Loop& loop);
    void delivered(Outstanding& message);

    std::vector<std::uint8_t> payload_;
    std::vector<Outstanding> ring_;       // by seq % in_flight
    std::vector<std::uint64_t> last_seq_; // by slot: the last seq + 1 received
    std::uint32_t undone_ = 0;
    std::uint64_t next_seq_ = 0;
    std::uint32_t sender_ = 0;
    bool sending_ = false;
};

} // namespace nexus::tool::bench
