// Logging through fmt, with levels; quiet (warnings and errors only) unless
// asked. One process-wide sink: stderr, or a function set by the host.
#pragma once

#include <functional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace nexus::io {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warning = 3, error = 4, off = 5 };

/// Messages below `level` are dropped. Thread-safe.
void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
/// Replaces the sink (stderr by default); an empty function restores it.
/// Not thread-safe against concurrent logging: set it before starting loops.
void set_log_sink(std::function<void(LogLevel, std::string_view)> sink);
/// Parses "trace", "debug", "info", "warning", "error", "off".
bool parse_log_level(std::string_view text, LogLevel& out) noexcept;

void write_log(LogLevel level, std::string_view message) noexcept;

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) noexcept {
    if (level < log_level()) {
        return;
    }
    try {
        write_log(level, fmt::format(format, std::forward<Args>(args)...));
    } catch (...) { // logging never throws into the loop
    }
}

} // namespace nexus::io
