// `nexus-socket bench MODE`: a load generator for a nexus-socket (or any
// RFC 6455) server on loopback. One thread, one epoll loop (bench_loop.hpp),
// a workload per mode (bench_workloads.hpp). Figures go to stdout (a summary,
// or one JSON object with --json), a progress line per second to stderr.
//
// Exit status: 0 when the run had no errors, 1 when any connection failed
// (the figures are printed either way), 2 on a usage error.
#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "bench_loop.hpp"
#include "bench_stats.hpp"
#include "bench_workloads.hpp"
#include "commands.hpp"

namespace nexus::tool {
namespace {

using bench::Loop;
using bench::now_ns;

constexpr const char* k_usage =
    "usage: nexus-socket bench [--host H] [--port P] [--path /] MODE [options]\n"
    "Loads a WebSocket server on loopback from one thread and reports its throughput.\n\n"
    "modes:\n"
    "  echo       each connection sends a message and waits for its echo\n"
    "             --connections N (10) --size BYTES (32) --duration S (5) [--binary]\n"
    "             [--deflate]\n"
    "  pipelined  each connection keeps K messages in flight\n"
    "             --connections N (10) --in-flight K (16) --size BYTES (32) --duration S (5)\n"
    "             [--binary] [--deflate]\n"
    "  storm      opens, handshakes and closes connections as fast as possible\n"
    "             --duration S (5) --concurrency C (16)\n"
    "  idle       opens N connections, holds them, closes them\n"
    "             --connections N (1000) --sources K (1: bind to 127.0.0.1..127.0.0.K)\n"
    "             --hold S (0)\n"
    "  broadcast  against `echo --broadcast`: one connection sends, all receive\n"
    "             --connections N (10) --size BYTES (32, >= 8) --duration S (5)\n"
    "             --in-flight K (1); messages are binary\n\n"
    "every mode:\n"
    "  --host ADDR              a loopback address: 127.x.x.x or localhost (127.0.0.1)\n"
    "  --port N                 (8080)   --path /TARGET (/)\n"
    "  --port N,M,...           several servers (sharing clients through Redis):\n"
    "                           connections go to them in turn\n"
    "  --tls                    wss://: TLS to `echo --tls-cert ...`; every connection\n"
    "                           makes a full TLS handshake, certificates are not checked\n"
    "  --warmup S               seconds not counted (1; storm 0; not for idle)\n"
    "  --server-pid PID         also measure the server's CPU time (and for idle its\n"
    "                           RSS) and report the rate per server CPU-second\n"
    "  --server-pid P,Q,...     several servers: their CPU time (and RSS) added up\n"
    "  --json                   print one JSON object on stdout\n"
    "  --deflate                (echo, pipelined) permessage-deflate, required of the\n"
    "                           server, which compresses every echo; messages are\n"
    "                           varied words, sent uncompressed\n"
    "  --help                   this text\n\n"
    "Exit status 0 without errors, 1 when connections failed, 2 on bad arguments.\n"
    "Mask keys come from a fast non-cryptographic generator: this is a load\n"
    "generator, not a client to trust with untrusted intermediaries.\n";

/// What `nexus-socket echo` takes by default (its max_message_size).
constexpr std::uint64_t k_max_size = std::uint64_t{16} * 1024 * 1024;

enum class Mode { echo, pipelined, storm, idle, broadcast };

struct Settings {
    Mode mode = Mode::echo;
    std::string mode_name;
    bench::Target target;
    std::string host;
    std::vector<std::uint16_t> ports;
    std::uint64_t connections = 10;
    std::uint64_t size = 32;
    std::uint64_t in_flight = 1;
    std::uint64_t concurrency = 16;
    std::uint64_t sources = 1;
    double duration = 5;
    double warmup = 1;
    double hold = 0;
    bool binary = false;
    bool json = false;
    bool tls = false;
    bool deflate = false;
    std::vector<long> server_pids; // empty: none
};

struct Report {
    std::uint64_t messages = 0;
    double seconds = 0;
    std::optional<double> server_cpu_seconds;
    double client_cpu_seconds = 0;
    const bench::Histogram* latency = nullptr;
    std::uint64_t bytes = 0;
    /// Extra figures of a mode, name → JSON value.
    std::map<std::string, std::string> extra;
};

// ---- options ----

const std::map<std::string, Mode>& modes() {
    static const std::map<std::string, Mode> table = {{"echo", Mode::echo},
                                                      {"pipelined", Mode::pipelined},
                                                      {"storm", Mode::storm},
                                                      {"idle", Mode::idle},
                                                      {"broadcast", Mode::broadcast}};
    return table;
}

/// Options each mode takes besides host, port, path, server-pid, json, help.
std::set<std::string> mode_options(Mode mode) {
    switch (mode) {
    case Mode::echo:
        return {"connections", "size", "duration", "warmup", "binary", "deflate"};
    case Mode::pipelined:
        return {"connections", "in-flight", "size", "duration", "warmup", "binary", "deflate"};
    case Mode::storm:
        return {"duration", "concurrency", "warmup"};
    case Mode::idle:
        return {"connections", "sources", "hold"};
    case Mode::broadcast:
        return {"connections", "size", "duration", "warmup", "in-flight"};
    }
    return {};
}

double seconds_option(const Options& options, const std::string& name, double fallback,
                      double low_exclusive, double high) {
    const double v = options.get_seconds(name, fallback);
    if (!(v > low_exclusive) || v > high) {
        throw UsageError("--" + name + " must be more than " +
                         std::to_string(static_cast<int>(low_exclusive)) + " and at most " +
                         std::to_string(static_cast<int>(high)) + " seconds");
    }
    return v;
}

/// `--name N` or `--name N,M,...`: whole numbers in [low, high]; `fallback`
/// alone when the option is absent.
std::vector<std::uint64_t> number_list(const Options& options, const std::string& name,
                                       std::uint64_t fallback, std::uint64_t low,
                                       std::uint64_t high) {
    if (!options.has(name)) {
        return {fallback};
    }
    std::vector<std::uint64_t> out;
    const std::string text = options.get(name, "");
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = text.find(',', start);
        const std::string item = text.substr(start, comma - start);
        std::uint64_t value = 0;
        const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
        if (item.empty() || error != std::errc() || end != item.data() + item.size() ||
            value < low || value > high) {
            throw UsageError(
                fmt::format("--{} takes numbers from {} to {}, separated by commas: '{}'", name,
                            low, high, text));
        }
        out.push_back(value);
        if (comma == std::string::npos) {
            return out;
        }
        start = comma + 1;
    }
}

bench::Target loopback_target(const std::string& host, const std::vector<std::uint16_t>& ports,
                              const std::string& path) {
    bench::Target target;
    const std::string address = host == "localhost" ? "127.0.0.1" : host;
    for (std::uint16_t port : ports) {
        bench::Endpoint endpoint;
        endpoint.address.sin_family = AF_INET;
        endpoint.address.sin_port = htons(port);
        if (::inet_pton(AF_INET, address.c_str(), &endpoint.address.sin_addr) != 1 ||
            (ntohl(endpoint.address.sin_addr.s_addr) >> 24) != 127) {
            throw UsageError("--host must be a loopback address (127.x.x.x or localhost), not '" +
                             host + "'");
        }
        endpoint.host_header = address + ":" + std::to_string(port);
        target.endpoints.push_back(std::move(endpoint));
    }
    if (path.empty() || path[0] != '/') {
        throw UsageError("--path must start with '/'");
    }
    target.path = path;
    return target;
}

Settings parse(const std::vector<std::string>& args, bool& help) {
    std::set<std::string> valued = {"host",        "port",        "path",     "server-pid",
                                    "connections", "size",        "duration", "warmup",
                                    "in-flight",   "concurrency", "sources",  "hold"};
    std::set<std::string> flags = {"help", "json", "binary", "tls", "deflate"};
    const Options options(args, valued, flags);
    help = options.has("help");
    Settings s;
    if (help) {
        return s;
    }
    if (options.positional().empty()) {
        throw UsageError("give a MODE: echo, pipelined, storm, idle or broadcast");
    }
    if (options.positional().size() > 1) {
        throw UsageError("unexpected argument " + options.positional()[1]);
    }
    s.mode_name = options.positional()[0];
    const auto mode = modes().find(s.mode_name);
    if (mode == modes().end()) {
        throw UsageError("unknown mode '" + s.mode_name +
                         "' (echo, pipelined, storm, idle or broadcast)");
    }
    s.mode = mode->second;
    const std::set<std::string> allowed = mode_options(s.mode);
    for (const auto& name : valued) {
        if (name != "host" && name != "port" && name != "path" && name != "server-pid" &&
            options.has(name) && allowed.count(name) == 0) {
            throw UsageError("--" + name + " does not apply to " + s.mode_name);
        }
    }
    for (const char* flag : {"binary", "deflate"}) {
        if (options.has(flag) && allowed.count(flag) == 0) {
            throw UsageError(std::string("--") + flag + " does not apply to " + s.mode_name);
        }
    }
    s.host = options.get("host", "127.0.0.1");
    for (const std::uint64_t port : number_list(options, "port", 8080, 1, 65535)) {
        s.ports.push_back(static_cast<std::uint16_t>(port));
    }
    s.target = loopback_target(s.host, s.ports, options.get("path", "/"));
    s.json = options.has("json");
    s.tls = options.has("tls");
    s.binary = options.has("binary");
    s.deflate = options.has("deflate");
    s.target.deflate = s.deflate;
    s.connections = options.get_uint("connections", s.mode == Mode::idle ? 1000 : 10, 1, 1'000'000);
    s.size = options.get_uint("size", 32, s.mode == Mode::broadcast ? 8 : 0, k_max_size);
    s.in_flight = options.get_uint("in-flight", s.mode == Mode::pipelined ? 16 : 1, 1, 65536);
    s.concurrency = options.get_uint("concurrency", 16, 1, 100'000);
    s.sources = options.get_uint("sources", 1, 1, 254);
    s.duration = seconds_option(options, "duration", 5, 0, 86400);
    s.warmup = options.get_seconds("warmup", s.mode == Mode::storm ? 0 : 1);
    if (s.warmup > 3600) {
        throw UsageError("--warmup must be at most 3600 seconds");
    }
    s.hold = options.get_seconds("hold", 0);
    if (s.hold > 86400) {
        throw UsageError("--hold must be at most 86400 seconds");
    }
    if (options.has("server-pid")) {
        for (const std::uint64_t pid : number_list(options, "server-pid", 0, 1, 4'194'304)) {
            s.server_pids.push_back(static_cast<long>(pid));
        }
        if (!bench::sample_processes(s.server_pids)) {
            throw UsageError("--server-pid " + options.get("server-pid", "") +
                             ": no such process (or /proc unreadable)");
        }
    }
    return s;
}

// ---- running ----

/// A progress line on stderr once a second: overwritten in place on a
/// terminal, one line each otherwise.
class Progress {
public:
    explicit Progress(std::string mode) : mode_(std::move(mode)), tty_(::isatty(2) == 1) {}
    ~Progress() {
        if (tty_ && shown_) {
            std::fputc('\n', stderr);
        }
    }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void tick(const char* phase, const Loop& loop, std::uint64_t total, const char* unit) {
        const std::uint64_t now = now_ns();
        if (last_ns_ == 0) {
            start_ns_ = last_ns_ = now;
            last_total_ = total;
            return;
        }
        if (now - last_ns_ < 1'000'000'000) {
            return;
        }
        const double rate =
            static_cast<double>(total - last_total_) * 1e9 / static_cast<double>(now - last_ns_);
        std::fprintf(stderr,
                     "%s[bench %s %5.1fs %-9s] %10.0f %s/s  open %zu  pending %zu  errors %llu%s",
                     tty_ ? "\r" : "", mode_.c_str(), static_cast<double>(now - start_ns_) / 1e9,
                     phase, rate, unit, loop.open_count(), loop.pending(),
                     static_cast<unsigned long long>(loop.errors()), tty_ ? "\033[K" : "\n");
        std::fflush(stderr);
        shown_ = true;
        last_ns_ = now;
        last_total_ = total;
    }

private:
    std::string mode_;
    bool tty_;
    bool shown_ = false;
    std::uint64_t start_ns_ = 0;
    std::uint64_t last_ns_ = 0;
    std::uint64_t last_total_ = 0;
};

/// Runs the loop until `deadline_ns` or until `done()` says so, calling
/// `each()` after every iteration.
void run_until(Loop& loop, std::uint64_t deadline_ns, const std::function<bool()>& done,
               const std::function<void()>& each) {
    for (;;) {
        const std::uint64_t now = now_ns();
        if (now >= deadline_ns || done()) {
            return;
        }
        const std::uint64_t left_ms = (deadline_ns - now) / 1'000'000;
        loop.poll(static_cast<int>(left_ms < 10 ? left_ms : 10));
        each();
    }
}

std::uint64_t seconds_to_ns(double seconds) {
    return static_cast<std::uint64_t>(seconds * 1e9);
}

/// Opens `count` connections, at most 256 connecting at once, taking source
/// addresses 127.0.0.1..127.0.0.`sources` in turn (none when `sources` is
/// 0). Bounded: 30 s plus 1 ms per connection.
void open_all(Loop& loop, std::uint64_t count, std::uint64_t sources, Progress& progress) {
    constexpr std::size_t k_max_pending = 256;
    std::uint64_t started = 0;
    const auto pump = [&] {
        while (started < count && loop.pending() < k_max_pending) {
            std::uint32_t source = 0;
            if (sources > 0) {
                source = htonl(static_cast<std::uint32_t>(0x7F000001U + started % sources));
            }
            ++started;
            loop.open(source);
        }
        progress.tick("opening", loop, loop.handshakes(), "handshakes");
    };
    pump();
    run_until(
        loop, now_ns() + 30'000'000'000 + count * 1'000'000,
        [&] { return started == count && loop.pending() == 0; }, pump);
}

/// Closes every connection with a close handshake, waiting at most 5 s.
void close_all(Loop& loop) {
    loop.close_all();
    run_until(
        loop, now_ns() + 5'000'000'000, [&] { return loop.active() == 0; }, [] {});
    loop.abort_all();
}

struct Window {
    std::uint64_t start_ns = 0;
    double client_cpu = 0;
    std::optional<bench::ProcessSample> server;

    void begin(const std::vector<long>& pids) {
        if (!pids.empty()) {
            server = bench::sample_processes(pids);
        }
        client_cpu = bench::own_cpu_seconds();
        start_ns = now_ns();
    }
    void end(const std::vector<long>& pids, Report& report) const {
        report.seconds = static_cast<double>(now_ns() - start_ns) / 1e9;
        report.client_cpu_seconds = bench::own_cpu_seconds() - client_cpu;
        if (!pids.empty() && server) {
            if (const auto after = bench::sample_processes(pids)) {
                report.server_cpu_seconds = after->cpu_seconds - server->cpu_seconds;
            }
        }
    }
};

/// echo, pipelined, broadcast: open all, warm up, measure, close.
Report run_timed(const Settings& s, Loop& loop, bench::Measured& workload,
                 bench::Broadcast* broadcast) {
    Report report;
    Progress progress(s.mode_name);
    open_all(loop, s.connections, 0, progress);
    if (broadcast != nullptr) {
        for (std::uint32_t i = 0; i < loop.slot_count(); ++i) {
            if (loop.state(i) == bench::SlotState::open) {
                broadcast->start(loop, i);
                break;
            }
        }
    }
    const char* unit = broadcast != nullptr ? "deliveries" : "msg";
    const auto tick = [&](const char* phase) {
        return [&progress, &loop, &workload, phase, unit] {
            progress.tick(phase, loop, workload.total, unit);
        };
    };
    const auto none_open = [&] { return loop.open_count() == 0; };
    run_until(loop, now_ns() + seconds_to_ns(s.warmup), none_open, tick("warmup"));
    Window window;
    window.begin(s.server_pids);
    const std::uint64_t written = loop.bytes_written();
    const std::uint64_t read = loop.bytes_read();
    workload.counting = true;
    run_until(loop, now_ns() + seconds_to_ns(s.duration), none_open, tick("measuring"));
    workload.counting = false;
    window.end(s.server_pids, report);
    // What crossed the sockets in the window, frames and all: against
    // `bytes` it shows what compression saved.
    report.extra["frame_bytes_sent"] = std::to_string(loop.bytes_written() - written);
    report.extra["frame_bytes_received"] = std::to_string(loop.bytes_read() - read);
    report.messages = workload.counted;
    report.bytes = workload.counted * s.size;
    report.latency = &workload.latency;
    report.extra["connections_open"] = std::to_string(loop.open_count());
    if (broadcast != nullptr) {
        report.extra["messages_sent"] = std::to_string(broadcast->sent());
    }
    close_all(loop);
    return report;
}

Report run_storm(const Settings& s, Loop& loop, bench::Storm& workload) {
    Report report;
    Progress progress(s.mode_name);
    // Keeps `concurrency` connections on the way; at most that many new ones
    // an iteration, so refused connects cannot spin without polling.
    bool pumping = true;
    const auto pump = [&](const char* phase) {
        return [&, phase] {
            for (std::uint64_t n = 0; pumping && n < s.concurrency && loop.active() < s.concurrency;
                 ++n) {
                loop.open();
            }
            progress.tick(phase, loop, workload.total, "handshakes");
        };
    };
    pump("warmup")();
    run_until(
        loop, now_ns() + seconds_to_ns(s.warmup), [] { return false; }, pump("warmup"));
    Window window;
    window.begin(s.server_pids);
    workload.counting = true;
    run_until(
        loop, now_ns() + seconds_to_ns(s.duration), [] { return false; }, pump("measuring"));
    workload.counting = false;
    window.end(s.server_pids, report);
    pumping = false;
    report.messages = workload.counted;
    report.latency = &workload.latency;
    close_all(loop);
    return report;
}

Report run_idle(const Settings& s, Loop& loop, bench::Idle& workload) {
    Report report;
    Progress progress(s.mode_name);
    std::optional<bench::ProcessSample> before;
    if (!s.server_pids.empty()) {
        before = bench::sample_processes(s.server_pids);
    }
    Window window;
    window.begin(s.server_pids);
    workload.counting = true;
    open_all(loop, s.connections, s.sources, progress);
    workload.counting = false;
    window.end(s.server_pids, report);
    report.messages = workload.counted;
    report.latency = &workload.latency;
    const std::size_t opened = loop.open_count();
    if (before) {
        if (const auto after = bench::sample_processes(s.server_pids)) {
            const double delta =
                static_cast<double>(after->rss_bytes) - static_cast<double>(before->rss_bytes);
            report.extra["server_rss_before_bytes"] = std::to_string(before->rss_bytes);
            report.extra["server_rss_after_bytes"] = std::to_string(after->rss_bytes);
            if (opened > 0) {
                char text[64];
                std::snprintf(text, sizeof text, "%.1f", delta / static_cast<double>(opened));
                report.extra["server_rss_per_connection_bytes"] = text;
            }
        }
    }
    run_until(
        loop, now_ns() + seconds_to_ns(s.hold), [] { return false; },
        [&] { progress.tick("holding", loop, loop.handshakes(), "handshakes"); });
    report.extra["connections_open"] = std::to_string(opened);
    report.extra["connections_open_after_hold"] = std::to_string(loop.open_count());
    close_all(loop);
    return report;
}

// ---- reporting ----

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string number(double v) {
    char text[64];
    std::snprintf(text, sizeof text, "%.3f", v);
    return text;
}

std::string microseconds(std::uint64_t ns) {
    return number(static_cast<double>(ns) / 1000.0);
}

void print_json(const Settings& s, const Loop& loop, const Report& r) {
    std::string out = "{\"mode\":" + json_string(s.mode_name) + ",\"parameters\":{";
    const auto list = [](const auto& values) {
        std::string text = "[";
        for (const auto& v : values) {
            text += (text.size() > 1 ? "," : "") + std::to_string(v);
        }
        return text + "]";
    };
    out += "\"host\":" + json_string(s.host) + ",\"port\":" + std::to_string(s.ports.front()) +
           ",\"ports\":" + list(s.ports) + ",\"path\":" + json_string(s.target.path) +
           ",\"tls\":" + (s.tls ? "true" : "false");
    const std::set<std::string> allowed = mode_options(s.mode);
    const auto param = [&](const char* name, const std::string& value) {
        if (allowed.count(name) != 0) {
            out += ",\"" + std::string(name) + "\":" + value;
        }
    };
    param("connections", std::to_string(s.connections));
    param("size", std::to_string(s.size));
    param("in-flight", std::to_string(s.in_flight));
    param("concurrency", std::to_string(s.concurrency));
    param("sources", std::to_string(s.sources));
    param("duration", number(s.duration));
    param("warmup", number(s.warmup));
    param("hold", number(s.hold));
    param("binary", s.binary ? "true" : "false");
    param("deflate", s.deflate ? "true" : "false");
    out += ",\"server_pid\":" +
           (!s.server_pids.empty() ? std::to_string(s.server_pids.front()) : "null");
    out += ",\"server_pids\":" + list(s.server_pids);
    out += "}";
    const double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    out += ",\"messages\":" + std::to_string(r.messages);
    out += ",\"bytes\":" + std::to_string(r.bytes);
    out += ",\"seconds\":" + number(r.seconds);
    out += ",\"rate\":" + number(rate);
    out += ",\"bytes_per_second\":" +
           number(r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds : 0);
    out += ",\"server_cpu_seconds\":" +
           (r.server_cpu_seconds ? number(*r.server_cpu_seconds) : std::string("null"));
    out += ",\"per_server_cpu_second\":" +
           (r.server_cpu_seconds && *r.server_cpu_seconds > 0
                ? number(static_cast<double>(r.messages) / *r.server_cpu_seconds)
                : std::string("null"));
    out += ",\"client_cpu_seconds\":" + number(r.client_cpu_seconds);
    if (r.latency != nullptr && r.latency->count() > 0) {
        out += ",\"latency_us\":{\"p50\":" + microseconds(r.latency->percentile(0.5)) +
               ",\"p99\":" + microseconds(r.latency->percentile(0.99)) +
               ",\"p999\":" + microseconds(r.latency->percentile(0.999)) +
               ",\"max\":" + microseconds(r.latency->max()) +
               ",\"samples\":" + std::to_string(r.latency->count()) + "}";
    } else {
        out += ",\"latency_us\":null";
    }
    for (const auto& [name, value] : r.extra) {
        out += ",\"";
        out += name;
        out += "\":";
        out += value;
    }
    out += ",\"errors\":" + std::to_string(loop.errors()) + ",\"error_kinds\":{";
    bool first = true;
    for (std::size_t k = 0; k < bench::k_error_kinds; ++k) {
        if (loop.error_counts()[k] == 0) {
            continue;
        }
        out += (first ? "" : ",") +
               json_string(bench::error_name(static_cast<bench::ErrorKind>(k))) +
               ":{\"count\":" + std::to_string(loop.error_counts()[k]) +
               ",\"first\":" + json_string(loop.error_details()[k]) + "}";
        first = false;
    }
    out += "}}\n";
    std::fputs(out.c_str(), stdout);
}

void print_text(const Settings& s, const Loop& loop, const Report& r) {
    const char* unit = s.mode == Mode::storm       ? "handshakes"
                       : s.mode == Mode::idle      ? "connections opened"
                       : s.mode == Mode::broadcast ? "deliveries"
                                                   : "messages";
    const double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    std::printf("bench %s against %s://%s%s\n", s.mode_name.c_str(), s.tls ? "wss" : "ws",
                s.target.endpoints.front().host_header.c_str(), s.target.path.c_str());
    if (s.target.endpoints.size() > 1) {
        std::printf("  connections spread over %zu servers (ports", s.target.endpoints.size());
        for (const std::uint16_t port : s.ports) {
            std::printf(" %u", port);
        }
        std::printf(")\n");
    }
    std::printf("  %llu %s in %.3f s: %.0f/s\n", static_cast<unsigned long long>(r.messages), unit,
                r.seconds, rate);
    if (r.bytes > 0) {
        std::printf("  payload: %.2f MB/s\n", static_cast<double>(r.bytes) / r.seconds / 1e6);
    }
    if (r.server_cpu_seconds) {
        std::printf("  server CPU: %.2f s", *r.server_cpu_seconds);
        if (*r.server_cpu_seconds > 0) {
            std::printf(" -> %.0f %s per server CPU-second",
                        static_cast<double>(r.messages) / *r.server_cpu_seconds, unit);
        }
        std::printf("\n");
    }
    std::printf("  client CPU: %.2f s\n", r.client_cpu_seconds);
    if (r.latency != nullptr && r.latency->count() > 0) {
        std::printf("  latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
                    static_cast<double>(r.latency->percentile(0.5)) / 1000,
                    static_cast<double>(r.latency->percentile(0.99)) / 1000,
                    static_cast<double>(r.latency->percentile(0.999)) / 1000,
                    static_cast<double>(r.latency->max()) / 1000);
    }
    for (const auto& [name, value] : r.extra) {
        std::printf("  %s: %s\n", name.c_str(), value.c_str());
    }
    std::printf("  errors: %llu\n", static_cast<unsigned long long>(loop.errors()));
    for (std::size_t k = 0; k < bench::k_error_kinds; ++k) {
        if (loop.error_counts()[k] != 0) {
            std::printf("    %s: %llu (first: %s)\n",
                        bench::error_name(static_cast<bench::ErrorKind>(k)),
                        static_cast<unsigned long long>(loop.error_counts()[k]),
                        loop.error_details()[k].c_str());
        }
    }
}

/// The connections a mode holds at once must fit the open-file limit.
void check_file_limit(std::uint64_t connections) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_max == RLIM_INFINITY) {
        return;
    }
    if (connections + 64 > limit.rlim_max) {
        throw std::runtime_error(std::to_string(connections) +
                                 " connections need more open files than the limit of " +
                                 std::to_string(limit.rlim_max) + " (ulimit -n)");
    }
}

} // namespace

/// The client context of --tls: TLS 1.2 or later, no verification, partial
/// writes (the loop retries the unwritten tail, as OpenSSL requires).
std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> bench_tls_context() {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()),
                                                              SSL_CTX_free);
    if (!context || SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION) != 1) {
        throw std::runtime_error("cannot make a TLS context");
    }
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
    // One read(2) for every record that arrived, as the server does.
    SSL_CTX_set_read_ahead(context.get(), 1);
    SSL_CTX_set_default_read_buffer_len(context.get(), 64 * 1024);
    SSL_CTX_set_mode(context.get(),
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // OpenSSL writes with write(2): a server that closes first must not
    // kill the load generator.
    std::signal(SIGPIPE, SIG_IGN);
    return context;
}

int bench_command(const std::vector<std::string>& args) {
    bool help = false;
    Settings s = parse(args, help);
    if (help) {
        std::printf("%s", k_usage);
        return 0;
    }
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls(nullptr, SSL_CTX_free);
    if (s.tls) {
        tls = bench_tls_context();
        s.target.tls = tls.get();
    }
    check_file_limit(s.mode == Mode::storm ? s.concurrency : s.connections);
    Report report;
    std::unique_ptr<bench::Measured> workload;
    bench::Broadcast* broadcast = nullptr;
    switch (s.mode) {
    case Mode::echo:
    case Mode::pipelined:
        workload = std::make_unique<bench::PingPong>(
            s.size, s.binary, static_cast<std::uint32_t>(s.in_flight), s.deflate);
        break;
    case Mode::broadcast: {
        auto b =
            std::make_unique<bench::Broadcast>(s.size, static_cast<std::uint32_t>(s.in_flight));
        broadcast = b.get();
        workload = std::move(b);
        break;
    }
    case Mode::storm:
        workload = std::make_unique<bench::Storm>();
        break;
    case Mode::idle:
        workload = std::make_unique<bench::Idle>();
        break;
    }
    Loop loop(s.target, *workload);
    switch (s.mode) {
    case Mode::storm:
        report = run_storm(s, loop, static_cast<bench::Storm&>(*workload));
        break;
    case Mode::idle:
        report = run_idle(s, loop, static_cast<bench::Idle&>(*workload));
        break;
    default:
        report = run_timed(s, loop, *workload, broadcast);
        break;
    }
    if (s.json) {
        print_json(s, loop, report);
    } else {
        print_text(s, loop, report);
    }
    std::fflush(stdout);
    return loop.errors() == 0 ? 0 : 1;
}

} // namespace nexus::tool
