#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nexus/io/log.hpp"

namespace nexus::io {
namespace {

TEST(Log, QuietByDefaultAndLevelled) {
    std::vector<std::pair<LogLevel, std::string>> seen;
    set_log_sink([&seen](LogLevel level, std::string_view text) {
        seen.emplace_back(level, std::string(text));
    });
    const LogLevel before = log_level();
    set_log_level(LogLevel::warning); // the default
    log(LogLevel::debug, "hidden {}", 1);
    log(LogLevel::info, "hidden too");
    log(LogLevel::warning, "shown {}", 42);
    log(LogLevel::error, "also shown");
    set_log_level(LogLevel::off);
    log(LogLevel::error, "silenced");
    set_log_level(before);
    set_log_sink({});
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].first, LogLevel::warning);
    EXPECT_EQ(seen[0].second, "shown 42");
    EXPECT_EQ(seen[1].second, "also shown");
}

TEST(Log, LevelNames) {
    LogLevel level = LogLevel::off;
    EXPECT_TRUE(parse_log_level("debug", level));
    EXPECT_EQ(level, LogLevel::debug);
    EXPECT_FALSE(parse_log_level("loud", level));
    EXPECT_EQ(level, LogLevel::debug);
}

} // namespace
} // namespace nexus::io
