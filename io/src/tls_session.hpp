// Private: a server connection over TLS (wss://, https for the page).
//
// The same Session, with its transport hooks going through OpenSSL on the
// same non-blocking descriptor. The TLS handshake runs inside the first
// reads (the SSL object is in accept state), so handshake_timeout bounds
// it like the HTTP request that follows, and a slow or silent TLS client is
// dropped like any slowloris. Nothing here ever blocks the loop.
//
// OpenSSL writes through our own BIO (send with MSG_NOSIGNAL): its socket
// BIO uses write(2), which raises SIGPIPE on a peer that went away.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "server_impl.hpp"

namespace nexus::io::detail {

/// What our BIO reads and writes: a descriptor, and whether it reached the
/// end of stream (OpenSSL asks BIO_eof to tell a peer that closed from a
/// read that merely found nothing).
struct TlsDescriptor {
    int fd = -1;
    bool eof = false;
};

class TlsSession final : public Session {
public:
    static constexpr std::size_t k_read_ahead_bytes = 64 * 1024;
    static constexpr std::size_t k_max_record = 16 * 1024; // TLS plaintext per record

    /// Takes over `fd` as Session does; `context` is the server's (shared,
    /// reference-counted by OpenSSL). Throws std::bad_alloc.
    TlsSession(Loop& loop, int fd, ClientId id, const PeerAddress& peer, SSL_CTX* context);
    ~TlsSession() override;

protected:
    IoResult receive(void* data, std::size_t size) noexcept override;
    IoResult transmit(const void* data, std::size_t size) noexcept override;
    IoResult transmit_two(std::span<const std::uint8_t> first,
                          std::span<const std::uint8_t> second) noexcept override;
    bool writes_directly(std::size_t size) const noexcept override;
    bool more_input(std::size_t got, std::size_t asked) const noexcept override;
    bool buffered_input() const noexcept override;
    void release_transport_buffers() noexcept override;
    bool read_wants_write() const noexcept override { return read_wants_write_; }
    std::string describe(const IoResult& failure) const override;
    void end_transport() noexcept override;

private:
    /// What SSL_read_ex/SSL_write_ex's result `ok` means, as an IoResult.
    IoResult classify(int ok, std::size_t bytes, bool reading) noexcept;
    /// One SSL_write_ex: the records of `size` bytes, as far as they go.
    IoResult write_records(const void* data, std::size_t size) noexcept;
    /// TCP_CORK on the descriptor: records written meanwhile leave as full
    /// segments when it is taken off.
    void set_cork(bool on) noexcept;

    TlsDescriptor descriptor_;
    SSL* ssl_ = nullptr;
    std::string failure_; // OpenSSL's reason for the last failure
    bool read_wants_write_ = false;
    bool write_wants_read_ = false;
    bool broken_ = false; // a fatal TLS error: no close_notify may follow
    bool ended_ = false;
};

} // namespace nexus::io::detail
