// beast_echo: an echo (or --broadcast) server on Boost.Beast (Boost 1.74),
// asynchronous, one io_context run on one thread. Options changed from
// Beast's defaults: auto_fragment off (so a 16 KiB message goes out as one
// frame, as every other peer sends it) and no timeouts (none of the peers
// ping). permessage-deflate stays off, Beast's default.
//
// Usage: beast_echo [--host 127.0.0.1] [--port 0] [--broadcast]
// Prints "listening on ws://HOST:PORT/" once bound; runs until killed.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "server_args.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ws = boost::beast::websocket;
using tcp = asio::ip::tcp;

bool g_broadcast = false;

class Session;
std::set<Session*> g_sessions; // open sessions, for --broadcast

/// One client. Keeps itself alive through the shared_ptr its pending
/// operations hold; in broadcast mode writes are queued since Beast allows one
/// async_write at a time.
class Session : public std::enable_shared_from_this<Session> {
public:
    explicit Session(tcp::socket socket) : ws_(std::move(socket)) {}
    ~Session() { g_sessions.erase(this); }

    void start() {
        ws_.auto_fragment(false);
        ws_.set_option(
            ws::stream_base::timeout{std::chrono::seconds(30), ws::stream_base::none(), false});
        ws_.async_accept([self = shared_from_this()](beast::error_code ec) {
            if (!ec) {
                g_sessions.insert(self.get());
                self->read();
            }
        });
    }

    /// Queues MESSAGE (text when TEXT) to this client (broadcast mode).
    void enqueue(std::shared_ptr<const std::string> message, bool text) {
        queue_.push_back({std::move(message), text});
        if (queue_.size() == 1) {
            write_next();
        }
    }

private:
    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                g_sessions.erase(self.get());
                return;
            }
            self->on_read();
        });
    }

    void on_read() {
        const bool text = ws_.got_text();
        if (g_broadcast) {
            auto message =
                std::make_shared<const std::string>(beast::buffers_to_string(buffer_.data()));
            buffer_.consume(buffer_.size());
            for (Session* each : g_sessions) {
                each->enqueue(message, text);
            }
            read();
            return;
        }
        ws_.text(text);
        ws_.async_write(buffer_.data(),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) {
                                return;
                            }
                            self->buffer_.consume(self->buffer_.size());
                            self->read();
                        });
    }

    void write_next() {
        ws_.text(queue_.front().text);
        ws_.async_write(asio::buffer(*queue_.front().message),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) {
                                return;
                            }
                            self->queue_.pop_front();
                            if (!self->queue_.empty()) {
                                self->write_next();
                            }
                        });
    }

    struct Pending {
        std::shared_ptr<const std::string> message;
        bool text;
    };
    ws::stream<tcp::socket> ws_;
    beast::flat_buffer buffer_;
    std::deque<Pending> queue_;
};

void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
        if (!ec) {
            socket.set_option(tcp::no_delay(true));
            std::make_shared<Session>(std::move(socket))->start();
        }
        accept(acceptor);
    });
}

} // namespace

int main(int argc, char** argv) {
    const std::optional<bench_args::ServerArgs> args =
        bench_args::parse(argc, argv, "beast_echo", true);
    if (!args) {
        return 2;
    }
    g_broadcast = args->broadcast;
    const std::string host = args->host;
    const unsigned short port = args->port;
    asio::io_context io{1};
    tcp::acceptor acceptor(io);
    const tcp::endpoint endpoint(asio::ip::make_address(host), port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(4096);
    std::printf("listening on ws://%s:%u/\n", host.c_str(),
                static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    accept(acceptor);
    io.run();
    return 0;
}
