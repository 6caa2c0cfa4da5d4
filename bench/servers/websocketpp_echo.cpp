// websocketpp_echo: an echo (or --broadcast) server on websocketpp 0.8 with its
// stock Boost.Asio transport (websocketpp::config::asio, no TLS, no
// permessage-deflate), one io_context run on one thread. Logging is off.
//
// Usage: websocketpp_echo [--host 127.0.0.1] [--port 0] [--broadcast]
// Prints "listening on ws://HOST:PORT/" once bound; runs until killed.
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "server_args.hpp"

namespace {

using Server = websocketpp::server<websocketpp::config::asio>;
using Handle = websocketpp::connection_hdl;

} // namespace

int main(int argc, char** argv) {
    const std::optional<bench_args::ServerArgs> args =
        bench_args::parse(argc, argv, "websocketpp_echo", true);
    if (!args) {
        return 2;
    }
    const bool broadcast = args->broadcast;
    const std::string host = args->host;
    const unsigned short port = args->port;

    Server server;
    std::set<Handle, std::owner_less<Handle>> clients;
    server.clear_access_channels(websocketpp::log::alevel::all);
    server.clear_error_channels(websocketpp::log::elevel::all);
    server.init_asio();
    server.set_reuse_addr(true);
    server.set_listen_backlog(4096);
    // The socket init handler runs before accept(); the pre-init one after.
    server.set_tcp_pre_init_handler([&server](Handle hdl) {
        boost::system::error_code ignored;
        server.get_con_from_hdl(hdl)->get_socket().set_option(boost::asio::ip::tcp::no_delay(true),
                                                              ignored);
    });
    server.set_message_handler([&](Handle hdl, Server::message_ptr msg) {
        websocketpp::lib::error_code ec;
        if (!broadcast) {
            server.send(hdl, msg->get_payload(), msg->get_opcode(), ec);
            return;
        }
        for (const Handle& each : clients) {
            server.send(each, msg->get_payload(), msg->get_opcode(), ec);
        }
    });
    if (broadcast) {
        server.set_open_handler([&](Handle hdl) { clients.insert(hdl); });
        server.set_close_handler([&](Handle hdl) { clients.erase(hdl); });
        server.set_fail_handler([&](Handle hdl) { clients.erase(hdl); });
    }

    websocketpp::lib::error_code ec;
    server.listen(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host), port), ec);
    if (ec) {
        std::fprintf(stderr, "websocketpp_echo: listen: %s\n", ec.message().c_str());
        return 1;
    }
    boost::system::error_code asio_ec;
    const auto bound = server.get_local_endpoint(asio_ec);
    server.start_accept(ec);
    if (ec) {
        std::fprintf(stderr, "websocketpp_echo: accept: %s\n", ec.message().c_str());
        return 1;
    }
    std::printf("listening on ws://%s:%u/\n", host.c_str(), static_cast<unsigned>(bound.port()));
    std::fflush(stdout);
    server.run();
    return 0;
}
