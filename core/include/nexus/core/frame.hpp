// The frame codec (RFC 6455 §5.2): frame headers in and out, and masking.
//
// Stateless functions; the connection (connection.hpp) keeps the state that
// spans frames (fragmentation, close handshake, UTF-8 across fragments).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "nexus/core/error.hpp"
#include "nexus/core/role.hpp"

namespace nexus::core {

enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

/// Control frames have the high bit of the opcode set (§5.5).
constexpr bool is_control(Opcode op) noexcept {
    return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

/// Opcodes §5.2 defines; the rest are reserved.
constexpr bool is_known_opcode(std::uint8_t op) noexcept {
    return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

/// Control frame payloads are at most 125 bytes (§5.5).
inline constexpr std::size_t k_max_control_payload = 125;
/// 2 bytes + 8-byte extended length + 4-byte mask key.
inline constexpr std::size_t k_max_frame_header_size = 14;

using MaskKey = std::array<std::uint8_t, 4>;

struct FrameHeader {
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    Opcode opcode = Opcode::binary;
    bool masked = false;
    MaskKey mask_key{};
    std::uint64_t payload_length = 0;
};

/// What the receiver allows: its role and whether RSV1 (permessage-deflate)
/// was negotiated.
struct FrameRules {
    Role receiver = Role::server;
    bool rsv1_allowed = false;
};

enum class HeaderStatus : std::uint8_t { need_more, complete, failed };

struct HeaderDecodeResult {
    HeaderStatus status = HeaderStatus::need_more;
    /// complete: the header's size in bytes. need_more: how many bytes the
    /// header needs in total, as far as the bytes given tell (2 at first).
    std::size_t size = 2;
    Error error = Error::ok; // failed: why
};

/// Decodes the frame header at the start of `in` and validates everything a
/// header alone can break (§5.2, §5.5): reserved bits not negotiated, reserved
/// opcodes, fragmented or oversized control frames, non-minimal lengths, a
/// 64-bit length with its top bit set, and a mask bit that does not match the
/// sender's role (§5.1). RSV1 on a control frame is compressed_control_frame.
/// Sequencing (continuations) and size limits are the connection's job.
HeaderDecodeResult decode_frame_header(std::span<const std::uint8_t> in, const FrameRules& rules,
                                       FrameHeader& out) noexcept;

/// Size of the header that `encode_frame_header` writes.
constexpr std::size_t frame_header_size(std::uint64_t payload_length, bool masked) noexcept {
    const std::size_t length_bytes = payload_length < 126 ? 0 : payload_length <= 0xFFFF ? 2 : 8;
    return 2 + length_bytes + (masked ? 4 : 0);
}

/// Writes a frame header in its minimal encoding to `out`, which must have
/// room for frame_header_size() bytes. Returns the number of bytes written.
/// `mask_key` is null for an unmasked frame.
std::size_t encode_frame_header(std::uint8_t* out, Opcode opcode, bool fin, bool rsv1,
                                std::uint64_t payload_length, const MaskKey* mask_key) noexcept;

/// XORs `data` with `key` in place, as if `data` started at byte `offset` of
/// the payload (§5.3). Masking and unmasking are the same operation. Works a
/// machine word at a time.
void apply_mask(std::uint8_t* data, std::size_t size, const MaskKey& key,
                std::size_t offset = 0) noexcept;

} // namespace nexus::core
