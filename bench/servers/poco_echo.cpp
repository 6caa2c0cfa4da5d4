// poco_echo: an echo server on Poco::Net::WebSocket (Poco 1.11) behind
// Poco::Net::HTTPServer. Poco's WebSocket is blocking: thread per connection
// by design, from a thread pool sized for the idle test (up to 20 000 threads
// of 256 KiB stack). Not single-threaded, unlike the other peers; the bench
// pins the whole process to one CPU all the same. Frames are echoed as they
// come, flags (FIN and opcode) unchanged, so fragmented messages echo whole.
// Pings get a pong. No --broadcast: with blocking sockets one sender would
// write to every client from its own thread, which Poco's design does not aim at.
//
// Usage: poco_echo [--host 127.0.0.1] [--port 0]
// Prints "listening on ws://HOST:PORT/" once bound; runs until killed.
#include <Poco/Buffer.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/ThreadPool.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "server_args.hpp"

namespace {

using Poco::Net::WebSocket;

class EchoHandler : public Poco::Net::HTTPRequestHandler {
public:
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        try {
            WebSocket ws(request, response);
            ws.setNoDelay(true);
            ws.setReceiveTimeout(Poco::Timespan(0)); // no timeout: block until data
            Poco::Buffer<char> buffer(0);
            for (;;) {
                int flags = 0;
                buffer.resize(0, false);
                const int n = ws.receiveFrame(buffer, flags);
                const int op = flags & WebSocket::FRAME_OP_BITMASK;
                if (n == 0 && flags == 0) {
                    return; // peer gone
                }
                if (op == WebSocket::FRAME_OP_CLOSE) {
                    ws.sendFrame(buffer.begin(), n, flags); // echo the close (RFC 6455 §5.5.1)
                    return;
                }
                if (op == WebSocket::FRAME_OP_PING) {
                    ws.sendFrame(buffer.begin(), n,
                                 int{WebSocket::FRAME_FLAG_FIN} | int{WebSocket::FRAME_OP_PONG});
                    continue;
                }
                if (op == WebSocket::FRAME_OP_PONG) {
                    continue;
                }
                ws.sendFrame(buffer.begin(), n, flags);
            }
        } catch (const Poco::Net::WebSocketException&) {
            if (!response.sent()) {
                response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
                response.setContentLength(0);
                response.send();
            }
        } catch (const Poco::Exception&) {
            // connection reset, and the like: the thread ends
        }
    }
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Poco::Net::HTTPRequestHandler*
    createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new EchoHandler;
    }
};

} // namespace

int main(int argc, char** argv) {
    const std::optional<bench_args::ServerArgs> args =
        bench_args::parse(argc, argv, "poco_echo", false);
    if (!args) {
        return 2;
    }
    const std::string host = args->host;
    const unsigned short port = args->port;
    constexpr int k_max_threads = 20000;
    Poco::ThreadPool pool(2, k_max_threads, 60, 256 * 1024);
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(host, port), 4096);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(k_max_threads);
    params->setMaxQueued(k_max_threads);
    params->setKeepAlive(false);
    Poco::Net::HTTPServer server(new Factory, pool, socket, params);
    server.start();
    std::printf("listening on ws://%s:%u/\n", host.c_str(),
                static_cast<unsigned>(socket.address().port()));
    std::fflush(stdout);
    for (;;) {
        std::this_thread::sleep_for(std::chrono::hours(1)); // until killed
    }
}
