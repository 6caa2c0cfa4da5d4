/*
 * The one SWIG interface over capi/include/nexus/socket.h, shared by every
 * language. It gives each C handle a class (constructor = _new, destructor
 * = _free) and keeps the last event inside the handle's object, so a host
 * reads an event with plain getters and needs no struct of pointers.
 *
 * A language overlay (bindings/<language>/*.i) includes this file after
 * defining the typemaps of four result types:
 *   nx_result  int status: negative -> the language's error, else nothing
 *   nx_count   int count: negative -> error, else the count
 *   nx_bytes   binary-safe string out (pointer + length; `owned` says free it)
 *   nx_ids     array of client ids out (malloc'ed; the typemap frees it)
 * and (char *STRING, size_t LENGTH) for binary-safe strings in. The error
 * text of a failing call is in nx_binding_detail (thread-local).
 */

%include <stdint.i>

%{
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexus/socket.h"

typedef int nx_result;
typedef int nx_count;
typedef struct nx_bytes {
    const char *data;
    size_t size;
    int owned; /* free(data) after conversion */
} nx_bytes;
typedef struct nx_ids {
    uint64_t *ids;
    size_t count;
} nx_ids;
/* nx_bytes where NULL data means "nothing" (PHP null); languages without a
 * typemap of their own for it get nx_bytes' (an empty string). */
typedef nx_bytes nx_optional_bytes;

/* The last failure on this thread: the overlay's %exception turns a
 * negative nx_binding_status into the language's error, with this text. */
static _Thread_local int nx_binding_status;
static _Thread_local char nx_binding_detail[1024];

static int nx_binding_fail(int status, const char *detail) {
    if (status < 0) {
        nx_binding_status = status;
        const char *text = detail != NULL && detail[0] != '\0' ? detail : nx_strerror(status);
        strncpy(nx_binding_detail, text, sizeof nx_binding_detail - 1);
        nx_binding_detail[sizeof nx_binding_detail - 1] = '\0';
    }
    return status;
}

static char *nx_binding_strdup(const char *text) {
    return strdup(text != NULL ? text : "");
}

static char *nx_binding_memdup(const char *data, size_t size) {
    char *copy = (char *)malloc(size + 1);
    if (copy != NULL) {
        if (size > 0) {
            memcpy(copy, data, size);
        }
        copy[size] = '\0';
    }
    return copy;
}

/* The objects the languages see. */
typedef struct NxWsServer {
    nx_ws_server *handle;
    nx_ws_event event;
} NxWsServer;

typedef struct NxWsClient {
    nx_ws_client *handle;
    nx_ws_event event;
} NxWsClient;

/* A call's result, with the handle's detail read after the call (never as
 * a sibling argument: C leaves the order of evaluation open). */
static int nx_binding_server_status(NxWsServer *s, int rc) {
    return rc < 0 ? nx_binding_fail(rc, nx_ws_server_last_error(s->handle)) : rc;
}

static int nx_binding_client_status(NxWsClient *c, int rc) {
    return rc < 0 ? nx_binding_fail(rc, nx_ws_client_last_error(c->handle)) : rc;
}

/* A plain socket (TCP, TLS, UDP) and a listening server. `handle` is NULL
 * once a language has handed the socket to a stream of its own (PHP's
 * NxSocket::stream()); every call then fails with NX_ESTATE. */
typedef struct NxSocket {
    nx_socket *handle;
    char *sender; /* sender of the last receive_from ("ip:port"), owned */
} NxSocket;

typedef struct NxSocketServer {
    nx_socket_server *handle;
    char *peer; /* peer of the last accept ("ip:port"), owned */
} NxSocketServer;

static int nx_binding_socket_status(NxSocket *s, int rc) {
    return rc < 0 ? nx_binding_fail(rc, nx_socket_last_error(s->handle)) : rc;
}

static int nx_binding_socket_server_status(NxSocketServer *s, int rc) {
    return rc < 0 ? nx_binding_fail(rc, nx_socket_server_last_error(s->handle)) : rc;
}

/* NX_ESTATE when the socket was handed over or the server closed for good. */
static int nx_binding_socket_gone(NxSocket *s) {
    if (s->handle == NULL) {
        return nx_binding_fail(NX_ESTATE, "the socket was handed over to a stream (or closed)");
    }
    return 0;
}

static void nx_binding_keep(char **slot, const char *text) {
    free(*slot);
    *slot = nx_binding_strdup(text);
}

/* An owned copy of nx_ws_client_info: the C struct points into the server. */
typedef struct NxWsClientInfo {
    uint64_t id;
    char *peer;
    char *path;
    char *query;
    char *origin;
    char *subprotocol;
    int64_t connected_at_ms;
    int compressed;
    int pending;
    char *headers_data;
    size_t headers_size;
    char *user_data_data;
    size_t user_data_size;
    char *channels_data;
    size_t channels_size;
} NxWsClientInfo;

static void nx_binding_free_info(NxWsClientInfo *info) {
    if (info == NULL) {
        return;
    }
    free(info->peer);
    free(info->path);
    free(info->query);
    free(info->origin);
    free(info->subprotocol);
    free(info->headers_data);
    free(info->user_data_data);
    free(info->channels_data);
    free(info);
}

static void nx_binding_free_server_options(nx_ws_server_options *o) {
    free((char *)o->host);
    free((char *)o->allowed_origins);
    free((char *)o->subprotocols);
    free((char *)o->static_dir);
    free((char *)o->redis_url);
    free((char *)o->scaling_prefix);
    free(o);
}

static void nx_binding_free_client_options(nx_ws_client_options *o) {
    free((char *)o->subprotocols);
    free((char *)o->headers);
    free((char *)o->origin);
    free(o);
}
%}

typedef int nx_result;
typedef int nx_count;
typedef nx_bytes nx_optional_bytes;

/* String members of the option structs own a copy (freed on reassignment
 * and by the destructor), so nothing leaks and nothing dangles. */
%typemap(memberin) const char * {
    free((char *)$1);
    $1 = $input != NULL ? strdup($input) : NULL;
}

/* ------------------------------------------------------------ constants */

%constant int NX_OK = NX_OK;
%constant int NX_EINVAL = NX_EINVAL;
%constant int NX_ENOMEM = NX_ENOMEM;
%constant int NX_ESTATE = NX_ESTATE;
%constant int NX_ENOCLIENT = NX_ENOCLIENT;
%constant int NX_EUTF8 = NX_EUTF8;
%constant int NX_ECLOSING = NX_ECLOSING;
%constant int NX_EQUEUEFULL = NX_EQUEUEFULL;
%constant int NX_ETIMEDOUT = NX_ETIMEDOUT;
%constant int NX_EBIND = NX_EBIND;
%constant int NX_EURL = NX_EURL;
%constant int NX_EDNS = NX_EDNS;
%constant int NX_EREFUSED = NX_EREFUSED;
%constant int NX_EUNREACHABLE = NX_EUNREACHABLE;
%constant int NX_EHANDSHAKE = NX_EHANDSHAKE;
%constant int NX_EIO = NX_EIO;
%constant int NX_ECLOSED = NX_ECLOSED;
%constant int NX_ETLS = NX_ETLS;
%constant int NX_ECERT = NX_ECERT;
%constant int NX_EINTERNAL = NX_EINTERNAL;
%constant int NX_ETOOBIG = NX_ETOOBIG;
%constant int NX_ETLSCONFIG = NX_ETLSCONFIG;
%constant int NX_EUNAVAILABLE = NX_EUNAVAILABLE;

%constant int NX_EVENT_NONE = NX_EVENT_NONE;
%constant int NX_EVENT_CONNECT = NX_EVENT_CONNECT;
%constant int NX_EVENT_MESSAGE = NX_EVENT_MESSAGE;
%constant int NX_EVENT_DISCONNECT = NX_EVENT_DISCONNECT;
%constant int NX_EVENT_ERROR = NX_EVENT_ERROR;
%constant int NX_EVENT_HANDSHAKE = NX_EVENT_HANDSHAKE;
%constant int NX_EVENT_STOPPED = NX_EVENT_STOPPED;
%constant int NX_EVENT_PING = NX_EVENT_PING;
%constant int NX_EVENT_PONG = NX_EVENT_PONG;

%constant int NX_OPCODE_TEXT = NX_OPCODE_TEXT;
%constant int NX_OPCODE_BINARY = NX_OPCODE_BINARY;
%constant int NX_OPCODE_CLOSE = NX_OPCODE_CLOSE;
%constant int NX_OPCODE_PING = NX_OPCODE_PING;
%constant int NX_OPCODE_PONG = NX_OPCODE_PONG;

%constant int NX_LOG_TRACE = NX_LOG_TRACE;
%constant int NX_LOG_DEBUG = NX_LOG_DEBUG;
%constant int NX_LOG_INFO = NX_LOG_INFO;
%constant int NX_LOG_WARNING = NX_LOG_WARNING;
%constant int NX_LOG_ERROR = NX_LOG_ERROR;
%constant int NX_LOG_OFF = NX_LOG_OFF;

%constant int NX_SOCKET_TCP = NX_SOCKET_TCP;
%constant int NX_SOCKET_UDP = NX_SOCKET_UDP;
%constant int NX_SOCKET_TLS = NX_SOCKET_TLS;

unsigned int nx_version(void);
const char *nx_version_string(void);
const char *nx_strerror(int status);

/* --------------------------------------------------------- option structs */

%rename(NxWsServerOptions) nx_ws_server_options;
typedef struct nx_ws_server_options {
    const char *host;
    int port;
    unsigned int threads;
    uint64_t max_clients;
    uint32_t handshake_timeout_ms;
    uint64_t max_header_bytes;
    uint64_t max_frame_size;
    uint64_t max_message_size;
    uint32_t ping_interval_ms;
    uint32_t pong_timeout_ms;
    uint32_t idle_timeout_ms;
    uint64_t max_send_queue;
    double max_messages_per_second;
    uint32_t close_timeout_ms;
    const char *allowed_origins;
    const char *subprotocols;
    int permessage_deflate;
    int deflate_server_no_context_takeover;
    int deflate_client_no_context_takeover;
    int deflate_server_max_window_bits;
    int deflate_client_max_window_bits;
    int deflate_level;
    int deflate_memory_level;
    const char *static_dir;
    int handshake_events;
    int log_level;
    uint64_t max_event_queue;
    int scaling_redis;
    const char *redis_url;
    const char *scaling_prefix;
    uint32_t scaling_lease_ms;
    uint32_t scaling_timeout_ms;
    uint64_t scaling_max_backlog;
} nx_ws_server_options;

%extend nx_ws_server_options {
    nx_ws_server_options() {
        nx_ws_server_options *o = (nx_ws_server_options *)calloc(1, sizeof *o);
        if (o != NULL) {
            nx_ws_server_options_init(o, NX_WS_SERVER_OPTIONS_VERSION);
        }
        return o;
    }
    ~nx_ws_server_options() {
        nx_binding_free_server_options($self);
    }
}

%rename(NxWsClientOptions) nx_ws_client_options;
typedef struct nx_ws_client_options {
    uint32_t connect_timeout_ms;
    const char *subprotocols;
    const char *headers;
    const char *origin;
    int permessage_deflate;
    uint64_t max_message_size;
    int auto_pong;
} nx_ws_client_options;

%extend nx_ws_client_options {
    nx_ws_client_options() {
        nx_ws_client_options *o = (nx_ws_client_options *)calloc(1, sizeof *o);
        if (o != NULL) {
            nx_ws_client_options_init(o, NX_WS_CLIENT_OPTIONS_VERSION);
        }
        return o;
    }
    ~nx_ws_client_options() {
        nx_binding_free_client_options($self);
    }
}

/* ------------------------------------------------------------ statistics */

%rename(NxWsServerStats) nx_ws_server_stats;
%nodefaultctor nx_ws_server_stats;
%immutable;
typedef struct nx_ws_server_stats {
    uint64_t clients;
    uint64_t connections_total;
    uint64_t handshakes_rejected;
    uint64_t http_requests;
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t dropped_handshake_timeout;
    uint64_t dropped_pong_timeout;
    uint64_t dropped_idle_timeout;
    uint64_t dropped_send_queue_full;
    uint64_t dropped_rate_limited;
    uint64_t dropped_protocol_error;
    uint64_t dropped_server_stopping;
    uint64_t dropped_pending_limit;
    uint64_t dropped_tls_handshake;
    uint64_t remote_out;
    uint64_t remote_in;
    uint64_t remote_dropped;
    uint64_t backplane_errors;
    uint64_t backplane_up;
    uint64_t servers;
} nx_ws_server_stats;

/* ----------------------------------------------------------- client info */

%nodefaultctor NxWsClientInfo;
typedef struct NxWsClientInfo {
    uint64_t id;
    char *peer;
    char *path;
    char *query;
    char *origin;
    char *subprotocol;
    int64_t connected_at_ms;
    int compressed;
    int pending;
} NxWsClientInfo;
%mutable;

%extend NxWsClientInfo {
    ~NxWsClientInfo() {
        nx_binding_free_info($self);
    }
    nx_bytes headers() {
        nx_bytes b = {$self->headers_data, $self->headers_size, 0};
        return b;
    }
    nx_bytes user_data() {
        nx_bytes b = {$self->user_data_data, $self->user_data_size, 0};
        return b;
    }
    nx_bytes channels() {
        nx_bytes b = {$self->channels_data, $self->channels_size, 0};
        return b;
    }
}

/* ---------------------------------------------------------------- server */

%apply (char *STRING, size_t LENGTH) { (const char *data, size_t size) };
%apply (char *STRING, size_t LENGTH) { (const char *reason, size_t reason_size) };
%apply (char *STRING, size_t LENGTH) { (const char *body, size_t body_size) };
%apply (char *STRING, size_t LENGTH) { (const char *channel, size_t channel_size) };

%newobject NxWsServer::client_info;
%newobject NxWsServer::stats;
%newobject NxWsServer::cluster_stats;
%nodefaultctor NxWsServer;
typedef struct NxWsServer {
} NxWsServer;

%extend NxWsServer {
    NxWsServer(const nx_ws_server_options *options) {
        NxWsServer *s = (NxWsServer *)calloc(1, sizeof *s);
        if (s == NULL) {
            nx_binding_fail(NX_ENOMEM, "out of memory");
            return NULL;
        }
        int rc = nx_ws_server_new(&s->handle, options);
        if (nx_binding_fail(rc, nx_last_error()) < 0) {
            free(s);
            return NULL;
        }
        return s;
    }
    ~NxWsServer() {
        nx_ws_server_free($self->handle);
        free($self);
    }
    nx_result set_tls_option(const char *name, const char *value) {
        return nx_binding_server_status($self, nx_ws_server_set_tls_option($self->handle, name, value));
    }
    nx_result start() {
        return nx_binding_server_status($self, nx_ws_server_start($self->handle));
    }
    nx_count port() {
        return nx_binding_fail(nx_ws_server_port($self->handle), "the server is not started");
    }
    nx_count poll(int timeout_ms) {
        int rc = nx_binding_server_status($self, nx_ws_server_poll($self->handle, timeout_ms, &$self->event));
        return rc < 0 ? rc : $self->event.kind;
    }
    uint64_t event_client() { return $self->event.client; }
    int event_opcode() { return $self->event.opcode; }
    int event_close_code() { return $self->event.close_code; }
    nx_bytes event_data() {
        nx_bytes b = {$self->event.data, $self->event.size, 0};
        return b;
    }
    nx_result wake() { return nx_ws_server_wake($self->handle); }
    nx_count fd() {
        int fd = -1;
        int rc = nx_ws_server_fd($self->handle, &fd);
        return rc < 0 ? nx_binding_fail(rc, "the server is not started") : fd;
    }
    nx_result stop() { return nx_ws_server_stop($self->handle); }
    nx_result send(uint64_t client, const char *data, size_t size, int opcode) {
        return nx_binding_server_status($self, nx_ws_server_send($self->handle, client, data, size, opcode));
    }
    nx_count broadcast(const char *data, size_t size, int opcode, uint64_t except) {
        return nx_binding_server_status($self, nx_ws_server_broadcast($self->handle, data, size, opcode, except));
    }
    nx_result disconnect(uint64_t client, int code, const char *reason, size_t reason_size) {
        return nx_binding_server_status($self, nx_ws_server_disconnect($self->handle, client, code, reason, reason_size));
    }
    nx_result accept(uint64_t client) {
        return nx_binding_server_status($self, nx_ws_server_accept($self->handle, client));
    }
    nx_result reject(uint64_t client, int status, const char *body, size_t body_size) {
        return nx_binding_server_status($self, nx_ws_server_reject($self->handle, client, status, body, body_size));
    }
    NxWsClientInfo *client_info(uint64_t client) {
        nx_ws_client_info info;
        NxWsClientInfo *copy;
        memset(&info, 0, sizeof info);
        info.version = NX_WS_CLIENT_INFO_VERSION;
        if (nx_binding_server_status($self, nx_ws_server_client_info($self->handle, client, &info)) < 0) {
            return NULL;
        }
        copy = (NxWsClientInfo *)calloc(1, sizeof *copy);
        if (copy == NULL) {
            nx_binding_fail(NX_ENOMEM, "out of memory");
            return NULL;
        }
        copy->id = info.id;
        copy->peer = nx_binding_strdup(info.peer);
        copy->path = nx_binding_strdup(info.path);
        copy->query = nx_binding_strdup(info.query);
        copy->origin = nx_binding_strdup(info.origin);
        copy->subprotocol = nx_binding_strdup(info.subprotocol);
        copy->connected_at_ms = info.connected_at_ms;
        copy->compressed = info.compressed;
        copy->pending = info.pending;
        copy->headers_data = nx_binding_memdup(info.headers, info.headers_size);
        copy->headers_size = info.headers_size;
        copy->user_data_data = nx_binding_memdup(info.user_data, info.user_data_size);
        copy->user_data_size = info.user_data_size;
        copy->channels_data = nx_binding_memdup(info.channels, info.channels_size);
        copy->channels_size = info.channels_size;
        return copy;
    }
    nx_ids clients() {
        nx_ids list = {NULL, 0};
        for (;;) {
            int n = nx_binding_server_status($self, nx_ws_server_clients($self->handle, list.ids, list.count));
            if (n < 0) {
                free(list.ids); /* a retry's array, when a later call failed */
                list.ids = NULL;
                list.count = 0;
                return list;
            }
            if ((size_t)n <= list.count) {
                list.count = (size_t)n;
                return list;
            }
            free(list.ids);
            list.ids = (uint64_t *)malloc((size_t)n * sizeof *list.ids);
            list.count = list.ids != NULL ? (size_t)n : 0;
            if (list.ids == NULL) {
                return list;
            }
        }
    }
    /* Scaling: every live server's clients (client_info() then knows the
     * other servers' ones too), the cluster's statistics, this node's id. */
    nx_ids cluster_clients() {
        nx_ids list = {NULL, 0};
        for (;;) {
            int n = nx_binding_server_status($self, nx_ws_server_cluster_clients($self->handle, list.ids, list.count));
            if (n < 0) {
                free(list.ids);
                list.ids = NULL;
                list.count = 0;
                return list;
            }
            if ((size_t)n <= list.count) {
                list.count = (size_t)n;
                return list;
            }
            free(list.ids);
            list.ids = (uint64_t *)malloc((size_t)n * sizeof *list.ids);
            list.count = list.ids != NULL ? (size_t)n : 0;
            if (list.ids == NULL) {
                return list;
            }
        }
    }
    nx_ws_server_stats *cluster_stats() {
        nx_ws_server_stats *s = (nx_ws_server_stats *)calloc(1, sizeof *s);
        if (s == NULL) {
            nx_binding_fail(NX_ENOMEM, "out of memory");
            return NULL;
        }
        s->version = NX_WS_SERVER_STATS_VERSION;
        if (nx_binding_server_status($self, nx_ws_server_get_cluster_stats($self->handle, s)) < 0) {
            free(s);
            return NULL;
        }
        return s;
    }
    uint32_t node_id() {
        uint32_t node = 0;
        nx_ws_server_node_id($self->handle, &node);
        return node;
    }
    nx_count client_count() { return nx_ws_server_client_count($self->handle); }
    nx_result set_user_data(uint64_t client, const char *data, size_t size) {
        return nx_binding_server_status($self, nx_ws_server_set_user_data($self->handle, client, data, size));
    }
    nx_result subscribe(uint64_t client, const char *channel, size_t channel_size) {
        return nx_binding_server_status($self, nx_ws_server_subscribe($self->handle, client, channel, channel_size));
    }
    nx_result unsubscribe(uint64_t client, const char *channel, size_t channel_size) {
        return nx_binding_server_status($self, nx_ws_server_unsubscribe($self->handle, client, channel, channel_size));
    }
    nx_count publish(const char *channel, size_t channel_size, const char *data, size_t size, int opcode) {
        return nx_binding_server_status($self, nx_ws_server_publish($self->handle, channel, channel_size, data, size, opcode));
    }
    nx_ws_server_stats *stats() {
        nx_ws_server_stats *s = (nx_ws_server_stats *)calloc(1, sizeof *s);
        if (s == NULL) {
            nx_binding_fail(NX_ENOMEM, "out of memory");
            return NULL;
        }
        s->version = NX_WS_SERVER_STATS_VERSION;
        int rc = nx_ws_server_get_stats($self->handle, s);
        if (nx_binding_fail(rc, nx_last_error()) < 0) {
            free(s);
            return NULL;
        }
        return s;
    }
}

/* ---------------------------------------------------------------- client */

%nodefaultctor NxWsClient;
typedef struct NxWsClient {
} NxWsClient;

%extend NxWsClient {
    NxWsClient(const nx_ws_client_options *options) {
        NxWsClient *c = (NxWsClient *)calloc(1, sizeof *c);
        if (c == NULL) {
            nx_binding_fail(NX_ENOMEM, "out of memory");
            return NULL;
        }
        int rc = nx_ws_client_new(&c->handle, options);
        if (nx_binding_fail(rc, nx_last_error()) < 0) {
            free(c);
            return NULL;
        }
        return c;
    }
    ~NxWsClient() {
        nx_ws_client_free($self->handle);
        free($self);
    }
    nx_result set_tls_option(const char *name, const char *value) {
        return nx_binding_client_status($self, nx_ws_client_set_tls_option($self->handle, name, value));
    }
    nx_result connect(const char *url) {
        return nx_binding_client_status($self, nx_ws_client_connect($self->handle, url));
    }
    int http_status() { return nx_ws_client_http_status($self->handle); }
    const char *subprotocol() { return nx_ws_client_subprotocol($self->handle); }
    bool is_open() { return nx_ws_client_is_open($self->handle) != 0; }
    nx_result send(const char *data, size_t size, int opcode) {
        return nx_binding_client_status($self, nx_ws_client_send($self->handle, data, size, opcode));
    }
    nx_result ping(const char *data, size_t size) {
        return nx_binding_client_status($self, nx_ws_client_ping($self->handle, data, size));
    }
    nx_result close(int code, const char *reason, size_t reason_size) {
        return nx_binding_client_status($self, nx_ws_client_close($self->handle, code, reason, reason_size));
    }
    nx_count poll(int timeout_ms) {
        int rc = nx_binding_client_status($self, nx_ws_client_poll($self->handle, timeout_ms, &$self->event));
        return rc < 0 ? rc : $self->event.kind;
    }
    int event_opcode() { return $self->event.opcode; }
    int event_close_code() { return $self->event.close_code; }
    nx_bytes event_data() {
        nx_bytes b = {$self->event.data, $self->event.size, 0};
        return b;
    }
    nx_count fd() {
        int fd = -1;
        int rc = nx_ws_client_fd($self->handle, &fd);
        return rc < 0 ? nx_binding_fail(rc, "the client is not connected") : fd;
    }
}

/* --------------------------------------------------------------- sockets */

/* Timeouts are milliseconds, negative: the socket's default (its "timeout"
 * option, 30 s unless set). Strings in and out are binary-safe. */

%newobject NxSocketServer::accept;
%nodefaultctor NxSocket;
typedef struct NxSocket {
} NxSocket;

%extend NxSocket {
    NxSocket(int type) {
        NxSocket *s = (NxSocket *)calloc(1, sizeof *s);
        if (s == NULL) {
            nx_binding_fail(NX_ENOMEM, "out of memory");
            return NULL;
        }
        int rc = nx_socket_new(&s->handle, type);
        if (nx_binding_fail(rc, nx_last_error()) < 0) {
            free(s);
            return NULL;
        }
        return s;
    }
    ~NxSocket() {
        nx_socket_free($self->handle);
        free($self->sender);
        free($self);
    }
    nx_result set_option(const char *name, const char *value) {
        if (nx_binding_socket_gone($self) < 0) return NX_ESTATE;
        return nx_binding_socket_status($self, nx_socket_set_option($self->handle, name, value));
    }
    nx_result connect(const char *host, int port, int timeout_ms) {
        if (nx_binding_socket_gone($self) < 0) return NX_ESTATE;
        return nx_binding_socket_status($self, nx_socket_connect($self->handle, host, port, timeout_ms));
    }
    bool is_connected() { return nx_socket_is_connected($self->handle) != 0; }
    nx_count send(const char *data, size_t size, int timeout_ms) {
        if (nx_binding_socket_gone($self) < 0) return NX_ESTATE;
        return nx_binding_socket_status($self, nx_socket_send($self->handle, data, size, timeout_ms));
    }
    /* At most max bytes; "" at the end of the stream; NX_ETIMEDOUT. */
    nx_bytes receive(int max, int timeout_ms) {
        nx_bytes b = {NULL, 0, 0};
        if (nx_binding_socket_gone($self) < 0) return b;
        if (max <= 0) {
            nx_binding_fail(NX_EINVAL, "receive: the length must be at least 1");
            return b;
        }
        nx_binding_socket_status($self, nx_socket_receive($self->handle, (size_t)max, timeout_ms, &b.data, &b.size));
        return b;
    }
    /* One line with its "\n" (the unterminated rest at the end); NULL once
     * the stream has ended (NX_ECLOSED is no error here). */
    nx_optional_bytes read_line(int max, int timeout_ms) {
        nx_bytes b = {NULL, 0, 0};
        if (nx_binding_socket_gone($self) < 0) return b;
        if (max <= 0) {
            nx_binding_fail(NX_EINVAL, "read_line: the maximum length must be at least 1");
            return b;
        }
        int rc = nx_socket_read_line($self->handle, (size_t)max, timeout_ms, &b.data, &b.size);
        if (rc == NX_ECLOSED) {
            b.data = NULL;
            b.size = 0;
            return b;
        }
        if (nx_binding_socket_status($self, rc) < 0) {
            b.data = NULL;
            b.size = 0;
        } else if (b.data == NULL) {
            b.data = "";
        }
        return b;
    }
    nx_bytes read_all(int max, int timeout_ms) {
        nx_bytes b = {NULL, 0, 0};
        if (nx_binding_socket_gone($self) < 0) return b;
        if (max < 0) {
            nx_binding_fail(NX_EINVAL, "read_all: the maximum length must not be negative");
            return b;
        }
        nx_binding_socket_status($self, nx_socket_read_all($self->handle, (size_t)max, timeout_ms, &b.data, &b.size));
        return b;
    }
    nx_result start_tls(int server_side, int timeout_ms) {
        if (nx_binding_socket_gone($self) < 0) return NX_ESTATE;
        return nx_binding_socket_status($self, nx_socket_start_tls($self->handle, server_side, timeout_ms));
    }
    nx_result bind(const char *host, int port) {
        if (nx_binding_socket_gone($self) < 0) return NX_ESTATE;
        return nx_binding_socket_status($self, nx_socket_bind($self->handle, host, port));
    }
    nx_count send_to(const char *host, int port, const char *data, size_t size, int timeout_ms) {
        if (nx_binding_socket_gone($self) < 0) return NX_ESTATE;
        return nx_binding_socket_status($self, nx_socket_send_to($self->handle, host, port, data, size, timeout_ms));
    }
    /* The next datagram; its sender is last_sender() afterwards. */
    nx_bytes receive_from(int max, int timeout_ms) {
        nx_bytes b = {NULL, 0, 0};
        const char *sender = NULL;
        if (nx_binding_socket_gone($self) < 0) return b;
        if (max <= 0) {
            nx_binding_fail(NX_EINVAL, "receive_from: the length must be at least 1");
            return b;
        }
        if (nx_binding_socket_status($self, nx_socket_receive_from($self->handle, (size_t)max, timeout_ms, &b.data, &b.size, &sender)) == 0) {
            nx_binding_keep(&$self->sender, sender);
        }
        return b;
    }
    const char *last_sender() { return $self->sender != NULL ? $self->sender : ""; }
    const char *peer_address() { return $self->handle != NULL ? nx_socket_peer_address($self->handle) : ""; }
    const char *local_address() { return $self->handle != NULL ? nx_socket_local_address($self->handle) : ""; }
    nx_count fd() {
        int fd = -1;
        if (nx_binding_socket_gone($self) < 0) return NX_ESTATE;
        int rc = nx_socket_fd($self->handle, &fd);
        return rc < 0 ? nx_binding_fail(rc, nx_last_error()) : fd;
    }
    nx_result close() {
        return $self->handle != NULL ? nx_socket_close($self->handle) : NX_OK;
    }
}

%nodefaultctor NxSocketServer;
typedef struct NxSocketServer {
} NxSocketServer;

%extend NxSocketServer {
    NxSocketServer(int type) {
        NxSocketServer *s = (NxSocketServer *)calloc(1, sizeof *s);
        if (s == NULL) {
            nx_binding_fail(NX_ENOMEM, "out of memory");
            return NULL;
        }
        int rc = nx_socket_server_new(&s->handle, type);
        if (nx_binding_fail(rc, nx_last_error()) < 0) {
            free(s);
            return NULL;
        }
        return s;
    }
    ~NxSocketServer() {
        nx_socket_server_free($self->handle);
        free($self->peer);
        free($self);
    }
    nx_result set_option(const char *name, const char *value) {
        return nx_binding_socket_server_status($self, nx_socket_server_set_option($self->handle, name, value));
    }
    nx_result listen(const char *host, int port) {
        return nx_binding_socket_server_status($self, nx_socket_server_listen($self->handle, host, port));
    }
    nx_count port() {
        int rc = nx_socket_server_port($self->handle);
        return rc < 0 ? nx_binding_fail(rc, nx_last_error()) : rc;
    }
    /* A connected socket (its peer is last_peer()), or NULL when none came
     * within timeout_ms (>= 0). A client that failed its TLS handshake is
     * an error (NX_ETLS, NX_ECERT) after which the server stays usable. */
    NxSocket *accept(int timeout_ms) {
        nx_socket *client = NULL;
        const char *peer = NULL;
        int rc = nx_socket_server_accept($self->handle, timeout_ms, &client, &peer);
        if (rc == NX_ETIMEDOUT) {
            return NULL;
        }
        if (nx_binding_socket_server_status($self, rc) < 0) {
            return NULL;
        }
        NxSocket *s = (NxSocket *)calloc(1, sizeof *s);
        if (s == NULL) {
            nx_socket_free(client);
            nx_binding_fail(NX_ENOMEM, "out of memory");
            return NULL;
        }
        s->handle = client;
        nx_binding_keep(&$self->peer, peer);
        return s;
    }
    const char *last_peer() { return $self->peer != NULL ? $self->peer : ""; }
    nx_count fd() {
        int fd = -1;
        int rc = nx_socket_server_fd($self->handle, &fd);
        return rc < 0 ? nx_binding_fail(rc, nx_last_error()) : fd;
    }
    nx_result close() { return nx_socket_server_close($self->handle); }
}
