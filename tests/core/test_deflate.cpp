// permessage-deflate (RFC 7692): negotiation and the codec.
#include "nexus/core/deflate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::core {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes(std::initializer_list<int> list) {
    Bytes out;
    for (int b : list) {
        out.push_back(static_cast<std::uint8_t>(b));
    }
    return out;
}

Bytes bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

Bytes to_bytes(const ByteBuffer& b) {
    return {b.data(), b.data() + b.size()};
}

std::span<const std::uint8_t> span(const Bytes& b) {
    return {b.data(), b.size()};
}

Bytes random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    Bytes out(n);
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(rng());
    }
    return out;
}

// Text-like data with long repeats at short and long distances.
Bytes repetitive_bytes(std::size_t n) {
    static constexpr std::string_view k_words[] = {"alpha ", "beta ",    "gamma ",
                                                   "delta ", "epsilon ", "zeta\n"};
    Bytes out;
    out.reserve(n);
    std::size_t i = 0;
    while (out.size() < n) {
        const std::string_view w = k_words[(i * 7 + i / 13) % 6];
        for (char c : w) {
            if (out.size() < n) {
                out.push_back(static_cast<std::uint8_t>(c));
            }
        }
        ++i;
    }
    return out;
}

DeflateParams params_with(int bits, bool no_takeover) {
    DeflateParams p;
    p.server_max_window_bits = bits;
    p.client_max_window_bits = bits;
    p.server_no_context_takeover = no_takeover;
    p.client_no_context_takeover = no_takeover;
    return p;
}

Bytes compress(Deflater& d, const Bytes& in) {
    ByteBuffer out;
    d.compress(span(in), true, out);
    return to_bytes(out);
}

// Inflates one whole message; expects success.
Bytes inflate_ok(Inflater& i, const Bytes& in, std::size_t limit = SIZE_MAX) {
    ByteBuffer out;
    EXPECT_EQ(i.decompress(span(in), true, out, limit), Error::ok);
    return to_bytes(out);
}

// Inflates `in` handed over in pieces cut at `cuts` (ascending offsets).
Error inflate_split(const Bytes& in, const std::vector<std::size_t>& cuts, Bytes& result) {
    Inflater inf(DeflateParams{}, Role::client);
    ByteBuffer out;
    std::size_t from = 0;
    for (std::size_t cut : cuts) {
        const Error e = inf.decompress(span(in).subspan(from, cut - from), false, out, SIZE_MAX);
        if (e != Error::ok) {
            return e;
        }
        from = cut;
    }
    const Error e = inf.decompress(span(in).subspan(from), true, out, SIZE_MAX);
    result = to_bytes(out);
    return e;
}

// --- RFC 7692 §7.2.3 examples ---------------------------------------------

const Bytes k_hello = bytes("Hello");
const Bytes k_hello_deflated = bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});

TEST(Deflate, Rfc7692_7_2_3_1_Compress) {
    Deflater d(DeflateParams{}, Role::server);
    EXPECT_EQ(compress(d, k_hello), k_hello_deflated);
}

TEST(Deflate, Rfc7692_7_2_3_1_DecompressWholeAndEverySplit) {
    Bytes result;
    ASSERT_EQ(inflate_split(k_hello_deflated, {}, result), Error::ok);
    EXPECT_EQ(result, k_hello);
    // Every two-piece and three-piece split, and byte by byte.
    const std::size_t n = k_hello_deflated.size();
    for (std::size_t a = 0; a <= n; ++a) {
        for (std::size_t b = a; b <= n; ++b) {
            ASSERT_EQ(inflate_split(k_hello_deflated, {a, b}, result), Error::ok) << a << " " << b;
            EXPECT_EQ(result, k_hello) << a << " " << b;
        }
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < n; ++i) {
        every.push_back(i);
    }
    ASSERT_EQ(inflate_split(k_hello_deflated, every, result), Error::ok);
    EXPECT_EQ(result, k_hello);
}

TEST(Deflate, Rfc7692_7_2_3_1_FragmentedFrames) {
    // The same message sent as two frames "f2 48 cd" and "c9 c9 07 00".
    Inflater inf(DeflateParams{}, Role::client);
    ByteBuffer out;
    ASSERT_EQ(inf.decompress(span(bytes({0xf2, 0x48, 0xcd})), false, out, SIZE_MAX), Error::ok);
    ASSERT_EQ(inf.decompress(span(bytes({0xc9, 0xc9, 0x07, 0x00})), true, out, SIZE_MAX),
              Error::ok);
    EXPECT_EQ(to_bytes(out), k_hello);
}

// §7.2.3.2 shows the second "Hello" as f2 00 11 00 01 00; zlib 1.2.13 emits
// another valid encoding of the same back-reference, f2 00 11 00 00. We
// assert zlib's bytes and that both decode.
const Bytes k_hello_again_rfc = bytes({0xf2, 0x00, 0x11, 0x00, 0x01, 0x00});
const Bytes k_hello_again_zlib = bytes({0xf2, 0x00, 0x11, 0x00, 0x00});

TEST(Deflate, Rfc7692_7_2_3_2_ContextTakeover) {
    Deflater d(DeflateParams{}, Role::server);
    EXPECT_EQ(compress(d, k_hello), k_hello_deflated);
    EXPECT_EQ(compress(d, k_hello), k_hello_again_zlib);

    for (const Bytes& again : {k_hello_again_rfc, k_hello_again_zlib}) {
        Inflater i(DeflateParams{}, Role::client);
        EXPECT_EQ(inflate_ok(i, k_hello_deflated), k_hello);
        EXPECT_EQ(inflate_ok(i, again), k_hello);
        EXPECT_EQ(inflate_ok(i, again), k_hello);
    }
}

TEST(Deflate, Rfc7692_7_2_3_2_NoContextTakeover) {
    DeflateParams p;
    p.server_no_context_takeover = true;
    Deflater d(p, Role::server);
    EXPECT_EQ(compress(d, k_hello), k_hello_deflated);
    EXPECT_EQ(compress(d, k_hello), k_hello_deflated);

    // The client's compressor keeps its context: client_* was not agreed.
    Deflater c(p, Role::client);
    EXPECT_EQ(compress(c, k_hello), k_hello_deflated);
    EXPECT_EQ(compress(c, k_hello), k_hello_again_zlib);

    Inflater i(p, Role::client);
    EXPECT_EQ(inflate_ok(i, k_hello_deflated), k_hello);
    EXPECT_EQ(inflate_ok(i, k_hello_deflated), k_hello);
}

TEST(Deflate, NoContextTakeoverInflaterForgetsThePreviousMessage) {
    // A back-reference into the previous message must fail once the peer's
    // no_context_takeover was agreed (the inflater was reset).
    DeflateParams p;
    p.server_no_context_takeover = true;
    Inflater i(p, Role::client);
    EXPECT_EQ(inflate_ok(i, k_hello_deflated), k_hello);
    ByteBuffer out;
    EXPECT_EQ(i.decompress(span(k_hello_again_rfc), true, out, SIZE_MAX),
              Error::bad_compressed_data);
}

// --- streams lent per message (ZlibStreamPool) ----------------------------

TEST(Deflate, WithAPoolAStreamIsHeldOnlyWithinAMessage) {
    const DeflateParams p = params_with(15, true);
    ZlibStreamPool pool;
    Deflater d(p, Role::server, -1, 8, &pool);
    Inflater i(p, Role::server, &pool);
    const Bytes text = bytes("a message, and then the same message, and then the same message");
    ByteBuffer first;
    d.compress(span(text).first(20), false, first);
    EXPECT_TRUE(d.has_stream()); // in the middle of a message
    EXPECT_EQ(pool.spare_deflaters(), 0U);
    d.compress(span(text).subspan(20), true, first);
    EXPECT_FALSE(d.has_stream()); // back in the pool
    EXPECT_EQ(pool.spare_deflaters(), 1U);
    ByteBuffer plain;
    const Bytes compressed = to_bytes(first);
    ASSERT_EQ(i.decompress(span(compressed).first(5), false, plain, SIZE_MAX), Error::ok);
    EXPECT_TRUE(i.has_stream());
    ASSERT_EQ(i.decompress(span(compressed).subspan(5), true, plain, SIZE_MAX), Error::ok);
    EXPECT_FALSE(i.has_stream());
    EXPECT_EQ(pool.spare_inflaters(), 1U);
    EXPECT_EQ(to_bytes(plain), text);

    // With context takeover there is history to keep: the pool is not used.
    Deflater keeps(params_with(15, false), Role::server, -1, 8, &pool);
    compress(keeps, text);
    EXPECT_TRUE(keeps.has_stream());
    EXPECT_EQ(pool.spare_deflaters(), 1U);
}

TEST(Deflate, ALentStreamCarriesNothingIntoAnotherConnectionsMessage) {
    // A second compressor takes the stream the first gave back: its message
    // must decode alone, with no history (a stream that was not reset would
    // point back into the first message, the same text).
    const DeflateParams p = params_with(15, true);
    ZlibStreamPool pool;
    const Bytes text = bytes("twice the same text, twice the same text, twice the same text");
    Deflater a(p, Role::server, -1, 8, &pool);
    Deflater b(p, Role::server, -1, 8, &pool);
    const Bytes from_a = compress(a, text);
    const Bytes from_b = compress(b, text);
    EXPECT_EQ(from_a, from_b);
    EXPECT_EQ(pool.spare_deflaters(), 1U); // one stream served both
    Inflater fresh(p, Role::client);
    EXPECT_EQ(inflate_ok(fresh, from_b), text);

    // The same for inflaters: after one took in a message, another one's
    // back-reference into that message is corrupt data for it.
    DeflateParams q;
    q.server_no_context_takeover = true;
    Inflater first(q, Role::client, &pool);
    Inflater second(q, Role::client, &pool);
    EXPECT_EQ(inflate_ok(first, k_hello_deflated), k_hello);
    ByteBuffer out;
    EXPECT_EQ(second.decompress(span(k_hello_again_rfc), true, out, SIZE_MAX),
              Error::bad_compressed_data);
}

TEST(Deflate, MessagesUnderWayKeepTheirOwnStreamsAndThePoolStaysSmall) {
    // Three connections halfway through a message at once, while a fourth
    // sends whole ones: each keeps its stream until its message ends, and
    // the pool keeps k_spares of them afterwards.
    const DeflateParams p = params_with(15, true);
    ZlibStreamPool pool;
    const Bytes long_text = repetitive_bytes(50000);
    const Bytes short_text = bytes("short, short, short, short, short");
    std::vector<std::unique_ptr<Deflater>> halfway;
    std::vector<ByteBuffer> outputs(3);
    for (std::size_t n = 0; n < 3; ++n) {
        halfway.push_back(std::make_unique<Deflater>(p, Role::server, -1, 8, &pool));
        halfway[n]->compress(span(long_text).first(20000), false, outputs[n]);
    }
    Deflater whole(p, Role::server, -1, 8, &pool);
    const Bytes from_whole = compress(whole, short_text);
    for (std::size_t n = 0; n < 3; ++n) {
        halfway[n]->compress(span(long_text).subspan(20000), true, outputs[n]);
    }
    EXPECT_EQ(pool.spare_deflaters(), ZlibStreamPool::k_spares);

    Inflater ia(p, Role::client, &pool);
    Inflater ib(p, Role::client, &pool);
    const Bytes a_bytes = to_bytes(outputs[1]);
    ByteBuffer out_a;
    ASSERT_EQ(ia.decompress(span(a_bytes).first(a_bytes.size() / 2), false, out_a, SIZE_MAX),
              Error::ok);
    EXPECT_EQ(inflate_ok(ib, from_whole), short_text);
    ASSERT_EQ(ia.decompress(span(a_bytes).subspan(a_bytes.size() / 2), true, out_a, SIZE_MAX),
              Error::ok);
    EXPECT_EQ(to_bytes(out_a), long_text);
}

TEST(Deflate, Rfc7692_7_2_3_3_StoredBlock) {
    Inflater i(DeflateParams{}, Role::client);
    EXPECT_EQ(
        inflate_ok(i, bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00})),
        k_hello);
}

TEST(Deflate, Rfc7692_7_2_3_4_BfinalThenMoreMessages) {
    const Bytes bfinal = bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
    Inflater i(DeflateParams{}, Role::client);
    EXPECT_EQ(inflate_ok(i, bfinal), k_hello);
    // With context takeover the next message may still refer to "Hello".
    EXPECT_EQ(inflate_ok(i, bytes({0xf2, 0x00, 0x11, 0x00, 0x01, 0x00})), k_hello);
    EXPECT_EQ(inflate_ok(i, bfinal), k_hello);
    EXPECT_EQ(inflate_ok(i, k_hello_deflated), k_hello);
}

TEST(Deflate, BytesAfterBfinalBlockAreCorrupt) {
    Inflater i(DeflateParams{}, Role::client);
    ByteBuffer out;
    EXPECT_EQ(i.decompress(span(bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})), true, out,
                           SIZE_MAX),
              Error::bad_compressed_data);
}

TEST(Deflate, Rfc7692_7_2_3_5_TwoBlocks) {
    Inflater i(DeflateParams{}, Role::client);
    EXPECT_EQ(inflate_ok(i, bytes({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9,
                                   0x07, 0x00})),
              k_hello);
}

TEST(Deflate, Rfc7692_7_2_3_6_EmptyMessage) {
    Deflater d(DeflateParams{}, Role::client);
    EXPECT_EQ(compress(d, {}), bytes({0x00}));
    EXPECT_FALSE(d.has_stream()); // no zlib state for an empty message
    Inflater i(DeflateParams{}, Role::server);
    EXPECT_EQ(inflate_ok(i, bytes({0x00})), Bytes{});
    // An empty payload is taken as an empty message too.
    EXPECT_EQ(inflate_ok(i, Bytes{}), Bytes{});
    EXPECT_EQ(inflate_ok(i, k_hello_deflated), k_hello);
}

TEST(Deflate, StreamsAreCreatedLazily) {
    Deflater d(DeflateParams{}, Role::client);
    Inflater i(DeflateParams{}, Role::server);
    EXPECT_FALSE(d.has_stream());
    EXPECT_FALSE(i.has_stream());
    const Bytes c = compress(d, k_hello);
    EXPECT_TRUE(d.has_stream());
    EXPECT_EQ(inflate_ok(i, c), k_hello);
    EXPECT_TRUE(i.has_stream());
}

// --- round trips ----------------------------------------------------------

TEST(Deflate, RoundTripsEveryWindowAndTakeoverMode) {
    const std::vector<std::size_t> sizes = {0, 1, 125, 64 * 1024, 1024 * 1024};
    std::vector<Bytes> messages;
    for (std::size_t n : sizes) {
        messages.push_back(random_bytes(n, static_cast<unsigned>(n)));
        messages.push_back(repetitive_bytes(n));
    }
    for (int bits = 8; bits <= 15; ++bits) {
        for (bool no_takeover : {false, true}) {
            SCOPED_TRACE("bits " + std::to_string(bits) + " no_takeover " +
                         std::to_string(no_takeover));
            const DeflateParams p = params_with(bits, no_takeover);
            Deflater d(p, Role::client);
            Inflater i(p, Role::server);
            // Twice over, so the second round can draw on the first's context.
            for (int round = 0; round < 2; ++round) {
                for (const Bytes& m : messages) {
                    const Bytes c = compress(d, m);
                    ASSERT_EQ(inflate_ok(i, c), m) << m.size();
                }
            }
        }
    }
}

TEST(Deflate, RepetitiveDataShrinks) {
    Deflater d(DeflateParams{}, Role::server);
    const Bytes m = repetitive_bytes(64 * 1024);
    EXPECT_LT(compress(d, m).size(), m.size() / 10);
}

// Inflates with a true 2^8-byte window (zlib accepts 8 for raw inflate). zlib
// checks a distance against its window plus the output of the current call,
// so the output is taken 16 bytes at a time: any distance beyond 256 + 16
// bytes is then "invalid distance too far back" (Z_DATA_ERROR).
int inflate_with_8_bit_window(Bytes compressed, Bytes& result) {
    compressed.insert(compressed.end(), {0x00, 0x00, 0xff, 0xff});
    z_stream zs{};
    if (inflateInit2(&zs, -8) != Z_OK) {
        return Z_STREAM_ERROR;
    }
    result.clear();
    zs.next_in = compressed.data();
    zs.avail_in = static_cast<uInt>(compressed.size());
    int rc = Z_OK;
    do {
        std::uint8_t chunk[16];
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_SYNC_FLUSH);
        result.insert(result.end(), chunk, zs.next_out);
    } while (rc == Z_OK && (zs.avail_in != 0 || zs.avail_out == 0));
    inflateEnd(&zs);
    return rc == Z_BUF_ERROR ? Z_OK : rc;
}

TEST(Deflate, EightBitWindowIsRespected) {
    // 300 random bytes over and over: every match is 300 bytes back.
    const Bytes period = random_bytes(300, 8);
    Bytes m;
    while (m.size() < 64 * 1024) {
        m.insert(m.end(), period.begin(), period.end());
    }
    const DeflateParams p = params_with(8, false);
    Deflater d(p, Role::server);
    const Bytes first = compress(d, m);
    const Bytes second = compress(d, m);

    Bytes result;
    EXPECT_EQ(inflate_with_8_bit_window(first, result), Z_OK);
    EXPECT_EQ(result, m);
    EXPECT_EQ(inflate_with_8_bit_window(second, result), Z_OK);
    EXPECT_EQ(result, m);

    // Our own inflater with 8 agreed (it inflates with 9).
    Inflater i(p, Role::client);
    EXPECT_EQ(inflate_ok(i, first), m);
    EXPECT_EQ(inflate_ok(i, second), m);

    // The check is meaningful: a 10-bit window at zlib's default level
    // reaches 300 bytes back on the same data. (zlib's own deflater stays
    // within window - 262 bytes, so at 9 bits it happens not to; we still use
    // level 0 rather than lean on that internal.)
    Deflater ten(params_with(10, false), Role::server);
    EXPECT_EQ(inflate_with_8_bit_window(compress(ten, m), result), Z_DATA_ERROR);
}

TEST(Deflate, FragmentByFragmentDecodesAsOneMessage) {
    for (bool no_takeover : {false, true}) {
        const DeflateParams p = params_with(15, no_takeover);
        Deflater d(p, Role::client);
        Inflater i(p, Role::server);
        const Bytes m = repetitive_bytes(10000);
        for (int round = 0; round < 3; ++round) {
            SCOPED_TRACE("no_takeover " + std::to_string(no_takeover) + " round " +
                         std::to_string(round));
            ByteBuffer wire;
            // Uneven fragments, an empty one in the middle and an empty last.
            const std::vector<std::size_t> cuts = {0, 1, 700, 700, 4096, 9999, 10000};
            for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
                d.compress(span(m).subspan(cuts[k], cuts[k + 1] - cuts[k]), false, wire);
            }
            d.compress({}, true, wire);
            EXPECT_EQ(inflate_ok(i, to_bytes(wire)), m);

            // The same with the last fragment carrying data.
            ByteBuffer wire2;
            d.compress(span(m).subspan(0, 5000), false, wire2);
            d.compress(span(m).subspan(5000), true, wire2);
            EXPECT_EQ(inflate_ok(i, to_bytes(wire2)), m);
        }
    }
}

TEST(Deflate, DecompressAnyChunkingOfALongerMessage) {
    Deflater d(DeflateParams{}, Role::client);
    const Bytes m = repetitive_bytes(3000);
    const Bytes c = compress(d, m);
    for (std::size_t cut = 0; cut <= c.size(); ++cut) {
        Bytes result;
        ASSERT_EQ(inflate_split(c, {cut}, result), Error::ok) << cut;
        ASSERT_EQ(result, m) << cut;
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < c.size(); ++i) {
        every.push_back(i);
    }
    Bytes result;
    ASSERT_EQ(inflate_split(c, every, result), Error::ok);
    EXPECT_EQ(result, m);
}

// --- limits and corrupt input ---------------------------------------------

TEST(Deflate, ZipBombStopsAtTheLimit) {
    const Bytes zeros(1024 * 1024, 0);
    Deflater d(DeflateParams{}, Role::client);
    const Bytes bomb = compress(d, zeros);
    EXPECT_LT(bomb.size(), 2048u);

    {
        Inflater i(DeflateParams{}, Role::server);
        ByteBuffer out;
        EXPECT_EQ(i.decompress(span(bomb), true, out, zeros.size()), Error::ok);
        EXPECT_EQ(out.size(), zeros.size());
    }
    {
        Inflater i(DeflateParams{}, Role::server);
        ByteBuffer out;
        EXPECT_EQ(i.decompress(span(bomb), true, out, zeros.size() - 1), Error::message_too_big);
        EXPECT_LE(out.size(), zeros.size() - 1);
        EXPECT_LE(out.capacity(), 2 * zeros.size());
        // Sticky.
        EXPECT_EQ(i.decompress(span(k_hello_deflated), true, out, SIZE_MAX),
                  Error::message_too_big);
    }
    {
        // A small limit keeps memory small, fed in pieces too.
        Inflater i(DeflateParams{}, Role::server);
        ByteBuffer out;
        Error e = Error::ok;
        for (std::size_t k = 0; k < bomb.size() && e == Error::ok; k += 100) {
            e = i.decompress(span(bomb).subspan(k, std::min<std::size_t>(100, bomb.size() - k)),
                             false, out, 4096);
        }
        EXPECT_EQ(e, Error::message_too_big);
        EXPECT_LE(out.size(), 4096u);
        EXPECT_LE(out.capacity(), 16384u);
    }
}

TEST(Deflate, LimitCountsWhatOutAlreadyHolds) {
    Inflater i(DeflateParams{}, Role::server);
    ByteBuffer out;
    out.append(std::string_view("abc"));
    EXPECT_EQ(i.decompress(span(k_hello_deflated), true, out, 8), Error::ok);
    EXPECT_EQ(to_bytes(out), bytes("abcHello"));

    Inflater j(DeflateParams{}, Role::server);
    ByteBuffer out2;
    out2.append(std::string_view("abcd"));
    EXPECT_EQ(j.decompress(span(k_hello_deflated), true, out2, 8), Error::message_too_big);
    EXPECT_LE(out2.size(), 8u);
}

TEST(Deflate, CorruptInput) {
    const std::vector<Bytes> corrupt = {
        bytes({0xff, 0xff, 0xff, 0xff}),             // reserved block type 11
        bytes({0x00, 0x05, 0x00, 0x00, 0x00, 0x48}), // stored LEN/NLEN mismatch
        bytes({0xf2, 0x00, 0x11, 0x00, 0x01, 0x00}), // distance before the start
        bytes({0xf2, 0x48, 0xcd}),                   // truncated mid-block
        bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff,
               0xff}), // tail not stripped
    };
    for (const Bytes& c : corrupt) {
        Inflater i(DeflateParams{}, Role::server);
        ByteBuffer out;
        EXPECT_EQ(i.decompress(span(c), true, out, SIZE_MAX), Error::bad_compressed_data)
            << ::testing::PrintToString(c);
        // Sticky.
        EXPECT_EQ(i.decompress(span(k_hello_deflated), true, out, SIZE_MAX),
                  Error::bad_compressed_data);
    }
}

TEST(Deflate, RandomGarbageNeverCrashes) {
    for (unsigned seed = 0; seed < 200; ++seed) {
        Inflater i(DeflateParams{}, Role::server);
        ByteBuffer out;
        const Error e = i.decompress(span(random_bytes(64, seed)), true, out, 1 << 20);
        EXPECT_TRUE(e == Error::ok || e == Error::bad_compressed_data ||
                    e == Error::message_too_big);
    }
}

// --- negotiation ----------------------------------------------------------

ExtensionParam flag(std::string name) {
    return {std::move(name), std::nullopt};
}
ExtensionParam value(std::string name, std::string v) {
    return {std::move(name), std::move(v)};
}

Extension pmd(std::vector<ExtensionParam> params) {
    return {"permessage-deflate", std::move(params)};
}

struct ServerCase {
    const char* name;
    std::vector<Extension> offers;
    DeflateConfig config;
    const char* response; // nullptr: declined
    DeflateParams params;
};

DeflateConfig config_with(void (*f)(DeflateConfig&)) {
    DeflateConfig c;
    f(c);
    return c;
}

DeflateParams agreed(bool snct, bool cnct, int sbits, int cbits) {
    return {snct, cnct, sbits, cbits};
}

TEST(DeflateNegotiation, Server) {
    const DeflateConfig def;
    const std::vector<ServerCase> cases = {
        {"plain", {pmd({})}, def, "permessage-deflate", agreed(false, false, 15, 15)},
        {"name case-insensitive",
         {{"PerMessage-Deflate", {flag("Server_No_Context_Takeover")}}},
         def,
         "permessage-deflate; server_no_context_takeover",
         agreed(true, false, 15, 15)},
        {"none offered", {}, def, nullptr, {}},
        {"other extensions ignored",
         {{"x-webkit-deflate-frame", {}}, pmd({})},
         def,
         "permessage-deflate",
         {}},
        {"server_no_context_takeover offered",
         {pmd({flag("server_no_context_takeover")})},
         def,
         "permessage-deflate; server_no_context_takeover",
         agreed(true, false, 15, 15)},
        {"server_no_context_takeover added by server",
         {pmd({})},
         config_with([](DeflateConfig& c) { c.server_no_context_takeover = true; }),
         "permessage-deflate; server_no_context_takeover",
         agreed(true, false, 15, 15)},
        {"client_no_context_takeover echoed",
         {pmd({flag("client_no_context_takeover")})},
         def,
         "permessage-deflate; client_no_context_takeover",
         agreed(false, true, 15, 15)},
        {"client_no_context_takeover demanded",
         {pmd({})},
         config_with([](DeflateConfig& c) { c.client_no_context_takeover = true; }),
         "permessage-deflate; client_no_context_takeover",
         agreed(false, true, 15, 15)},
        {"server_max_window_bits answered",
         {pmd({value("server_max_window_bits", "10")})},
         def,
         "permessage-deflate; server_max_window_bits=10",
         agreed(false, false, 10, 15)},
        {"server_max_window_bits lowered by config",
         {pmd({value("server_max_window_bits", "12")})},
         config_with([](DeflateConfig& c) { c.server_max_window_bits = 9; }),
         "permessage-deflate; server_max_window_bits=9",
         agreed(false, false, 9, 15)},
        {"server_max_window_bits unasked",
         {pmd({})},
         config_with([](DeflateConfig& c) { c.server_max_window_bits = 11; }),
         "permessage-deflate; server_max_window_bits=11",
         agreed(false, false, 11, 15)},
        {"server_max_window_bits 8",
         {pmd({value("server_max_window_bits", "8")})},
         def,
         "permessage-deflate; server_max_window_bits=8",
         agreed(false, false, 8, 15)},
        {"client_max_window_bits without value",
         {pmd({flag("client_max_window_bits")})},
         def,
         "permessage-deflate",
         agreed(false, false, 15, 15)},
        {"client_max_window_bits without value, config limits",
         {pmd({flag("client_max_window_bits")})},
         config_with([](DeflateConfig& c) { c.client_max_window_bits = 10; }),
         "permessage-deflate; client_max_window_bits=10",
         agreed(false, false, 15, 10)},
        {"client_max_window_bits with value",
         {pmd({value("client_max_window_bits", "12")})},
         def,
         "permessage-deflate; client_max_window_bits=12",
         agreed(false, false, 15, 12)},
        {"client_max_window_bits value and config",
         {pmd({value("client_max_window_bits", "12")})},
         config_with([](DeflateConfig& c) { c.client_max_window_bits = 9; }),
         "permessage-deflate; client_max_window_bits=9",
         agreed(false, false, 15, 9)},
        {"client_max_window_bits not offered: config cannot apply",
         {pmd({})},
         config_with([](DeflateConfig& c) { c.client_max_window_bits = 9; }),
         "permessage-deflate",
         agreed(false, false, 15, 15)},
        {"everything",
         {pmd({flag("client_max_window_bits"), value("server_max_window_bits", "13"),
               flag("client_no_context_takeover"), flag("server_no_context_takeover")})},
         def,
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=13",
         agreed(true, true, 13, 15)},
        {"quoted value (already unquoted)",
         {pmd({value("server_max_window_bits", "14")})},
         def,
         "permessage-deflate; server_max_window_bits=14",
         agreed(false, false, 14, 15)},
        // Malformed offers are declined; the next acceptable one is taken.
        {"7 declined", {pmd({value("server_max_window_bits", "7")})}, def, nullptr, {}},
        {"16 declined", {pmd({value("server_max_window_bits", "16")})}, def, nullptr, {}},
        {"leading zero declined", {pmd({value("server_max_window_bits", "08")})}, def, nullptr, {}},
        {"abc declined", {pmd({value("client_max_window_bits", "abc")})}, def, nullptr, {}},
        {"empty value declined", {pmd({value("client_max_window_bits", "")})}, def, nullptr, {}},
        {"sign declined", {pmd({value("client_max_window_bits", "+9")})}, def, nullptr, {}},
        {"server_max_window_bits without value declined",
         {pmd({flag("server_max_window_bits")})},
         def,
         nullptr,
         {}},
        {"flag with value declined",
         {pmd({value("server_no_context_takeover", "1")})},
         def,
         nullptr,
         {}},
        {"duplicate flag declined",
         {pmd({flag("client_no_context_takeover"), flag("client_no_context_takeover")})},
         def,
         nullptr,
         {}},
        {"duplicate bits declined",
         {pmd({value("server_max_window_bits", "10"), value("Server_Max_Window_Bits", "10")})},
         def,
         nullptr,
         {}},
        {"duplicate client bits declined",
         {pmd({flag("client_max_window_bits"), value("client_max_window_bits", "10")})},
         def,
         nullptr,
         {}},
        {"unknown parameter declined", {pmd({flag("mux")})}, def, nullptr, {}},
        {"first acceptable of several",
         {pmd({value("server_max_window_bits", "7")}), pmd({flag("x")}),
          pmd({value("server_max_window_bits", "10")}), pmd({})},
         def,
         "permessage-deflate; server_max_window_bits=10",
         agreed(false, false, 10, 15)},
        {"first wins when both good",
         {pmd({flag("server_no_context_takeover")}), pmd({})},
         def,
         "permessage-deflate; server_no_context_takeover",
         agreed(true, false, 15, 15)},
    };
    for (const ServerCase& c : cases) {
        SCOPED_TRACE(c.name);
        std::optional<DeflateParams> params;
        std::string response = "stale";
        ASSERT_EQ(negotiate_deflate(c.offers, c.config, params, response), Error::ok);
        if (c.response == nullptr) {
            EXPECT_FALSE(params.has_value());
            EXPECT_EQ(response, "");
            continue;
        }
        ASSERT_TRUE(params.has_value());
        EXPECT_EQ(response, c.response);
        if (std::string_view(c.name) != "other extensions ignored") {
            EXPECT_EQ(params->server_no_context_takeover, c.params.server_no_context_takeover);
            EXPECT_EQ(params->client_no_context_takeover, c.params.client_no_context_takeover);
            EXPECT_EQ(params->server_max_window_bits, c.params.server_max_window_bits);
            EXPECT_EQ(params->client_max_window_bits, c.params.client_max_window_bits);
        }
    }
}

TEST(DeflateNegotiation, InvalidConfig) {
    for (auto f : {+[](DeflateConfig& c) { c.server_max_window_bits = 7; },
                   +[](DeflateConfig& c) { c.client_max_window_bits = 16; },
                   +[](DeflateConfig& c) { c.compression_level = 10; },
                   +[](DeflateConfig& c) { c.memory_level = 0; }}) {
        const DeflateConfig c = config_with(f);
        EXPECT_EQ(validate_deflate_config(c), Error::local_bad_argument);
        std::optional<DeflateParams> params;
        std::string response;
        EXPECT_EQ(negotiate_deflate({pmd({})}, c, params, response), Error::local_bad_argument);
        EXPECT_FALSE(params.has_value());
        EXPECT_EQ(deflate_offer(c), "");
        DeflateParams p;
        EXPECT_EQ(accept_deflate_response(pmd({}), c, p), Error::local_bad_argument);
    }
    EXPECT_EQ(validate_deflate_config(DeflateConfig{}), Error::ok);
}

TEST(DeflateNegotiation, Offer) {
    EXPECT_EQ(deflate_offer(DeflateConfig{}), "permessage-deflate; client_max_window_bits");
    DeflateConfig c;
    c.offer_client_max_window_bits = false;
    EXPECT_EQ(deflate_offer(c), "permessage-deflate");
    c.server_no_context_takeover = true;
    c.client_no_context_takeover = true;
    c.server_max_window_bits = 10;
    c.client_max_window_bits = 9;
    EXPECT_EQ(deflate_offer(c), "permessage-deflate; server_no_context_takeover; "
                                "client_no_context_takeover; server_max_window_bits=10; "
                                "client_max_window_bits=9");
}

TEST(DeflateNegotiation, OfferIsAcceptedByOurServer) {
    // Client offer -> server answer -> client check, both sides agreeing.
    DeflateConfig client;
    client.server_no_context_takeover = true;
    client.server_max_window_bits = 12;
    client.client_max_window_bits = 11;
    DeflateConfig server;
    server.client_no_context_takeover = true;
    server.client_max_window_bits = 10;
    // Build the offer's Extension by hand (the header parser is tested apart).
    const Extension offer =
        pmd({flag("server_no_context_takeover"), value("server_max_window_bits", "12"),
             value("client_max_window_bits", "11")});
    ASSERT_EQ(deflate_offer(client), "permessage-deflate; server_no_context_takeover; "
                                     "server_max_window_bits=12; client_max_window_bits=11");
    std::optional<DeflateParams> server_params;
    std::string response;
    ASSERT_EQ(negotiate_deflate({offer}, server, server_params, response), Error::ok);
    ASSERT_TRUE(server_params);
    EXPECT_EQ(response, "permessage-deflate; server_no_context_takeover; "
                        "client_no_context_takeover; server_max_window_bits=12; "
                        "client_max_window_bits=10");
    const Extension answer =
        pmd({flag("server_no_context_takeover"), flag("client_no_context_takeover"),
             value("server_max_window_bits", "12"), value("client_max_window_bits", "10")});
    DeflateParams client_params;
    ASSERT_EQ(accept_deflate_response(answer, client, client_params), Error::ok);
    EXPECT_EQ(client_params.server_no_context_takeover, server_params->server_no_context_takeover);
    EXPECT_EQ(client_params.client_no_context_takeover, server_params->client_no_context_takeover);
    EXPECT_EQ(client_params.server_max_window_bits, server_params->server_max_window_bits);
    EXPECT_EQ(client_params.client_max_window_bits, server_params->client_max_window_bits);

    // And the codecs built from both sides' params talk to each other.
    Deflater client_deflater(client_params, Role::client);
    Inflater server_inflater(*server_params, Role::server);
    Deflater server_deflater(*server_params, Role::server);
    Inflater client_inflater(client_params, Role::client);
    const Bytes m = repetitive_bytes(5000);
    for (int k = 0; k < 3; ++k) {
        EXPECT_EQ(inflate_ok(server_inflater, compress(client_deflater, m)), m);
        EXPECT_EQ(inflate_ok(client_inflater, compress(server_deflater, m)), m);
    }
}

struct ClientCase {
    const char* name;
    DeflateConfig offered;
    Extension response;
    Error expected;
    DeflateParams params; // checked when expected is ok
};

TEST(DeflateNegotiation, ClientValidatesResponse) {
    const DeflateConfig def; // offers "permessage-deflate; client_max_window_bits"
    const DeflateConfig no_client_bits =
        config_with([](DeflateConfig& c) { c.offer_client_max_window_bits = false; });
    const DeflateConfig snct =
        config_with([](DeflateConfig& c) { c.server_no_context_takeover = true; });
    const DeflateConfig cnct =
        config_with([](DeflateConfig& c) { c.client_no_context_takeover = true; });
    const DeflateConfig sbits10 =
        config_with([](DeflateConfig& c) { c.server_max_window_bits = 10; });
    const DeflateConfig cbits10 =
        config_with([](DeflateConfig& c) { c.client_max_window_bits = 10; });
    const std::vector<ClientCase> cases = {
        {"plain", def, pmd({}), Error::ok, agreed(false, false, 15, 15)},
        {"other extension", def, {"x-foo", {}}, Error::unoffered_extension, {}},
        {"server adds server_no_context_takeover", def, pmd({flag("server_no_context_takeover")}),
         Error::ok, agreed(true, false, 15, 15)},
        {"server_no_context_takeover answered", snct, pmd({flag("server_no_context_takeover")}),
         Error::ok, agreed(true, false, 15, 15)},
        {"server_no_context_takeover not answered", snct, pmd({}), Error::bad_extension_params, {}},
        {"server demands client_no_context_takeover", def,
         pmd({flag("client_no_context_takeover")}), Error::ok, agreed(false, true, 15, 15)},
        {"our client_no_context_takeover hint kept", cnct, pmd({}), Error::ok,
         agreed(false, true, 15, 15)},
        {"server_max_window_bits unasked", def, pmd({value("server_max_window_bits", "9")}),
         Error::ok, agreed(false, false, 9, 15)},
        {"server_max_window_bits same", sbits10, pmd({value("server_max_window_bits", "10")}),
         Error::ok, agreed(false, false, 10, 15)},
        {"server_max_window_bits smaller", sbits10, pmd({value("server_max_window_bits", "8")}),
         Error::ok, agreed(false, false, 8, 15)},
        {"server_max_window_bits larger",
         sbits10,
         pmd({value("server_max_window_bits", "11")}),
         Error::bad_extension_params,
         {}},
        {"server_max_window_bits missing", sbits10, pmd({}), Error::bad_extension_params, {}},
        {"server_max_window_bits without value",
         def,
         pmd({flag("server_max_window_bits")}),
         Error::bad_extension_params,
         {}},
        {"client_max_window_bits chosen", def, pmd({value("client_max_window_bits", "9")}),
         Error::ok, agreed(false, false, 15, 9)},
        {"client_max_window_bits not offered",
         no_client_bits,
         pmd({value("client_max_window_bits", "9")}),
         Error::unoffered_extension,
         {}},
        {"client_max_window_bits without value",
         def,
         pmd({flag("client_max_window_bits")}),
         Error::bad_extension_params,
         {}},
        {"client_max_window_bits above offer",
         cbits10,
         pmd({value("client_max_window_bits", "11")}),
         Error::bad_extension_params,
         {}},
        {"client_max_window_bits below offer", cbits10, pmd({value("client_max_window_bits", "8")}),
         Error::ok, agreed(false, false, 15, 8)},
        {"client_max_window_bits unanswered keeps offer", cbits10, pmd({}), Error::ok,
         agreed(false, false, 15, 10)},
        {"value 7",
         def,
         pmd({value("server_max_window_bits", "7")}),
         Error::bad_extension_params,
         {}},
        {"value 16",
         def,
         pmd({value("server_max_window_bits", "16")}),
         Error::bad_extension_params,
         {}},
        {"value 08",
         def,
         pmd({value("client_max_window_bits", "08")}),
         Error::bad_extension_params,
         {}},
        {"value abc",
         def,
         pmd({value("client_max_window_bits", "abc")}),
         Error::bad_extension_params,
         {}},
        {"duplicate",
         def,
         pmd({flag("server_no_context_takeover"), flag("server_no_context_takeover")}),
         Error::bad_extension_params,
         {}},
        {"unknown parameter", def, pmd({flag("foo")}), Error::bad_extension_params, {}},
        {"flag with value",
         def,
         pmd({value("client_no_context_takeover", "x")}),
         Error::bad_extension_params,
         {}},
    };
    for (const ClientCase& c : cases) {
        SCOPED_TRACE(c.name);
        DeflateParams params = agreed(true, true, 1, 1); // sentinel
        ASSERT_EQ(accept_deflate_response(c.response, c.offered, params), c.expected);
        if (c.expected != Error::ok) {
            EXPECT_EQ(params.server_max_window_bits, 1); // untouched
            continue;
        }
        EXPECT_EQ(params.server_no_context_takeover, c.params.server_no_context_takeover);
        EXPECT_EQ(params.client_no_context_takeover, c.params.client_no_context_takeover);
        EXPECT_EQ(params.server_max_window_bits, c.params.server_max_window_bits);
        EXPECT_EQ(params.client_max_window_bits, c.params.client_max_window_bits);
    }
}

} // namespace
} // namespace nexus::core
