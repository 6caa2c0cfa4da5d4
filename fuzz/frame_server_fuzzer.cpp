// Frame decoder, server role: what a client may send.
#include "frame_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return nexus::fuzz::fuzz_frames(nexus::core::Role::server, data, size);
}
