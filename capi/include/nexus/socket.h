/*
 * nexus-socket: the stable C API.
 *
 * One header, prefix nx_. Everything is reached through opaque handles made
 * by nx_<object>_new() and released by nx_<object>_free() (free of NULL does
 * nothing). Functions return int: 0 (NX_OK) on success, a negative status
 * from enum nx_status on failure; a few return a count (>= 0) instead of
 * NX_OK, and say so. Status values are pinned forever; nx_strerror() gives
 * their static text, nx_*_last_error() the detail of the last failure on a
 * handle (nx_last_error() for failures before a handle exists).
 *
 * No function throws, calls back into the host, or starts a thread the host
 * did not ask for: the host pulls events with nx_ws_server_poll() and
 * nx_ws_client_poll(). Binary data is always pointer + length; strings
 * without a length are NUL-terminated UTF-8 (or ASCII where the protocol
 * says so).
 *
 * Threading, in one rule: a handle is used by one thread at a time (the
 * "owning" thread; it may change between calls if the host orders them),
 * except for the functions whose comment says "Any thread".
 * docs/c.md has the whole story and an example.
 */
#ifndef NEXUS_SOCKET_H
#define NEXUS_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#if defined(NX_BUILDING_LIBRARY)
#define NX_EXTERN __attribute__((visibility("default")))
#else
#define NX_EXTERN
#endif

#ifdef __cplusplus
#define NX_NOEXCEPT noexcept
extern "C" {
#else
#define NX_NOEXCEPT
#endif

/* ------------------------------------------------------------ version */

#define NX_VERSION_MAJOR 0
#define NX_VERSION_MINOR 1
#define NX_VERSION_PATCH 0
/* major * 10000 + minor * 100 + patch */
#define NX_VERSION_NUMBER (NX_VERSION_MAJOR * 10000 + NX_VERSION_MINOR * 100 + NX_VERSION_PATCH)

/* The library's version as NX_VERSION_NUMBER computes it, which may differ
 * from the header's when a newer library is loaded. Any thread. */
NX_EXTERN unsigned int nx_version(void) NX_NOEXCEPT;
/* "major.minor.patch", static storage. Any thread. */
NX_EXTERN const char* nx_version_string(void) NX_NOEXCEPT;

/* ------------------------------------------------------------- errors */

/* Status codes. Never renumbered; retired values stay reserved. */
enum nx_status {
    NX_OK = 0,
    NX_EINVAL = -1,        /* an argument is invalid: NULL handle or pointer, value out of range */
    NX_ENOMEM = -2,        /* out of memory */
    NX_ESTATE = -3,        /* not allowed now: before start, after stop, after close */
    NX_ENOCLIENT = -4,     /* no such client (never was, or gone) */
    NX_EUTF8 = -5,         /* text that is not valid UTF-8 */
    NX_ECLOSING = -6,      /* the connection is closing; nothing more goes out */
    NX_EQUEUEFULL = -7,    /* over the send-queue limit: the client is being cut off */
    NX_ETIMEDOUT = -8,     /* the operation did not finish in time */
    NX_EBIND = -9,         /* the address cannot be bound (in use, no permission, bad host) */
    NX_EURL = -10,         /* a malformed URL */
    NX_EDNS = -11,         /* the host name does not resolve */
    NX_EREFUSED = -12,     /* connection refused: nothing listens there */
    NX_EUNREACHABLE = -13, /* no route to the host */
    NX_EHANDSHAKE = -14,   /* the peer answered, but not with a valid WebSocket handshake */
    NX_EIO = -15,          /* the connection broke */
    NX_ECLOSED = -16,      /* the connection is closed */
    NX_ETLS = -17,         /* the TLS handshake failed */
    NX_ECERT = -18,        /* the peer's certificate was refused */
    NX_EINTERNAL = -19,    /* a bug: an unexpected internal failure (the detail says what) */
    NX_ETOOBIG = -20,      /* a message over the configured size limit */
    NX_ETLSCONFIG = -21,   /* unusable TLS options: unreadable certificate or key, wrong
                              passphrase, key not matching the certificate, bad ciphers */
    NX_EUNAVAILABLE = -22  /* scaling: the client is on another server and Redis cannot be
                              reached now */
};

/* Static text for a status ("invalid argument", ...); "unknown status" for
 * values this version does not know. Any thread. */
NX_EXTERN const char* nx_strerror(int status) NX_NOEXCEPT;

/* Detail of the last failure, on this thread, of a call that had no handle
 * to keep it (nx_ws_server_new(), nx_ws_client_new(), calls with a NULL
 * handle); "" when none. Valid until the next failing call on this thread.
 * Any thread (the text is thread-local). */
NX_EXTERN const char* nx_last_error(void) NX_NOEXCEPT;

/* ----------------------------------------------------- shared constants */

/* Message kinds (the RFC 6455 opcodes). */
enum nx_opcode {
    NX_OPCODE_TEXT = 1,
    NX_OPCODE_BINARY = 2,
    NX_OPCODE_CLOSE = 8,
    NX_OPCODE_PING = 9,
    NX_OPCODE_PONG = 10
};

/* Event kinds, for nx_ws_event.kind. */
enum nx_event_kind {
    NX_EVENT_NONE = 0,       /* nothing happened within the timeout (or a wake) */
    NX_EVENT_CONNECT = 1,    /* server: a client finished its handshake */
    NX_EVENT_MESSAGE = 2,    /* a whole message: opcode TEXT or BINARY, data + size */
    NX_EVENT_DISCONNECT = 3, /* a connection ended: close_code, reason in data + size */
    NX_EVENT_ERROR = 4,      /* something went wrong: message text in data + size (a
                                server error with client 0 concerns the server itself;
                                for a HANDSHAKE unanswered, or accepted but with no
                                CONNECT yet: the request is gone) */
    NX_EVENT_HANDSHAKE = 5,  /* server with handshake_events: a request awaits a decision */
    NX_EVENT_STOPPED = 6,    /* server: stop finished; every later poll says so again */
    NX_EVENT_PING = 7,       /* client: the server pinged (data + size; answered already
                                when auto_pong is on) */
    NX_EVENT_PONG = 8        /* client: a pong arrived */
};

/* Log levels, for the options' log_level. */
enum nx_log_level {
    NX_LOG_TRACE = 0,
    NX_LOG_DEBUG = 1,
    NX_LOG_INFO = 2,
    NX_LOG_WARNING = 3,
    NX_LOG_ERROR = 4,
    NX_LOG_OFF = 5
};

/* One event. The pointers point into the handle that filled it and stay
 * valid until the next poll on that handle or its free, whichever comes
 * first; copy what must live longer. data is binary-safe and not
 * NUL-terminated (but a NUL byte follows it, as a convenience for text). */
typedef struct nx_ws_event {
    int kind;         /* enum nx_event_kind */
    uint64_t client;  /* server: the client's id (0 for the server); client: 0 */
    int opcode;       /* MESSAGE: NX_OPCODE_TEXT or NX_OPCODE_BINARY; else 0 */
    const char* data; /* payload, reason or error text; never NULL ("" when empty) */
    size_t size;      /* bytes at data */
    int close_code;   /* DISCONNECT: the close code (1005 none was given, 1006
                         the transport ended without a close frame); else 0 */
} nx_ws_event;

/* ------------------------------------------------------ WebSocket server */

typedef struct nx_ws_server nx_ws_server;

#define NX_WS_SERVER_OPTIONS_VERSION 1

/* Everything a server can be told. Fill with nx_ws_server_options_init()
 * (the defaults below), then change fields. Strings are copied by
 * nx_ws_server_new(); NULL means the default. docs/configuration.md lists
 * the same settings with their environment variables. */
typedef struct nx_ws_server_options {
    unsigned int version;           /* NX_WS_SERVER_OPTIONS_VERSION */
    const char* host;               /* address to bind; "0.0.0.0" */
    int port;                       /* 0..65535; 0 picks a free port; 8080 */
    unsigned int threads;           /* event loops sharing the port; 1 (see nx_ws_server_poll) */
    uint64_t max_clients;           /* over it the handshake gets HTTP 503; 100 */
    uint32_t handshake_timeout_ms;  /* unfinished handshakes are dropped; 10000 */
    uint64_t max_header_bytes;      /* request head over it: HTTP 431; 16384 */
    uint64_t max_frame_size;        /* frames over it: close 1009; 1 MiB */
    uint64_t max_message_size;      /* messages over it: close 1009; 1 MiB */
    uint32_t ping_interval_ms;      /* 0 = no pings; 30000 */
    uint32_t pong_timeout_ms;       /* silent this long after a ping: dropped; 30000 */
    uint32_t idle_timeout_ms;       /* no message either way this long: close 1001; 0 = off */
    uint64_t max_send_queue;        /* bytes queued for one client; over it: close 1008; 4 MiB */
    double max_messages_per_second; /* per client; over it: close 1008; 0 = no limit */
    uint32_t close_timeout_ms;      /* stop's flush bound and close-handshake bound; 5000 */
    const char* allowed_origins;    /* comma-separated exact Origin values; NULL/"" allows all */
    const char* subprotocols;       /* comma-separated, preference order; NULL = none */
    int permessage_deflate;         /* nonzero offers RFC 7692 compression; 0 */
    int deflate_server_no_context_takeover; /* 1: each message compressed alone, with a
                                               compressor lent per message from one kept
                                               per thread; 0 keeps one per client (about
                                               256 KiB each) for better ratios */
    int deflate_client_no_context_takeover; /* 0; 1 asks clients to compress each message
                                               alone, so no client holds an inflater
                                               between messages (about 40 KiB each) */
    int deflate_server_max_window_bits;     /* 8..15; 15 */
    int deflate_client_max_window_bits;     /* 8..15; 15 */
    int deflate_level;                      /* zlib level -1..9; -1 */
    int deflate_memory_level;               /* zlib memLevel 1..9; 8 */
    const char* static_dir;                 /* plain HTTP GETs are served from here; NULL: 404 */
    int handshake_events;                   /* nonzero: every valid upgrade request becomes an
                                               NX_EVENT_HANDSHAKE and waits for
                                               nx_ws_server_accept() / nx_ws_server_reject(); 0 */
    int log_level;                          /* enum nx_log_level, process-wide; NX_LOG_WARNING */
    uint64_t max_event_queue;               /* bytes of events waiting for poll (threads > 1);
                                               over it the client is closed with 1013; 64 MiB */
    /* Scaling (docs/scaling.md): nonzero shares clients, broadcasts, channels
     * and presence with every server on the same Redis and prefix; 0. */
    int scaling_redis;
    const char* redis_url;        /* redis://[[user]:password@]host[:port][/db], rediss://
                                     for TLS; NULL: "redis://127.0.0.1:6379/0" */
    const char* scaling_prefix;   /* of every Redis key and channel; NULL: "nexus" */
    uint32_t scaling_lease_ms;    /* presence lease, >= 300; 10000 */
    uint32_t scaling_timeout_ms;  /* connect, command and query timeout; 2000 */
    uint64_t scaling_max_backlog; /* bytes waiting for Redis before remote deliveries
                                     are dropped; 16 MiB */
} nx_ws_server_options;

/* Fills `options` with the defaults above. `version` must be
 * NX_WS_SERVER_OPTIONS_VERSION (the caller's header); NX_EINVAL otherwise.
 * Any thread. */
NX_EXTERN int nx_ws_server_options_init(nx_ws_server_options* options,
                                        unsigned int version) NX_NOEXCEPT;

/* Makes a server from `options` (NULL: defaults) without binding yet.
 * On success *out owns a server the caller releases with nx_ws_server_free().
 * NX_EINVAL (detail in nx_last_error() naming the field) for invalid
 * options, NX_ENOMEM. *out is NULL on failure. Any thread; the thread that
 * calls it owns the server. */
NX_EXTERN int nx_ws_server_new(nx_ws_server** out, const nx_ws_server_options* options) NX_NOEXCEPT;

/* Stops the server if it runs (as nx_ws_server_stop(), then waits at most
 * close_timeout_ms for queued data to flush) and releases it with every
 * event and pointer it handed out. NULL does nothing. Owning thread, and
 * no other thread may be inside a call on this server. */
NX_EXTERN void nx_ws_server_free(nx_ws_server* server) NX_NOEXCEPT;

/* Detail of the last failure on this server ("" when none): valid until
 * the next call on it. Owning thread. */
NX_EXTERN const char* nx_ws_server_last_error(const nx_ws_server* server) NX_NOEXCEPT;

/* Before start: turns on TLS (wss://, and https for static files) and sets
 * one TLS option by the name and meaning of PHP's `ssl` context, as
 * nx_socket_set_option takes them: "local_cert" (required; PEM, with the
 * key unless "local_pk" is given), "local_pk", "passphrase", "ciphers",
 * "verify_peer" (ask clients for certificates, checked against "cafile" /
 * "capath"), "allow_self_signed", and "sni:HOST" = "CERT_FILE,KEY_FILE
 * [,PASSPHRASE]" for one more certificate chosen by SNI. Files are read by
 * nx_ws_server_start. NX_EINVAL for an unknown name or a bad value,
 * NX_ESTATE once started. Owning thread. */
NX_EXTERN int nx_ws_server_set_tls_option(nx_ws_server* server, const char* name,
                                          const char* value) NX_NOEXCEPT;

/* Loads the TLS certificates when TLS is on, then binds and listens.
 * NX_ETLSCONFIG (a certificate or key that cannot be used: the detail says
 * which and why), NX_EBIND (the detail names the address and the
 * reason), NX_ESTATE when already started or stopped. With threads > 1 the
 * loops start on threads of their own; with 1 nothing runs until poll.
 * Owning thread. */
NX_EXTERN int nx_ws_server_start(nx_ws_server* server) NX_NOEXCEPT;

/* The bound port (useful with port 0), or NX_ESTATE before start. Owning
 * thread. */
NX_EXTERN int nx_ws_server_port(const nx_ws_server* server) NX_NOEXCEPT;

/* Fills *event with the next event, waiting at most timeout_ms (negative:
 * without limit). NX_OK with kind NX_EVENT_NONE when nothing came, when
 * nx_ws_server_wake() was called, or when a signal interrupted the wait;
 * NX_EVENT_STOPPED once a stop has finished, on every later call too. With threads == 1 this call
 * is the event loop: sockets, timers and sends progress only inside it, so call it often (every few
 * ms under load, within ping/timeout bounds when idle). NX_ESTATE before start. Owning thread. The
 * event's pointers stay valid until the next poll or free. */
NX_EXTERN int nx_ws_server_poll(nx_ws_server* server, int timeout_ms,
                                nx_ws_event* event) NX_NOEXCEPT;

/* Makes a poll that waits (or the next one) return NX_EVENT_NONE soon.
 * Any thread, also while the owner is inside poll, and async-signal-safe:
 * a signal handler may call it (and nothing else of this API) to have the
 * owner act on the signal, e.g. call nx_ws_server_stop(). */
NX_EXTERN int nx_ws_server_wake(nx_ws_server* server) NX_NOEXCEPT;

/* A descriptor that becomes readable when poll has something to do, for
 * embedding the server in another event loop (select/poll/epoll, PHP's
 * stream_select): wait for it, then call poll with timeout 0 until it
 * returns NX_EVENT_NONE. The server owns the descriptor: never read, write
 * or close it. NX_ESTATE before start. Owning thread. */
NX_EXTERN int nx_ws_server_fd(const nx_ws_server* server, int* fd) NX_NOEXCEPT;

/* Graceful stop: no new connections, every client gets close 1001, queued
 * data flushes for at most close_timeout_ms, then the sockets close and
 * poll reports NX_EVENT_STOPPED (after a disconnect event per client).
 * Repeated calls do nothing more. Any thread, but not from a signal
 * handler (it allocates; see nx_ws_server_wake()). */
NX_EXTERN int nx_ws_server_stop(nx_ws_server* server) NX_NOEXCEPT;

/* Queues one message to a client: opcode NX_OPCODE_TEXT (data must be
 * UTF-8: NX_EUTF8) or NX_OPCODE_BINARY. data may be NULL when size is 0.
 * NX_ENOCLIENT, NX_ECLOSING, NX_EQUEUEFULL (the client is being cut off
 * with 1008), NX_ETOOBIG (larger than max_send_queue: it could never be
 * queued), NX_ESTATE after stop. The bytes are copied. With threads > 1 the
 * message is handed to the client's loop: a send that overflows the queue
 * there returns NX_OK and later ones NX_ECLOSING; bytes handed over but not
 * yet queued count against max_send_queue too (NX_EQUEUEFULL), so memory
 * stays bounded. Owning thread. */
NX_EXTERN int nx_ws_server_send(nx_ws_server* server, uint64_t client, const char* data,
                                size_t size, int opcode) NX_NOEXCEPT;

/* Queues one message to every connected client but `except` (0: none),
 * encoded (and compressed) once. Returns the number of clients it was queued
 * for (>= 0), or NX_EINVAL / NX_EUTF8 / NX_ETOOBIG / NX_ESTATE. Owning
 * thread. */
NX_EXTERN int nx_ws_server_broadcast(nx_ws_server* server, const char* data, size_t size,
                                     int opcode, uint64_t except) NX_NOEXCEPT;

/* Starts the close handshake with `code` (1000, or 3000..4999, or another
 * code valid to send) and a UTF-8 reason of at most 123 bytes; the
 * disconnect event follows. NX_ENOCLIENT, NX_ECLOSING, NX_EINVAL. Owning
 * thread. */
NX_EXTERN int nx_ws_server_disconnect(nx_ws_server* server, uint64_t client, int code,
                                      const char* reason, size_t reason_size) NX_NOEXCEPT;

/* Answers an NX_EVENT_HANDSHAKE: accept lets the client in (it still counts
 * against max_clients: over it the client gets 503 and no connect event);
 * reject answers with HTTP `status` (400..599) and `body` (may be NULL when
 * body_size is 0) and closes. A request that waits past
 * handshake_timeout_ms is dropped. NX_ENOCLIENT when no request with that id
 * waits. Owning thread. */
NX_EXTERN int nx_ws_server_accept(nx_ws_server* server, uint64_t client) NX_NOEXCEPT;
NX_EXTERN int nx_ws_server_reject(nx_ws_server* server, uint64_t client, int status,
                                  const char* body, size_t body_size) NX_NOEXCEPT;

#define NX_WS_CLIENT_INFO_VERSION 1

/* What the server knows of a client (or of a request awaiting its
 * handshake decision). The pointers point into the server and stay valid
 * until the next call on it. */
typedef struct nx_ws_client_info {
    unsigned int version; /* set by the caller: NX_WS_CLIENT_INFO_VERSION */
    uint64_t id;
    const char* peer;        /* "ip:port", "[ip6]:port" */
    const char* path;        /* the request path, "/" at least */
    const char* query;       /* without '?'; "" when none */
    const char* origin;      /* "" when the request had none */
    const char* subprotocol; /* chosen; "" when none (and while awaiting a decision) */
    const char* headers;     /* the request headers as "Name: value\r\n" lines */
    size_t headers_size;
    const char* user_data; /* see nx_ws_server_set_user_data(); binary-safe */
    size_t user_data_size;
    const char* channels; /* subscribed channels, each followed by '\n' */
    size_t channels_size;
    int64_t connected_at_ms; /* Unix time in milliseconds; 0 while awaiting a decision */
    int compressed;          /* nonzero when permessage-deflate was agreed */
    int pending;             /* nonzero while awaiting a handshake decision */
} nx_ws_client_info;

/* Fills *info for a connected client, a request awaiting its decision, or
 * a client that left while the host handles its NX_EVENT_DISCONNECT (until
 * the next poll), so a disconnect handler can still say who left.
 * NX_ENOCLIENT, NX_EINVAL (NULL, or info->version not
 * NX_WS_CLIENT_INFO_VERSION). Owning thread. */
NX_EXTERN int nx_ws_server_client_info(nx_ws_server* server, uint64_t client,
                                       nx_ws_client_info* info) NX_NOEXCEPT;

/* The ids of the connected clients, in connection order: writes at most
 * `capacity` ids to `ids` (which may be NULL when capacity is 0) and
 * returns how many clients there are (>= 0); call again with a larger
 * array when that is more than capacity. Owning thread. */
NX_EXTERN int nx_ws_server_clients(nx_ws_server* server, uint64_t* ids,
                                   size_t capacity) NX_NOEXCEPT;

/* Connected clients now (>= 0). Any thread. */
NX_EXTERN int nx_ws_server_client_count(const nx_ws_server* server) NX_NOEXCEPT;

/* Replaces the application's data kept with a client, or with a request
 * awaiting its handshake decision, which then keeps it as a client from its
 * connect event on (copied; at most 64 KiB: NX_ETOOBIG). It comes back in
 * nx_ws_client_info. NX_ENOCLIENT. Owning thread. */
NX_EXTERN int nx_ws_server_set_user_data(nx_ws_server* server, uint64_t client, const char* data,
                                         size_t size) NX_NOEXCEPT;

/* Channels. A name is 1..256 bytes without NUL, CR or LF (NX_EINVAL).
 * publish() queues the message to the clients subscribed at that moment,
 * encoded once, and returns how many (>= 0). NX_ENOCLIENT for an unknown
 * client. Owning thread. */
NX_EXTERN int nx_ws_server_subscribe(nx_ws_server* server, uint64_t client, const char* channel,
                                     size_t channel_size) NX_NOEXCEPT;
NX_EXTERN int nx_ws_server_unsubscribe(nx_ws_server* server, uint64_t client, const char* channel,
                                       size_t channel_size) NX_NOEXCEPT;
NX_EXTERN int nx_ws_server_publish(nx_ws_server* server, const char* channel, size_t channel_size,
                                   const char* data, size_t size, int opcode) NX_NOEXCEPT;

#define NX_WS_SERVER_STATS_VERSION 1

/* Counters since start. */
typedef struct nx_ws_server_stats {
    unsigned int version;         /* set by the caller: NX_WS_SERVER_STATS_VERSION */
    uint64_t clients;             /* connected now */
    uint64_t connections_total;   /* handshakes accepted */
    uint64_t handshakes_rejected; /* answered with an HTTP error */
    uint64_t http_requests;       /* plain HTTP requests served */
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in; /* message payload bytes */
    uint64_t bytes_out;
    uint64_t dropped_handshake_timeout;
    uint64_t dropped_pong_timeout;
    uint64_t dropped_idle_timeout;
    uint64_t dropped_send_queue_full;
    uint64_t dropped_rate_limited;
    uint64_t dropped_protocol_error;
    uint64_t dropped_server_stopping;
    uint64_t dropped_pending_limit;
    uint64_t dropped_tls_handshake; /* wss://: TLS handshakes that failed */
    /* Scaling; 0 without it. */
    uint64_t remote_out;       /* broadcasts, publishes, sends handed to Redis */
    uint64_t remote_in;        /* messages from other servers acted on here */
    uint64_t remote_dropped;   /* not handed to Redis: unreachable or over the backlog */
    uint64_t backplane_errors; /* connections to Redis lost or refused */
    uint64_t backplane_up;     /* 1 while this server's links to Redis work (cluster: how
                                  many servers' do) */
    uint64_t servers;          /* 1; for nx_ws_server_get_cluster_stats() the live servers */
} nx_ws_server_stats;

/* Fills *stats. NX_EINVAL for NULL or a version this library does not
 * know. Any thread. */
NX_EXTERN int nx_ws_server_get_stats(const nx_ws_server* server,
                                     nx_ws_server_stats* stats) NX_NOEXCEPT;

/* ------------------------------------------------------------- scaling
 *
 * With scaling_redis on, nx_ws_server_send(), nx_ws_server_disconnect(),
 * nx_ws_server_broadcast() and nx_ws_server_publish() also reach the clients
 * of the other servers sharing the Redis and prefix (their ids carry their
 * server's node id). A send or disconnect to another server's client returns
 * NX_OK once handed to Redis (NX_ENOCLIENT when no live server has that
 * node id, NX_EUNAVAILABLE while Redis is out of reach); broadcast and
 * publish return the local count. Losing Redis is reported once as an
 * NX_EVENT_ERROR with client 0; local clients are served throughout. */

/* This server's node id (0 without scaling or before start). Any thread. */
NX_EXTERN int nx_ws_server_node_id(const nx_ws_server* server, uint32_t* node) NX_NOEXCEPT;

/* The ids of every client of every live server, ascending: this server's
 * from its registry, the others' from presence in Redis. Writes at most
 * `capacity` ids and returns how many there are (>= 0). Until the next call,
 * nx_ws_server_client_info() also describes the other servers' clients it
 * returned (pending 0, channels ""). Blocks for a few round trips to Redis
 * (each bounded by scaling_timeout_ms): NX_EIO, NX_EREFUSED, NX_ETIMEDOUT
 * ... when Redis cannot be asked. Without scaling: nx_ws_server_clients().
 * Owning thread. */
NX_EXTERN int nx_ws_server_cluster_clients(nx_ws_server* server, uint64_t* ids,
                                           size_t capacity) NX_NOEXCEPT;

/* The statistics of every live server added up (servers says how many;
 * the others' figures are at most a third of the lease old). Errors as
 * nx_ws_server_cluster_clients(). Owning thread. */
NX_EXTERN int nx_ws_server_get_cluster_stats(nx_ws_server* server,
                                             nx_ws_server_stats* stats) NX_NOEXCEPT;

/* ------------------------------------------------------ WebSocket client */

typedef struct nx_ws_client nx_ws_client;

#define NX_WS_CLIENT_OPTIONS_VERSION 1

typedef struct nx_ws_client_options {
    unsigned int version;        /* NX_WS_CLIENT_OPTIONS_VERSION */
    uint32_t connect_timeout_ms; /* DNS + TCP + handshake; 10000 */
    const char* subprotocols;    /* comma-separated, offered in this order; NULL = none */
    const char* headers;         /* extra request headers, "Name: value\r\n" lines; NULL */
    const char* origin;          /* Origin header; NULL = none */
    int permessage_deflate;      /* nonzero offers compression; 0 */
    uint64_t max_message_size;   /* larger messages close with 1009; 16 MiB */
    int auto_pong;               /* answer pings at once; 1 */
} nx_ws_client_options;

/* Fills `options` with the defaults above; NX_EINVAL for another version.
 * Any thread. */
NX_EXTERN int nx_ws_client_options_init(nx_ws_client_options* options,
                                        unsigned int version) NX_NOEXCEPT;

/* Makes an unconnected client with `options` (NULL: defaults; copied).
 * The caller frees *out with nx_ws_client_free(). NX_EINVAL, NX_ENOMEM
 * (detail in nx_last_error()). Any thread. */
NX_EXTERN int nx_ws_client_new(nx_ws_client** out, const nx_ws_client_options* options) NX_NOEXCEPT;

/* Closes the connection at once (no close handshake) and releases the
 * client. NULL does nothing. Owning thread. */
NX_EXTERN void nx_ws_client_free(nx_ws_client* client) NX_NOEXCEPT;

/* Detail of the last failure on this client ("" when none), valid until
 * the next call on it. Owning thread. */
NX_EXTERN const char* nx_ws_client_last_error(const nx_ws_client* client) NX_NOEXCEPT;

/* Before connect: one TLS option for wss:// URLs, by the name and meaning
 * of PHP's `ssl` context (see nx_socket_set_option): "verify_peer",
 * "verify_peer_name", "allow_self_signed", "cafile", "capath", "peer_name",
 * "SNI_enabled", "local_cert", "local_pk", "passphrase", "ciphers". By
 * default the server's certificate is checked against the system's CAs and
 * must name the host. NX_EINVAL for an unknown name or a bad value,
 * NX_ESTATE once connected. Owning thread. */
NX_EXTERN int nx_ws_client_set_tls_option(nx_ws_client* client, const char* name,
                                          const char* value) NX_NOEXCEPT;

/* Resolves, connects and completes the handshake to `url`
 * (ws:// or wss://host[:port][/path][?query]; wss:// defaults to port 443)
 * within connect_timeout_ms. NX_EURL, NX_EDNS, NX_EREFUSED,
 * NX_EUNREACHABLE, NX_ETIMEDOUT, NX_ETLS (the TLS handshake failed),
 * NX_ECERT (the server's certificate was refused), NX_ETLSCONFIG,
 * NX_EHANDSHAKE (see nx_ws_client_http_status()), NX_EIO, NX_ESTATE when
 * already connected. The detail says which step failed and where. Owning
 * thread; blocks it. */
NX_EXTERN int nx_ws_client_connect(nx_ws_client* client, const char* url) NX_NOEXCEPT;

/* The HTTP status of a refused handshake (0 when there was none). Owning
 * thread. */
NX_EXTERN int nx_ws_client_http_status(const nx_ws_client* client) NX_NOEXCEPT;

/* The subprotocol the server chose ("" when none); valid until free.
 * Owning thread. */
NX_EXTERN const char* nx_ws_client_subprotocol(const nx_ws_client* client) NX_NOEXCEPT;

/* 1 while connected and not closed, else 0 (also for NULL). Owning thread. */
NX_EXTERN int nx_ws_client_is_open(const nx_ws_client* client) NX_NOEXCEPT;

/* Sends one message (opcode NX_OPCODE_TEXT, UTF-8, or NX_OPCODE_BINARY),
 * writing as much as the socket takes now; the rest goes out in later
 * sends and polls. NX_EUTF8, NX_ECLOSED, NX_EIO, NX_ESTATE before connect.
 * The bytes are copied. Owning thread. */
NX_EXTERN int nx_ws_client_send(nx_ws_client* client, const char* data, size_t size,
                                int opcode) NX_NOEXCEPT;

/* Sends a ping with at most 125 bytes of payload (NX_EINVAL over). Owning
 * thread. */
NX_EXTERN int nx_ws_client_ping(nx_ws_client* client, const char* data, size_t size) NX_NOEXCEPT;

/* Starts the close handshake; poll then reports NX_EVENT_DISCONNECT with the
 * server's answer. Code and reason as in nx_ws_server_disconnect(). Owning
 * thread. */
NX_EXTERN int nx_ws_client_close(nx_ws_client* client, int code, const char* reason,
                                 size_t reason_size) NX_NOEXCEPT;

/* The next event (MESSAGE, PING, PONG, DISCONNECT), waiting at most
 * timeout_ms (negative: without limit); NX_EVENT_NONE on timeout. After
 * DISCONNECT the connection is over: later polls return NX_ECLOSED.
 * NX_ESTATE before connect. The event's pointers stay valid until the next
 * poll or free. Owning thread. */
NX_EXTERN int nx_ws_client_poll(nx_ws_client* client, int timeout_ms,
                                nx_ws_event* event) NX_NOEXCEPT;

/* The connection's socket, readable when poll has something to read.
 * Owned by the client. NX_ESTATE before connect. Owning thread. */
NX_EXTERN int nx_ws_client_fd(const nx_ws_client* client, int* fd) NX_NOEXCEPT;

/* ------------------------------------------------------------- sockets */

/* Plain sockets: TCP, TLS over TCP, UDP, and listening TCP/TLS servers,
 * driven by the calling thread. Every call returns within its timeout
 * (timeout_ms < 0: the socket's default, set with the "timeout" option,
 * 30 s unless set). Errors: NX_EDNS, NX_EREFUSED, NX_EUNREACHABLE,
 * NX_ETIMEDOUT, NX_ETLS (handshake or unusable TLS options), NX_ECERT (the
 * peer's certificate: chain, validity or name), NX_ECLOSED (reset, broken
 * pipe), NX_EIO, NX_EBIND, NX_ESTATE (not connected), NX_EINVAL,
 * NX_ETOOBIG; the detail names the step and "host:port". One thread at a
 * time per handle. NX_ETLSCONFIG for TLS options that cannot be used.
 * Host names are resolved with getaddrinfo, whose own
 * time is not bounded by the timeout. */

typedef struct nx_socket nx_socket;
typedef struct nx_socket_server nx_socket_server;

enum nx_socket_type {
    NX_SOCKET_TCP = 1,
    NX_SOCKET_UDP = 2,
    NX_SOCKET_TLS = 3 /* TLS right after connect (PHP's ssl:// and tls://) */
};

/* Makes an unconnected socket of `type`. The caller frees *out with
 * nx_socket_free(). NX_EINVAL, NX_ENOMEM (detail in nx_last_error()). Any
 * thread. */
NX_EXTERN int nx_socket_new(nx_socket** out, int type) NX_NOEXCEPT;

/* Closes (TLS: sends close_notify without waiting) and releases. NULL does
 * nothing. Owning thread. */
NX_EXTERN void nx_socket_free(nx_socket* socket) NX_NOEXCEPT;

/* Detail of the last failure ("" when none), valid until the next call on
 * the socket. Owning thread. */
NX_EXTERN const char* nx_socket_last_error(const nx_socket* socket) NX_NOEXCEPT;

/* Sets an option from text. TLS options take the names and meanings of
 * PHP's ssl stream context: verify_peer, verify_peer_name,
 * allow_self_signed, cafile, capath, peer_name, SNI_enabled, local_cert,
 * local_pk, passphrase, ciphers (booleans: 1/0, true/false, yes/no,
 * on/off); verification is on by default against the system's CA store,
 * TLS 1.2 at least. Socket options: "timeout" (seconds, fractions allowed:
 * the default of every call), "tcp_nodelay", "keepalive", "rcvbuf",
 * "sndbuf" (bytes), "broadcast" (UDP). NX_EINVAL for an unknown name or a
 * bad value (the detail says which). Owning thread. */
NX_EXTERN int nx_socket_set_option(nx_socket* socket, const char* name,
                                   const char* value) NX_NOEXCEPT;

/* TCP/TLS: connects to host:port (names, "127.0.0.1", "::1"), then the TLS
 * handshake for NX_SOCKET_TLS, within timeout_ms. UDP: sets the default
 * peer of send/receive. Owning thread; blocks it. */
NX_EXTERN int nx_socket_connect(nx_socket* socket, const char* host, int port,
                                int timeout_ms) NX_NOEXCEPT;

/* 1 while connected and not at the peer's end of stream, else 0 (also for
 * NULL). UDP: 1 once bound or connected. Owning thread. */
NX_EXTERN int nx_socket_is_connected(const nx_socket* socket) NX_NOEXCEPT;

/* Writes `data` (binary-safe; may be NULL when size is 0), waiting while the
 * socket is full, until timeout_ms. Returns the bytes written (>= 0; fewer
 * than size when the deadline passed first: with TLS the unwritten tail
 * must be what is sent next), at most INT_MAX per call. UDP: one datagram
 * to the connected peer. Owning thread. */
NX_EXTERN int nx_socket_send(nx_socket* socket, const char* data, size_t size,
                             int timeout_ms) NX_NOEXCEPT;

/* At most `max` (> 0) bytes: *data / *size point into the socket, valid
 * until the next call on it. NX_OK with *size 0 at the end of the stream;
 * NX_ETIMEDOUT when nothing came in time. UDP: one datagram (truncated to
 * max). Owning thread. */
NX_EXTERN int nx_socket_receive(nx_socket* socket, size_t max, int timeout_ms, const char** data,
                                size_t* size) NX_NOEXCEPT;

/* One line including its "\n" (at the end of the stream the unterminated
 * rest); NX_ECLOSED when the stream has ended and nothing is left;
 * NX_ETOOBIG when max_line bytes hold no "\n"; NX_ETIMEDOUT. The bytes read
 * stay buffered after ETOOBIG and ETIMEDOUT. *data valid until the next
 * call. TCP/TLS only. Owning thread. */
NX_EXTERN int nx_socket_read_line(nx_socket* socket, size_t max_line, int timeout_ms,
                                  const char** data, size_t* size) NX_NOEXCEPT;

/* Everything until the peer closes, at most `max` bytes (NX_ETOOBIG
 * beyond); the timeout is for the whole call. *data valid until the next
 * call. TCP/TLS only. Owning thread. */
NX_EXTERN int nx_socket_read_all(nx_socket* socket, size_t max, int timeout_ms, const char** data,
                                 size_t* size) NX_NOEXCEPT;

/* STARTTLS: a TLS handshake over this connected TCP socket with the TLS
 * options set on it, as client (server_side 0: verifies the host given to
 * connect, or peer_name) or server (server_side 1: needs local_cert).
 * Owning thread; blocks it. */
NX_EXTERN int nx_socket_start_tls(nx_socket* socket, int server_side, int timeout_ms) NX_NOEXCEPT;

/* UDP: binds to host:port (port 0 picks one). Owning thread. */
NX_EXTERN int nx_socket_bind(nx_socket* socket, const char* host, int port) NX_NOEXCEPT;

/* UDP: one datagram to host:port. Returns the bytes sent. Owning thread. */
NX_EXTERN int nx_socket_send_to(nx_socket* socket, const char* host, int port, const char* data,
                                size_t size, int timeout_ms) NX_NOEXCEPT;

/* UDP: the next datagram (at most max bytes) and its sender "ip:port";
 * the pointers are valid until the next call on the socket. NX_ETIMEDOUT.
 * Owning thread. */
NX_EXTERN int nx_socket_receive_from(nx_socket* socket, size_t max, int timeout_ms,
                                     const char** data, size_t* size,
                                     const char** sender) NX_NOEXCEPT;

/* "ip:port" of the peer ("" when none) and of this end (UDP: the bound
 * address); valid until the next call on the socket. Owning thread. */
NX_EXTERN const char* nx_socket_peer_address(nx_socket* socket) NX_NOEXCEPT;
NX_EXTERN const char* nx_socket_local_address(nx_socket* socket) NX_NOEXCEPT;

/* The descriptor, to wait on in another loop (with TLS, bytes may already
 * be decrypted: try nx_socket_receive with timeout 0 first). Owned by the
 * socket. NX_ESTATE when there is none. Owning thread. */
NX_EXTERN int nx_socket_fd(const nx_socket* socket, int* fd) NX_NOEXCEPT;

/* Closes the connection (TLS: close_notify, not awaited); the handle stays
 * valid for nx_socket_free. Idempotent. Owning thread. */
NX_EXTERN int nx_socket_close(nx_socket* socket) NX_NOEXCEPT;

/* A listening TCP or TLS server (NX_SOCKET_TCP or NX_SOCKET_TLS; a UDP
 * server is an nx_socket bound with nx_socket_bind). Set options, then
 * listen. The caller frees *out with nx_socket_server_free(). Any thread. */
NX_EXTERN int nx_socket_server_new(nx_socket_server** out, int type) NX_NOEXCEPT;
NX_EXTERN void nx_socket_server_free(nx_socket_server* server) NX_NOEXCEPT;
NX_EXTERN const char* nx_socket_server_last_error(const nx_socket_server* server) NX_NOEXCEPT;

/* Before listen: the TLS options of nx_socket_set_option (a TLS server
 * needs local_cert and local_pk; verify_peer asks clients for
 * certificates), "backlog", "handshake_timeout" (seconds), "timeout"
 * (seconds: the default of accepted sockets), "tcp_nodelay", "keepalive",
 * and "sni:HOST" = "CERT_FILE,KEY_FILE[,PASSPHRASE]" for one more
 * certificate chosen by SNI ("*.example.com" allowed). NX_ESTATE after
 * listen. Owning thread. */
NX_EXTERN int nx_socket_server_set_option(nx_socket_server* server, const char* name,
                                          const char* value) NX_NOEXCEPT;

/* Binds and listens on host:port (port 0 picks one; "::" takes IPv6 and
 * IPv4). NX_EBIND, NX_EDNS (the host does not resolve), NX_ETLS (unusable
 * certificate, key or passphrase).
 * Owning thread. */
NX_EXTERN int nx_socket_server_listen(nx_socket_server* server, const char* host,
                                      int port) NX_NOEXCEPT;

/* The bound port, or NX_ESTATE before listen. Owning thread. */
NX_EXTERN int nx_socket_server_port(const nx_socket_server* server) NX_NOEXCEPT;

/* Waits at most timeout_ms for a connection (with TLS, then its handshake,
 * bounded by handshake_timeout). On NX_OK *client is a connected socket the
 * caller owns (nx_socket_free) and *peer its "ip:port" (valid until the
 * next call on the server). NX_ETIMEDOUT when none came; NX_ETLS / NX_ECERT
 * when a client failed its handshake (the server stays usable). Owning
 * thread. */
NX_EXTERN int nx_socket_server_accept(nx_socket_server* server, int timeout_ms, nx_socket** client,
                                      const char** peer) NX_NOEXCEPT;

/* The listening descriptor (readable when a connection waits). Owned by
 * the server. Owning thread. */
NX_EXTERN int nx_socket_server_fd(const nx_socket_server* server, int* fd) NX_NOEXCEPT;

/* Stops listening; the handle stays valid for free. Owning thread. */
NX_EXTERN int nx_socket_server_close(nx_socket_server* server) NX_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NEXUS_SOCKET_H */
