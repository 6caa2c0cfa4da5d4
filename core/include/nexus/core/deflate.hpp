// permessage-deflate (RFC 7692): negotiation and the per-message codec.
//
// Negotiation works on parsed Sec-WebSocket-Extensions values (extension.hpp).
// The codec compresses one message at a time (or a message fragment by
// fragment) and inflates with a hard limit on output size, so a small
// compressed message cannot make the receiver allocate without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nexus/core/byte_buffer.hpp"
#include "nexus/core/error.hpp"
#include "nexus/core/extension.hpp"
#include "nexus/core/role.hpp"

namespace nexus::core {

/// What an endpoint is willing to negotiate (server) or offers (client).
struct DeflateConfig {
    /// Ask for / agree to the server resetting its compressor per message.
    bool server_no_context_takeover = false;
    /// Ask for / agree to the client resetting its compressor per message.
    bool client_no_context_takeover = false;
    /// LZ77 window of the server's compressor, 8..15 (RFC 7692 §7.1.2.1).
    int server_max_window_bits = 15;
    /// LZ77 window of the client's compressor, 8..15 (RFC 7692 §7.1.2.2).
    int client_max_window_bits = 15;
    /// zlib compression level 0..9 (-1: zlib's default).
    int compression_level = -1;
    /// zlib memLevel 1..9: memory of the compressor's state.
    int memory_level = 8;
};

/// The agreed parameters of one connection.
struct DeflateParams {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
};

/// Server side (RFC 7692 §5, §7): picks the first acceptable
/// "permessage-deflate" offer in `offers` (other extensions are ignored).
/// On success sets `params` and `response` (the Sec-WebSocket-Extensions
/// value to send) and returns Error::ok. Returns Error::ok with `params`
/// empty when no offer is acceptable or none was made (the connection goes on
/// uncompressed). Returns Error::bad_extension_params only when an offer is
/// malformed in a way that must fail the handshake (a duplicated parameter or
/// an invalid value, §7), which a caller may also choose to ignore.
Error negotiate_deflate(const std::vector<Extension>& offers, const DeflateConfig& config,
                        std::optional<DeflateParams>& params, std::string& response);

/// Client side: the Sec-WebSocket-Extensions value that offers `config`.
std::string deflate_offer(const DeflateConfig& config);

/// Client side: checks the server's "permessage-deflate" response against
/// what was offered (§7: the server may not add what the client did not
/// allow). Returns Error::ok and sets `params`, or Error::unoffered_extension
/// / Error::bad_extension_params.
Error accept_deflate_response(const Extension& response, const DeflateConfig& offered,
                              DeflateParams& params);

/// Compresses outgoing messages for one connection.
class Deflater {
public:
    /// `role` is this endpoint's role: a server compresses with the server_*
    /// parameters, a client with the client_* ones. Throws std::bad_alloc.
    Deflater(const DeflateParams& params, Role role, int compression_level = -1,
             int memory_level = 8);
    ~Deflater();
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    /// Compresses `in` (one fragment of a message, or a whole message when
    /// `fin`) and appends the output to `out`. When `fin`, the trailing
    /// 0x00 0x00 0xff 0xff is removed (§7.2.1) and, with no context
    /// takeover, the compressor is reset. Throws std::bad_alloc.
    void compress(std::span<const std::uint8_t> in, bool fin, ByteBuffer& out);

private:
    struct State;
    std::unique_ptr<State> state_;
};

/// Decompresses incoming messages for one connection.
class Inflater {
public:
    /// `role` is this endpoint's role: a server inflates with the client_*
    /// parameters, a client with the server_* ones. Throws std::bad_alloc.
    Inflater(const DeflateParams& params, Role role);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    /// Inflates `in` (compressed payload bytes of the current message, any
    /// chunking) and appends the output to `out`, never letting out.size()
    /// exceed `limit`. When `fin`, the §7.2.2 tail is inflated too and the
    /// context is reset if no context takeover was agreed. Returns
    /// Error::ok, Error::message_too_big (limit reached; stop using this
    /// connection) or Error::bad_compressed_data. Throws std::bad_alloc.
    Error decompress(std::span<const std::uint8_t> in, bool fin, ByteBuffer& out,
                     std::size_t limit);

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace nexus::core
