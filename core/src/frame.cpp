#include "nexus/core/frame.hpp"

#include <cstring>

namespace nexus::core {

HeaderDecodeResult decode_frame_header(std::span<const std::uint8_t> in, const FrameRules& rules,
                                       FrameHeader& out) noexcept {
    HeaderDecodeResult result;
    if (in.size() < 2) {
        return result;
    }
    const std::uint8_t b0 = in[0];
    const std::uint8_t b1 = in[1];
    const auto fail = [&result](Error e) {
        result.status = HeaderStatus::failed;
        result.error = e;
        return result;
    };

    out.fin = (b0 & 0x80) != 0;
    out.rsv1 = (b0 & 0x40) != 0;
    out.rsv2 = (b0 & 0x20) != 0;
    out.rsv3 = (b0 & 0x10) != 0;
    const std::uint8_t op = b0 & 0x0F;
    out.masked = (b1 & 0x80) != 0;
    const std::uint8_t len7 = b1 & 0x7F;

    // §5.2: an unknown opcode or a reserved bit fails the connection.
    if (!is_known_opcode(op)) {
        return fail(Error::unknown_opcode);
    }
    out.opcode = static_cast<Opcode>(op);
    if (out.rsv2 || out.rsv3) {
        return fail(Error::reserved_bits_set);
    }
    if (out.rsv1) {
        if (!rules.rsv1_allowed) {
            return fail(Error::reserved_bits_set);
        }
        // RFC 7692 §6: RSV1 marks the first frame of a compressed message;
        // control frames and continuations never carry it.
        if (is_control(out.opcode)) {
            return fail(Error::compressed_control_frame);
        }
        if (out.opcode == Opcode::continuation) {
            return fail(Error::compressed_continuation);
        }
    }
    if (is_control(out.opcode)) {
        if (!out.fin) {
            return fail(Error::fragmented_control_frame); // §5.5
        }
        if (len7 > k_max_control_payload) {
            return fail(Error::control_frame_too_long); // §5.5
        }
    }
    // §5.1: clients mask every frame, servers none.
    if (rules.receiver == Role::server && !out.masked) {
        return fail(Error::unmasked_client_frame);
    }
    if (rules.receiver == Role::client && out.masked) {
        return fail(Error::masked_server_frame);
    }

    const std::size_t length_bytes = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    const std::size_t size = 2 + length_bytes + (out.masked ? 4 : 0);
    if (in.size() < size) {
        result.size = size;
        return result;
    }
    std::uint64_t length = len7;
    if (len7 == 126) {
        length = static_cast<std::uint64_t>(in[2]) << 8 | in[3];
        if (length < 126) {
            return fail(Error::non_minimal_length); // §5.2 "the minimal number of bytes"
        }
    } else if (len7 == 127) {
        length = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            length = length << 8 | in[2 + i];
        }
        if ((length >> 63) != 0) {
            return fail(Error::length_msb_set); // §5.2 "the most significant bit MUST be 0"
        }
        if (length <= 0xFFFF) {
            return fail(Error::non_minimal_length);
        }
    }
    out.payload_length = length;
    if (out.masked) {
        std::memcpy(out.mask_key.data(), in.data() + 2 + length_bytes, 4);
    }
    result.status = HeaderStatus::complete;
    result.size = size;
    return result;
}

std::size_t encode_frame_header(std::uint8_t* out, Opcode opcode, bool fin, bool rsv1,
                                std::uint64_t payload_length, const MaskKey* mask_key) noexcept {
    std::size_t n = 0;
    out[n++] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) |
                                         static_cast<std::uint8_t>(opcode));
    const std::uint8_t mask_bit = mask_key != nullptr ? 0x80 : 0;
    if (payload_length < 126) {
        out[n++] = static_cast<std::uint8_t>(mask_bit | payload_length);
    } else if (payload_length <= 0xFFFF) {
        out[n++] = static_cast<std::uint8_t>(mask_bit | 126);
        out[n++] = static_cast<std::uint8_t>(payload_length >> 8);
        out[n++] = static_cast<std::uint8_t>(payload_length);
    } else {
        out[n++] = static_cast<std::uint8_t>(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8) {
            out[n++] = static_cast<std::uint8_t>(payload_length >> shift);
        }
    }
    if (mask_key != nullptr) {
        std::memcpy(out + n, mask_key->data(), 4);
        n += 4;
    }
    return n;
}

void apply_mask(std::uint8_t* data, std::size_t size, const MaskKey& key,
                std::size_t offset) noexcept {
    // Rotate the key so that byte 0 of `data` meets key[offset % 4].
    std::uint8_t rotated[8];
    for (std::size_t i = 0; i < 8; ++i) {
        rotated[i] = key[(offset + i) & 3];
    }
    std::uint64_t word_key;
    std::memcpy(&word_key, rotated, sizeof word_key);

    std::size_t i = 0;
    // Four words per step: the compiler turns this into vector XORs.
    for (; i + 32 <= size; i += 32) {
        std::uint64_t w[4];
        std::memcpy(w, data + i, sizeof w);
        w[0] ^= word_key;
        w[1] ^= word_key;
        w[2] ^= word_key;
        w[3] ^= word_key;
        std::memcpy(data + i, w, sizeof w);
    }
    for (; i + 8 <= size; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, data + i, sizeof w);
        w ^= word_key;
        std::memcpy(data + i, &w, sizeof w);
    }
    for (; i < size; ++i) {
        data[i] ^= rotated[i & 7];
    }
}

} // namespace nexus::core
