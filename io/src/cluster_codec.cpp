#include "cluster_codec.hpp"

#include <chrono>

namespace nexus::io::detail {
namespace {

constexpr std::uint8_t k_envelope_version = 1;
constexpr std::uint8_t k_presence_version = 1;
constexpr std::uint8_t k_stats_version = 1;
/// Bounds what a decoder accepts as a count (headers, stats fields): far
/// above anything a server writes, far below what would hurt to allocate.
constexpr std::uint64_t k_max_count = 4096;
constexpr std::uint64_t k_max_connected_ms = 9'000'000'000'000;

class Writer {
public:
    void byte(std::uint8_t b) { out_ += static_cast<char>(b); }
    void u16(std::uint16_t v) { fixed(v, 2); }
    void u32(std::uint32_t v) { fixed(v, 4); }
    void u64(std::uint64_t v) { fixed(v, 8); }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            byte(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        byte(static_cast<std::uint8_t>(v));
    }
    void text(std::string_view s) {
        varint(s.size());
        out_.append(s);
    }
    std::string take() { return std::move(out_); }

private:
    void fixed(std::uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) {
            byte(static_cast<std::uint8_t>(v >> (8 * i)));
        }
    }
    std::string out_;
};

/// Reads what Writer wrote; any overrun sets failed() and yields zeros.
class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    std::uint8_t byte() {
        if (pos_ >= in_.size()) {
            failed_ = true;
            return 0;
        }
        return static_cast<std::uint8_t>(in_[pos_++]);
    }
    std::uint16_t u16() { return static_cast<std::uint16_t>(fixed(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
    std::uint64_t u64() { return fixed(8); }
    /// Minimal encodings only (no trailing zero groups, nothing past 64
    /// bits): every value has one encoding, as Writer makes it.
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const std::uint8_t b = byte();
            if ((shift == 63 && b > 1) || (shift > 0 && b == 0)) {
                failed_ = true;
                return 0;
            }
            v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        failed_ = true;
        return 0;
    }
    /// A 0 or 1 byte.
    bool flag() {
        const std::uint8_t b = byte();
        failed_ = failed_ || b > 1;
        return b == 1;
    }
    std::string text() {
        const std::uint64_t size = varint();
        if (failed_ || size > in_.size() - pos_) {
            failed_ = true;
            return {};
        }
        std::string out(in_.substr(pos_, size));
        pos_ += size;
        return out;
    }
    bool failed() const noexcept { return failed_; }
    bool at_end() const noexcept { return pos_ == in_.size(); }

private:
    std::uint64_t fixed(int bytes) {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) {
            v |= static_cast<std::uint64_t>(byte()) << (8 * i);
        }
        return v;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

} // namespace

std::string encode(const Envelope& e) {
    Writer w;
    w.byte(k_envelope_version);
    w.byte(static_cast<std::uint8_t>(e.kind));
    w.byte(e.binary ? 1 : 0);
    w.u16(e.code);
    w.u32(e.origin);
    w.u64(e.client);
    w.text(e.text);
    w.text(e.payload);
    return w.take();
}

std::optional<Envelope> decode_envelope(std::string_view bytes) {
    Reader r(bytes);
    if (r.byte() != k_envelope_version) {
        return std::nullopt;
    }
    Envelope e;
    const std::uint8_t kind = r.byte();
    if (kind < 1 || kind > 6) {
        return std::nullopt;
    }
    e.kind = static_cast<Envelope::Kind>(kind);
    e.binary = r.flag();
    e.code = r.u16();
    e.origin = r.u32();
    e.client = r.u64();
    e.text = r.text();
    e.payload = r.text();
    if (r.failed() || !r.at_end()) {
        return std::nullopt;
    }
    return e;
}

std::string encode_presence(const ClientInfo& info) {
    Writer w;
    w.byte(k_presence_version);
    w.text(info.peer);
    w.text(info.path);
    w.text(info.query);
    w.text(info.origin);
    w.text(info.subprotocol);
    w.byte(info.compressed ? 1 : 0);
    w.u64(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(info.connected_at.time_since_epoch())
            .count()));
    w.text(info.user_data);
    w.varint(info.headers.size());
    for (const auto& [name, value] : info.headers) {
        w.text(name);
        w.text(value);
    }
    return w.take();
}

std::optional<ClientInfo> decode_presence(ClientId id, std::string_view bytes) {
    Reader r(bytes);
    if (r.byte() != k_presence_version) {
        return std::nullopt;
    }
    ClientInfo info;
    info.id = id;
    info.peer = r.text();
    info.path = r.text();
    info.query = r.text();
    info.origin = r.text();
    info.subprotocol = r.text();
    info.compressed = r.flag();
    // Milliseconds since 1970; beyond year 2255 it is not a time we wrote
    // (and would overflow the clock's nanoseconds).
    const std::uint64_t connected_ms = r.u64();
    if (connected_ms > k_max_connected_ms) {
        return std::nullopt;
    }
    info.connected_at = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(static_cast<std::int64_t>(connected_ms)));
    info.user_data = r.text();
    const std::uint64_t headers = r.varint();
    if (r.failed() || headers > k_max_count) {
        return std::nullopt;
    }
    for (std::uint64_t i = 0; i < headers && !r.failed(); ++i) {
        std::string name = r.text();
        std::string value = r.text();
        info.headers.emplace_back(std::move(name), std::move(value));
    }
    if (r.failed() || !r.at_end()) {
        return std::nullopt;
    }
    return info;
}

namespace {

/// The counters of ServerStats in one order, for both directions.
template <typename Stats, typename Visit>
void for_each_counter(Stats& s, Visit&& visit) {
    visit(s.clients);
    visit(s.connections_total);
    visit(s.handshakes_rejected);
    visit(s.http_requests);
    visit(s.messages_in);
    visit(s.messages_out);
    visit(s.bytes_in);
    visit(s.bytes_out);
    for (auto& dropped : s.dropped) {
        visit(dropped);
    }
    visit(s.remote_out);
    visit(s.remote_in);
    visit(s.remote_dropped);
    visit(s.backplane_errors);
    visit(s.backplane_up);
}

} // namespace

std::string encode_stats(const ServerStats& stats) {
    Writer w;
    w.byte(k_stats_version);
    std::uint64_t count = 0;
    for_each_counter(stats, [&](std::uint64_t) { ++count; });
    w.varint(count);
    for_each_counter(stats, [&](std::uint64_t v) { w.varint(v); });
    return w.take();
}

std::optional<ServerStats> decode_stats(std::string_view bytes) {
    Reader r(bytes);
    if (r.byte() != k_stats_version) {
        return std::nullopt;
    }
    const std::uint64_t count = r.varint();
    if (r.failed() || count > k_max_count) {
        return std::nullopt;
    }
    // A newer server may send more counters, an older one fewer: the
    // common ones are read, the rest stay 0 or are skipped.
    ServerStats stats;
    std::uint64_t read = 0;
    for_each_counter(stats, [&](std::uint64_t& v) {
        if (read < count) {
            v = r.varint();
            ++read;
        }
    });
    for (; read < count; ++read) {
        r.varint();
    }
    if (r.failed() || !r.at_end()) {
        return std::nullopt;
    }
    return stats;
}

void add_stats(ServerStats& total, const ServerStats& more) {
    std::vector<std::uint64_t> values;
    for_each_counter(more, [&](std::uint64_t v) { values.push_back(v); });
    std::size_t i = 0;
    for_each_counter(total, [&](std::uint64_t& v) { v += values[i++]; });
    total.servers += more.servers;
}

} // namespace nexus::io::detail
