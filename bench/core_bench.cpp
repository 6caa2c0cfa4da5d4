// nexus-core-bench: the protocol core against memcpy and wslay, in one run.
//
// Names pair up: decode/binary/1048576 beside memcpy/1048576 and
// wslay/binary/1048576. Every figure is bytes (and, where it is about
// messages, items) per second.
//
// The core unmasks in place. XOR is its own inverse, so decoding the same
// buffer again re-masks it: binary streams are decoded over and over with no
// restoring copy, each pass costing exactly one unmask. Text must stay valid
// UTF-8 both ways, so text streams use ASCII payloads and mask bytes below
// 0x80 (ASCII XOR ASCII is ASCII); the mixed multi-byte case restores the
// buffer with a memcpy each time and says so in its name.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "nexus/core/connection.hpp"
#include "nexus/core/frame.hpp"
#include "nexus/core/utf8.hpp"
#include "wslay_reference.hpp"

namespace {

using nexus::core::Connection;
using nexus::core::ConnectionConfig;
using nexus::core::Event;
using nexus::core::MaskKey;
using nexus::core::Opcode;
using nexus::core::Role;

constexpr std::size_t k_stream_target = 1 << 20; // bytes of payload per stream

/// `n` per iteration, over all iterations, as Google Benchmark counts.
std::int64_t total(const benchmark::State& state, std::size_t n) {
    return static_cast<std::int64_t>(static_cast<std::size_t>(state.iterations()) * n);
}

/// Masked client frames of `size` bytes each, about 1 MiB in all.
std::vector<std::uint8_t> masked_stream(std::size_t size, Opcode opcode, const MaskKey& key,
                                        char fill, std::size_t* frames_out) {
    const std::size_t frames = std::max<std::size_t>(1, k_stream_target / size);
    std::vector<std::uint8_t> out;
    out.reserve(frames * (size + nexus::core::k_max_frame_header_size));
    for (std::size_t f = 0; f < frames; ++f) {
        std::uint8_t header[nexus::core::k_max_frame_header_size];
        const std::size_t n =
            nexus::core::encode_frame_header(header, opcode, true, false, size, &key);
        out.insert(out.end(), header, header + n);
        const std::size_t at = out.size();
        out.resize(at + size, static_cast<std::uint8_t>(fill));
        nexus::core::apply_mask(out.data() + at, size, key);
    }
    *frames_out = frames;
    return out;
}

ConnectionConfig server_config() {
    ConnectionConfig c;
    c.role = Role::server;
    c.max_frame_size = std::uint64_t{1} << 30;
    c.max_message_size = std::uint64_t{1} << 30;
    return c;
}

void decode(benchmark::State& state, Opcode opcode, const MaskKey& key) {
    const auto size = static_cast<std::size_t>(state.range(0));
    std::size_t frames = 0;
    std::vector<std::uint8_t> stream = masked_stream(size, opcode, key, 'a', &frames);
    Connection connection(server_config());
    Event event;
    std::size_t delivered = 0;
    bool refused = false;
    for (auto _ : state) {
        refused |= connection.receive_data(stream) != nexus::core::Error::ok;
        while (connection.next_event(event)) {
            benchmark::DoNotOptimize(event.payload.data());
            ++delivered;
        }
    }
    if (refused || delivered != frames * static_cast<std::size_t>(state.iterations()) ||
        connection.failed()) {
        state.SkipWithError("the core did not deliver every frame");
    }
    state.SetBytesProcessed(total(state, frames * size));
    state.SetItemsProcessed(total(state, frames));
}

void bm_decode_binary(benchmark::State& state) {
    decode(state, Opcode::binary, MaskKey{0x37, 0xfa, 0x21, 0x3d});
}

void bm_decode_text(benchmark::State& state) {
    decode(state, Opcode::text, MaskKey{0x37, 0x7a, 0x21, 0x3d}); // every byte < 0x80
}

/// 2-, 3- and 4-byte sequences among ASCII, as in European, CJK and emoji text.
std::string mixed_text(std::size_t size) {
    const std::string pieces[] = {"Grüße aus Köln, ", "日本語のテキスト、", "emoji 😀🚀 ",
                                  "plain ascii words "};
    std::string out;
    for (std::size_t i = 0; out.size() < size; ++i) {
        out += pieces[i % 4];
    }
    while (!nexus::core::is_valid_utf8(std::string_view(out).substr(0, size))) {
        --size; // do not cut a code point
    }
    out.resize(size);
    return out;
}

void bm_decode_text_mixed_copy(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::string text = mixed_text(size);
    Connection encoder([] {
        ConnectionConfig c;
        c.role = Role::client;
        c.entropy = [](std::span<std::uint8_t> out) { std::fill(out.begin(), out.end(), 0x5a); };
        return c;
    }());
    if (encoder.send_text(text) != nexus::core::Error::ok) {
        state.SkipWithError("the core refused the mixed text");
        return;
    }
    const auto encoded = encoder.data_to_send();
    const std::vector<std::uint8_t> pristine(encoded.begin(), encoded.end());
    std::vector<std::uint8_t> work(pristine.size());
    Connection connection(server_config());
    Event event;
    for (auto _ : state) {
        std::memcpy(work.data(), pristine.data(), pristine.size());
        connection.receive_data(work);
        while (connection.next_event(event)) {
            benchmark::DoNotOptimize(event.payload.data());
        }
    }
    if (connection.failed()) {
        state.SkipWithError("the core rejected valid text");
    }
    state.SetBytesProcessed(total(state, text.size()));
    state.SetItemsProcessed(state.iterations());
}

void bm_utf8_ascii(benchmark::State& state) {
    const std::string text(static_cast<std::size_t>(state.range(0)), 'x');
    for (auto _ : state) {
        benchmark::DoNotOptimize(nexus::core::is_valid_utf8(text));
    }
    state.SetBytesProcessed(total(state, text.size()));
}

void bm_utf8_mixed(benchmark::State& state) {
    const std::string text = mixed_text(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(nexus::core::is_valid_utf8(text));
    }
    state.SetBytesProcessed(total(state, text.size()));
}

void encode(benchmark::State& state, Role role) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::vector<std::uint8_t> payload(size, 0x42);
    ConnectionConfig config = server_config();
    config.role = role;
    if (role == Role::client) {
        // Not security-relevant here: a fast generator keeps the figure about framing.
        config.entropy = [rng = std::minstd_rand(1)](std::span<std::uint8_t> out) mutable {
            for (auto& b : out) {
                b = static_cast<std::uint8_t>(rng());
            }
        };
    }
    Connection connection(std::move(config));
    bool refused = false;
    for (auto _ : state) {
        refused |= connection.send_binary(payload) != nexus::core::Error::ok;
        benchmark::DoNotOptimize(connection.data_to_send().data());
        connection.consume(connection.data_to_send().size());
    }
    if (refused) {
        state.SkipWithError("the core refused to send"); // an empty queue would look fast
    }
    state.SetBytesProcessed(total(state, size));
    state.SetItemsProcessed(state.iterations());
}

void bm_encode_binary(benchmark::State& state) {
    encode(state, Role::server);
}
void bm_encode_masked(benchmark::State& state) {
    encode(state, Role::client);
}

void bm_memcpy(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    // As many copies per iteration as the decode benchmark has frames, from
    // a buffer as large as its stream: the same bytes, out of cache alike.
    const std::size_t frames = std::max<std::size_t>(1, k_stream_target / size);
    std::vector<std::uint8_t> from(frames * size, 0x42);
    std::vector<std::uint8_t> to(frames * size);
    for (auto _ : state) {
        for (std::size_t f = 0; f < frames; ++f) {
            std::memcpy(to.data() + f * size, from.data() + f * size, size);
        }
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(total(state, frames * size));
    state.SetItemsProcessed(total(state, frames));
}

void wslay(benchmark::State& state, Opcode opcode, bool validate_utf8) {
    const auto size = static_cast<std::size_t>(state.range(0));
    std::size_t frames = 0;
    const std::vector<std::uint8_t> stream =
        masked_stream(size, opcode, MaskKey{0x37, 0x7a, 0x21, 0x3d}, 'a', &frames);
    nexus::bench::WslayDecoder decoder(validate_utf8);
    for (auto _ : state) {
        decoder.decode(stream);
    }
    if (decoder.messages() != frames * static_cast<std::size_t>(state.iterations()) ||
        decoder.invalid_text() != 0) {
        state.SkipWithError("wslay did not deliver every frame");
    }
    state.SetBytesProcessed(total(state, frames * size));
    state.SetItemsProcessed(total(state, frames));
}

void bm_wslay_binary(benchmark::State& state) {
    wslay(state, Opcode::binary, false);
}
void bm_wslay_text(benchmark::State& state) {
    wslay(state, Opcode::text, true);
}

} // namespace

BENCHMARK(bm_decode_binary)->Name("decode/binary")->Arg(125)->Arg(16384)->Arg(1048576);
BENCHMARK(bm_memcpy)->Name("memcpy")->Arg(125)->Arg(16384)->Arg(1048576);
BENCHMARK(bm_wslay_binary)->Name("wslay/binary")->Arg(125)->Arg(16384)->Arg(1048576);
BENCHMARK(bm_decode_text)->Name("decode/text")->Arg(125)->Arg(16384);
BENCHMARK(bm_wslay_text)->Name("wslay/text")->Arg(125)->Arg(16384);
BENCHMARK(bm_decode_text_mixed_copy)->Name("decode/text_mixed_copy")->Arg(65536);
BENCHMARK(bm_utf8_ascii)->Name("utf8/ascii")->Arg(1048576);
BENCHMARK(bm_utf8_mixed)->Name("utf8/mixed")->Arg(1048576);
BENCHMARK(bm_encode_binary)->Name("encode/binary")->Arg(125)->Arg(16384)->Arg(1048576);
BENCHMARK(bm_encode_masked)->Name("encode/masked")->Arg(125)->Arg(16384)->Arg(1048576);

BENCHMARK_MAIN();
