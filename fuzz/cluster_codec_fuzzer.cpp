// What servers read from each other through Redis (io/src/cluster_codec.hpp):
// envelopes, presence records and statistics. Redis is trusted, but a
// server of another version or stray bytes on the channel must only ever be
// refused, never crash or mislead it.
//
// Oracles: a decoder accepts or refuses without crashing; whatever it
// accepts encodes back to exactly the input (each layout has one encoding).
#include <string_view>

#include "../io/src/cluster_codec.hpp"
#include "fuzz_check.hpp"

using namespace nexus::io::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (const auto envelope = decode_envelope(bytes)) {
        NX_FUZZ_CHECK(encode(*envelope) == bytes);
    }
    if (const auto presence = decode_presence(7, bytes)) {
        NX_FUZZ_CHECK(presence->id == 7);
        NX_FUZZ_CHECK(encode_presence(*presence) == bytes);
    }
    if (const auto stats = decode_stats(bytes)) {
        const auto again = decode_stats(encode_stats(*stats));
        NX_FUZZ_CHECK(again.has_value());
        NX_FUZZ_CHECK(encode_stats(*again) == encode_stats(*stats));
    }
    return 0;
}
