// A server connection over TLS: OpenSSL on the session's descriptor.
#include "tls_session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "tls_context.hpp"

namespace nexus::io::detail {
namespace {

TlsDescriptor& descriptor_of(BIO* bio) noexcept {
    return *static_cast<TlsDescriptor*>(BIO_get_data(bio));
}

// OpenSSL's retry protocol on top of socket_io.hpp: would-block sets the
// retry flag, a failure leaves errno for SSL_get_error's SSL_ERROR_SYSCALL,
// and the end of stream is remembered for BIO_eof.
int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
    BIO_clear_retry_flags(bio);
    const IoResult r = send_some(descriptor_of(bio).fd, data, size);
    if (r.status == IoStatus::done) {
        *written = r.bytes;
        return 1;
    }
    if (r.status == IoStatus::would_block) {
        BIO_set_retry_write(bio);
    } else {
        errno = r.error;
    }
    return 0;
}

int bio_read(BIO* bio, char* data, std::size_t size, std::size_t* read_bytes) {
    BIO_clear_retry_flags(bio);
    TlsDescriptor& descriptor = descriptor_of(bio);
    const IoResult r = receive_some(descriptor.fd, data, size);
    switch (r.status) {
    case IoStatus::done:
        *read_bytes = r.bytes;
        return 1;
    case IoStatus::would_block:
        BIO_set_retry_read(bio);
        return 0;
    case IoStatus::closed:
        descriptor.eof = true;
        return 0;
    case IoStatus::failed:
        errno = r.error;
        return 0;
    }
    return 0;
}

long bio_control(BIO* bio, int command, long, void*) {
    switch (command) {
    case BIO_CTRL_FLUSH:
        return 1; // nothing is buffered here
    case BIO_CTRL_EOF:
        return descriptor_of(bio).eof ? 1 : 0;
    default:
        return 0;
    }
}

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

/// Our BIO method, made once for the process (never freed: BIOs on any
/// thread may use it until exit).
const BIO_METHOD* descriptor_bio_method() {
    static BIO_METHOD* const made = [] {
        BIO_METHOD* m =
            BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nexus descriptor");
        if (m == nullptr || BIO_meth_set_write_ex(m, bio_write) != 1 ||
            BIO_meth_set_read_ex(m, bio_read) != 1 || BIO_meth_set_ctrl(m, bio_control) != 1 ||
            BIO_meth_set_create(m, bio_create) != 1) {
            throw std::bad_alloc();
        }
        return m;
    }();
    return made;
}

} // namespace

TlsSession::TlsSession(Loop& loop, int fd, ClientId id, const PeerAddress& peer, SSL_CTX* context)
    : Session(loop, fd, id, peer) {
    descriptor_.fd = fd;
    ssl_ = SSL_new(context);
    BIO* bio = ssl_ != nullptr ? BIO_new(descriptor_bio_method()) : nullptr;
    if (bio == nullptr) {
        SSL_free(ssl_);
        ssl_ = nullptr;
        ERR_clear_error();
        throw std::bad_alloc();
    }
    BIO_set_data(bio, &descriptor_);
    SSL_set_bio(ssl_, bio, bio); // the SSL owns it
    SSL_set_accept_state(ssl_);
    // Read ahead: one read(2) takes every record that arrived (up to 64 KiB)
    // instead of two calls per record (header, then body). What it buffers
    // raises no poll event; buffered_input() tells the read loop.
    SSL_set_read_ahead(ssl_, 1);
    SSL_set_default_read_buffer_len(ssl_, k_read_ahead_bytes);
}

TlsSession::~TlsSession() {
    // Before Session's destructor closes the descriptor (which cannot call
    // the override from there).
    end_transport();
    SSL_free(ssl_);
}

IoResult TlsSession::receive(void* data, std::size_t size) noexcept {
    ERR_clear_error(); // a stale entry would turn a want-read into a failure
    std::size_t bytes = 0;
    const int ok = SSL_read_ex(ssl_, data, size, &bytes);
    return classify(ok, bytes, true);
}

IoResult TlsSession::transmit(const void* data, std::size_t size) noexcept {
    // More than a record's worth becomes several records, each written by
    // its own send(2); with TCP_NODELAY each would leave as a segment of
    // its own (a 16 KiB message is a full record and a 4-byte one: three
    // segments each way instead of one, measured). Corked, they leave
    // together.
    const bool cork = size > k_max_record;
    if (cork) {
        set_cork(true);
    }
    const IoResult result = write_records(data, size);
    if (cork) {
        set_cork(false);
    }
    return result;
}

IoResult TlsSession::write_records(const void* data, std::size_t size) noexcept {
    ERR_clear_error();
    std::size_t bytes = 0;
    const int ok = SSL_write_ex(ssl_, data, size, &bytes);
    return classify(ok, bytes, false);
}

void TlsSession::set_cork(bool on) noexcept {
    const int value = on ? 1 : 0;
    ::setsockopt(descriptor_.fd, IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

bool TlsSession::writes_directly(std::size_t size) const noexcept {
    // Header and payload become two records either way for a payload of a
    // full record (16 KiB) or more, and then the copy into the queue is
    // saved; a smaller one is cheaper copied and sent as one record.
    return size >= k_max_record;
}

IoResult TlsSession::transmit_two(std::span<const std::uint8_t> first,
                                  std::span<const std::uint8_t> second) noexcept {
    // The frame header's small record leaves with the payload's (corked).
    // The caller queues what was not written, so after a would-block the
    // next write starts with the same bytes (OpenSSL's retry rule).
    set_cork(true);
    IoResult r = write_records(first.data(), first.size());
    if (r.status == IoStatus::done && r.bytes == first.size()) {
        const IoResult rest = write_records(second.data(), second.size());
        if (rest.status == IoStatus::done) {
            r.bytes += rest.bytes;
        } else if (rest.status == IoStatus::failed) {
            r = rest;
        }
    }
    set_cork(false);
    return r;
}

bool TlsSession::more_input(std::size_t, std::size_t) const noexcept {
    // A read returns one record (16 KiB at most) however much arrived, so
    // a short read says nothing: read on until the socket would block.
    return true;
}

void TlsSession::release_transport_buffers() noexcept {
    // Idle connections keep no record buffers (about 80 KiB with read
    // ahead). Not SSL_MODE_RELEASE_BUFFERS: that frees and allocates them
    // around every record, which cost a busy connection a third of its
    // throughput. SSL_free_buffers keeps them when data is pending.
    SSL_free_buffers(ssl_);
}

bool TlsSession::buffered_input() const noexcept {
    return SSL_has_pending(ssl_) == 1;
}

std::string TlsSession::describe(const IoResult& failure) const {
    return failure_.empty() ? std::string(std::strerror(failure.error)) : failure_;
}

IoResult TlsSession::classify(int ok, std::size_t bytes, bool reading) noexcept {
    const int saved_errno = errno;
    if (ok == 1) {
        if (reading) {
            read_wants_write_ = false;
            if (write_wants_read_) {
                write_wants_read_ = false;
                mark_dirty(); // the write that waited for this read goes on
            }
        }
        return {IoStatus::done, bytes, 0};
    }
    switch (SSL_get_error(ssl_, 0)) {
    case SSL_ERROR_WANT_READ:
        if (reading) {
            read_wants_write_ = false;
        } else {
            write_wants_read_ = true;
        }
        return {IoStatus::would_block, 0, 0};
    case SSL_ERROR_WANT_WRITE:
        if (reading) {
            read_wants_write_ = true;
        }
        return {IoStatus::would_block, 0, 0};
    case SSL_ERROR_ZERO_RETURN:
        // The peer's close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a
        // peer that closed without one, as browsers often do. A write can
        // go nowhere after it: that is a failure, like EPIPE (a write that
        // reported "closed" would be retried for ever).
        if (!reading) {
            return {IoStatus::failed, 0, EPIPE};
        }
        return {IoStatus::closed, 0, 0};
    case SSL_ERROR_SYSCALL:
        broken_ = true;
        ERR_clear_error();
        // OpenSSL clears errno around its own calls; our BIO's errno may be
        // gone by now. A read without one is the end of the stream; a
        // write without one is still a failure.
        if (saved_errno == 0 && reading) {
            return {IoStatus::closed, 0, 0};
        }
        failure_.clear();
        return {IoStatus::failed, 0, saved_errno != 0 ? saved_errno : EPIPE};
    default: {
        broken_ = true;
        const bool in_handshake = SSL_is_init_finished(ssl_) != 1;
        try {
            failure_ = (in_handshake ? "TLS handshake: " : "TLS: ") + openssl_reason();
        } catch (...) {
            ERR_clear_error();
        }
        if (in_handshake) {
            loop_.server.counters.dropped[static_cast<int>(DropReason::tls_handshake)].fetch_add(
                1, std::memory_order_relaxed);
            log(LogLevel::info, "client {} from {}: {}", id(), client.peer.to_string(), failure_);
        }
        return {IoStatus::failed, 0, EPROTO};
    }
    }
}

void TlsSession::end_transport() noexcept {
    if (ended_) {
        return;
    }
    ended_ = true;
    // A close_notify, written once without waiting for the peer's (the
    // descriptor closes right after); never after a fatal error.
    if (!broken_ && SSL_is_init_finished(ssl_) == 1) {
        ERR_clear_error();
        SSL_shutdown(ssl_);
    }
    ERR_clear_error();
}

} // namespace nexus::io::detail
