// Sec-WebSocket-Extensions grammar (RFC 6455 §9.1): parse and format.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "nexus/core/extension.hpp"

namespace nexus::core {
namespace {

std::vector<Extension> parse_ok(std::string_view value) {
    std::vector<Extension> out;
    EXPECT_EQ(parse_extension_list(value, out), Error::ok) << value;
    return out;
}

Error parse_error(std::string_view value) {
    std::vector<Extension> out;
    return parse_extension_list(value, out);
}

TEST(ExtensionParse, NameOnly) {
    const auto exts = parse_ok("permessage-deflate");
    ASSERT_EQ(exts.size(), 1u);
    EXPECT_EQ(exts[0].name, "permessage-deflate");
    EXPECT_TRUE(exts[0].params.empty());
}

TEST(ExtensionParse, ParamsWithAndWithoutValues) {
    const auto exts =
        parse_ok("permessage-deflate; client_max_window_bits;server_max_window_bits=10");
    ASSERT_EQ(exts.size(), 1u);
    ASSERT_EQ(exts[0].params.size(), 2u);
    EXPECT_EQ(exts[0].params[0].name, "client_max_window_bits");
    EXPECT_FALSE(exts[0].params[0].value.has_value());
    EXPECT_EQ(exts[0].params[1].name, "server_max_window_bits");
    EXPECT_EQ(exts[0].params[1].value, "10");
}

TEST(ExtensionParse, QuotedStringValuesAreUnquoted) {
    auto exts = parse_ok("x; a=\"10\"; b = \"abc\" ; c=\"a\\bc\"");
    ASSERT_EQ(exts.size(), 1u);
    ASSERT_EQ(exts[0].params.size(), 3u);
    EXPECT_EQ(exts[0].params[0].value, "10");
    EXPECT_EQ(exts[0].params[1].value, "abc"); // OWS around '=' tolerated
    EXPECT_EQ(exts[0].params[2].value, "abc"); // quoted-pair unescaped
    // Case kept as received.
    exts = parse_ok("X-Foo; Bar=\"BaZ\"");
    EXPECT_EQ(exts[0].name, "X-Foo");
    EXPECT_EQ(exts[0].params[0].name, "Bar");
    EXPECT_EQ(exts[0].params[0].value, "BaZ");
}

TEST(ExtensionParse, ListsWithWhitespaceAndEmptyElements) {
    const auto exts = parse_ok(" , a ,,b;x=1 , \tc ; y ,");
    ASSERT_EQ(exts.size(), 3u);
    EXPECT_EQ(exts[0].name, "a");
    EXPECT_EQ(exts[1].name, "b");
    EXPECT_EQ(exts[1].params[0].value, "1");
    EXPECT_EQ(exts[2].name, "c");
    EXPECT_EQ(exts[2].params[0].name, "y");
    EXPECT_TRUE(parse_ok("").empty());
    EXPECT_TRUE(parse_ok(" , ").empty());
}

TEST(ExtensionParse, AppendsToWhatIsThere) {
    std::vector<Extension> out;
    ASSERT_EQ(parse_extension_list("a", out), Error::ok);
    ASSERT_EQ(parse_extension_list("b, c", out), Error::ok);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[2].name, "c");
}

TEST(ExtensionParse, RejectsMalformedValues) {
    const std::vector<std::string_view> cases = {
        ";",               // no name
        "a;",              // empty param
        "a;;b",            // empty param
        "a; =1",           // no param name
        "a; b=",           // no value
        "a; b= ;c",        // no value
        "a b",             // two tokens
        "a; b c",          // two tokens in a param
        "a; b=1 2",        // junk after a value
        "a; b=@",          // value not a token
        "@",               // name not a token
        "a; b=\"x",        // unterminated quoted-string
        "a; b=\"x\\",      // escape at the end
        "a; b=\"\"",       // quoted value not a token after unescaping (§9.1)
        "a; b=\"x y\"",    // idem
        "a; b=\"a\\\"b\"", // idem (a"b)
        "a; b=\"x\"y",     // junk after the quoted-string
        "a; b=\"\x01\"",   // control in a quoted-string
        "a,;b",            // element starting with ';'
        "a=1",             // a value on the extension name
        "\"a\"",           // quoted name
    };
    for (const auto c : cases) {
        EXPECT_EQ(parse_error(c), Error::bad_extension_header) << c;
    }
}

TEST(ExtensionFormat, FormatsAndRoundTrips) {
    Extension e;
    e.name = "permessage-deflate";
    e.params.push_back({"client_max_window_bits", std::nullopt});
    e.params.push_back({"server_max_window_bits", "10"});
    const std::string text = format_extension(e);
    EXPECT_EQ(text, "permessage-deflate; client_max_window_bits; server_max_window_bits=10");
    const auto back = parse_ok(text);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].name, e.name);
    ASSERT_EQ(back[0].params.size(), 2u);
    EXPECT_EQ(back[0].params[0].name, e.params[0].name);
    EXPECT_EQ(back[0].params[0].value, e.params[0].value);
    EXPECT_EQ(back[0].params[1].value, e.params[1].value);
}

TEST(ExtensionFormat, QuotesValuesThatAreNotTokens) {
    Extension e;
    e.name = "x";
    e.params.push_back({"a", "b c"});
    e.params.push_back({"q", "say \"hi\"\\"});
    EXPECT_EQ(format_extension(e), "x; a=\"b c\"; q=\"say \\\"hi\\\"\\\\\"");
    Extension bare;
    bare.name = "y";
    EXPECT_EQ(format_extension(bare), "y");
}

} // namespace
} // namespace nexus::core
