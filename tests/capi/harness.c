#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ basics */

static char soft_text[16384];
static size_t soft_used;
static int soft_count;

void soft_record(const char* file, int line, const char* fmt, ...) {
    const char* base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (soft_used < sizeof soft_text) {
        soft_used += (size_t)snprintf(soft_text + soft_used, sizeof soft_text - soft_used,
                                      "\n    %s:%d: ", base, line);
    }
    if (soft_used < sizeof soft_text) {
        va_list ap;
        va_start(ap, fmt);
        soft_used +=
            (size_t)vsnprintf(soft_text + soft_used, sizeof soft_text - soft_used, fmt, ap);
        va_end(ap);
    }
    ++soft_count;
}

void soft_done(void) {
    if (soft_count == 0) {
        return;
    }
    static char copy[sizeof soft_text];
    memcpy(copy, soft_text, sizeof copy);
    copy[sizeof copy - 1] = '\0';
    int n = soft_count;
    soft_used = 0;
    soft_count = 0;
    soft_text[0] = '\0';
    fail_msg("%d check(s) failed:%s", n, copy);
}

static int64_t clock_ms(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void) {
    return clock_ms(CLOCK_MONOTONIC);
}
int64_t wall_ms(void) {
    return clock_ms(CLOCK_REALTIME);
}

const char* status_name(int status) {
    static const char* const names[] = {
        "NX_OK (0)",         "NX_EINVAL (-1)",        "NX_ENOMEM (-2)",        "NX_ESTATE (-3)",
        "NX_ENOCLIENT (-4)", "NX_EUTF8 (-5)",         "NX_ECLOSING (-6)",      "NX_EQUEUEFULL (-7)",
        "NX_ETIMEDOUT (-8)", "NX_EBIND (-9)",         "NX_EURL (-10)",         "NX_EDNS (-11)",
        "NX_EREFUSED (-12)", "NX_EUNREACHABLE (-13)", "NX_EHANDSHAKE (-14)",   "NX_EIO (-15)",
        "NX_ECLOSED (-16)",  "NX_ETLS (-17)",         "NX_ECERT (-18)",        "NX_EINTERNAL (-19)",
        "NX_ETOOBIG (-20)",  "NX_ETLSCONFIG (-21)",   "NX_EUNAVAILABLE (-22)",
    };
    static _Thread_local char other[64];
    if (status <= 0 && status >= -22) {
        return names[-status];
    }
    if (status == PEER_TIMEOUT) {
        return "PEER_TIMEOUT (the call did not return in time)";
    }
    snprintf(other, sizeof other, "%d (not a status)", status);
    return other;
}

const char* kind_name(int kind) {
    static const char* const names[] = {"NONE",      "CONNECT", "MESSAGE", "DISCONNECT", "ERROR",
                                        "HANDSHAKE", "STOPPED", "PING",    "PONG"};
    if (kind >= 0 && kind <= 8) {
        return names[kind];
    }
    return "(unknown kind)";
}

/* --------------------------------------------------------- event logs */

void log_append(event_log* log, const nx_ws_event* event) {
    if (log->count == log->capacity) {
        size_t capacity = log->capacity ? log->capacity * 2 : 16;
        rec_event* items = realloc(log->items, capacity * sizeof *items);
        if (items == NULL) {
            abort();
        }
        log->items = items;
        log->capacity = capacity;
    }
    rec_event* r = &log->items[log->count++];
    memset(r, 0, sizeof *r);
    r->kind = event->kind;
    r->client = event->client;
    r->opcode = event->opcode;
    r->close_code = event->close_code;
    r->size = event->size;
    r->bad_data = event->data == NULL || event->data[event->size] != '\0';
    r->data = malloc(event->size + 1);
    if (r->data == NULL) {
        abort();
    }
    if (event->data != NULL && event->size > 0) {
        memcpy(r->data, event->data, event->size);
    }
    r->data[event->size] = '\0';
}

void log_free(event_log* log) {
    for (size_t i = 0; i < log->count; ++i) {
        free(log->items[i].data);
    }
    free(log->items);
    memset(log, 0, sizeof *log);
}

long log_find(const event_log* log, int kind, uint64_t client) {
    for (size_t i = 0; i < log->count; ++i) {
        const rec_event* r = &log->items[i];
        if (!r->taken && r->kind == kind && (client == ANY_CLIENT || r->client == client)) {
            return (long)i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ servers */

void fx_init(server_fx* fx, unsigned int threads) {
    memset(fx, 0, sizeof *fx);
    EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&fx->opts, NX_WS_SERVER_OPTIONS_VERSION));
    fx->threads = threads;
    fx->opts.host = "127.0.0.1";
    fx->opts.port = 0;
    fx->opts.threads = threads;
    fx->opts.close_timeout_ms = 2000;
    fx->opts.subprotocols = "chat,superchat";
    fx->opts.log_level = NX_LOG_ERROR;
}

int fx_begin(server_fx* fx) {
    int rc = nx_ws_server_new(&fx->server, &fx->opts);
    if (rc != NX_OK) {
        print_error("nx_ws_server_new: %s: %s\n", status_name(rc), nx_last_error());
        return rc;
    }
    rc = nx_ws_server_start(fx->server);
    if (rc != NX_OK) {
        print_error("nx_ws_server_start: %s: %s\n", status_name(rc),
                    nx_ws_server_last_error(fx->server));
        return rc;
    }
    fx->port = nx_ws_server_port(fx->server);
    return fx->port > 0 ? NX_OK : fx->port;
}

static int fx_pumpable(const server_fx* fx) {
    return fx->server != NULL && fx->port > 0 && !fx->stopped && fx->poll_status == NX_OK;
}

void fx_pump(server_fx* fx, int timeout_ms) {
    if (!fx_pumpable(fx)) {
        return;
    }
    nx_ws_event event;
    memset(&event, 0, sizeof event);
    int rc = nx_ws_server_poll(fx->server, timeout_ms, &event);
    if (rc != NX_OK) {
        fx->poll_status = rc;
        print_error("nx_ws_server_poll: %s: %s\n", status_name(rc),
                    nx_ws_server_last_error(fx->server));
        return;
    }
    if (event.kind != NX_EVENT_NONE) {
        log_append(&fx->events, &event);
        if (event.kind == NX_EVENT_STOPPED) {
            fx->stopped = 1;
        }
    }
}

int fx_wait_event(server_fx* fx, int kind, uint64_t client, int timeout_ms, rec_event* out) {
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        long i = log_find(&fx->events, kind, client);
        if (i >= 0) {
            fx->events.items[i].taken = 1;
            if (out != NULL) {
                *out = fx->events.items[i];
            }
            return 1;
        }
        if (mono_ms() >= deadline || !fx_pumpable(fx)) {
            return 0;
        }
        fx_pump(fx, 5);
    }
}

size_t fx_count(const server_fx* fx, int kind) {
    size_t n = 0;
    for (size_t i = 0; i < fx->events.count; ++i) {
        n += fx->events.items[i].kind == kind;
    }
    return n;
}

const char* fx_url(server_fx* fx, const char* target) {
    snprintf(fx->scratch, sizeof fx->scratch, "ws://127.0.0.1:%d%s", fx->port, target);
    return fx->scratch;
}

static void peer_free(peer* p);

void fx_free(server_fx* fx) {
    for (int i = 0; i < MAX_PEERS; ++i) {
        if (fx->peers[i] != NULL) {
            peer_free(fx->peers[i]);
            fx->peers[i] = NULL;
        }
    }
    nx_ws_server_free(fx->server);
    fx->server = NULL;
    log_free(&fx->events);
}

/* -------------------------------------------------------------- peers */

static void cv_wait_ms(peer* p, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

static void* peer_main(void* arg) {
    peer* p = arg;
    nx_ws_client* client = NULL;
    int rc = nx_ws_client_new(&client, p->use_opts ? &p->opts : NULL);
    pthread_mutex_lock(&p->mu);
    p->new_status = rc;
    if (rc != NX_OK) {
        snprintf(p->new_error, sizeof p->new_error, "%s", nx_last_error());
    }
    p->client = client;
    p->ready = 1;
    pthread_cond_broadcast(&p->cv);
    while (!p->quit) {
        if (p->fn != NULL && !p->running) {
            peer_fn fn = p->fn;
            p->running = 1;
            pthread_mutex_unlock(&p->mu);
            int result = client != NULL ? fn(p) : PEER_TIMEOUT;
            const char* detail = nx_ws_client_last_error(client);
            pthread_mutex_lock(&p->mu);
            snprintf(p->last_error, sizeof p->last_error, "%s", detail ? detail : "(NULL)");
            p->fn_result = result;
            p->fn = NULL;
            p->running = 0;
            p->done_seq++;
            pthread_cond_broadcast(&p->cv);
            continue;
        }
        if (!p->polling || p->closed || client == NULL) {
            cv_wait_ms(p, 50);
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        nx_ws_event event;
        memset(&event, 0, sizeof event);
        rc = nx_ws_client_poll(client, 5, &event);
        pthread_mutex_lock(&p->mu);
        if (rc == NX_OK) {
            if (event.kind != NX_EVENT_NONE) {
                log_append(&p->events, &event);
                if (event.kind == NX_EVENT_DISCONNECT) {
                    p->closed = 1;
                }
                pthread_cond_broadcast(&p->cv);
            }
        } else {
            if (p->poll_status == NX_OK) {
                p->poll_status = rc;
            }
            p->closed = 1;
            pthread_cond_broadcast(&p->cv);
        }
    }
    pthread_mutex_unlock(&p->mu);
    nx_ws_client_free(client);
    return NULL;
}

peer* peer_start(server_fx* fx, const nx_ws_client_options* opts) {
    int slot = -1;
    for (int i = 0; i < MAX_PEERS; ++i) {
        if (fx->peers[i] == NULL) {
            slot = i;
            break;
        }
    }
    if (slot < 0) {
        fail_msg("more than %d peers", MAX_PEERS);
    }
    peer* p = calloc(1, sizeof *p);
    assert_non_null(p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (opts != NULL) {
        p->opts = *opts;
        p->use_opts = 1;
    }
    fx->peers[slot] = p;
    assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
    pthread_mutex_lock(&p->mu);
    while (!p->ready) {
        cv_wait_ms(p, 50);
    }
    int status = p->new_status;
    pthread_mutex_unlock(&p->mu);
    if (status != NX_OK) {
        print_error("nx_ws_client_new: %s: %s\n", status_name(status), p->new_error);
        return NULL;
    }
    return p;
}

static void peer_free(peer* p) {
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    int stuck = p->stuck && (p->running || p->fn != NULL);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (stuck) {
        /* Its call never returned: leave it (and its memory) alone. */
        pthread_detach(p->thread);
        return;
    }
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    log_free(&p->events);
    free(p->arg_data);
    free(p);
}

void peer_call_begin(peer* p, peer_fn fn) {
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Waits for the peer's condition `done(p)` while pumping the server. */
static int peer_wait(server_fx* fx, peer* p, int (*done)(peer*, const void*), const void* arg,
                     int timeout_ms) {
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int ok = done(p, arg);
        if (ok || mono_ms() >= deadline) {
            pthread_mutex_unlock(&p->mu);
            return ok;
        }
        if (fx != NULL && fx_pumpable(fx)) {
            pthread_mutex_unlock(&p->mu);
            fx_pump(fx, 2);
        } else {
            cv_wait_ms(p, 20);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static int call_done(peer* p, const void* arg) {
    (void)arg;
    return p->fn == NULL && !p->running;
}

int peer_call_end(server_fx* fx, peer* p, int timeout_ms) {
    if (!peer_wait(fx, p, call_done, NULL, timeout_ms)) {
        pthread_mutex_lock(&p->mu);
        p->stuck = 1;
        pthread_mutex_unlock(&p->mu);
        return PEER_TIMEOUT;
    }
    pthread_mutex_lock(&p->mu);
    int result = p->fn_result;
    free(p->arg_data);
    p->arg_data = NULL;
    pthread_mutex_unlock(&p->mu);
    return result;
}

int peer_call(server_fx* fx, peer* p, peer_fn fn, int timeout_ms) {
    peer_call_begin(p, fn);
    return peer_call_end(fx, p, timeout_ms);
}

struct event_query {
    int kind;
};

static int has_event(peer* p, const void* arg) {
    const struct event_query* q = arg;
    return log_find(&p->events, q->kind, ANY_CLIENT) >= 0;
}

int peer_wait_event(server_fx* fx, peer* p, int kind, int timeout_ms, rec_event* out) {
    struct event_query q = {kind};
    if (!peer_wait(fx, p, has_event, &q, timeout_ms)) {
        return 0;
    }
    pthread_mutex_lock(&p->mu);
    long i = log_find(&p->events, kind, ANY_CLIENT);
    p->events.items[i].taken = 1;
    if (out != NULL) {
        *out = p->events.items[i];
    }
    pthread_mutex_unlock(&p->mu);
    return 1;
}

size_t peer_pending(peer* p, int kind) {
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->events.count; ++i) {
        n += !p->events.items[i].taken && p->events.items[i].kind == kind;
    }
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void set_args(peer* p, const void* data, size_t size, int value) {
    pthread_mutex_lock(&p->mu);
    free(p->arg_data);
    p->arg_data = malloc(size + 1);
    if (p->arg_data == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(p->arg_data, data, size);
    }
    p->arg_data[size] = '\0';
    p->arg_size = size;
    p->arg_int = value;
    pthread_mutex_unlock(&p->mu);
}

static int fn_connect(peer* p) {
    nx_ws_client* c = p->client;
    int rc = nx_ws_client_connect(c, p->arg_data);
    const char* sub = nx_ws_client_subprotocol(c);
    int fd = -1;
    int local_port = 0;
    if (rc == NX_OK && nx_ws_client_fd(c, &fd) == NX_OK) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(fd, (struct sockaddr*)&ss, &len) == 0 && ss.ss_family == AF_INET) {
            local_port = ntohs(((struct sockaddr_in*)&ss)->sin_port);
        }
    }
    pthread_mutex_lock(&p->mu);
    p->http_status = nx_ws_client_http_status(c);
    snprintf(p->subprotocol, sizeof p->subprotocol, "%s", sub ? sub : "(NULL)");
    p->is_open = nx_ws_client_is_open(c);
    p->local_port = local_port;
    if (rc == NX_OK) {
        p->polling = 1;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int fn_send(peer* p) {
    return nx_ws_client_send(p->client, p->arg_data, p->arg_size, p->arg_int);
}

static int fn_ping(peer* p) {
    return nx_ws_client_ping(p->client, p->arg_data, p->arg_size);
}

static int fn_close(peer* p) {
    return nx_ws_client_close(p->client, p->arg_int, p->arg_data, p->arg_size);
}

static int fn_poll_once(peer* p) {
    nx_ws_event event;
    memset(&event, 0, sizeof event);
    int rc = nx_ws_client_poll(p->client, 0, &event);
    if (rc == NX_OK && event.kind != NX_EVENT_NONE) {
        pthread_mutex_lock(&p->mu);
        log_append(&p->events, &event);
        pthread_mutex_unlock(&p->mu);
    }
    return rc;
}

static int fn_is_open(peer* p) {
    return nx_ws_client_is_open(p->client);
}

static int fn_wait_readable(peer* p) {
    int fd = -1;
    int rc = nx_ws_client_fd(p->client, &fd);
    if (rc != NX_OK) {
        return rc;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    int n = poll(&pfd, 1, p->arg_int);
    return n > 0 && (pfd.revents & POLLIN) != 0;
}

static int fn_poll_forever(peer* p) {
    nx_ws_event event;
    memset(&event, 0, sizeof event);
    int rc = nx_ws_client_poll(p->client, -1, &event);
    if (rc == NX_OK && event.kind != NX_EVENT_NONE) {
        pthread_mutex_lock(&p->mu);
        log_append(&p->events, &event);
        pthread_mutex_unlock(&p->mu);
    }
    return rc == NX_OK ? event.kind : rc;
}

static int set_polling(peer* p, int on) {
    pthread_mutex_lock(&p->mu);
    p->polling = on;
    pthread_mutex_unlock(&p->mu);
    return NX_OK;
}

static int fn_pause(peer* p) {
    return set_polling(p, 0);
}
static int fn_resume(peer* p) {
    return set_polling(p, 1);
}

peer_fn peer_fn_wait_readable = fn_wait_readable;
peer_fn peer_fn_poll_forever = fn_poll_forever;
peer_fn peer_fn_pause = fn_pause;
peer_fn peer_fn_resume = fn_resume;
peer_fn peer_fn_connect = fn_connect;

void peer_connect_begin(peer* p, const char* url) {
    set_args(p, url, strlen(url), 0);
    peer_call_begin(p, fn_connect);
}

static int call_running(peer* p, const void* arg) {
    (void)arg;
    return p->running || (p->fn == NULL && !p->running);
}

int peer_wait_running(server_fx* fx, peer* p, int timeout_ms) {
    return peer_wait(fx, p, call_running, NULL, timeout_ms);
}

void peer_drop(server_fx* fx, peer* p) {
    for (int i = 0; i < MAX_PEERS; ++i) {
        if (fx->peers[i] == p) {
            fx->peers[i] = NULL;
        }
    }
    peer_free(p);
}

int peer_connect(server_fx* fx, peer* p, const char* url) {
    set_args(p, url, strlen(url), 0);
    return peer_call(fx, p, fn_connect, WAIT_MS + 5000);
}

int peer_send(server_fx* fx, peer* p, const void* data, size_t size, int opcode) {
    set_args(p, data, size, opcode);
    return peer_call(fx, p, fn_send, WAIT_MS);
}

int peer_ping(server_fx* fx, peer* p, const void* data, size_t size) {
    set_args(p, data, size, 0);
    return peer_call(fx, p, fn_ping, WAIT_MS);
}

int peer_close(server_fx* fx, peer* p, int code, const char* reason, size_t reason_size) {
    set_args(p, reason, reason_size, code);
    return peer_call(fx, p, fn_close, WAIT_MS);
}

int peer_poll_once(server_fx* fx, peer* p) {
    return peer_call(fx, p, fn_poll_once, WAIT_MS);
}

int peer_is_open(server_fx* fx, peer* p) {
    return peer_call(fx, p, fn_is_open, WAIT_MS);
}

void peer_set_int(peer* p, int value) {
    pthread_mutex_lock(&p->mu);
    p->arg_int = value;
    pthread_mutex_unlock(&p->mu);
}

peer* fx_connect(server_fx* fx, const nx_ws_client_options* opts, const char* target) {
    peer* p = peer_start(fx, opts);
    assert_non_null(p);
    PEER_EXPECT(p, NX_OK, peer_connect(fx, p, fx_url(fx, target)));
    rec_event ev;
    if (!fx_wait_event(fx, NX_EVENT_CONNECT, ANY_CLIENT, WAIT_MS, &ev)) {
        fail_msg("no CONNECT event on the server within %d ms after the client connected", WAIT_MS);
    }
    assert_true(ev.client != 0);
    p->id = ev.client;
    /* The id is this peer's: the server saw the client's own port. */
    nx_ws_client_info info;
    memset(&info, 0, sizeof info);
    info.version = NX_WS_CLIENT_INFO_VERSION;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_client_info(fx->server, p->id, &info));
    char expected[64];
    snprintf(expected, sizeof expected, "127.0.0.1:%d", p->local_port);
    assert_non_null(info.peer);
    assert_string_equal(info.peer, expected);
    return p;
}

static const char* show(const void* data, size_t size) {
    static _Thread_local char text[96];
    size_t n = size < 40 ? size : 40;
    size_t j = 0;
    for (size_t i = 0; i < n && j + 5 < sizeof text; ++i) {
        unsigned char c = ((const unsigned char*)data)[i];
        j += (size_t)snprintf(text + j, sizeof text - j, c >= 32 && c < 127 ? "%c" : "\\x%02x", c);
    }
    if (size > n) {
        snprintf(text + j, sizeof text - j, "...");
    }
    return text;
}

static void expect_same(const char* where, const rec_event* ev, int opcode, const void* data,
                        size_t size) {
    if (ev->opcode != opcode) {
        fail_msg("%s: opcode %d, expected %d", where, ev->opcode, opcode);
    }
    if (ev->size != size) {
        fail_msg("%s: %zu bytes, expected %zu (got \"%s\")", where, ev->size, size,
                 show(ev->data, ev->size));
    }
    if (size > 0 && memcmp(ev->data, data, size) != 0) {
        size_t i = 0;
        while (((const char*)data)[i] == ev->data[i]) {
            ++i;
        }
        fail_msg("%s: %zu bytes differ from byte %zu on", where, size, i);
    }
    if (ev->bad_data) {
        fail_msg("%s: event data was NULL or not followed by a NUL byte", where);
    }
}

void expect_peer_message(server_fx* fx, peer* p, int opcode, const void* data, size_t size) {
    rec_event ev;
    int timeout = size > MIB ? 4 * WAIT_MS : WAIT_MS;
    if (!peer_wait_event(fx, p, NX_EVENT_MESSAGE, timeout, &ev)) {
        fail_msg("the client got no MESSAGE (\"%s\", %zu bytes) within %d ms (poll status %s)",
                 show(data, size), size, timeout, status_name(p->poll_status));
    }
    assert_int_equal(ev.client, 0);
    expect_same("client MESSAGE", &ev, opcode, data, size);
}

void expect_server_message(server_fx* fx, uint64_t client, int opcode, const void* data,
                           size_t size) {
    rec_event ev;
    int timeout = size > MIB ? 4 * WAIT_MS : WAIT_MS;
    if (!fx_wait_event(fx, NX_EVENT_MESSAGE, client, timeout, &ev)) {
        fail_msg("the server got no MESSAGE (\"%s\", %zu bytes) from client %llu within %d ms",
                 show(data, size), size, (unsigned long long)client, timeout);
    }
    expect_same("server MESSAGE", &ev, opcode, data, size);
}

int unused_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr*)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr*)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}
