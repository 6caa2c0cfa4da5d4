#include "nexus/io/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace nexus::io {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::warning)};
std::mutex g_sink_mutex;
std::function<void(LogLevel, std::string_view)>& sink() {
    static std::function<void(LogLevel, std::string_view)> s;
    return s;
}

constexpr std::string_view k_names[] = {"trace", "debug", "info", "warning", "error", "off"};

} // namespace

void set_log_level(LogLevel level) noexcept {
    g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

LogLevel log_level() noexcept {
    return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed));
}

void set_log_sink(std::function<void(LogLevel, std::string_view)> new_sink) {
    const std::lock_guard lock(g_sink_mutex);
    sink() = std::move(new_sink);
}

bool parse_log_level(std::string_view text, LogLevel& out) noexcept {
    for (int i = 0; i <= static_cast<int>(LogLevel::off); ++i) {
        if (text == k_names[i]) {
            out = static_cast<LogLevel>(i);
            return true;
        }
    }
    return false;
}

void write_log(LogLevel level, std::string_view message) noexcept {
    const std::lock_guard lock(g_sink_mutex);
    if (sink()) {
        try {
            sink()(level, message);
        } catch (...) {
        }
        return;
    }
    std::fprintf(stderr, "nexus-socket %s: %.*s\n", k_names[static_cast<int>(level)].data(),
                 static_cast<int>(message.size()), message.data());
}

} // namespace nexus::io
