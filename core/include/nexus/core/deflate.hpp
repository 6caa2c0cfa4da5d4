// permessage-deflate (RFC 7692): negotiation and the per-message codec.
//
// Negotiation works on parsed Sec-WebSocket-Extensions values (extension.hpp).
// The codec compresses one message at a time (or a message fragment by
// fragment) and inflates with a hard limit on output size, so a small
// compressed message cannot make the receiver allocate without bound.
//
// Neither codec holds zlib state until it first has bytes to work on, so a
// connection that agreed on deflate but never uses it costs no zlib memory.
// Both are single-threaded objects: one connection, one thread at a time.
//
// Exceptions: std::bad_alloc when memory runs out (zlib's Z_MEM_ERROR is
// turned into it). std::logic_error only if zlib reports an inconsistency
// that cannot happen with the arguments used here (an internal bug, not a
// peer's doing); every zlib return code is checked.
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
/// Valid ranges are checked by validate_deflate_config().
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
    /// Client: offer client_max_window_bits (without a value) even when
    /// client_max_window_bits is 15, so the server may pick a smaller window
    /// for our compressor (§7.1.2.2). Below 15 it is always offered, with the
    /// value. Unused by the server.
    bool offer_client_max_window_bits = true;
};

/// The agreed parameters of one connection.
struct DeflateParams {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
};

/// Error::ok when every field of `config` is in its documented range,
/// Error::local_bad_argument otherwise.
Error validate_deflate_config(const DeflateConfig& config) noexcept;

/// Server side (RFC 7692 §5, §7): picks the first acceptable
/// "permessage-deflate" offer in `offers` (other extensions are ignored;
/// names compare case-insensitively).
///
/// An offer is declined, and the next one tried, when it has an unknown
/// parameter, a parameter twice, or an invalid value (§5: "a server MUST
/// decline an extension negotiation offer" in those cases; declining is not a
/// handshake failure, so a malformed offer never fails the connection).
///
/// The answer applies `config` within what the client allowed:
/// - server_no_context_takeover is answered when offered or configured
///   (§7.1.1.1);
/// - client_no_context_takeover is answered when offered (the client's hint is
///   echoed so both sides agree) or configured (§7.1.1.2);
/// - server_max_window_bits is min(offered, configured), answered when
///   offered or below 15 (§7.1.2.1);
/// - client_max_window_bits is answered only if offered (§7.1.2.2), with
///   min(offered value, configured); when the client did not offer it, its
///   window stays 15 whatever `config` says.
///
/// Returns Error::ok with `params` and `response` (the Sec-WebSocket-
/// Extensions value to send) set, or with `params` empty and `response`
/// cleared when no offer is acceptable (the connection goes on uncompressed).
/// Returns Error::local_bad_argument, with `params` empty, when `config` is
/// invalid (validate_deflate_config).
Error negotiate_deflate(const std::vector<Extension>& offers, const DeflateConfig& config,
                        std::optional<DeflateParams>& params, std::string& response);

/// Client side: the Sec-WebSocket-Extensions value that offers `config`:
/// the two *_no_context_takeover flags when set, server_max_window_bits when
/// below 15, and client_max_window_bits with a value when below 15, or
/// without one when offer_client_max_window_bits is set (§7.1.2.2).
/// Returns an empty string (offer nothing) when `config` is invalid.
std::string deflate_offer(const DeflateConfig& config);

/// Client side: checks the server's "permessage-deflate" response against
/// what was offered with deflate_offer(`offered`) and sets `params`.
/// Returns:
/// - Error::ok;
/// - Error::unoffered_extension: the response names another extension, or
///   has client_max_window_bits although the offer did not (§7.1.2.2);
/// - Error::bad_extension_params: an unknown or repeated parameter, a value
///   that is missing, present where none is allowed, or not 8..15 without
///   leading zeros; server_max_window_bits missing or larger than offered
///   (§7.1.2.1); client_max_window_bits larger than offered (§7.1.2.2);
///   server_no_context_takeover missing although offered (§7.1.1.1);
/// - Error::local_bad_argument: `offered` is invalid.
/// `params` is only written on Error::ok. When the server leaves
/// client_max_window_bits out, our compressor keeps to the window we offered;
/// an offered client_no_context_takeover is kept as our promise (§7.1.1.2).
/// Names compare case-insensitively.
Error accept_deflate_response(const Extension& response, const DeflateConfig& offered,
                              DeflateParams& params);

/// zlib streams lent per message. Without context takeover a compressor (or
/// an inflater) keeps nothing from one message to the next, so a Deflater or
/// Inflater given a pool holds a stream only while a message is under way:
/// it takes one at the message's first bytes and gives it back, reset, after
/// its last. An idle connection then costs no zlib memory (a compressor is
/// about 256 KiB, an inflater about 40 KiB), and many connections share the
/// few streams of their pool, warm in the cache.
///
/// The pool keeps at most k_spares streams of each kind; more are made only
/// while that many messages are half done at once, and freed when they end.
/// Thread safety: none. Every Deflater and Inflater using one pool must be
/// used by one thread at a time in all (the io layer keeps a pool per event
/// loop), and the pool must outlive them.
class ZlibStreamPool {
public:
    static constexpr std::size_t k_spares = 2;

    ZlibStreamPool() noexcept;
    ~ZlibStreamPool();
    ZlibStreamPool(const ZlibStreamPool&) = delete;
    ZlibStreamPool& operator=(const ZlibStreamPool&) = delete;

    /// Streams waiting to be lent: compressors and inflaters.
    std::size_t spare_deflaters() const noexcept;
    std::size_t spare_inflaters() const noexcept;

    /// Defined in deflate.cpp; what Deflater and Inflater lend and take back.
    struct Stock;

private:
    friend class Deflater;
    friend class Inflater;
    std::unique_ptr<Stock> stock_; // made on the first stream given back
};

/// Compresses outgoing messages for one connection.
class Deflater {
public:
    /// `role` is this endpoint's role: a server compresses with the server_*
    /// parameters, a client with the client_* ones. Window bits outside 8..15,
    /// levels outside -1..9 and memory levels outside 1..9 are clamped.
    /// Allocates nothing: the zlib stream is made on the first compress() with
    /// input. A window of 8 bits is served by a 9-bit zlib stream at level 0
    /// (zlib refuses 8 for raw deflate; stored blocks never reach back).
    /// With no context takeover and a `pool`, the zlib stream is borrowed
    /// from the pool per message (see ZlibStreamPool).
    Deflater(const DeflateParams& params, Role role, int compression_level = -1,
             int memory_level = 8, ZlibStreamPool* pool = nullptr) noexcept;
    ~Deflater();
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    /// Compresses `in` (one fragment of a message, or a whole message when
    /// `fin`) and appends the output to `out`. Every call ends with a
    /// Z_SYNC_FLUSH, so each fragment can go out at once. When `fin`, the
    /// trailing 0x00 0x00 0xff 0xff is removed (§7.2.1) and, with no context
    /// takeover, the compressor is reset (§7.1.1). An empty final fragment
    /// appends the single byte 0x00 (§7.2.3.6); an empty non-final fragment
    /// appends nothing. Throws std::bad_alloc; after any exception the
    /// Deflater's state is unspecified and the connection must be dropped.
    void compress(std::span<const std::uint8_t> in, bool fin, ByteBuffer& out);

    /// True while it holds a zlib stream: from the first non-empty input
    /// on; when it borrows from a pool, only until the message ends.
    bool has_stream() const noexcept { return state_ != nullptr; }

    /// Defined in deflate.cpp.
    struct State;

    /// Forgets the history, as if no message had been compressed yet. The
    /// connection calls it when a message compressed elsewhere (a broadcast
    /// encoded once) went out in between: the peer's window then holds data
    /// this compressor never saw, so it must not refer back (RFC 7692 §7.1.1
    /// lets a sender reset at any message boundary). Call between messages.
    void reset() noexcept;

private:
    State& state();
    void end_message();

    std::unique_ptr<State> state_;
    ZlibStreamPool* pool_; // null: the stream stays for the Deflater's life
    int window_bits_;
    int level_;
    int memory_level_;
    bool no_context_takeover_;
};

/// Decompresses incoming messages for one connection.
class Inflater {
public:
    /// `role` is this endpoint's role: a server inflates with the client_*
    /// parameters, a client with the server_* ones. A window of 8 bits is
    /// inflated with 9 (always safe for a smaller sender window, and tolerant
    /// of zlib-based peers that send 9 when 8 was agreed). Allocates nothing:
    /// the zlib stream is made on the first decompress() with input.
    /// With the peer's no context takeover and a `pool`, the zlib stream is
    /// borrowed from the pool per message (see ZlibStreamPool).
    Inflater(const DeflateParams& params, Role role, ZlibStreamPool* pool = nullptr) noexcept;
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    /// Inflates `in` (compressed payload bytes of the current message, any
    /// chunking) and appends the output to `out`, never letting out.size()
    /// exceed `limit`. When `fin`, the §7.2.2 tail is inflated too, the
    /// message must end on a DEFLATE block boundary, and the context is reset
    /// if the peer's no context takeover was agreed. A message whose whole
    /// compressed payload is empty is accepted as an empty message. A message
    /// ending in a BFINAL block (§7.2.3.4) is accepted; with context takeover
    /// the next message may still refer back to it.
    ///
    /// Returns Error::ok, Error::message_too_big (more output than `limit`
    /// allows; `out` holds exactly `limit` bytes or fewer) or
    /// Error::bad_compressed_data (corrupt or truncated DEFLATE data, or bytes
    /// after a BFINAL block). Errors are sticky: every later call returns the
    /// same error. Throws std::bad_alloc (state then unspecified).
    Error decompress(std::span<const std::uint8_t> in, bool fin, ByteBuffer& out,
                     std::size_t limit);

    /// True while it holds a zlib stream (see Deflater::has_stream()).
    bool has_stream() const noexcept { return state_ != nullptr; }

    /// Defined in deflate.cpp.
    struct State;

private:
    State& state();
    Error feed(const std::uint8_t* data, std::size_t size, bool tail, ByteBuffer& out,
               std::size_t limit);
    Error finish_message();

    std::unique_ptr<State> state_;
    ZlibStreamPool* pool_; // null: the stream stays for the Inflater's life
    int window_bits_;
    bool no_context_takeover_;
    bool message_has_data_ = false;
    bool stream_ended_ = false;
    Error error_ = Error::ok;
};

} // namespace nexus::core
