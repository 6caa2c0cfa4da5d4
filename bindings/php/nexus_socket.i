/*
 * PHP overlay: the typemaps bindings/nexus_socket.i asks for, the exception
 * classes, and phpinfo(). Builds the extension nexus_socket.so.
 */
%module nexus_socket

%pragma(php) version="0.1.0"

%{
#include "nexus/socket.h"
#include "zend_exceptions.h"
#include "ext/spl/spl_exceptions.h"
#include "ext/standard/info.h"

static zend_class_entry *nx_php_socket_exception;
static zend_class_entry *nx_php_connection_exception;
static zend_class_entry *nx_php_timeout_exception;
static zend_class_entry *nx_php_unknown_client_exception;
static zend_class_entry *nx_php_invalid_argument_exception;

static zend_class_entry *nx_php_register_exception(const char *name, zend_class_entry *parent) {
    zend_class_entry ce;
    INIT_CLASS_ENTRY_EX(ce, name, strlen(name), NULL);
    return zend_register_internal_class_ex(&ce, parent);
}

/* One table: status -> exception class. */
static zend_class_entry *nx_php_exception_for(int status) {
    switch (status) {
    case NX_ETIMEDOUT:
        return nx_php_timeout_exception;
    case NX_EDNS:
    case NX_EREFUSED:
    case NX_EUNREACHABLE:
    case NX_EHANDSHAKE:
    case NX_EIO:
    case NX_ECLOSED:
    case NX_ETLS:
    case NX_ECERT:
        return nx_php_connection_exception;
    case NX_ENOCLIENT:
        return nx_php_unknown_client_exception;
    case NX_EINVAL:
    case NX_EUTF8:
    case NX_ETOOBIG:
    case NX_EURL:
    case NX_ETLSCONFIG:
        return nx_php_invalid_argument_exception;
    default:
        return nx_php_socket_exception;
    }
}
%}

%minit %{
    nx_php_socket_exception =
        nx_php_register_exception("Nexus\\Socket\\SocketException", spl_ce_RuntimeException);
    nx_php_connection_exception =
        nx_php_register_exception("Nexus\\Socket\\ConnectionException", nx_php_socket_exception);
    nx_php_timeout_exception =
        nx_php_register_exception("Nexus\\Socket\\TimeoutException", nx_php_connection_exception);
    nx_php_unknown_client_exception =
        nx_php_register_exception("Nexus\\Socket\\UnknownClientException", nx_php_socket_exception);
    nx_php_invalid_argument_exception =
        nx_php_register_exception("Nexus\\Socket\\InvalidArgumentException", nx_php_socket_exception);
%}

%pragma(php) phpinfo=%{
    php_info_print_table_start();
    php_info_print_table_header(2, "nexus_socket", "enabled");
    php_info_print_table_row(2, "Extension version", "0.1.0");
    php_info_print_table_row(2, "Library version (libnexus-socket)", nx_version_string());
    php_info_print_table_end();
%}

/* Every wrapped call: a negative status becomes the exception of its class. */
%exception {
    nx_binding_status = 0;
    $action
    if (nx_binding_status < 0) {
        zend_throw_exception(nx_php_exception_for(nx_binding_status), nx_binding_detail,
                             nx_binding_status);
        nx_binding_status = 0;
        SWIG_fail;
    }
}

%typemap(out, phptype="void") nx_result %{
    RETVAL_NULL();
%}
%typemap(out, phptype="int") nx_count %{
    RETVAL_LONG($1);
%}
%typemap(out, phptype="string") nx_bytes %{
    RETVAL_STRINGL($1.data != NULL ? $1.data : "", $1.size);
    if ($1.owned) {
        free((void *)$1.data);
    }
%}
/* NULL data: PHP null (NxSocket::read_line at the end of the stream). */
%typemap(out, phptype="?string") nx_optional_bytes %{
    if ($1.data == NULL) {
        RETVAL_NULL();
    } else {
        RETVAL_STRINGL($1.data, $1.size);
    }
    if ($1.owned) {
        free((void *)$1.data);
    }
%}
%typemap(out, phptype="array") nx_ids %{
    array_init_size(return_value, (uint32_t)$1.count);
    for (size_t nx_i = 0; nx_i < $1.count; ++nx_i) {
        add_next_index_long(return_value, (zend_long)$1.ids[nx_i]);
    }
    free($1.ids);
%}

/* ------------------------------------------------ sockets as PHP streams */

/*
 * NxSocket::stream() turns a connected socket into a real PHP stream
 * resource (fread, fwrite, fgets, feof, fclose, stream_set_timeout,
 * stream_set_blocking, stream_select, stream_socket_get_name,
 * stream_get_meta_data, stream_socket_enable_crypto for STARTTLS). The stream owns the native socket from then on:
 * the NxSocket object is left empty (its calls fail with NX_ESTATE) and
 * fclose (or the resource's destruction) frees the socket.
 *
 * Reads: one nx_socket_receive per read (PHP's fread returns after one),
 * a read of 0 bytes at the end of the stream sets eof; a timeout returns
 * nothing and sets timed_out (stream_get_meta_data), as PHP's own sockets
 * do. feof() looks without waiting. stream_select() gets the descriptor;
 * since bytes may wait inside OpenSSL where poll does not see them, casting
 * for select (and feof) first pulls what is ready, without waiting, into the
 * stream's read buffer, which stream_select() counts as readable.
 */
%{
#include "php_network.h"

typedef struct nx_php_socket_stream {
    nx_socket *socket;
    int timeout_ms; /* read and write timeout; -1: the socket's default */
    int blocking;
    int timed_out;
    int probing;    /* a read that must not wait (feof, select) */
    long long delivered; /* bytes all reads returned to PHP */
    long long written;   /* bytes all writes took */
    int crypto_method;   /* STREAM_CRYPTO_METHOD_* from stream_socket_enable_crypto */
    int encrypted;
} nx_php_socket_stream;

/* Whether PHP counts written bytes in stream->position for streams that
 * cannot seek (8.2 does; older versions did not): seen once on a stream of
 * our own whose write takes everything. */
static ssize_t nx_php_probe_write(php_stream *stream, const char *buf, size_t count) {
    (void)stream;
    (void)buf;
    return (ssize_t)count;
}
static ssize_t nx_php_probe_read(php_stream *stream, char *buf, size_t count) {
    (void)stream;
    (void)buf;
    (void)count;
    return 0;
}
static int nx_php_probe_close(php_stream *stream, int close_handle) {
    (void)stream;
    (void)close_handle;
    return 0;
}
static int nx_php_probe_flush(php_stream *stream) {
    (void)stream;
    return 0;
}
static const php_stream_ops nx_php_probe_ops = {
    nx_php_probe_write, nx_php_probe_read, nx_php_probe_close, nx_php_probe_flush,
    "nexus_socket_probe", NULL, NULL, NULL, NULL,
};
static int nx_php_writes_move_position(void) {
    static int known = -1;
    if (known < 0) {
        php_stream *probe = php_stream_alloc(&nx_php_probe_ops, NULL, NULL, "r+");
        if (probe == NULL) {
            return 1;
        }
        php_stream_write(probe, "x", 1);
        known = probe->position == 1;
        php_stream_free(probe, PHP_STREAM_FREE_CLOSE);
    }
    return known;
}

/*
 * Whether a read may wait. PHP 8.2's fread takes what its read buffer holds
 * and then, when that was less than asked for, reads once more: on its own
 * sockets that read waits until more comes or the timeout passes, though
 * the call already has data (an echo server reading 1024 of 1500 bytes
 * stalls on the last 476). Here the read that follows data the same call
 * already took does not wait. What the current call took is what was
 * delivered minus what PHP has counted as consumed (stream->position, which
 * fread advances when it returns and fgets as it copies; PHP 8.2 adds what
 * was written) minus what is still buffered. With read filters the buffer
 * holds filtered bytes: wait as PHP does.
 */
static int nx_php_stream_may_wait(php_stream *stream, nx_php_socket_stream *s) {
    if (s->probing || !s->blocking) {
        return 0;
    }
    if (stream->readfilters.head != NULL) {
        return 1;
    }
    long long buffered = (long long)(stream->writepos - stream->readpos);
    long long counted = s->delivered + (nx_php_writes_move_position() ? s->written : 0);
    long long taken_now = counted - (long long)stream->position - buffered;
    return taken_now <= 0;
}

static ssize_t nx_php_stream_read(php_stream *stream, char *buf, size_t count) {
    nx_php_socket_stream *s = (nx_php_socket_stream *)stream->abstract;
    const char *data = NULL;
    size_t size = 0;
    if (s->socket == NULL) {
        return -1;
    }
    if (count == 0) {
        return 0;
    }
    int wait = nx_php_stream_may_wait(stream, s);
    if (!s->probing) {
        s->timed_out = 0;
    }
    int rc = nx_socket_receive(s->socket, count, wait ? s->timeout_ms : 0, &data, &size);
    if (rc == NX_ETIMEDOUT) {
        if (wait) {
            s->timed_out = 1;
        }
        return 0;
    }
    if (rc < 0) {
        stream->eof = 1;
        return -1;
    }
    if (size == 0) {
        stream->eof = 1;
        return 0;
    }
    if (size > count) { /* never: receive returns at most count */
        size = count;
    }
    memcpy(buf, data, size);
    s->delivered += (long long)size;
    return (ssize_t)size;
}

static ssize_t nx_php_stream_write(php_stream *stream, const char *buf, size_t count) {
    nx_php_socket_stream *s = (nx_php_socket_stream *)stream->abstract;
    if (s->socket == NULL) {
        return -1;
    }
    if (count == 0) {
        return 0;
    }
    int rc = nx_socket_send(s->socket, buf, count, s->blocking ? s->timeout_ms : 0);
    if (rc > 0) {
        s->written += rc;
    }
    if (rc > 0 || (rc == 0 && !s->blocking)) {
        return rc; /* all, part (the deadline passed), or nothing yet when non-blocking */
    }
    if (rc == 0) {
        s->timed_out = 1;
    }
    if (!(stream->flags & PHP_STREAM_FLAG_SUPPRESS_ERRORS)) {
        php_error_docref(NULL, E_NOTICE, "Send of %zu bytes failed: %s", count,
                         rc == 0 ? "timed out" : nx_socket_last_error(s->socket));
    }
    return -1;
}

static int nx_php_stream_close(php_stream *stream, int close_handle) {
    nx_php_socket_stream *s = (nx_php_socket_stream *)stream->abstract;
    (void)close_handle; /* the descriptor is never handed out for keeps */
    if (s != NULL) {
        nx_socket_free(s->socket);
        efree(s);
        stream->abstract = NULL;
    }
    return 0;
}

static int nx_php_stream_flush(php_stream *stream) {
    (void)stream;
    return 0;
}

/* Reads what is ready now into the stream's read buffer (0 when nothing). */
static void nx_php_stream_probe(php_stream *stream, nx_php_socket_stream *s) {
    if (stream->writepos - stream->readpos > 0 || stream->eof) {
        return;
    }
    s->probing = 1;
    php_stream_fill_read_buffer(stream, stream->chunk_size);
    s->probing = 0;
}

static int nx_php_stream_cast(php_stream *stream, int castas, void **ret) {
    nx_php_socket_stream *s = (nx_php_socket_stream *)stream->abstract;
    int fd = -1;
    switch (castas) {
    case PHP_STREAM_AS_FD_FOR_SELECT:
    case PHP_STREAM_AS_FD:
    case PHP_STREAM_AS_SOCKETD:
        if (s == NULL || s->socket == NULL || nx_socket_fd(s->socket, &fd) < 0) {
            return FAILURE;
        }
        if (castas == PHP_STREAM_AS_FD_FOR_SELECT && ret != NULL) {
            nx_php_stream_probe(stream, s);
        }
        if (ret != NULL) {
            *(php_socket_t *)ret = fd;
        }
        return SUCCESS;
    default:
        return FAILURE;
    }
}

static int nx_php_stream_set_option(php_stream *stream, int option, int value, void *ptrparam) {
    nx_php_socket_stream *s = (nx_php_socket_stream *)stream->abstract;
    if (s == NULL) {
        return PHP_STREAM_OPTION_RETURN_ERR;
    }
    switch (option) {
    case PHP_STREAM_OPTION_BLOCKING: {
        int old = s->blocking;
        s->blocking = value != 0;
        return old;
    }
    case PHP_STREAM_OPTION_READ_TIMEOUT: {
        const struct timeval *tv = (const struct timeval *)ptrparam;
        long long ms = (long long)tv->tv_sec * 1000 + tv->tv_usec / 1000;
        s->timeout_ms = tv->tv_sec < 0 ? -1 : ms > INT_MAX ? INT_MAX : (int)ms;
        s->timed_out = 0;
        return PHP_STREAM_OPTION_RETURN_OK;
    }
    case PHP_STREAM_OPTION_META_DATA_API:
        add_assoc_bool((zval *)ptrparam, "timed_out", s->timed_out);
        add_assoc_bool((zval *)ptrparam, "blocked", s->blocking);
        add_assoc_bool((zval *)ptrparam, "eof", stream->eof);
        return PHP_STREAM_OPTION_RETURN_OK;
    case PHP_STREAM_OPTION_CHECK_LIVENESS:
        if (s->socket == NULL) {
            return PHP_STREAM_OPTION_RETURN_ERR;
        }
        nx_php_stream_probe(stream, s);
        return stream->eof && stream->writepos == stream->readpos ? PHP_STREAM_OPTION_RETURN_ERR
                                                                  : PHP_STREAM_OPTION_RETURN_OK;
    case PHP_STREAM_OPTION_XPORT_API: {
        php_stream_xport_param *xparam = (php_stream_xport_param *)ptrparam;
        if (s->socket == NULL) {
            return PHP_STREAM_OPTION_RETURN_ERR;
        }
        switch (xparam->op) {
        case STREAM_XPORT_OP_GET_NAME:
        case STREAM_XPORT_OP_GET_PEER_NAME: {
            const char *name = xparam->op == STREAM_XPORT_OP_GET_NAME
                                   ? nx_socket_local_address(s->socket)
                                   : nx_socket_peer_address(s->socket);
            xparam->outputs.addr = NULL;
            xparam->outputs.addrlen = 0;
            xparam->outputs.textaddr = NULL;
            if (name == NULL || name[0] == '\0') {
                xparam->outputs.returncode = -1;
            } else {
                if (xparam->want_textaddr) {
                    xparam->outputs.textaddr = zend_string_init(name, strlen(name), 0);
                }
                xparam->outputs.returncode = 0;
            }
            return PHP_STREAM_OPTION_RETURN_OK;
        }
        default:
            return PHP_STREAM_OPTION_RETURN_NOTIMPL;
        }
    }
    case PHP_STREAM_OPTION_CRYPTO_API: {
        /* stream_socket_enable_crypto($client, true, STREAM_CRYPTO_METHOD_TLS_SERVER):
         * STARTTLS with the TLS options the socket has (an accepted socket:
         * its server's 'ssl' options). TLS cannot be turned off again. */
        php_stream_xport_crypto_param *cparam = (php_stream_xport_crypto_param *)ptrparam;
        if (s->socket == NULL) {
            return PHP_STREAM_OPTION_RETURN_ERR;
        }
        if (cparam->op == STREAM_XPORT_CRYPTO_OP_SETUP) {
            s->crypto_method = (int)cparam->inputs.method;
            cparam->outputs.returncode = 0;
            return PHP_STREAM_OPTION_RETURN_OK;
        }
        if (!cparam->inputs.activate) {
            php_error_docref(NULL, E_WARNING, "TLS cannot be turned off on this connection");
            cparam->outputs.returncode = -1;
            return PHP_STREAM_OPTION_RETURN_OK;
        }
        if (s->encrypted) {
            cparam->outputs.returncode = 1;
            return PHP_STREAM_OPTION_RETURN_OK;
        }
        if (stream->writepos - stream->readpos > 0) {
            php_error_docref(NULL, E_WARNING, "%lld bytes received in clear are unread; TLS cannot start after them",
                             (long long)(stream->writepos - stream->readpos));
            cparam->outputs.returncode = -1;
            return PHP_STREAM_OPTION_RETURN_OK;
        }
        int rc = nx_socket_start_tls(s->socket, (s->crypto_method & 1) == 0, s->timeout_ms);
        if (rc < 0) {
            php_error_docref(NULL, E_WARNING, "%s", nx_socket_last_error(s->socket));
            cparam->outputs.returncode = -1;
        } else {
            s->encrypted = 1;
            cparam->outputs.returncode = 1;
        }
        return PHP_STREAM_OPTION_RETURN_OK;
    }
    default:
        return PHP_STREAM_OPTION_RETURN_NOTIMPL;
    }
}

static const php_stream_ops nx_php_socket_stream_ops = {
    nx_php_stream_write,
    nx_php_stream_read,
    nx_php_stream_close,
    nx_php_stream_flush,
    "nexus_socket",
    NULL, /* seek */
    nx_php_stream_cast,
    NULL, /* stat */
    nx_php_stream_set_option,
};

/* A stream over `socket`, which it owns from now on (also on failure). */
static php_stream *nx_php_socket_stream_new(nx_socket *socket) {
    nx_php_socket_stream *s = (nx_php_socket_stream *)ecalloc(1, sizeof *s);
    s->socket = socket;
    s->timeout_ms = -1;
    s->blocking = 1;
    php_stream *stream = php_stream_alloc(&nx_php_socket_stream_ops, s, NULL, "r+");
    if (stream == NULL) {
        nx_socket_free(socket);
        efree(s);
        return NULL;
    }
    stream->flags |= PHP_STREAM_FLAG_AVOID_BLOCKING;
    /* Reads of at least a whole TLS record: OpenSSL keeps no decrypted rest
     * that a select on the descriptor would miss. */
    stream->chunk_size = 16384;
    return stream;
}

typedef php_stream *nx_php_stream;
%}

/* A stream resource (the stream is exposed to PHP, which frees it). */
%typemap(out) nx_php_stream %{
    php_stream_to_zval($1, return_value);
%}

%include "../nexus_socket.i"


%extend NxSocket {
    /* The socket as a PHP stream resource that owns it from now on;
     * `encrypted`: TLS is on already (stream_socket_enable_crypto then has
     * nothing to do). */
    nx_php_stream stream(int encrypted = 0) {
        if (nx_binding_socket_gone($self) < 0) {
            return NULL;
        }
        nx_socket *socket = $self->handle;
        $self->handle = NULL;
        php_stream *stream = nx_php_socket_stream_new(socket);
        if (stream == NULL) {
            nx_binding_fail(NX_ENOMEM, "cannot make a PHP stream");
        } else {
            ((nx_php_socket_stream *)stream->abstract)->encrypted = encrypted != 0;
        }
        return stream;
    }
}
