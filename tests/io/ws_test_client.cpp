#include "ws_test_client.hpp"

#include <random>
#include <stdexcept>

#include <Poco/Exception.h>
#include <Poco/Timespan.h>

namespace nexus::testing {
namespace {

core::EntropySource test_entropy() {
    return [rng = std::mt19937(1234)](std::span<std::uint8_t> out) mutable {
        for (auto& b : out) {
            b = static_cast<std::uint8_t>(rng());
        }
    };
}

Poco::Timespan as_timespan(std::chrono::milliseconds ms) {
    return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000);
}

} // namespace

WsTestClient::WsTestClient(std::uint16_t port, Options options) : buffer_(64 * 1024) {
    socket_.connect(Poco::Net::SocketAddress("127.0.0.1", port), Poco::Timespan(10, 0));
    socket_.setNoDelay(true);
    core::ClientConfig config;
    config.host = "127.0.0.1:" + std::to_string(port);
    config.target = options.target;
    config.subprotocols = options.subprotocols;
    config.origin = options.origin;
    config.headers = options.headers;
    config.extensions = options.extensions;
    std::mt19937 rng(static_cast<unsigned>(port));
    for (auto& b : config.nonce) {
        b = static_cast<std::uint8_t>(rng());
    }
    handshake_ = std::make_unique<core::ClientHandshake>(config);
    if (handshake_->request().empty()) {
        throw std::runtime_error("bad client handshake config");
    }
    socket_.sendBytes(handshake_->request().data(), static_cast<int>(handshake_->request().size()));
    std::size_t consumed = 0;
    std::vector<std::uint8_t> leftover;
    for (;;) {
        socket_.setReceiveTimeout(Poco::Timespan(10, 0));
        const int n = socket_.receiveBytes(buffer_.data(), static_cast<int>(buffer_.size()));
        if (n <= 0) {
            throw std::runtime_error("connection closed during the handshake");
        }
        const auto status =
            handshake_->receive_data({buffer_.data(), static_cast<std::size_t>(n)}, consumed);
        if (status == core::ParseStatus::failed) {
            throw std::runtime_error("handshake failed: status " +
                                     std::to_string(handshake_->status_code()) + ", " +
                                     std::string(core::describe(handshake_->error())));
        }
        if (status == core::ParseStatus::complete) {
            leftover.assign(buffer_.begin() + static_cast<std::ptrdiff_t>(consumed),
                            buffer_.begin() + n);
            break;
        }
    }
    subprotocol_ = std::string(handshake_->subprotocol());
    core::ConnectionConfig cc;
    cc.role = core::Role::client;
    cc.entropy = test_entropy();
    cc.auto_pong = options.auto_pong;
    cc.max_message_size = options.max_message_size;
    cc.max_frame_size = options.max_message_size;
    for (const auto& ext : handshake_->extensions()) {
        if (ext.name == "permessage-deflate") {
            core::DeflateConfig offered;
            core::DeflateParams params;
            if (core::accept_deflate_response(ext, offered, params) == core::Error::ok) {
                cc.deflate = params;
            }
        }
    }
    connection_ = std::make_unique<core::Connection>(std::move(cc));
    if (!leftover.empty()) {
        connection_->receive_data(leftover);
        core::Event e;
        while (connection_->next_event(e)) {
            pending_.push_back({e.type, std::string(e.text()), e.close_code});
        }
    }
}

void WsTestClient::flush() {
    while (connection_->wants_write()) {
        const auto out = connection_->data_to_send();
        const int n = socket_.sendBytes(out.data(), static_cast<int>(out.size()));
        if (n <= 0) {
            throw std::runtime_error("send failed");
        }
        connection_->consume(static_cast<std::size_t>(n));
    }
}

void WsTestClient::send_text(std::string_view text) {
    if (connection_->send_text(text) != core::Error::ok) {
        throw std::runtime_error("send_text refused");
    }
    flush();
}

void WsTestClient::send_binary(std::string_view bytes) {
    if (connection_->send_binary({reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                  bytes.size()}) != core::Error::ok) {
        throw std::runtime_error("send_binary refused");
    }
    flush();
}

void WsTestClient::send_raw(std::string_view bytes) {
    socket_.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
}

void WsTestClient::close(std::uint16_t code, std::string_view reason) {
    if (connection_->close(code, reason) == core::Error::ok) {
        flush();
    }
}

bool WsTestClient::read_some(std::chrono::milliseconds timeout) {
    if (eof_) {
        return false;
    }
    socket_.setReceiveTimeout(as_timespan(timeout));
    int n = 0;
    try {
        n = socket_.receiveBytes(buffer_.data(), static_cast<int>(buffer_.size()));
    } catch (const Poco::TimeoutException&) {
        return false;
    } catch (const Poco::Exception&) {
        n = 0; // reset by peer counts as closed
    }
    if (n <= 0) {
        eof_ = true;
        connection_->receive_eof();
    } else {
        connection_->receive_data({buffer_.data(), static_cast<std::size_t>(n)});
    }
    core::Event e;
    while (connection_->next_event(e)) {
        pending_.push_back({e.type, std::string(e.text()), e.close_code});
    }
    try {
        flush(); // pongs and close replies
    } catch (const std::exception&) {
    }
    return true;
}

std::optional<ClientEvent> WsTestClient::next(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pending_.empty()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !read_some(left)) {
            if (pending_.empty()) {
                return std::nullopt;
            }
        }
    }
    ClientEvent e = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return e;
}

std::optional<ClientEvent> WsTestClient::next_message(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        auto e = next(left);
        if (!e) {
            return e;
        }
        if (e->type != core::EventType::ping && e->type != core::EventType::pong) {
            return e;
        }
    }
}

bool WsTestClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        read_some(left);
    }
    return true;
}

std::string raw_http_exchange(std::uint16_t port, std::string_view request,
                              std::chrono::milliseconds timeout) {
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress("127.0.0.1", port), Poco::Timespan(10, 0));
    socket.sendBytes(request.data(), static_cast<int>(request.size()));
    socket.setReceiveTimeout(as_timespan(timeout));
    std::string response;
    char buffer[16384];
    for (;;) {
        int n = 0;
        try {
            n = socket.receiveBytes(buffer, sizeof buffer);
        } catch (const Poco::TimeoutException&) {
            response += "<timeout>";
            break;
        } catch (const Poco::Exception&) {
            break;
        }
        if (n <= 0) {
            break;
        }
        response.append(buffer, static_cast<std::size_t>(n));
    }
    return response;
}

} // namespace nexus::testing
