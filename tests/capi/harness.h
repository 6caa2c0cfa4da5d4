/*
 * Helpers for the C API tests: deadlines, recorded events, a server fixture
 * whose owner (the test thread) pumps nx_ws_server_poll() while it waits, and
 * "peers": nx_ws_client handles that each live on a thread of their own (the
 * client is used by that thread only), run calls the test hands them, and
 * poll their client in between, recording its events.
 *
 * Every wait is a loop bounded by a deadline; nothing sleeps to wait.
 * CMocka assertions are made on the test thread only (they longjmp).
 */
#ifndef NX_TESTS_CAPI_HARNESS_H
#define NX_TESTS_CAPI_HARNESS_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <nexus/socket.h>

/* The bound of every wait for something that should happen "now". */
#define WAIT_MS 10000
/* The bound of a wait for something that should not happen (absence). */
#define QUIET_MS 200
/* A call on a peer did not finish within its bound. */
#define PEER_TIMEOUT (-10000)
/* Matches any client id in the wait functions. */
#define ANY_CLIENT UINT64_MAX
#define MIB ((size_t)1024 * 1024)
#define MAX_PEERS 8

/* "NX_EINVAL (-1)" for a status, the enumerator's name: failure messages must
 * not depend on nx_strerror(), which is under test. */
const char* status_name(int status);

/* Fails the test unless `call` returns `expected`, naming both. */
#define EXPECT_STATUS(expected, call)                                                              \
    do {                                                                                           \
        int got_ = (call);                                                                         \
        if (got_ != (expected)) {                                                                  \
            fail_msg("%s\n      expected %s, got %s (nx_last_error: \"%s\")", #call,               \
                     status_name(expected), status_name(got_), nx_last_error());                   \
        }                                                                                          \
    } while (0)

/* The same for a call on fx's server, with the server's detail. */
#define SERVER_EXPECT(fx, expected, call)                                                          \
    do {                                                                                           \
        int got_ = (call);                                                                         \
        if (got_ != (expected)) {                                                                  \
            fail_msg("%s\n      expected %s, got %s (nx_ws_server_last_error: \"%s\")", #call,     \
                     status_name(expected), status_name(got_),                                     \
                     (fx)->server ? nx_ws_server_last_error((fx)->server) : "(no server)");        \
        }                                                                                          \
    } while (0)

/* For a call on a peer, with the client's detail. */
#define PEER_EXPECT(p, expected, call)                                                             \
    do {                                                                                           \
        int got_ = (call);                                                                         \
        if (got_ != (expected)) {                                                                  \
            fail_msg("%s\n      expected %s, got %s (nx_ws_client_last_error: \"%s\")", #call,     \
                     status_name(expected), status_name(got_), (p)->last_error);                   \
        }                                                                                          \
    } while (0)

/* Checks that go on after a failure: each records a line, soft_done() fails
 * the test with all of them (and starts over). For lists of independent
 * cases, so that one run reports every case that fails. */
void soft_record(const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
void soft_done(void);
#define SOFT_FAIL(...) soft_record(__FILE__, __LINE__, __VA_ARGS__)
#define SOFT_STATUS(expected, call)                                                                \
    do {                                                                                           \
        int got_ = (call);                                                                         \
        if (got_ != (expected)) {                                                                  \
            SOFT_FAIL("%s: expected %s, got %s", #call, status_name(expected), status_name(got_)); \
        }                                                                                          \
    } while (0)
/* The same, with the handle's detail required to be non-empty on failure. */
#define SOFT_FAILS_WITH(expected, call, detail_expr)                                               \
    do {                                                                                           \
        int got_ = (call);                                                                         \
        const char* d_ = (detail_expr);                                                            \
        if (got_ != (expected)) {                                                                  \
            SOFT_FAIL("%s: expected %s, got %s", #call, status_name(expected), status_name(got_)); \
        } else if (d_ == NULL || d_[0] == '\0') {                                                  \
            SOFT_FAIL("%s: %s as expected, but %s is empty", #call, status_name(got_),             \
                      #detail_expr);                                                               \
        }                                                                                          \
    } while (0)

int64_t mono_ms(void);
int64_t wall_ms(void);

/* An event copied out of its handle (data owned by the log, NUL-terminated). */
typedef struct rec_event {
    int kind;
    uint64_t client;
    int opcode;
    char* data;
    size_t size;
    int close_code;
    int taken;
    int bad_data; /* the library's data was NULL or not NUL-terminated */
} rec_event;

typedef struct event_log {
    rec_event* items;
    size_t count;
    size_t capacity;
} event_log;

void log_append(event_log* log, const nx_ws_event* event);
void log_free(event_log* log);
/* Index of the first event not yet taken of `kind` (and `client`), or -1. */
long log_find(const event_log* log, int kind, uint64_t client);
const char* kind_name(int kind);

typedef struct peer peer;

typedef struct server_fx {
    nx_ws_server_options opts; /* filled by fx_init; tests tweak before fx_begin */
    unsigned int threads;
    nx_ws_server* server;
    int port;
    event_log events;
    int poll_status; /* first status other than NX_OK from nx_ws_server_poll */
    int stopped;     /* STOPPED seen: nothing more to pump */
    peer* peers[MAX_PEERS];
    char scratch[64 * 1024];
} server_fx;

void fx_init(server_fx* fx, unsigned int threads);
/* nx_ws_server_new + start with fx->opts; NX_OK or the failing status. */
int fx_begin(server_fx* fx);
/* Frees the peers (each on its own thread), then the server and the log. */
void fx_free(server_fx* fx);
/* One nx_ws_server_poll (timeout_ms), recording what it returns. No-op
 * without a server. */
void fx_pump(server_fx* fx, int timeout_ms);
/* Pumps until an untaken server event of `kind` for `client` arrives (or
 * timeout_ms passes): 1 and *out (data owned by fx->events), or 0. */
int fx_wait_event(server_fx* fx, int kind, uint64_t client, int timeout_ms, rec_event* out);
/* Number of events of `kind` recorded so far (taken or not). */
size_t fx_count(const server_fx* fx, int kind);
/* "ws://127.0.0.1:<port><target>" in a static buffer of the fixture. */
const char* fx_url(server_fx* fx, const char* target);

/* ------------------------------------------------------------- peers */

typedef int (*peer_fn)(peer* p);

struct peer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Set before the thread starts. */
    nx_ws_client_options opts;
    int use_opts;
    /* Only the peer's thread touches the client. */
    nx_ws_client* client;
    int new_status;
    char new_error[512];
    int ready;
    /* The call in progress (one at a time): its function and arguments. */
    peer_fn fn;
    int running;
    int fn_result;
    unsigned long done_seq;
    char* arg_data;
    size_t arg_size;
    int arg_int;
    char arg_text[512];
    /* What the calls and polls saw (under mu). */
    int polling;     /* poll the client between calls */
    int closed;      /* DISCONNECT seen, or the poll failed */
    int poll_status; /* first status other than NX_OK from nx_ws_client_poll */
    int http_status;
    int is_open;
    int local_port;
    char subprotocol[128];
    char last_error[512];
    int quit;
    int stuck; /* a call never finished: the peer is leaked, not joined */
    event_log events;
    /* Main thread only. */
    uint64_t id; /* the server's id for this client */
};

/* Starts a peer (NULL options: the library's defaults). Registered in fx so
 * fx_free releases it. NULL when nx_ws_client_new failed (see new_status). */
peer* peer_start(server_fx* fx, const nx_ws_client_options* opts);
/* Runs fn on the peer's thread and pumps the server until it returns (bound
 * timeout_ms): its result, or PEER_TIMEOUT. */
int peer_call(server_fx* fx, peer* p, peer_fn fn, int timeout_ms);
/* The same in two halves, for a call that must overlap with the test. */
void peer_call_begin(peer* p, peer_fn fn);
int peer_call_end(server_fx* fx, peer* p, int timeout_ms);
/* Pumps until the peer records an untaken event of `kind`: 1 and *out (data
 * owned by the peer), or 0. */
int peer_wait_event(server_fx* fx, peer* p, int kind, int timeout_ms, rec_event* out);
/* Untaken events of the peer of `kind` now. */
size_t peer_pending(peer* p, int kind);

/* Pumps until the peer's thread is inside the call begun last (1) or the
 * bound passes (0). */
int peer_wait_running(server_fx* fx, peer* p, int timeout_ms);
/* Frees the peer's client at once (no close handshake) and the peer. */
void peer_drop(server_fx* fx, peer* p);

/* Calls on the peer's client (the arguments are copied into the peer). */
int peer_connect(server_fx* fx, peer* p, const char* url);
/* The first half of peer_connect: finish with peer_call_end(). */
void peer_connect_begin(peer* p, const char* url);
int peer_send(server_fx* fx, peer* p, const void* data, size_t size, int opcode);
int peer_ping(server_fx* fx, peer* p, const void* data, size_t size);
int peer_close(server_fx* fx, peer* p, int code, const char* reason, size_t reason_size);
/* One direct nx_ws_client_poll(timeout 0) with the status it returned. */
int peer_poll_once(server_fx* fx, peer* p);
int peer_is_open(server_fx* fx, peer* p);
/* Sets the integer argument of the next call made with peer_call_begin(). */
void peer_set_int(peer* p, int value);
/* Waits (poll(2), bound arg ms) for the client's descriptor to be readable:
 * 1 readable, 0 not, negative: nx_ws_client_fd failed. Does not poll the
 * client meanwhile. */
extern peer_fn peer_fn_wait_readable;
/* One nx_ws_client_poll(timeout -1), recording its event: its status. */
extern peer_fn peer_fn_poll_forever;
/* Stop / resume polling the client between calls (a slow reader). */
extern peer_fn peer_fn_pause;
extern peer_fn peer_fn_resume;
extern peer_fn peer_fn_connect;

/* Connects a new peer to fx at `target` and takes its CONNECT event: the
 * peer with p->id set. Asserts on failure (test thread only). */
peer* fx_connect(server_fx* fx, const nx_ws_client_options* opts, const char* target);

/* Waits for the whole message `data` on the peer / on the server. */
void expect_peer_message(server_fx* fx, peer* p, int opcode, const void* data, size_t size);
void expect_server_message(server_fx* fx, uint64_t client, int opcode, const void* data,
                           size_t size);

/* A TCP port on 127.0.0.1 that was free a moment ago (bound, then closed). */
int unused_port(void);

#endif
