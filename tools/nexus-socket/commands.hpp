// The subcommands of nexus-socket. Each returns the process exit status:
// 0 done, 1 failure (printed), 2 usage error.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "nexus/io/websocket_server.hpp"
#include "options.hpp"

namespace nexus::tool {

int serve_command(const std::vector<std::string>& args);
int echo_command(const std::vector<std::string>& args);
int connect_command(const std::vector<std::string>& args);
/// `bench MODE`: the load generator (bench_command.cpp).
int bench_command(const std::vector<std::string>& args);

/// Options every server subcommand takes, with `extra_valued`/`extra_flags`.
std::set<std::string> server_valued_options(const std::set<std::string>& extra = {});
std::set<std::string> server_flag_options(const std::set<std::string>& extra = {});
/// ServerConfig from the environment (.env included) and then the options,
/// which win. Throws UsageError on a bad value.
io::ServerConfig server_config_from(const Options& options);
/// The text that --help of a server subcommand prints for the common options.
const char* server_options_help();

/// For a server subcommand: prints `usage` and the common options when
/// --help was given (returns true: the command is done); throws UsageError
/// on a positional argument.
bool server_help_requested(const Options& options, const char* usage);

/// Starts `server`, calls `announce(port)` once it listens, and runs until
/// stop() or SIGINT/SIGTERM (which stop it gracefully). Returns 0, or 1 with
/// a message naming `config`'s address when the server cannot listen.
int run_until_signal(io::WebSocketServer& server, const io::ServerConfig& config,
                     const std::function<void(std::uint16_t port)>& announce);

} // namespace nexus::tool
