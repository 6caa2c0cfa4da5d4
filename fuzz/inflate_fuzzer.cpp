// The permessage-deflate inflater with its output limit.
//
// Oracles: output never exceeds the limit; whole and chunked input agree;
// and anything compressed by the Deflater (whole or in fragments) inflates
// back to itself. The chunked inflater and the round trip borrow their
// streams from one ZlibStreamPool kept across inputs (as a server loop keeps
// one across connections), the whole inflater has its own: a stream handed
// back with anything of an earlier input in it breaks the agreement.
#include <algorithm>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "nexus/core/deflate.hpp"

using nexus::core::ByteBuffer;
using nexus::core::DeflateParams;
using nexus::core::Deflater;
using nexus::core::Error;
using nexus::core::Inflater;
using nexus::core::Role;
using nexus::core::ZlibStreamPool;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    nexus::fuzz::FuzzInput in(data, size);
    DeflateParams p;
    p.server_no_context_takeover = in.param_bool();
    p.client_no_context_takeover = in.param_bool();
    p.server_max_window_bits = static_cast<int>(in.param_range(8, 15));
    p.client_max_window_bits = static_cast<int>(in.param_range(8, 15));
    const Role role = in.param_bool() ? Role::server : Role::client;
    const Role sender = role == Role::server ? Role::client : Role::server;
    const std::size_t limit = std::size_t{1} << in.param_range(0, 20);
    std::uint32_t chunk_state = in.param_byte() | 1u;
    const auto body = in.rest();

    // Arbitrary bytes as compressed data.
    Inflater whole(p, role);
    ByteBuffer whole_out;
    const Error whole_error = whole.decompress(body, true, whole_out, limit);
    NX_FUZZ_CHECK(whole_out.size() <= limit);
    NX_FUZZ_CHECK(whole_error == Error::ok || whole_error == Error::message_too_big ||
                  whole_error == Error::bad_compressed_data);

    static ZlibStreamPool pool;
    Inflater chunked(p, role, &pool);
    ByteBuffer chunked_out;
    Error chunked_error = Error::ok;
    std::size_t pos = 0;
    do {
        chunk_state = chunk_state * 1664525u + 1013904223u;
        const std::size_t n =
            std::min<std::size_t>(1 + (chunk_state >> 24) % 32, body.size() - pos);
        const bool last = pos + n == body.size();
        chunked_error = chunked.decompress(body.subspan(pos, n), last, chunked_out, limit);
        NX_FUZZ_CHECK(chunked_out.size() <= limit);
        pos += n;
    } while (chunked_error == Error::ok && pos < body.size());
    NX_FUZZ_CHECK((whole_error == Error::ok) == (chunked_error == Error::ok));
    if (whole_error == Error::ok) {
        NX_FUZZ_CHECK(std::equal(whole_out.view().begin(), whole_out.view().end(),
                                 chunked_out.view().begin(), chunked_out.view().end()));
    }

    // Round trip through the Deflater, whole and as two fragments, twice to
    // exercise context takeover.
    Deflater deflater(p, sender, -1, 8, &pool);
    Inflater inflater(p, role, &pool);
    for (int round = 0; round < 2; ++round) {
        ByteBuffer compressed;
        const std::size_t half = body.size() / 2;
        if (round == 0) {
            deflater.compress(body, true, compressed);
        } else {
            deflater.compress(body.first(half), false, compressed);
            deflater.compress(body.subspan(half), true, compressed);
        }
        ByteBuffer restored;
        NX_FUZZ_CHECK(inflater.decompress(compressed.view(), true, restored, body.size()) ==
                      Error::ok);
        NX_FUZZ_CHECK(
            std::equal(restored.view().begin(), restored.view().end(), body.begin(), body.end()));
    }
    NX_FUZZ_CHECK(pool.spare_deflaters() <= ZlibStreamPool::k_spares &&
                  pool.spare_inflaters() <= ZlibStreamPool::k_spares);
    return 0;
}
