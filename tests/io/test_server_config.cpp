#include <gtest/gtest.h>

#include "nexus/io/server_config.hpp"

namespace nexus::io {
namespace {

TEST(ServerConfig, DefaultsAreTheSeeds) {
    const ServerConfig c;
    EXPECT_EQ(c.host, "0.0.0.0");
    EXPECT_EQ(c.port, 8080);
    EXPECT_EQ(c.max_clients, 100u);
    EXPECT_EQ(c.ping_interval, std::chrono::seconds(30));
    EXPECT_EQ(c.pong_timeout, std::chrono::seconds(30));
}

TEST(ServerConfig, EnvironmentOverridesDefaults) {
    ServerConfig c;
    c.apply_environment({{"WEBSOCKET_HOST", "127.0.0.1"},
                         {"WEBSOCKET_PORT", "9001"},
                         {"WEBSOCKET_MAX_CLIENTS", "7"},
                         {"WEBSOCKET_PING_INTERVAL", "0.5"},
                         {"SOCKET_TIMEOUT", "12"},
                         {"WEBSOCKET_COMPRESSION", "true"},
                         {"WEBSOCKET_COMPRESSION_LEVEL", "1"},
                         {"WEBSOCKET_SUBPROTOCOLS", "a, b ,c"},
                         {"WEBSOCKET_LOG_LEVEL", "debug"}});
    EXPECT_EQ(c.host, "127.0.0.1");
    EXPECT_EQ(c.port, 9001);
    EXPECT_EQ(c.max_clients, 7u);
    EXPECT_EQ(c.ping_interval, std::chrono::milliseconds(500));
    EXPECT_EQ(c.pong_timeout, std::chrono::seconds(12));
    EXPECT_TRUE(c.permessage_deflate);
    EXPECT_EQ(c.deflate.compression_level, 1);
    EXPECT_EQ(c.subprotocols, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(c.log_level, LogLevel::debug);
}

TEST(ServerConfig, CompressionLevelKeepsZlibsDefaultUnlessSet) {
    ServerConfig c;
    EXPECT_EQ(c.deflate.compression_level, -1);
    c.apply_environment({{"WEBSOCKET_COMPRESSION_LEVEL", "9"}});
    EXPECT_EQ(c.deflate.compression_level, 9);
    c.apply_environment({{"WEBSOCKET_COMPRESSION_LEVEL", "-1"}});
    EXPECT_EQ(c.deflate.compression_level, -1);
}

TEST(ServerConfig, BadValuesNameTheVariable) {
    for (const auto& [name, value] :
         std::vector<std::pair<std::string, std::string>>{{"WEBSOCKET_PORT", "70000"},
                                                          {"WEBSOCKET_PORT", "80x"},
                                                          {"WEBSOCKET_MAX_CLIENTS", "-1"},
                                                          {"WEBSOCKET_PING_INTERVAL", "soon"},
                                                          {"WEBSOCKET_COMPRESSION", "maybe"},
                                                          {"WEBSOCKET_COMPRESSION_LEVEL", "10"},
                                                          {"WEBSOCKET_COMPRESSION_LEVEL", "-2"},
                                                          {"WEBSOCKET_COMPRESSION_LEVEL", "fast"},
                                                          {"WEBSOCKET_THREADS", "0"},
                                                          {"WEBSOCKET_LOG_LEVEL", "loud"}}) {
        ServerConfig c;
        try {
            c.apply_environment({{name, value}});
            ADD_FAILURE() << name << "=" << value << " was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
    }
}

TEST(DotEnv, ParsesTheUsualForms) {
    const auto env = parse_dotenv("# Socket Configuration\n"
                                  "SOCKET_TYPE=tcp\n"
                                  "\n"
                                  "export WEBSOCKET_PORT=8081\n"
                                  "QUOTED=\"a b\\n#c\"\n"
                                  "SINGLE='x y'\n"
                                  "TRAILING=value # a comment\n"
                                  "EMPTY=\n");
    EXPECT_EQ(env.at("SOCKET_TYPE"), "tcp");
    EXPECT_EQ(env.at("WEBSOCKET_PORT"), "8081");
    EXPECT_EQ(env.at("QUOTED"), "a b\n#c");
    EXPECT_EQ(env.at("SINGLE"), "x y");
    EXPECT_EQ(env.at("TRAILING"), "value");
    EXPECT_EQ(env.at("EMPTY"), "");
}

TEST(DotEnv, MalformedLinesSayWhere) {
    for (const char* text : {"NOEQUALS\n", "A=1\n=2\n", "BAD NAME=1\n", "Q=\"open\n"}) {
        try {
            parse_dotenv(text);
            ADD_FAILURE() << text;
        } catch (const std::invalid_argument& e) {
            EXPECT_EQ(std::string(e.what()).rfind("line ", 0), 0u) << e.what();
        }
    }
}

} // namespace
} // namespace nexus::io
