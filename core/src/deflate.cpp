// permessage-deflate (RFC 7692): negotiation (§5, §7.1) and the codec (§7.2)
// on zlib's raw deflate.
#include "nexus/core/deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <new>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace nexus::core {
namespace {

constexpr std::string_view k_extension_name = "permessage-deflate";
constexpr std::string_view k_server_no_context_takeover = "server_no_context_takeover";
constexpr std::string_view k_client_no_context_takeover = "client_no_context_takeover";
constexpr std::string_view k_server_max_window_bits = "server_max_window_bits";
constexpr std::string_view k_client_max_window_bits = "client_max_window_bits";

constexpr int k_min_window_bits = 8;
constexpr int k_max_window_bits = 15;
// zlib refuses windowBits 8 for raw deflate (since 1.2.9); 9 is its floor.
constexpr int k_zlib_min_window_bits = 9;

// The empty stored block a Z_SYNC_FLUSH ends with (§7.2.1, §7.2.2).
constexpr std::array<std::uint8_t, 4> k_tail = {0x00, 0x00, 0xff, 0xff};

// Largest piece handed to zlib at once: avail_in / avail_out are uInt.
constexpr std::size_t k_max_step = std::size_t{1} << 30;
// Output step of the inflater when the buffer has no spare capacity.
constexpr std::size_t k_min_inflate_step = 16 * 1024;

/// Takes a spare stream that `fits` out of `spares`; null when none does.
template <class State, class Fits>
std::unique_ptr<State> take_spare(std::vector<std::unique_ptr<State>>& spares, Fits fits) {
    for (auto it = spares.begin(); it != spares.end(); ++it) {
        if (fits(**it)) {
            std::unique_ptr<State> state = std::move(*it);
            spares.erase(it);
            return state;
        }
    }
    return nullptr;
}

/// Keeps `state` (reset by the caller) as a spare, or frees it when there
/// are enough. Never allocates: the room is reserved with the stock.
template <class State>
void give_spare(std::vector<std::unique_ptr<State>>& spares, std::unique_ptr<State> state) {
    if (spares.size() < ZlibStreamPool::k_spares) {
        spares.push_back(std::move(state));
    }
}

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) {
            return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

// §7.1.2.1 / §7.1.2.2: "a decimal integer value without leading zeroes
// between 8 to 15 inclusive". A quoted-string arrives already unquoted and is
// held to the same rule (RFC 7692 §7.1: the value must conform to the token
// ABNF after unquoting).
std::optional<int> parse_window_bits(std::string_view value) noexcept {
    if (value.size() == 1 && value[0] >= '8' && value[0] <= '9') {
        return value[0] - '0';
    }
    if (value.size() == 2 && value[0] == '1' && value[1] >= '0' && value[1] <= '5') {
        return 10 + (value[1] - '0');
    }
    return std::nullopt;
}

// One permessage-deflate element, parsed. Window fields: nullopt = absent;
// for client_max_window_bits, `client_bits_present` with no value = present
// without a value.
struct ParsedParams {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    std::optional<int> server_max_window_bits;
    bool client_bits_present = false;
    std::optional<int> client_max_window_bits;
};

enum class Side : std::uint8_t { offer, response };

// Parses the parameters of one element (§7.1). Returns false for an unknown
// or repeated parameter, a value on a flag, a missing value where one is
// required (server_max_window_bits anywhere; client_max_window_bits in a
// response, §7.1.2.2), or a value outside 8..15 / not in canonical form.
bool parse_params(const Extension& ext, Side side, ParsedParams& out) {
    bool seen_server_nct = false;
    bool seen_client_nct = false;
    bool seen_server_bits = false;
    bool seen_client_bits = false;
    for (const ExtensionParam& p : ext.params) {
        const auto flag = [&](bool& seen, bool& field) {
            if (seen || p.value) {
                return false;
            }
            seen = true;
            field = true;
            return true;
        };
        if (equals_ignore_case(p.name, k_server_no_context_takeover)) {
            // §7.1.1.1: no value.
            if (!flag(seen_server_nct, out.server_no_context_takeover)) {
                return false;
            }
        } else if (equals_ignore_case(p.name, k_client_no_context_takeover)) {
            // §7.1.1.2: no value.
            if (!flag(seen_client_nct, out.client_no_context_takeover)) {
                return false;
            }
        } else if (equals_ignore_case(p.name, k_server_max_window_bits)) {
            // §7.1.2.1: a value is required in offers and responses.
            if (seen_server_bits || !p.value) {
                return false;
            }
            seen_server_bits = true;
            out.server_max_window_bits = parse_window_bits(*p.value);
            if (!out.server_max_window_bits) {
                return false;
            }
        } else if (equals_ignore_case(p.name, k_client_max_window_bits)) {
            // §7.1.2.2: the value is optional in an offer, required in a
            // response.
            if (seen_client_bits || (!p.value && side == Side::response)) {
                return false;
            }
            seen_client_bits = true;
            out.client_bits_present = true;
            if (p.value) {
                out.client_max_window_bits = parse_window_bits(*p.value);
                if (!out.client_max_window_bits) {
                    return false;
                }
            }
        } else {
            return false; // §5: a parameter not defined for the extension
        }
    }
    return true;
}

void append_param(std::string& s, std::string_view name) {
    s += "; ";
    s += name;
}

void append_param(std::string& s, std::string_view name, int value) {
    append_param(s, name);
    s += '=';
    s += std::to_string(value);
}

// zlib's return codes are all checked; the ones that cannot happen with our
// arguments end up here.
[[noreturn]] void zlib_failure(const char* what, int code) {
    if (code == Z_MEM_ERROR) {
        throw std::bad_alloc();
    }
    throw std::logic_error(std::string("nexus::core deflate: ") + what + " failed with zlib code " +
                           std::to_string(code));
}

unsigned to_uint(std::size_t n) noexcept {
    return static_cast<unsigned>(std::min(n, k_max_step));
}

} // namespace

Error validate_deflate_config(const DeflateConfig& config) noexcept {
    const auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
    const bool ok = in(config.server_max_window_bits, k_min_window_bits, k_max_window_bits) &&
                    in(config.client_max_window_bits, k_min_window_bits, k_max_window_bits) &&
                    in(config.compression_level, -1, 9) && in(config.memory_level, 1, 9);
    return ok ? Error::ok : Error::local_bad_argument;
}

Error negotiate_deflate(const std::vector<Extension>& offers, const DeflateConfig& config,
                        std::optional<DeflateParams>& params, std::string& response) {
    params.reset();
    response.clear();
    if (validate_deflate_config(config) != Error::ok) {
        return Error::local_bad_argument;
    }
    for (const Extension& offer : offers) {
        if (!equals_ignore_case(offer.name, k_extension_name)) {
            continue;
        }
        ParsedParams p;
        if (!parse_params(offer, Side::offer, p)) {
            continue; // §5: decline this offer, try the next one
        }
        DeflateParams agreed;
        std::string answer(k_extension_name);

        // §7.1.1.1: a server accepting an offer with server_no_context_takeover
        // must answer it; it may add it on its own.
        agreed.server_no_context_takeover =
            p.server_no_context_takeover || config.server_no_context_takeover;
        if (agreed.server_no_context_takeover) {
            append_param(answer, k_server_no_context_takeover);
        }
        // §7.1.1.2: the server may answer client_no_context_takeover whether or
        // not it was offered; when offered we echo it so both sides agree.
        agreed.client_no_context_takeover =
            p.client_no_context_takeover || config.client_no_context_takeover;
        if (agreed.client_no_context_takeover) {
            append_param(answer, k_client_no_context_takeover);
        }
        // §7.1.2.1: answer the same or a smaller value than offered; the
        // server may also limit itself unasked.
        agreed.server_max_window_bits = std::min(
            p.server_max_window_bits.value_or(k_max_window_bits), config.server_max_window_bits);
        if (p.server_max_window_bits || agreed.server_max_window_bits < k_max_window_bits) {
            append_param(answer, k_server_max_window_bits, agreed.server_max_window_bits);
        }
        // §7.1.2.2: client_max_window_bits may be answered only when offered,
        // and then not above the offered value.
        if (p.client_bits_present) {
            agreed.client_max_window_bits =
                std::min(p.client_max_window_bits.value_or(k_max_window_bits),
                         config.client_max_window_bits);
            if (p.client_max_window_bits || agreed.client_max_window_bits < k_max_window_bits) {
                append_param(answer, k_client_max_window_bits, agreed.client_max_window_bits);
            }
        }
        params = agreed;
        response = std::move(answer);
        return Error::ok;
    }
    return Error::ok;
}

std::string deflate_offer(const DeflateConfig& config) {
    if (validate_deflate_config(config) != Error::ok) {
        return {};
    }
    std::string offer(k_extension_name);
    if (config.server_no_context_takeover) {
        append_param(offer, k_server_no_context_takeover);
    }
    if (config.client_no_context_takeover) {
        append_param(offer, k_client_no_context_takeover);
    }
    if (config.server_max_window_bits < k_max_window_bits) {
        append_param(offer, k_server_max_window_bits, config.server_max_window_bits);
    }
    if (config.client_max_window_bits < k_max_window_bits) {
        append_param(offer, k_client_max_window_bits, config.client_max_window_bits);
    } else if (config.offer_client_max_window_bits) {
        append_param(offer, k_client_max_window_bits);
    }
    return offer;
}

Error accept_deflate_response(const Extension& response, const DeflateConfig& offered,
                              DeflateParams& params) {
    if (validate_deflate_config(offered) != Error::ok) {
        return Error::local_bad_argument;
    }
    if (!equals_ignore_case(response.name, k_extension_name)) {
        return Error::unoffered_extension;
    }
    ParsedParams p;
    if (!parse_params(response, Side::response, p)) {
        return Error::bad_extension_params;
    }
    const bool offered_server_bits = offered.server_max_window_bits < k_max_window_bits;
    const bool offered_client_bits =
        offered.client_max_window_bits < k_max_window_bits || offered.offer_client_max_window_bits;

    // §7.1.1.1: an accepted server_no_context_takeover must be answered; the
    // server may also add it unasked.
    if (offered.server_no_context_takeover && !p.server_no_context_takeover) {
        return Error::bad_extension_params;
    }
    // §7.1.2.1: an offered server_max_window_bits must be answered with the
    // same or a smaller value; unasked, any valid value is the server's own
    // limit.
    if (offered_server_bits &&
        (!p.server_max_window_bits || *p.server_max_window_bits > offered.server_max_window_bits)) {
        return Error::bad_extension_params;
    }
    // §7.1.2.2: client_max_window_bits only when offered, and not above the
    // offered value.
    if (p.client_bits_present && !offered_client_bits) {
        return Error::unoffered_extension;
    }
    if (p.client_max_window_bits && *p.client_max_window_bits > offered.client_max_window_bits) {
        return Error::bad_extension_params;
    }

    params.server_no_context_takeover = p.server_no_context_takeover;
    // §7.1.1.2: the server may demand it; an offered one is our promise.
    params.client_no_context_takeover =
        p.client_no_context_takeover || offered.client_no_context_takeover;
    params.server_max_window_bits = p.server_max_window_bits.value_or(k_max_window_bits);
    // Unanswered, we keep to the window we offered (never larger than agreed).
    params.client_max_window_bits =
        p.client_max_window_bits.value_or(offered.client_max_window_bits);
    return Error::ok;
}

// ---------------------------------------------------------------- ZlibStreamPool

// Made with the first stream a pool lends; its members are complete types
// (and it can be built and destroyed) from the end of this file on.
struct ZlibStreamPool::Stock {
    std::vector<std::unique_ptr<Deflater::State>> deflaters;
    std::vector<std::unique_ptr<Inflater::State>> inflaters;

    Stock();
    ~Stock();
    Stock(const Stock&) = delete;
    Stock& operator=(const Stock&) = delete;
};

// ---------------------------------------------------------------- Deflater

struct Deflater::State {
    z_stream stream{};
    // What a pool matches a borrower's parameters against.
    int window_bits;
    int level;
    int memory_level;

    State(int bits, int compression_level, int memory)
        : window_bits(bits), level(compression_level), memory_level(memory) {
        const int rc = deflateInit2(&stream, level, Z_DEFLATED, -window_bits, memory_level,
                                    Z_DEFAULT_STRATEGY);
        if (rc != Z_OK) {
            zlib_failure("deflateInit2", rc);
        }
    }
    ~State() { deflateEnd(&stream); } // Z_DATA_ERROR here only means "freed early"
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    State(State&&) = delete;
    State& operator=(State&&) = delete;
};

Deflater::Deflater(const DeflateParams& params, Role role, int compression_level, int memory_level,
                   ZlibStreamPool* pool) noexcept
    : pool_(pool), window_bits_(std::clamp(role == Role::server ? params.server_max_window_bits
                                                                : params.client_max_window_bits,
                                           k_min_window_bits, k_max_window_bits)),
      level_(std::clamp(compression_level, -1, 9)), memory_level_(std::clamp(memory_level, 1, 9)),
      no_context_takeover_(role == Role::server ? params.server_no_context_takeover
                                                : params.client_no_context_takeover) {
    // The peer's window is 2^8 bytes, but zlib's floor is 2^9: compress with
    // stored blocks only, which hold no back-references at all (RFC 7692
    // §7.1.2.1 bounds the distance the peer must keep).
    if (window_bits_ < k_zlib_min_window_bits) {
        window_bits_ = k_zlib_min_window_bits;
        level_ = 0;
    }
}

Deflater::~Deflater() = default;

Deflater::State& Deflater::state() {
    if (!state_ && pool_ != nullptr && no_context_takeover_ && pool_->stock_) {
        state_ = take_spare(pool_->stock_->deflaters, [this](const State& spare) {
            return spare.window_bits == window_bits_ && spare.level == level_ &&
                   spare.memory_level == memory_level_;
        });
    }
    if (!state_) {
        state_ = std::make_unique<State>(window_bits_, level_, memory_level_);
        if (pool_ != nullptr && no_context_takeover_ && !pool_->stock_) {
            pool_->stock_ = std::make_unique<ZlibStreamPool::Stock>();
        }
    }
    return *state_;
}

void Deflater::reset() noexcept {
    if (state_) {
        deflateReset(&state_->stream);
    }
}

void Deflater::compress(std::span<const std::uint8_t> in, bool fin, ByteBuffer& out) {
    if (in.empty()) {
        // Every call ends in a sync flush, so the stream is byte-aligned with
        // nothing pending; zlib would refuse (Z_BUF_ERROR) a second flush.
        // §7.2.3.6: a lone 0x00 plus the receiver's 00 00 ff ff is an empty
        // stored block.
        if (fin) {
            out.push_back(0x00);
            end_message();
        }
        return;
    }
    z_stream& zs = state().stream;
    const std::size_t start = out.size();
    std::size_t remaining = in.size();
    // zlib's API is not const-correct; it never writes through next_in.
    zs.next_in = const_cast<Bytef*>(in.data()); // NOLINT(*-const-cast)
    for (;;) {
        const unsigned piece = to_uint(remaining);
        zs.avail_in = piece;
        const bool last_piece = piece == remaining;
        const int flush = last_piece ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        // Drain this piece; with Z_SYNC_FLUSH, repeat while zlib fills the
        // whole output space (it may have more pending).
        do {
            const std::size_t spare = out.capacity() - out.size();
            const std::size_t bound = deflateBound(&zs, zs.avail_in) + 16;
            const std::size_t room = std::min(std::max(spare, bound), k_max_step);
            const std::size_t before = out.size();
            zs.next_out = out.extend(room);
            zs.avail_out = static_cast<unsigned>(room);
            const int rc = deflate(&zs, flush);
            out.truncate(before + (room - zs.avail_out));
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                zlib_failure("deflate", rc);
            }
            // Z_BUF_ERROR: nothing left to do (a repeat call after the
            // output space was filled exactly); with input left it is a bug.
            if (rc == Z_BUF_ERROR && zs.avail_in != 0) {
                zlib_failure("deflate (no progress)", rc);
            }
        } while (zs.avail_in != 0 || zs.avail_out == 0);
        remaining -= piece;
        if (last_piece) {
            break;
        }
    }
    if (fin) {
        // §7.2.1: remove the 00 00 ff ff the sync flush ended with.
        const std::size_t produced = out.size() - start;
        if (produced < k_tail.size() ||
            !std::equal(k_tail.begin(), k_tail.end(), out.data() + out.size() - k_tail.size())) {
            zlib_failure("deflate (sync flush marker missing)", Z_STREAM_ERROR);
        }
        out.truncate(out.size() - k_tail.size());
        end_message();
    }
}

void Deflater::end_message() {
    // §7.1.1.1 / §7.1.1.2: no context takeover, a fresh window per message.
    // A stream not made yet has no context to drop. A borrowed stream goes
    // back to its pool until the next message, ours or another connection's.
    if (no_context_takeover_ && state_) {
        const int rc = deflateReset(&state_->stream);
        if (rc != Z_OK) {
            zlib_failure("deflateReset", rc);
        }
        if (pool_ != nullptr) {
            give_spare(pool_->stock_->deflaters, std::move(state_));
            state_.reset();
        }
    }
}

// ---------------------------------------------------------------- Inflater

struct Inflater::State {
    z_stream stream{};

    explicit State(int window_bits) {
        const int rc = inflateInit2(&stream, -window_bits);
        if (rc != Z_OK) {
            zlib_failure("inflateInit2", rc);
        }
    }
    ~State() { inflateEnd(&stream); }
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    State(State&&) = delete;
    State& operator=(State&&) = delete;
};

// The inflater always keeps the largest window (32 KiB), whatever the peer
// agreed to use: zlib accepts a distance "too far back" for the agreed window
// as long as the target still lies in the output of the same inflate() call,
// so with a small window the verdict on a peer that breaks its promise would
// depend on how its message was split into reads. With the full window no
// valid DEFLATE distance is ever too far, and any chunking gives the same
// result; a peer that sends farther than it agreed is simply understood.
Inflater::Inflater(const DeflateParams& params, Role role, ZlibStreamPool* pool) noexcept
    : pool_(pool), window_bits_(k_max_window_bits),
      no_context_takeover_(role == Role::server ? params.client_no_context_takeover
                                                : params.server_no_context_takeover) {}

Inflater::~Inflater() = default;

Inflater::State& Inflater::state() {
    if (!state_ && pool_ != nullptr && no_context_takeover_ && pool_->stock_) {
        // Every inflater has the same 32 KiB window: any spare fits.
        state_ = take_spare(pool_->stock_->inflaters, [](const State&) { return true; });
    }
    if (!state_) {
        state_ = std::make_unique<State>(window_bits_);
        if (pool_ != nullptr && no_context_takeover_ && !pool_->stock_) {
            pool_->stock_ = std::make_unique<ZlibStreamPool::Stock>();
        }
    }
    return *state_;
}

Error Inflater::decompress(std::span<const std::uint8_t> in, bool fin, ByteBuffer& out,
                           std::size_t limit) {
    if (error_ != Error::ok) {
        return error_;
    }
    Error e = Error::ok;
    if (!in.empty()) {
        message_has_data_ = true;
        e = feed(in.data(), in.size(), false, out, limit);
    }
    if (e == Error::ok && fin) {
        // A message with no payload bytes at all is taken as empty rather
        // than fed the tail (which alone is no valid DEFLATE data).
        if (message_has_data_) {
            // §7.2.2: append 00 00 ff ff to the payload and inflate it.
            e = feed(k_tail.data(), k_tail.size(), true, out, limit);
            if (e == Error::ok) {
                e = finish_message();
            }
        }
        message_has_data_ = false;
    }
    error_ = e;
    return e;
}

// Inflates `size` bytes into `out` without passing `limit`. Z_SYNC_FLUSH
// makes zlib hand over everything it can decode from the input so far, so
// the output is the same however the message was split.
Error Inflater::feed(const std::uint8_t* data, std::size_t size, bool tail, ByteBuffer& out,
                     std::size_t limit) {
    z_stream& zs = state().stream;
    while (size != 0) {
        if (stream_ended_) {
            // After a BFINAL block (§7.2.3.4) only our own tail may follow.
            return tail ? Error::ok : Error::bad_compressed_data;
        }
        const unsigned piece = to_uint(size);
        zs.next_in = const_cast<Bytef*>(data); // NOLINT(*-const-cast)
        zs.avail_in = piece;
        for (;;) {
            std::uint8_t probe = 0;
            const std::size_t before = out.size();
            const std::size_t allowed = limit > before ? limit - before : 0;
            std::size_t room = 0;
            if (allowed == 0) {
                // At the limit: one byte of scratch tells whether zlib has
                // more output for this message.
                zs.next_out = &probe;
                zs.avail_out = 1;
            } else {
                const std::size_t spare = out.capacity() - before;
                const std::size_t step =
                    spare >= 1024 ? spare : std::max(before, k_min_inflate_step);
                room = std::min({step, allowed, k_max_step});
                zs.next_out = out.extend(room);
                zs.avail_out = static_cast<unsigned>(room);
            }
            const int rc = inflate(&zs, Z_SYNC_FLUSH);
            if (allowed == 0) {
                if (zs.avail_out == 0) {
                    return Error::message_too_big;
                }
            } else {
                out.truncate(before + (room - zs.avail_out));
            }
            if (rc == Z_STREAM_END) {
                stream_ended_ = true;
                break;
            }
            if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
                return Error::bad_compressed_data;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                zlib_failure("inflate", rc);
            }
            // This piece is done when all of it went in and zlib left output
            // space unused (it had nothing more to give).
            if (zs.avail_in == 0 && zs.avail_out != 0) {
                break;
            }
        }
        const std::size_t used = piece - zs.avail_in;
        data += used;
        size -= used;
        if (stream_ended_) {
            return size != 0 && !tail ? Error::bad_compressed_data : Error::ok;
        }
    }
    // §7.2.2: payload + tail must end where a block ends (zlib reports it in
    // data_type), or the rest of this message would bleed into the next.
    // The flag reflects the decoder's state after the same bytes, so it does
    // not depend on how the message was split.
    if (tail && (zs.data_type & 128) == 0) {
        return Error::bad_compressed_data;
    }
    return Error::ok;
}

Error Inflater::finish_message() {
    z_stream& zs = state().stream;
    if (stream_ended_) {
        // §7.2.3.4: the message ended the DEFLATE stream with BFINAL. Start a
        // new one; with context takeover it keeps the old window as its
        // dictionary (a rare path, so the copy's allocation is acceptable).
        stream_ended_ = false;
        std::vector<Bytef> window;
        if (!no_context_takeover_) {
            window.resize(std::size_t{1} << window_bits_);
            uInt length = 0;
            const int rc = inflateGetDictionary(&zs, window.data(), &length);
            if (rc != Z_OK) {
                zlib_failure("inflateGetDictionary", rc);
            }
            window.resize(length);
        }
        const int rc = inflateReset(&zs);
        if (rc != Z_OK) {
            zlib_failure("inflateReset", rc);
        }
        if (!window.empty()) {
            const int set =
                inflateSetDictionary(&zs, window.data(), static_cast<uInt>(window.size()));
            if (set != Z_OK) {
                zlib_failure("inflateSetDictionary", set);
            }
        }
    } else if (no_context_takeover_) {
        // §7.1.1.1 / §7.1.1.2: the peer starts each message afresh.
        const int rc = inflateReset(&zs);
        if (rc != Z_OK) {
            zlib_failure("inflateReset", rc);
        }
    }
    if (no_context_takeover_ && pool_ != nullptr) {
        give_spare(pool_->stock_->inflaters, std::move(state_)); // reset: anyone may take it
        state_.reset();
    }
    return Error::ok;
}

// ---------------------------------------------------------------- ZlibStreamPool

ZlibStreamPool::Stock::Stock() {
    deflaters.reserve(k_spares); // give_spare() then never allocates
    inflaters.reserve(k_spares);
}

ZlibStreamPool::Stock::~Stock() = default;

ZlibStreamPool::ZlibStreamPool() noexcept = default;
ZlibStreamPool::~ZlibStreamPool() = default;

std::size_t ZlibStreamPool::spare_deflaters() const noexcept {
    return stock_ ? stock_->deflaters.size() : 0;
}

std::size_t ZlibStreamPool::spare_inflaters() const noexcept {
    return stock_ ? stock_->inflaters.size() : 0;
}

} // namespace nexus::core
