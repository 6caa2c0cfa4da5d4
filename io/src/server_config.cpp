#include "nexus/io/server_config.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ; // NOLINT(readability-identifier-naming): POSIX's name

namespace nexus::io {
namespace {

std::string trim(std::string_view s) {
    const auto begin = s.find_first_not_of(" \t\r");
    if (begin == std::string_view::npos) {
        return {};
    }
    const auto end = s.find_last_not_of(" \t\r");
    return std::string(s.substr(begin, end - begin + 1));
}

[[noreturn]] void bad_value(const std::string& name, const std::string& value,
                            const char* expected) {
    throw std::invalid_argument(name + "=" + value + ": expected " + expected);
}

std::uint64_t parse_unsigned(const std::string& name, const std::string& value, std::uint64_t max) {
    std::uint64_t out = 0;
    const auto* end = value.data() + value.size();
    const auto [ptr, ec] = std::from_chars(value.data(), end, out);
    if (ec != std::errc() || ptr != end || value.empty() || out > max) {
        bad_value(name, value, ("a whole number from 0 to " + std::to_string(max)).c_str());
    }
    return out;
}

/// Seconds, possibly fractional ("0.5"), as milliseconds.
std::chrono::milliseconds parse_seconds(const std::string& name, const std::string& value) {
    char* end = nullptr;
    const double seconds = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !(seconds >= 0) || seconds > 1e7) {
        bad_value(name, value, "seconds (a number >= 0)");
    }
    return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

bool parse_bool(const std::string& name, const std::string& value) {
    if (value == "1" || value == "true" || value == "TRUE" || value == "True" || value == "yes" ||
        value == "on") {
        return true;
    }
    if (value == "0" || value == "false" || value == "FALSE" || value == "False" || value == "no" ||
        value == "off" || value.empty()) {
        return false;
    }
    bad_value(name, value, "true or false");
}

std::vector<std::string> parse_list(const std::string& value) {
    std::vector<std::string> out;
    std::stringstream in(value);
    std::string item;
    while (std::getline(in, item, ',')) {
        item = trim(item);
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

} // namespace

void ServerConfig::apply_environment(const std::map<std::string, std::string>& env) {
    const auto get = [&env](const char* name) -> const std::string* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : &it->second;
    };
    if (const auto* v = get("WEBSOCKET_HOST")) {
        host = *v;
    }
    if (const auto* v = get("WEBSOCKET_PORT")) {
        port = static_cast<std::uint16_t>(parse_unsigned("WEBSOCKET_PORT", *v, 65535));
    }
    if (const auto* v = get("WEBSOCKET_THREADS")) {
        threads = static_cast<unsigned>(parse_unsigned("WEBSOCKET_THREADS", *v, 256));
        if (threads == 0) {
            bad_value("WEBSOCKET_THREADS", *v, "at least 1");
        }
    }
    if (const auto* v = get("WEBSOCKET_MAX_CLIENTS")) {
        max_clients = parse_unsigned("WEBSOCKET_MAX_CLIENTS", *v, 10'000'000);
    }
    if (const auto* v = get("WEBSOCKET_HANDSHAKE_TIMEOUT")) {
        handshake_timeout = parse_seconds("WEBSOCKET_HANDSHAKE_TIMEOUT", *v);
    }
    if (const auto* v = get("WEBSOCKET_MAX_HEADER_BYTES")) {
        max_header_bytes = parse_unsigned("WEBSOCKET_MAX_HEADER_BYTES", *v, 1 << 20);
    }
    if (const auto* v = get("WEBSOCKET_MAX_FRAME_SIZE")) {
        max_frame_size = parse_unsigned("WEBSOCKET_MAX_FRAME_SIZE", *v, std::uint64_t{1} << 40);
    }
    if (const auto* v = get("WEBSOCKET_MAX_MESSAGE_SIZE")) {
        max_message_size = parse_unsigned("WEBSOCKET_MAX_MESSAGE_SIZE", *v, std::uint64_t{1} << 40);
    }
    if (const auto* v = get("WEBSOCKET_PING_INTERVAL")) {
        ping_interval = parse_seconds("WEBSOCKET_PING_INTERVAL", *v);
    }
    // SOCKET_TIMEOUT (the seed's general timeout) bounds the pong wait unless
    // WEBSOCKET_PONG_TIMEOUT says otherwise.
    if (const auto* v = get("SOCKET_TIMEOUT")) {
        pong_timeout = parse_seconds("SOCKET_TIMEOUT", *v);
    }
    if (const auto* v = get("WEBSOCKET_PONG_TIMEOUT")) {
        pong_timeout = parse_seconds("WEBSOCKET_PONG_TIMEOUT", *v);
    }
    if (const auto* v = get("WEBSOCKET_IDLE_TIMEOUT")) {
        idle_timeout = parse_seconds("WEBSOCKET_IDLE_TIMEOUT", *v);
    }
    if (const auto* v = get("WEBSOCKET_MAX_SEND_QUEUE")) {
        max_send_queue = parse_unsigned("WEBSOCKET_MAX_SEND_QUEUE", *v, std::uint64_t{1} << 40);
    }
    if (const auto* v = get("WEBSOCKET_RATE_LIMIT")) {
        char* end = nullptr;
        const double rate = std::strtod(v->c_str(), &end);
        if (v->empty() || end != v->c_str() + v->size() || !(rate >= 0)) {
            bad_value("WEBSOCKET_RATE_LIMIT", *v, "messages per second (a number >= 0)");
        }
        max_messages_per_second = rate;
    }
    if (const auto* v = get("WEBSOCKET_STOP_TIMEOUT")) {
        close_timeout = parse_seconds("WEBSOCKET_STOP_TIMEOUT", *v);
    }
    if (const auto* v = get("WEBSOCKET_ALLOWED_ORIGINS")) {
        allowed_origins = parse_list(*v);
    }
    if (const auto* v = get("WEBSOCKET_SUBPROTOCOLS")) {
        subprotocols = parse_list(*v);
    }
    if (const auto* v = get("WEBSOCKET_COMPRESSION")) {
        permessage_deflate = parse_bool("WEBSOCKET_COMPRESSION", *v);
    }
    if (const auto* v = get("WEBSOCKET_COMPRESSION_LEVEL")) {
        // zlib's levels: 1 fastest ... 9 smallest, 0 stored, -1 its default (6).
        if (*v == "-1") {
            deflate.compression_level = -1;
        } else {
            deflate.compression_level =
                static_cast<int>(parse_unsigned("WEBSOCKET_COMPRESSION_LEVEL", *v, 9));
        }
    }
    if (const auto* v = get("WEBSOCKET_STATIC_DIR")) {
        static_dir = *v;
    }
    if (const auto* v = get("WEBSOCKET_LOG_LEVEL")) {
        if (!parse_log_level(*v, log_level)) {
            bad_value("WEBSOCKET_LOG_LEVEL", *v, "trace, debug, info, warning, error or off");
        }
    }
    // TLS: a certificate turns it on; an empty one turns it off. The key and
    // passphrase only mean something with a certificate.
    if (const auto* v = get("WEBSOCKET_TLS_CERT")) {
        if (v->empty()) {
            tls.reset();
        } else {
            if (!tls) {
                tls.emplace();
            }
            tls->local_cert = *v;
        }
    }
    for (const auto& [name, field] :
         {std::pair{"WEBSOCKET_TLS_KEY", &TlsOptions::local_pk},
          std::pair{"WEBSOCKET_TLS_PASSPHRASE", &TlsOptions::passphrase}}) {
        if (const auto* v = get(name)) {
            if (!tls && !v->empty()) {
                // (Never the value: it may be a passphrase.)
                throw std::invalid_argument(std::string(name) +
                                            " is set but WEBSOCKET_TLS_CERT is not");
            }
            if (tls) {
                (*tls).*field = *v;
            }
        }
    }
    if (const auto* v = get("WEBSOCKET_SCALING")) {
        if (*v == "redis") {
            scaling.enabled = true;
        } else if (v->empty() || *v == "none" || *v == "off") {
            scaling.enabled = false;
        } else {
            bad_value("WEBSOCKET_SCALING", *v, "redis or none");
        }
    }
    if (const auto* v = get("REDIS_URL")) {
        try {
            (void)RedisEndpoint::parse(*v);
        } catch (const std::invalid_argument& e) {
            // (Not the value: it may hold a password.)
            throw std::invalid_argument(std::string("REDIS_URL: ") + e.what());
        }
        scaling.redis_url = *v;
    }
    if (const auto* v = get("WEBSOCKET_SCALING_PREFIX")) {
        scaling.prefix = *v;
    }
    if (const auto* v = get("WEBSOCKET_SCALING_LEASE")) {
        scaling.presence_lease = parse_seconds("WEBSOCKET_SCALING_LEASE", *v);
    }
    if (const auto* v = get("WEBSOCKET_SCALING_TIMEOUT")) {
        scaling.redis_timeout = parse_seconds("WEBSOCKET_SCALING_TIMEOUT", *v);
    }
    if (const auto* v = get("WEBSOCKET_SCALING_BACKLOG")) {
        scaling.max_backlog =
            parse_unsigned("WEBSOCKET_SCALING_BACKLOG", *v, std::uint64_t{1} << 40);
    }
}

std::map<std::string, std::string> parse_dotenv(const std::string& text) {
    std::map<std::string, std::string> out;
    std::stringstream in(text);
    std::string raw;
    int line_number = 0;
    while (std::getline(in, raw)) {
        ++line_number;
        std::string line = trim(raw);
        if (line.empty() || line[0] == '#') {
            continue;
        }
        if (line.rfind("export ", 0) == 0) {
            line = trim(line.substr(7));
        }
        const auto eq = line.find('=');
        const auto fail = [line_number](const std::string& what) {
            throw std::invalid_argument("line " + std::to_string(line_number) + ": " + what);
        };
        if (eq == std::string::npos || eq == 0) {
            fail("expected NAME=value");
        }
        const std::string name = trim(line.substr(0, eq));
        for (char c : name) {
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) {
                fail("invalid variable name '" + name + "'");
            }
        }
        std::string value = trim(line.substr(eq + 1));
        if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
            const char quote = value[0];
            std::string unquoted;
            std::size_t i = 1;
            for (; i < value.size() && value[i] != quote; ++i) {
                if (quote == '"' && value[i] == '\\' && i + 1 < value.size()) {
                    const char next = value[++i];
                    unquoted += next == 'n' ? '\n' : next == 't' ? '\t' : next;
                } else {
                    unquoted += value[i];
                }
            }
            if (i >= value.size()) {
                fail("unterminated quoted value");
            }
            const std::string after = trim(value.substr(i + 1));
            if (!after.empty() && after[0] != '#') {
                fail("text after the closing quote");
            }
            value = unquoted;
        } else if (const auto hash = value.find(" #"); hash != std::string::npos) {
            value = trim(value.substr(0, hash)); // inline comment
        }
        out[name] = value;
    }
    return out;
}

std::map<std::string, std::string> load_environment(const std::string& dotenv_path) {
    std::map<std::string, std::string> env;
    if (!dotenv_path.empty()) {
        std::ifstream file(dotenv_path);
        if (file) {
            std::stringstream text;
            text << file.rdbuf();
            try {
                env = parse_dotenv(text.str());
            } catch (const std::invalid_argument& e) {
                throw std::invalid_argument(dotenv_path + ": " + e.what());
            }
        }
    }
    for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
        const std::string_view entry(*p);
        const auto eq = entry.find('=');
        if (eq != std::string_view::npos) {
            env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
        }
    }
    return env;
}

} // namespace nexus::io
