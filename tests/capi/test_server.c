/*
 * Real traffic on 127.0.0.1: a server on port 0 owned by the test thread
 * (which pumps nx_ws_server_poll() whenever it waits) and nx_ws_client peers,
 * each on a thread of its own. Every test runs twice: with threads == 1 (the
 * server progresses only inside poll) and threads == 2 (loops of their own,
 * events queued for poll): groups server_1thread and server_2threads.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groups.h"

static unsigned int g_threads = 1;

static int setup(void** state) {
    server_fx* fx = calloc(1, sizeof *fx);
    if (fx == NULL) {
        return -1;
    }
    fx_init(fx, g_threads);
    *state = fx;
    return 0;
}

static int count_bad(const event_log* log) {
    int n = 0;
    for (size_t i = 0; i < log->count; ++i) {
        n += log->items[i].bad_data;
    }
    return n;
}

static int teardown(void** state) {
    server_fx* fx = *state;
    int bad = count_bad(&fx->events);
    for (int i = 0; i < MAX_PEERS; ++i) {
        if (fx->peers[i] != NULL) {
            pthread_mutex_lock(&fx->peers[i]->mu);
            bad += count_bad(&fx->peers[i]->events);
            pthread_mutex_unlock(&fx->peers[i]->mu);
        }
    }
    int poll_status = fx->poll_status;
    fx_free(fx);
    free(fx);
    if (bad > 0) {
        fail_msg("%d event(s) had data NULL or not followed by a NUL byte", bad);
    }
    if (poll_status != NX_OK) {
        fail_msg("nx_ws_server_poll failed during the test: %s", status_name(poll_status));
    }
    return 0;
}

static nx_ws_client_options client_options(void) {
    nx_ws_client_options o;
    EXPECT_STATUS(NX_OK, nx_ws_client_options_init(&o, NX_WS_CLIENT_OPTIONS_VERSION));
    o.connect_timeout_ms = WAIT_MS;
    return o;
}

static nx_ws_client_info client_info(server_fx* fx, uint64_t id) {
    nx_ws_client_info info;
    memset(&info, 0, sizeof info);
    info.version = NX_WS_CLIENT_INFO_VERSION;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_client_info(fx->server, id, &info));
    return info;
}

static nx_ws_server_stats server_stats(server_fx* fx) {
    nx_ws_server_stats st;
    memset(&st, 0xA5, sizeof st);
    st.version = NX_WS_SERVER_STATS_VERSION;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_get_stats(fx->server, &st));
    return st;
}

static int contains(const char* data, size_t size, const char* needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= size; ++i) {
        if (memcmp(data + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Waits for the server's DISCONNECT of `id`: its close code. */
static int expect_server_disconnect(server_fx* fx, uint64_t id) {
    rec_event ev;
    if (!fx_wait_event(fx, NX_EVENT_DISCONNECT, id, WAIT_MS, &ev)) {
        fail_msg("no DISCONNECT of client %llu on the server within %d ms", (unsigned long long)id,
                 WAIT_MS);
    }
    return ev.close_code;
}

static rec_event expect_peer_disconnect(server_fx* fx, peer* p) {
    rec_event ev;
    if (!peer_wait_event(fx, p, NX_EVENT_DISCONNECT, WAIT_MS, &ev)) {
        fail_msg("the client got no DISCONNECT within %d ms (poll status %s)", WAIT_MS,
                 status_name(p->poll_status));
    }
    assert_int_equal(ev.client, 0);
    assert_int_equal(ev.opcode, 0);
    return ev;
}

static void expect_close_code(const char* who, int got, int expected) {
    if (got != expected) {
        fail_msg("%s: close code %d, expected %d", who, got, expected);
    }
}

/* ------------------------------------------------- connect and client info */

static void connect_with_client_info(void** state) {
    server_fx* fx = *state;
    fx->opts.subprotocols = "chat,superchat";
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_client_options o = client_options();
    o.subprotocols = "superchat";
    o.headers = "X-Nexus-Test: hello\r\n";
    o.origin = "http://origin.test";
    int64_t before = wall_ms();
    peer* p = fx_connect(fx, &o, "/chat?a=1");
    int64_t after = wall_ms();

    assert_string_equal(p->subprotocol, "superchat");
    assert_true(p->is_open > 0);
    assert_int_equal(p->http_status, 0);
    assert_int_equal(peer_is_open(fx, p), 1);

    nx_ws_client_info info = client_info(fx, p->id);
    assert_int_equal(info.version, NX_WS_CLIENT_INFO_VERSION);
    assert_int_equal(info.id, p->id);
    assert_non_null(info.path);
    assert_string_equal(info.path, "/chat");
    assert_string_equal(info.query, "a=1");
    assert_string_equal(info.origin, "http://origin.test");
    assert_string_equal(info.subprotocol, "superchat");
    assert_non_null(info.headers);
    if (!contains(info.headers, info.headers_size, "X-Nexus-Test: hello\r\n")) {
        fail_msg("the headers (%zu bytes) lack \"X-Nexus-Test: hello\\r\\n\": %.*s",
                 info.headers_size, (int)info.headers_size, info.headers);
    }
    assert_true(info.headers_size >= 2);
    assert_memory_equal(info.headers + info.headers_size - 2, "\r\n", 2);
    assert_non_null(info.user_data);
    assert_int_equal(info.user_data_size, 0);
    assert_non_null(info.channels);
    assert_int_equal(info.channels_size, 0);
    if (info.connected_at_ms < before - 1000 || info.connected_at_ms > after + 1000) {
        fail_msg("connected_at_ms %lld outside [%lld, %lld]", (long long)info.connected_at_ms,
                 (long long)before, (long long)after);
    }
    assert_int_equal(info.compressed, 0);
    assert_int_equal(info.pending, 0);
    SERVER_EXPECT(fx, 1, nx_ws_server_client_count(fx->server));

    /* No path, no subprotocol offered, no origin. */
    peer* q = fx_connect(fx, NULL, "");
    assert_string_equal(q->subprotocol, "");
    info = client_info(fx, q->id);
    assert_string_equal(info.path, "/");
    assert_string_equal(info.query, "");
    assert_string_equal(info.origin, "");
    assert_string_equal(info.subprotocol, "");
    assert_true(q->id != p->id);

    /* An offer the server does not speak: connected, without a subprotocol. */
    o = client_options();
    o.subprotocols = "nope";
    peer* r = fx_connect(fx, &o, "/x/y?b=2&c=3");
    assert_string_equal(r->subprotocol, "");
    info = client_info(fx, r->id);
    assert_string_equal(info.subprotocol, "");
    assert_string_equal(info.path, "/x/y");
    assert_string_equal(info.query, "b=2&c=3");
    SERVER_EXPECT(fx, 3, nx_ws_server_client_count(fx->server));

    /* client_info misuse with a real id. */
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_client_info(fx->server, p->id, NULL));
    info.version = 0;
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_client_info(fx->server, p->id, &info));
    info.version = NX_WS_CLIENT_INFO_VERSION + 1;
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_client_info(fx->server, p->id, &info));
    info.version = NX_WS_CLIENT_INFO_VERSION;
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_client_info(fx->server, r->id + 1000, &info));
    assert_string_not_equal(nx_ws_server_last_error(fx->server), "");

    /* Already connected. */
    PEER_EXPECT(p, NX_ESTATE, peer_connect(fx, p, fx_url(fx, "/again")));
}

/* ------------------------------------------------------------ messages */

static void messages_both_ways(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/chat");
    const char text[] = "hello, h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e";
    const char bin[] = {'\0', 'a', '\0', 'b', '\xff', '\0'};

    PEER_EXPECT(p, NX_OK, peer_send(fx, p, text, strlen(text), NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, text, strlen(text));
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, bin, sizeof bin, NX_OPCODE_BINARY));
    expect_server_message(fx, p->id, NX_OPCODE_BINARY, bin, sizeof bin);

    SERVER_EXPECT(fx, NX_OK,
                  nx_ws_server_send(fx->server, p->id, text, strlen(text), NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, text, strlen(text));
    SERVER_EXPECT(fx, NX_OK,
                  nx_ws_server_send(fx->server, p->id, bin, sizeof bin, NX_OPCODE_BINARY));
    expect_peer_message(fx, p, NX_OPCODE_BINARY, bin, sizeof bin);

    /* Order is kept: a burst arrives as sent. */
    char msg[32];
    for (int i = 0; i < 50; ++i) {
        snprintf(msg, sizeof msg, "message %d", i);
        SERVER_EXPECT(fx, NX_OK,
                      nx_ws_server_send(fx->server, p->id, msg, strlen(msg), NX_OPCODE_TEXT));
    }
    for (int i = 0; i < 50; ++i) {
        snprintf(msg, sizeof msg, "message %d", i);
        expect_peer_message(fx, p, NX_OPCODE_TEXT, msg, strlen(msg));
    }
    for (int i = 0; i < 50; ++i) {
        snprintf(msg, sizeof msg, "up %d", i);
        PEER_EXPECT(p, NX_OK, peer_send(fx, p, msg, strlen(msg), NX_OPCODE_TEXT));
    }
    for (int i = 0; i < 50; ++i) {
        snprintf(msg, sizeof msg, "up %d", i);
        expect_server_message(fx, p->id, NX_OPCODE_TEXT, msg, strlen(msg));
    }
}

static void zero_length_messages(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    /* data may be NULL when size is 0. */
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, NULL, 0, NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "", 0);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, NULL, 0, NX_OPCODE_BINARY));
    expect_peer_message(fx, p, NX_OPCODE_BINARY, "", 0);
    SERVER_EXPECT(fx, 1, nx_ws_server_broadcast(fx->server, NULL, 0, NX_OPCODE_TEXT, 0));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "", 0);
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "", 0, NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, "", 0);
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "", 0, NX_OPCODE_BINARY));
    expect_server_message(fx, p->id, NX_OPCODE_BINARY, "", 0);
}

static const struct {
    const char* bytes;
    size_t size;
    const char* what;
} bad_utf8[] = {
    {"\xff", 1, "0xFF"},
    {"abc\x80", 4, "lone continuation byte"},
    {"\xc0\xaf", 2, "overlong '/'"},
    {"\xe0\x80\xaf", 3, "overlong 3-byte"},
    {"\xed\xa0\x80", 3, "surrogate U+D800"},
    {"\xe2\x82", 2, "truncated 3-byte sequence"},
    {"\xf4\x90\x80\x80", 4, "above U+10FFFF"},
    {"\xf8\x88\x80\x80\x80", 5, "5-byte form"},
};

static void invalid_utf8_text(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_subscribe(fx->server, p->id, "room", 4));
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; ++i) {
        const char* b = bad_utf8[i].bytes;
        size_t n = bad_utf8[i].size;
        int rc = nx_ws_server_send(fx->server, p->id, b, n, NX_OPCODE_TEXT);
        if (rc != NX_EUTF8) {
            fail_msg("nx_ws_server_send text %s: expected NX_EUTF8, got %s", bad_utf8[i].what,
                     status_name(rc));
        }
        rc = nx_ws_server_broadcast(fx->server, b, n, NX_OPCODE_TEXT, 0);
        if (rc != NX_EUTF8) {
            fail_msg("nx_ws_server_broadcast text %s: expected NX_EUTF8, got %s", bad_utf8[i].what,
                     status_name(rc));
        }
        rc = nx_ws_server_publish(fx->server, "room", 4, b, n, NX_OPCODE_TEXT);
        if (rc != NX_EUTF8) {
            fail_msg("nx_ws_server_publish text %s: expected NX_EUTF8, got %s", bad_utf8[i].what,
                     status_name(rc));
        }
        rc = peer_send(fx, p, b, n, NX_OPCODE_TEXT);
        if (rc != NX_EUTF8) {
            fail_msg("nx_ws_client_send text %s: expected NX_EUTF8, got %s (%s)", bad_utf8[i].what,
                     status_name(rc), p->last_error);
        }
        /* The same bytes as binary are fine; nothing of the text went out. */
        SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, b, n, NX_OPCODE_BINARY));
        expect_peer_message(fx, p, NX_OPCODE_BINARY, b, n);
        PEER_EXPECT(p, NX_OK, peer_send(fx, p, b, n, NX_OPCODE_BINARY));
        expect_server_message(fx, p->id, NX_OPCODE_BINARY, b, n);
    }
    /* The edges of valid UTF-8 pass. */
    const char edge[] = "\xef\xbf\xbf\xf4\x8f\xbf\xbf\xc2\x80";
    SERVER_EXPECT(fx, NX_OK,
                  nx_ws_server_send(fx->server, p->id, edge, strlen(edge), NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, edge, strlen(edge));
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, edge, strlen(edge), NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, edge, strlen(edge));
    assert_int_equal(fx_count(fx, NX_EVENT_DISCONNECT), 0);
}

static char* pattern(size_t size, unsigned seed) {
    char* b = malloc(size);
    assert_non_null(b);
    for (size_t i = 0; i < size; ++i) {
        b[i] = (char)((i * 31 + (i >> 13) + seed) & 0xff);
    }
    return b;
}

static void sixteen_mib_messages(void** state) {
    server_fx* fx = *state;
    fx->opts.max_message_size = 17 * MIB;
    fx->opts.max_frame_size = 17 * MIB;
    fx->opts.max_send_queue = 64 * MIB;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_client_options o = client_options();
    o.max_message_size = 17 * MIB;
    peer* p = fx_connect(fx, &o, "/big");
    size_t size = 16 * MIB;
    char* up = pattern(size, 1);
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, up, size, NX_OPCODE_BINARY));
    expect_server_message(fx, p->id, NX_OPCODE_BINARY, up, size);
    char* down = pattern(size, 7);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, down, size, NX_OPCODE_BINARY));
    expect_peer_message(fx, p, NX_OPCODE_BINARY, down, size);
    /* Text too, both ways. */
    memset(down, 'x', size);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, down, size, NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, down, size);
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, down, size, NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, down, size);
    free(up);
    free(down);
    nx_ws_server_stats st = server_stats(fx);
    assert_int_equal(st.bytes_in, 2 * size);
    assert_int_equal(st.bytes_out, 2 * size);
}

/* Larger than max_send_queue (it could never be queued): refused at the
 * call with NX_ETOOBIG, nothing goes out, the client stays. */
static void over_limit_messages(void** state) {
    server_fx* fx = *state; /* default max_send_queue: 4 MiB */
    const size_t over = 4 * MIB + 1;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_subscribe(fx->server, p->id, "room", 4));
    char* big = pattern(over, 3);
    char* text = malloc(over);
    memset(text, 'y', over);
    nx_ws_server* s = fx->server;
    SOFT_FAILS_WITH(NX_ETOOBIG, nx_ws_server_send(s, p->id, big, over, NX_OPCODE_BINARY),
                    nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_ETOOBIG, nx_ws_server_send(s, p->id, text, over, NX_OPCODE_TEXT),
                    nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_ETOOBIG, nx_ws_server_broadcast(s, big, over, NX_OPCODE_BINARY, 0),
                    nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_ETOOBIG, nx_ws_server_publish(s, "room", 4, big, over, NX_OPCODE_BINARY),
                    nx_ws_server_last_error(s));
    free(big);
    free(text);
    soft_done();
    /* Nothing of the refused ones went out. */
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "sync", 4, NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, "sync", 4);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(s, p->id, "after", 5, NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "after", 5);
}

/* Exactly the limit passes both ways; a client that sends more is closed
 * with 1009. */
static void message_size_limit_on_the_wire(void** state) {
    server_fx* fx = *state; /* default limits: 1 MiB */
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    char* big = pattern(MIB + 1, 3);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, big, MIB, NX_OPCODE_BINARY));
    expect_peer_message(fx, p, NX_OPCODE_BINARY, big, MIB);
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, big, MIB, NX_OPCODE_BINARY));
    expect_server_message(fx, p->id, NX_OPCODE_BINARY, big, MIB);

    /* A client that sends more than the limit is closed with 1009. The server
     * may refuse the frame on its header, before the client wrote it all:
     * then the send itself may see the connection break (NX_EIO). */
    int rc = peer_send(fx, p, big, MIB + 1, NX_OPCODE_BINARY);
    if (rc != NX_OK && rc != NX_EIO) {
        fail_msg("client send of 1 MiB + 1 to a server with a 1 MiB limit: %s (\"%s\"), expected "
                 "NX_OK or NX_EIO",
                 status_name(rc), p->last_error);
    }
    rec_event ev = expect_peer_disconnect(fx, p);
    expect_close_code("client DISCONNECT after sending 1 MiB + 1", ev.close_code, 1009);
    expect_close_code("server DISCONNECT of the client that sent 1 MiB + 1",
                      expect_server_disconnect(fx, p->id), 1009);
    assert_int_equal(fx_count(fx, NX_EVENT_MESSAGE), 1);
    free(big);
}

static void client_message_limit(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_client_options o = client_options();
    o.max_message_size = 1024;
    peer* p = fx_connect(fx, &o, "/");
    char* data = pattern(2048, 5);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, data, 1024, NX_OPCODE_BINARY));
    expect_peer_message(fx, p, NX_OPCODE_BINARY, data, 1024);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, data, 2048, NX_OPCODE_BINARY));
    rec_event ev = expect_peer_disconnect(fx, p);
    expect_close_code("client DISCONNECT after receiving 2048 > max_message_size 1024",
                      ev.close_code, 1009);
    expect_close_code("server DISCONNECT of a client that refused a message too big",
                      expect_server_disconnect(fx, p->id), 1009);
    assert_int_equal(peer_pending(p, NX_EVENT_MESSAGE), 0);
    free(data);
}

static void send_argument_errors(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    nx_ws_server* s = fx->server;
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_send(s, p->id, NULL, 3, NX_OPCODE_TEXT));
    assert_string_not_equal(nx_ws_server_last_error(s), "");
    const int opcodes[] = {0, 3, NX_OPCODE_CLOSE, NX_OPCODE_PING, NX_OPCODE_PONG, -1, 100};
    for (size_t i = 0; i < sizeof opcodes / sizeof opcodes[0]; ++i) {
        SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_send(s, p->id, "x", 1, opcodes[i]));
        SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_broadcast(s, "x", 1, opcodes[i], 0));
        PEER_EXPECT(p, NX_EINVAL, peer_send(fx, p, "x", 1, opcodes[i]));
    }
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_set_user_data(s, p->id, NULL, 3));
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_subscribe(s, p->id, NULL, 3));
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_unsubscribe(s, p->id, NULL, 3));
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_disconnect(s, p->id, 1000, NULL, 3));
    /* None of it touched the connection. */
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(s, p->id, "fine", 4, NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "fine", 4);
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "fine too", 8, NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, "fine too", 8);
    assert_int_equal(fx_count(fx, NX_EVENT_DISCONNECT), 0);
}

/* NULL pointers and bad arguments on a connected client (its own thread):
 * the number of failed checks, described in p->arg_text. */
static int misuse_failures;

static void misuse_record(peer* p, const char* call, int arg, int expected, int got) {
    size_t used = strlen(p->arg_text);
    snprintf(p->arg_text + used, sizeof p->arg_text - used, "\n    %s [%d]: expected %s, got %s",
             call, arg, status_name(expected), status_name(got));
    ++misuse_failures;
}

#define CHECK(expected, call, arg)                                                                 \
    do {                                                                                           \
        int got_ = (call);                                                                         \
        if (got_ != (expected)) {                                                                  \
            misuse_record(p, #call, arg, expected, got_);                                          \
        }                                                                                          \
    } while (0)

static int fn_client_misuse(peer* p) {
    nx_ws_client* c = p->client;
    char big[126];
    memset(big, 'p', sizeof big);
    char reason[124];
    memset(reason, 'r', sizeof reason);
    int fd = -1;
    p->arg_text[0] = '\0';
    misuse_failures = 0;
    CHECK(NX_EINVAL, nx_ws_client_send(c, NULL, 3, NX_OPCODE_TEXT), 0);
    CHECK(NX_EINVAL, nx_ws_client_ping(c, NULL, 3), 0);
    CHECK(NX_EINVAL, nx_ws_client_ping(c, big, 126), 0);
    CHECK(NX_EINVAL, nx_ws_client_close(c, 1000, NULL, 3), 0);
    CHECK(NX_EINVAL, nx_ws_client_close(c, 1000, reason, 124), 0);
    CHECK(NX_EINVAL, nx_ws_client_close(c, 1000, "\xff", 1), 0);
    CHECK(NX_EINVAL, nx_ws_client_poll(c, 0, NULL), 0);
    CHECK(NX_EINVAL, nx_ws_client_fd(c, NULL), 0);
    CHECK(1, nx_ws_client_is_open(c), 0);
    CHECK(NX_OK, nx_ws_client_fd(c, &fd), 0);
    CHECK(1, fd >= 0, fd);
    /* Codes not valid to send. 1005 last: a library that takes it for "no
     * code" starts closing, and the codes after it would test nothing. */
    const int codes[] = {0, 999, 1004, 1006, 1015, 2999, 5000, -1, 65536, 1005};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; ++i) {
        CHECK(NX_EINVAL, nx_ws_client_close(c, codes[i], "", 0), codes[i]);
    }
    return misuse_failures;
}

#undef CHECK

static void client_misuse_when_connected(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    int failures = peer_call(fx, p, fn_client_misuse, WAIT_MS);
    if (failures != 0) {
        fail_msg("%d check(s) failed on a connected client ([n]: the code or value):%s", failures,
                 p->arg_text);
    }
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "still open", 10, NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, "still open", 10);
    assert_int_equal(fx_count(fx, NX_EVENT_DISCONNECT), 0);
}

/* ------------------------------------------------------------ fan-out */

static void broadcast_with_except(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p[3];
    for (int i = 0; i < 3; ++i) {
        p[i] = fx_connect(fx, NULL, "/room");
    }
    const char bin[] = {'b', '\0', 'i', '\0', 'n'};
    SERVER_EXPECT(fx, 2,
                  nx_ws_server_broadcast(fx->server, "not for 1", 9, NX_OPCODE_TEXT, p[1]->id));
    SERVER_EXPECT(fx, 3, nx_ws_server_broadcast(fx->server, bin, sizeof bin, NX_OPCODE_BINARY, 0));
    SERVER_EXPECT(fx, 3,
                  nx_ws_server_broadcast(fx->server, "all", 3, NX_OPCODE_TEXT, p[2]->id + 1000));
    expect_peer_message(fx, p[0], NX_OPCODE_TEXT, "not for 1", 9);
    expect_peer_message(fx, p[2], NX_OPCODE_TEXT, "not for 1", 9);
    for (int i = 0; i < 3; ++i) {
        /* For p[1] the binary is the first message: the text skipped it. */
        expect_peer_message(fx, p[i], NX_OPCODE_BINARY, bin, sizeof bin);
        expect_peer_message(fx, p[i], NX_OPCODE_TEXT, "all", 3);
    }
    /* A client that left is not counted. */
    PEER_EXPECT(p[0], NX_OK, peer_close(fx, p[0], 1000, "", 0));
    expect_server_disconnect(fx, p[0]->id);
    SERVER_EXPECT(fx, 2, nx_ws_server_broadcast(fx->server, "two", 3, NX_OPCODE_TEXT, 0));
    SERVER_EXPECT(fx, 1, nx_ws_server_broadcast(fx->server, "one", 3, NX_OPCODE_TEXT, p[2]->id));
    expect_peer_message(fx, p[1], NX_OPCODE_TEXT, "two", 3);
    expect_peer_message(fx, p[2], NX_OPCODE_TEXT, "two", 3);
    expect_peer_message(fx, p[1], NX_OPCODE_TEXT, "one", 3);
}

/* ---------------------------------------------------------- disconnect */

static void server_disconnects_client(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    peer* other = fx_connect(fx, NULL, "/");
    nx_ws_server* s = fx->server;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_disconnect(s, p->id, 4000, "bye", 3));
    int rc = nx_ws_server_send(s, p->id, "late", 4, NX_OPCODE_TEXT);
    int rc2 = nx_ws_server_disconnect(s, p->id, 1000, "", 0);
    if (fx->threads == 1) {
        /* Nothing ran since the disconnect: the client is closing. */
        if (rc != NX_ECLOSING || rc2 != NX_ECLOSING) {
            fail_msg("send / disconnect right after disconnect: %s / %s, expected NX_ECLOSING",
                     status_name(rc), status_name(rc2));
        }
    } else if ((rc != NX_ECLOSING && rc != NX_ENOCLIENT) ||
               (rc2 != NX_ECLOSING && rc2 != NX_ENOCLIENT)) {
        fail_msg("send / disconnect right after disconnect: %s / %s, expected NX_ECLOSING "
                 "(or NX_ENOCLIENT when already gone)",
                 status_name(rc), status_name(rc2));
    }
    rec_event ev = expect_peer_disconnect(fx, p);
    expect_close_code("client DISCONNECT", ev.close_code, 4000);
    assert_int_equal(ev.size, 3);
    assert_string_equal(ev.data, "bye");
    expect_close_code("server DISCONNECT", expect_server_disconnect(fx, p->id), 4000);
    assert_int_equal(peer_pending(p, NX_EVENT_MESSAGE), 0); /* "late" never went */

    /* Once the poll after its DISCONNECT has run, the client is unknown.
     * (Until then client_info still says who left: the harness may have
     * polled past it already, so that part is checked by the PHP tests.) */
    nx_ws_client_info info;
    memset(&info, 0, sizeof info);
    info.version = NX_WS_CLIENT_INFO_VERSION;
    nx_ws_event none;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_poll(s, 0, &none));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_client_info(s, p->id, &info));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_send(s, p->id, "x", 1, NX_OPCODE_TEXT));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_disconnect(s, p->id, 1000, "", 0));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_set_user_data(s, p->id, "u", 1));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_subscribe(s, p->id, "ch", 2));
    SERVER_EXPECT(fx, 1, nx_ws_server_client_count(s));

    /* The client's side is over. */
    PEER_EXPECT(p, NX_ECLOSED, peer_poll_once(fx, p));
    PEER_EXPECT(p, NX_ECLOSED, peer_send(fx, p, "x", 1, NX_OPCODE_TEXT));
    assert_int_equal(peer_is_open(fx, p), 0);

    /* The other client is untouched. */
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(s, other->id, "ok", 2, NX_OPCODE_TEXT));
    expect_peer_message(fx, other, NX_OPCODE_TEXT, "ok", 2);
}

static void disconnect_arguments(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    nx_ws_server* s = fx->server;
    const int codes[] = {0, 999, 1004, 1005, 1006, 1015, 2999, 5000, -1, 65536};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; ++i) {
        int rc = nx_ws_server_disconnect(s, p->id, codes[i], "", 0);
        if (rc != NX_EINVAL) {
            fail_msg("nx_ws_server_disconnect with code %d: expected NX_EINVAL, got %s", codes[i],
                     status_name(rc));
        }
    }
    char reason[124];
    memset(reason, 'r', sizeof reason);
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_disconnect(s, p->id, 1000, reason, 124));
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_disconnect(s, p->id, 1000, "\xc0\xaf", 2));
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_disconnect(s, p->id, 1000, NULL, 5));
    /* Still connected. */
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(s, p->id, "still", 5, NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "still", 5);
    /* 123 bytes is the most. */
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_disconnect(s, p->id, 1000, reason, 123));
    rec_event ev = expect_peer_disconnect(fx, p);
    expect_close_code("client DISCONNECT", ev.close_code, 1000);
    assert_int_equal(ev.size, 123);
    assert_memory_equal(ev.data, reason, 123);
    expect_server_disconnect(fx, p->id);

    /* Codes valid to send, with a NULL reason of size 0. */
    const int good[] = {1001, 1008, 3000, 4999};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
        peer* q = fx_connect(fx, NULL, "/");
        SERVER_EXPECT(fx, NX_OK, nx_ws_server_disconnect(s, q->id, good[i], NULL, 0));
        ev = expect_peer_disconnect(fx, q);
        expect_close_code("client DISCONNECT", ev.close_code, good[i]);
        assert_int_equal(ev.size, 0);
        expect_server_disconnect(fx, q->id);
        peer_drop(fx, q);
    }
}

static void client_closes(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    PEER_EXPECT(p, NX_OK, peer_close(fx, p, 1000, "done", 4));
    rec_event sev;
    if (!fx_wait_event(fx, NX_EVENT_DISCONNECT, p->id, WAIT_MS, &sev)) {
        fail_msg("no DISCONNECT on the server after the client closed");
    }
    expect_close_code("server DISCONNECT", sev.close_code, 1000);
    assert_int_equal(sev.size, 4);
    assert_string_equal(sev.data, "done");
    rec_event ev = expect_peer_disconnect(fx, p);
    expect_close_code("client DISCONNECT (the server's answer)", ev.close_code, 1000);
    PEER_EXPECT(p, NX_ECLOSED, peer_poll_once(fx, p));
    PEER_EXPECT(p, NX_ECLOSED, peer_poll_once(fx, p));
    PEER_EXPECT(p, NX_ECLOSED, peer_send(fx, p, "x", 1, NX_OPCODE_BINARY));
    assert_int_equal(peer_is_open(fx, p), 0);
    SERVER_EXPECT(fx, 0, nx_ws_server_client_count(fx->server));
    SERVER_EXPECT(fx, 0, nx_ws_server_clients(fx->server, NULL, 0));
}

static void client_vanishes(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    uint64_t id = p->id;
    peer_drop(fx, p); /* nx_ws_client_free: no close handshake */
    /* Writes to the dead socket must not raise SIGPIPE in the host. */
    char* data = pattern(256 * 1024, 9);
    for (int i = 0; i < 8; ++i) {
        int rc = nx_ws_server_send(fx->server, id, data, 256 * 1024, NX_OPCODE_BINARY);
        if (rc != NX_OK && rc != NX_ECLOSING && rc != NX_ENOCLIENT && rc != NX_EQUEUEFULL) {
            fail_msg("send to a vanished client: %s", status_name(rc));
        }
        fx_pump(fx, 5);
    }
    free(data);
    expect_close_code("server DISCONNECT of a client gone without a close frame",
                      expect_server_disconnect(fx, id), 1006);
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_send(fx->server, id, "x", 1, NX_OPCODE_TEXT));
    SERVER_EXPECT(fx, 0, nx_ws_server_client_count(fx->server));
}

/* ---------------------------------------------------- registry queries */

static void clients_and_capacity(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_server* s = fx->server;
    SERVER_EXPECT(fx, 0, nx_ws_server_clients(s, NULL, 0));
    peer* p[3];
    for (int i = 0; i < 3; ++i) {
        p[i] = fx_connect(fx, NULL, "/");
    }
    const uint64_t sentinel = 0xDEADBEEFDEADBEEFULL;
    uint64_t ids[8];
    for (int i = 0; i < 8; ++i) {
        ids[i] = sentinel;
    }
    SERVER_EXPECT(fx, 3, nx_ws_server_clients(s, NULL, 0));
    SERVER_EXPECT(fx, 3, nx_ws_server_clients(s, ids, 0));
    assert_int_equal(ids[0], sentinel);
    SERVER_EXPECT(fx, 3, nx_ws_server_clients(s, ids, 1));
    assert_int_equal(ids[0], p[0]->id);
    assert_int_equal(ids[1], sentinel);
    SERVER_EXPECT(fx, 3, nx_ws_server_clients(s, ids, 3));
    assert_int_equal(ids[0], p[0]->id);
    assert_int_equal(ids[1], p[1]->id);
    assert_int_equal(ids[2], p[2]->id);
    assert_int_equal(ids[3], sentinel);
    SERVER_EXPECT(fx, 3, nx_ws_server_clients(s, ids, 8));
    assert_int_equal(ids[3], sentinel);
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_clients(s, NULL, 1));
    SERVER_EXPECT(fx, 3, nx_ws_server_client_count(s));

    PEER_EXPECT(p[1], NX_OK, peer_close(fx, p[1], 1000, "", 0));
    expect_server_disconnect(fx, p[1]->id);
    SERVER_EXPECT(fx, 2, nx_ws_server_clients(s, ids, 8));
    assert_int_equal(ids[0], p[0]->id);
    assert_int_equal(ids[1], p[2]->id);
    SERVER_EXPECT(fx, 2, nx_ws_server_client_count(s));
    nx_ws_server_stats st = server_stats(fx);
    assert_int_equal(st.clients, 2);
    assert_int_equal(st.connections_total, 3);
}

static void* count_from_thread(void* arg) {
    server_fx* fx = arg;
    return (void*)(intptr_t)nx_ws_server_client_count(fx->server);
}

static void client_count_any_thread(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    fx_connect(fx, NULL, "/");
    fx_connect(fx, NULL, "/");
    pthread_t t;
    void* result = NULL;
    assert_int_equal(pthread_create(&t, NULL, count_from_thread, fx), 0);
    pthread_join(t, &result);
    assert_int_equal((intptr_t)result, 2);
}

struct send_job {
    server_fx* fx;
    uint64_t client;
    int first;
};

/* Sends "handed-over 0..9" from a thread that is not the poller. */
static void* send_from_thread(void* arg) {
    struct send_job* job = arg;
    char msg[32];
    for (int i = 0; i < 10; ++i) {
        snprintf(msg, sizeof msg, "handed-over %d", job->first + i);
        const int rc =
            nx_ws_server_send(job->fx->server, job->client, msg, strlen(msg), NX_OPCODE_TEXT);
        if (rc != NX_OK) {
            return (void*)(intptr_t)rc;
        }
    }
    return NULL;
}

/* The owning thread may change between calls (one thread at a time: a Go
 * goroutine, a pooled worker): messages still go out in the order they were
 * sent, with one loop (acting at once) and with several (handed over). */
static void sends_keep_order_across_threads(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    char msg[32];
    for (int round = 0; round < 3; ++round) {
        struct send_job job = {fx, p->id, round * 10};
        pthread_t t;
        void* result = NULL;
        assert_int_equal(pthread_create(&t, NULL, send_from_thread, &job), 0);
        pthread_join(t, &result);
        assert_int_equal((intptr_t)result, NX_OK);
        snprintf(msg, sizeof msg, "from the poller %d", round);
        SERVER_EXPECT(fx, NX_OK,
                      nx_ws_server_send(fx->server, p->id, msg, strlen(msg), NX_OPCODE_TEXT));
        for (int i = 0; i < 10; ++i) {
            char expected[32];
            snprintf(expected, sizeof expected, "handed-over %d", round * 10 + i);
            expect_peer_message(fx, p, NX_OPCODE_TEXT, expected, strlen(expected));
        }
        expect_peer_message(fx, p, NX_OPCODE_TEXT, msg, strlen(msg));
    }
}

static void user_data_round_trip(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    peer* q = fx_connect(fx, NULL, "/");
    nx_ws_server* s = fx->server;
    const char data[] = {'a', '\0', 'b', '\0', 'c'};
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_set_user_data(s, p->id, data, sizeof data));
    nx_ws_client_info info = client_info(fx, p->id);
    assert_int_equal(info.user_data_size, sizeof data);
    assert_memory_equal(info.user_data, data, sizeof data);
    info = client_info(fx, q->id); /* per client */
    assert_int_equal(info.user_data_size, 0);

    SERVER_EXPECT(fx, NX_OK, nx_ws_server_set_user_data(s, p->id, "x", 1));
    info = client_info(fx, p->id);
    assert_int_equal(info.user_data_size, 1);
    assert_memory_equal(info.user_data, "x", 1);

    /* Survives traffic. */
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "hi", 2, NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, "hi", 2);
    info = client_info(fx, p->id);
    assert_memory_equal(info.user_data, "x", 1);

    SERVER_EXPECT(fx, NX_OK, nx_ws_server_set_user_data(s, p->id, NULL, 0));
    info = client_info(fx, p->id);
    assert_int_equal(info.user_data_size, 0);
    assert_non_null(info.user_data);

    char* big = pattern(64 * 1024 + 1, 11);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_set_user_data(s, p->id, big, 64 * 1024));
    info = client_info(fx, p->id);
    assert_int_equal(info.user_data_size, 64 * 1024);
    assert_memory_equal(info.user_data, big, 64 * 1024);
    SERVER_EXPECT(fx, NX_ETOOBIG, nx_ws_server_set_user_data(s, p->id, big, 64 * 1024 + 1));
    free(big);
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_set_user_data(s, p->id, NULL, 4));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_set_user_data(s, q->id + 1000, "u", 1));
}

/* ------------------------------------------------------------ channels */

static void channels_subscribe_publish(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_server* s = fx->server;
    peer* a = fx_connect(fx, NULL, "/");
    peer* b = fx_connect(fx, NULL, "/");
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_subscribe(s, a->id, "news", 4));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_subscribe(s, b->id, "news", 4));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_subscribe(s, a->id, "sport", 5));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_subscribe(s, b->id, "news", 4)); /* again */

    nx_ws_client_info info = client_info(fx, a->id);
    assert_int_equal(info.channels_size, strlen("news\nsport\n"));
    assert_true(contains(info.channels, info.channels_size, "news\n"));
    assert_true(contains(info.channels, info.channels_size, "sport\n"));
    info = client_info(fx, b->id);
    assert_int_equal(info.channels_size, 5);
    assert_memory_equal(info.channels, "news\n", 5);

    SERVER_EXPECT(fx, 2, nx_ws_server_publish(s, "news", 4, "n1", 2, NX_OPCODE_TEXT));
    expect_peer_message(fx, a, NX_OPCODE_TEXT, "n1", 2);
    expect_peer_message(fx, b, NX_OPCODE_TEXT, "n1", 2);
    const char bin[] = {'s', '\0', '1'};
    SERVER_EXPECT(fx, 1, nx_ws_server_publish(s, "sport", 5, bin, 3, NX_OPCODE_BINARY));
    expect_peer_message(fx, a, NX_OPCODE_BINARY, bin, 3);
    SERVER_EXPECT(fx, 0, nx_ws_server_publish(s, "nobody", 6, "x", 1, NX_OPCODE_TEXT));
    /* Names are bytes: "new" is not "news". */
    SERVER_EXPECT(fx, 0, nx_ws_server_publish(s, "news", 3, "x", 1, NX_OPCODE_TEXT));

    SERVER_EXPECT(fx, NX_OK, nx_ws_server_unsubscribe(s, a->id, "news", 4));
    SERVER_EXPECT(fx, 1, nx_ws_server_publish(s, "news", 4, "n2", 2, NX_OPCODE_TEXT));
    expect_peer_message(fx, b, NX_OPCODE_TEXT, "n2", 2);
    SERVER_EXPECT(fx, 1, nx_ws_server_publish(s, "sport", 5, "s2", 2, NX_OPCODE_TEXT));
    expect_peer_message(fx, a, NX_OPCODE_TEXT, "s2", 2); /* "n2" skipped a */
    info = client_info(fx, a->id);
    assert_int_equal(info.channels_size, 6);
    assert_memory_equal(info.channels, "sport\n", 6);

    /* Names: 1..256 bytes without NUL, CR or LF. */
    char name[257];
    memset(name, 'c', sizeof name);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_subscribe(s, b->id, name, 256));
    SERVER_EXPECT(fx, 1, nx_ws_server_publish(s, name, 256, "long", 4, NX_OPCODE_TEXT));
    expect_peer_message(fx, b, NX_OPCODE_TEXT, "long", 4);
    const struct {
        const char* name;
        size_t size;
    } bad[] = {{"x", 0}, {name, 257}, {"a\nb", 3}, {"a\rb", 3}, {"a\0b", 3}, {"\n", 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        int rc1 = nx_ws_server_subscribe(s, a->id, bad[i].name, bad[i].size);
        int rc2 = nx_ws_server_unsubscribe(s, a->id, bad[i].name, bad[i].size);
        int rc3 = nx_ws_server_publish(s, bad[i].name, bad[i].size, "x", 1, NX_OPCODE_TEXT);
        if (rc1 != NX_EINVAL || rc2 != NX_EINVAL || rc3 != NX_EINVAL) {
            fail_msg("channel name #%zu (%zu bytes): subscribe %s, unsubscribe %s, publish %s; "
                     "expected NX_EINVAL",
                     i, bad[i].size, status_name(rc1), status_name(rc2), status_name(rc3));
        }
    }
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_publish(s, "news", 4, NULL, 1, NX_OPCODE_TEXT));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_subscribe(s, b->id + 1000, "news", 4));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_unsubscribe(s, b->id + 1000, "news", 4));

    /* A client that leaves leaves its channels. */
    PEER_EXPECT(b, NX_OK, peer_close(fx, b, 1000, "", 0));
    expect_server_disconnect(fx, b->id);
    SERVER_EXPECT(fx, 0, nx_ws_server_publish(s, "news", 4, "n3", 2, NX_OPCODE_TEXT));
    assert_int_equal(peer_pending(a, NX_EVENT_MESSAGE), 0);
}

/* --------------------------------------------------------------- stats */

static void stats_counters(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_server_stats st = server_stats(fx);
    assert_int_equal(st.version, NX_WS_SERVER_STATS_VERSION);
    assert_int_equal(st.clients, 0);
    assert_int_equal(st.connections_total, 0);
    peer* p = fx_connect(fx, NULL, "/");
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "hello", 5, NX_OPCODE_TEXT));
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "ab\0", 3, NX_OPCODE_BINARY));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, "hello", 5);
    expect_server_message(fx, p->id, NX_OPCODE_BINARY, "ab\0", 3);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, "xyz", 3, NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "xyz", 3);
    st = server_stats(fx);
    assert_int_equal(st.clients, 1);
    assert_int_equal(st.connections_total, 1);
    assert_int_equal(st.handshakes_rejected, 0);
    assert_int_equal(st.http_requests, 0);
    assert_int_equal(st.messages_in, 2);
    assert_int_equal(st.bytes_in, 8);
    assert_int_equal(st.messages_out, 1);
    assert_int_equal(st.bytes_out, 3);
    assert_int_equal(st.dropped_handshake_timeout, 0);
    assert_int_equal(st.dropped_pong_timeout, 0);
    assert_int_equal(st.dropped_idle_timeout, 0);
    assert_int_equal(st.dropped_send_queue_full, 0);
    assert_int_equal(st.dropped_rate_limited, 0);
    assert_int_equal(st.dropped_protocol_error, 0);
    assert_int_equal(st.dropped_server_stopping, 0);
    assert_int_equal(st.dropped_pending_limit, 0);
    PEER_EXPECT(p, NX_OK, peer_close(fx, p, 1000, "", 0));
    expect_server_disconnect(fx, p->id);
    st = server_stats(fx);
    assert_int_equal(st.clients, 0);
    assert_int_equal(st.connections_total, 1);
}

/* ------------------------------------------------ limits on the wire */

static void idle_timeout_closes_1001(void** state) {
    server_fx* fx = *state;
    fx->opts.idle_timeout_ms = 200;
    fx->opts.ping_interval_ms = 0;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    rec_event ev = expect_peer_disconnect(fx, p);
    expect_close_code("client DISCONNECT after idle_timeout_ms", ev.close_code, 1001);
    expect_server_disconnect(fx, p->id);
    assert_int_equal(server_stats(fx).dropped_idle_timeout, 1);
}

static void rate_limit_closes_1008(void** state) {
    server_fx* fx = *state;
    fx->opts.max_messages_per_second = 5;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    for (int i = 0; i < 40; ++i) {
        int rc = peer_send(fx, p, "spam", 4, NX_OPCODE_TEXT);
        if (rc != NX_OK) {
            break; /* already cut off */
        }
    }
    rec_event ev = expect_peer_disconnect(fx, p);
    expect_close_code("client DISCONNECT over max_messages_per_second", ev.close_code, 1008);
    expect_close_code("server DISCONNECT over max_messages_per_second",
                      expect_server_disconnect(fx, p->id), 1008);
    assert_true(fx_count(fx, NX_EVENT_MESSAGE) < 40);
    assert_int_equal(server_stats(fx).dropped_rate_limited, 1);
}

static void slow_reader_cut_off(void** state) {
    server_fx* fx = *state;
    fx->opts.max_send_queue = 256 * 1024;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    assert_int_equal(peer_call(fx, p, peer_fn_pause, WAIT_MS), NX_OK);
    size_t chunk = 64 * 1024;
    char* data = pattern(chunk, 17);
    int rc = NX_OK;
    int sent = 0;
    /* Loopback buffers take a few MiB; then the queue fills. */
    while (sent < 2000) {
        rc = nx_ws_server_send(fx->server, p->id, data, chunk, NX_OPCODE_BINARY);
        if (rc != NX_OK) {
            break;
        }
        ++sent;
        fx_pump(fx, 0);
    }
    free(data);
    /* With threads > 1 the client's own loop may cut it off first: the
     * header says later sends then see NX_ECLOSING. */
    if (rc != NX_EQUEUEFULL && !(fx->opts.threads > 1 && rc == NX_ECLOSING)) {
        fail_msg("after %d sends of 64 KiB to a client that does not read (max_send_queue "
                 "256 KiB): %s, expected NX_EQUEUEFULL",
                 sent, status_name(rc));
    }
    rc = nx_ws_server_send(fx->server, p->id, "x", 1, NX_OPCODE_TEXT);
    if (rc != NX_EQUEUEFULL && rc != NX_ECLOSING && rc != NX_ENOCLIENT) {
        fail_msg("send to a client being cut off: %s", status_name(rc));
    }
    assert_int_equal(peer_call(fx, p, peer_fn_resume, WAIT_MS), NX_OK);
    int code = expect_server_disconnect(fx, p->id);
    if (code != 1008 && code != 1006) {
        fail_msg("server DISCONNECT of a slow reader: close code %d, expected 1008", code);
    }
    expect_peer_disconnect(fx, p);
    assert_int_equal(server_stats(fx).dropped_send_queue_full, 1);
}

/* ------------------------------------------------------- pings, pongs */

static void client_ping_gets_pong(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    PEER_EXPECT(p, NX_OK, peer_ping(fx, p, "abc", 3));
    rec_event ev;
    if (!peer_wait_event(fx, p, NX_EVENT_PONG, WAIT_MS, &ev)) {
        fail_msg("no PONG within %d ms of a ping", WAIT_MS);
    }
    assert_int_equal(ev.size, 3);
    assert_string_equal(ev.data, "abc");
    assert_int_equal(ev.client, 0);
    PEER_EXPECT(p, NX_OK, peer_ping(fx, p, "", 0));
    assert_true(peer_wait_event(fx, p, NX_EVENT_PONG, WAIT_MS, &ev));
    assert_int_equal(ev.size, 0);
    char max[125];
    memset(max, 'm', sizeof max);
    PEER_EXPECT(p, NX_OK, peer_ping(fx, p, max, 125));
    assert_true(peer_wait_event(fx, p, NX_EVENT_PONG, WAIT_MS, &ev));
    assert_int_equal(ev.size, 125);
    assert_memory_equal(ev.data, max, 125);
    char over[126];
    memset(over, 'o', sizeof over);
    PEER_EXPECT(p, NX_EINVAL, peer_ping(fx, p, over, 126));
    /* Pings are not messages. */
    assert_int_equal(fx_count(fx, NX_EVENT_MESSAGE), 0);
}

static void server_pings_client(void** state) {
    server_fx* fx = *state;
    fx->opts.ping_interval_ms = 100;
    fx->opts.pong_timeout_ms = 5000;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    for (int i = 0; i < 3; ++i) {
        rec_event ev;
        if (!peer_wait_event(fx, p, NX_EVENT_PING, WAIT_MS, &ev)) {
            fail_msg("ping %d: no PING event on the client within %d ms (ping_interval_ms 100)", i,
                     WAIT_MS);
        }
        assert_int_equal(ev.client, 0);
    }
    /* auto_pong answered: still connected. */
    assert_int_equal(peer_pending(p, NX_EVENT_DISCONNECT), 0);
    SERVER_EXPECT(fx, 1, nx_ws_server_client_count(fx->server));
    assert_int_equal(server_stats(fx).dropped_pong_timeout, 0);
}

static void no_pong_is_dropped(void** state) {
    server_fx* fx = *state;
    fx->opts.ping_interval_ms = 100;
    fx->opts.pong_timeout_ms = 300;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_client_options o = client_options();
    o.auto_pong = 0;
    peer* p = fx_connect(fx, &o, "/");
    assert_true(peer_wait_event(fx, p, NX_EVENT_PING, WAIT_MS, NULL));
    expect_server_disconnect(fx, p->id);
    expect_peer_disconnect(fx, p);
    assert_int_equal(server_stats(fx).dropped_pong_timeout, 1);
}

/* ------------------------------------------------ descriptors and wake */

static int fd_readable(int fd, int timeout_ms) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int n = poll(&pfd, 1, timeout_ms);
    return n > 0 && (pfd.revents & POLLIN) != 0;
}

static void server_fd_readable_on_connect(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    int fd = -1;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_fd(fx->server, &fd));
    assert_true(fd >= 0);
    int fd2 = -1;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_fd(fx->server, &fd2));
    assert_int_equal(fd2, fd);
    /* Drained (poll with timeout 0 until NONE), it is quiet: a host's event
     * loop would otherwise spin. */
    int quiet = 0;
    for (int round = 0; round < 20 && !quiet; ++round) {
        nx_ws_event ev;
        do {
            memset(&ev, 0, sizeof ev);
            SERVER_EXPECT(fx, NX_OK, nx_ws_server_poll(fx->server, 0, &ev));
        } while (ev.kind != NX_EVENT_NONE);
        quiet = !fd_readable(fd, 0);
    }
    if (!quiet) {
        fail_msg("nx_ws_server_fd stays readable although poll(0) returns NONE");
    }
    peer* p = peer_start(fx, NULL);
    peer_connect_begin(p, fx_url(fx, "/"));
    if (!fd_readable(fd, WAIT_MS)) {
        fail_msg("nx_ws_server_fd did not become readable within %d ms of a connect", WAIT_MS);
    }
    PEER_EXPECT(p, NX_OK, peer_call_end(fx, p, WAIT_MS));
    assert_true(fx_wait_event(fx, NX_EVENT_CONNECT, ANY_CLIENT, WAIT_MS, NULL));
}

static void client_poll_without_limit(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    peer_call_begin(p, peer_fn_poll_forever);
    assert_true(peer_wait_running(fx, p, WAIT_MS));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, "later", 5, NX_OPCODE_TEXT));
    int rc = peer_call_end(fx, p, WAIT_MS);
    if (rc != NX_EVENT_MESSAGE) {
        fail_msg("nx_ws_client_poll(-1) returned %s / kind %d, expected a MESSAGE",
                 rc < 0 ? status_name(rc) : "NX_OK", rc);
    }
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "later", 5);
}

static void client_fd_readable_on_message(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = fx_connect(fx, NULL, "/");
    peer_set_int(p, WAIT_MS);
    peer_call_begin(p, peer_fn_wait_readable);
    assert_true(peer_wait_running(fx, p, WAIT_MS));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, "wake", 4, NX_OPCODE_TEXT));
    int rc = peer_call_end(fx, p, WAIT_MS + 2000);
    if (rc != 1) {
        fail_msg("nx_ws_client_fd not readable when a message came (%s)", status_name(rc));
    }
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "wake", 4);
}

/* ---------------------------------------------------------------- stop */

static void stop_disconnects_everyone(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* a = fx_connect(fx, NULL, "/");
    peer* b = fx_connect(fx, NULL, "/");
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_stop(fx->server));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_stop(fx->server));
    rec_event ev = expect_peer_disconnect(fx, a);
    expect_close_code("client a DISCONNECT on stop", ev.close_code, 1001);
    ev = expect_peer_disconnect(fx, b);
    expect_close_code("client b DISCONNECT on stop", ev.close_code, 1001);
    if (!fx_wait_event(fx, NX_EVENT_STOPPED, ANY_CLIENT, WAIT_MS, NULL)) {
        fail_msg("no STOPPED within %d ms of nx_ws_server_stop()", WAIT_MS);
    }
    /* One DISCONNECT per client, before STOPPED. */
    long stopped_at = -1;
    int seen_a = 0;
    int seen_b = 0;
    for (size_t i = 0; i < fx->events.count; ++i) {
        const rec_event* r = &fx->events.items[i];
        if (r->kind == NX_EVENT_STOPPED && stopped_at < 0) {
            stopped_at = (long)i;
        }
        if (r->kind == NX_EVENT_DISCONNECT) {
            if (stopped_at >= 0) {
                fail_msg("a DISCONNECT came after STOPPED");
            }
            seen_a += r->client == a->id;
            seen_b += r->client == b->id;
            expect_close_code("server DISCONNECT on stop", r->close_code, 1001);
        }
    }
    assert_int_equal(seen_a, 1);
    assert_int_equal(seen_b, 1);
    for (int i = 0; i < 3; ++i) {
        nx_ws_event e;
        memset(&e, 0, sizeof e);
        SERVER_EXPECT(fx, NX_OK, nx_ws_server_poll(fx->server, i * 50, &e));
        assert_string_equal(kind_name(e.kind), "STOPPED");
    }
    SERVER_EXPECT(fx, NX_ESTATE, nx_ws_server_send(fx->server, a->id, "x", 1, NX_OPCODE_TEXT));
    SERVER_EXPECT(fx, NX_ESTATE, nx_ws_server_broadcast(fx->server, "x", 1, NX_OPCODE_BINARY, 0));
    SERVER_EXPECT(fx, 0, nx_ws_server_client_count(fx->server));
    SERVER_EXPECT(fx, 0, nx_ws_server_clients(fx->server, NULL, 0));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_stop(fx->server));
    assert_int_equal(server_stats(fx).clients, 0);
    PEER_EXPECT(a, NX_ECLOSED, peer_poll_once(fx, a));
}

/* ---------------------------------------------------------- handshakes */

static uint64_t await_handshake(server_fx* fx) {
    rec_event ev;
    if (!fx_wait_event(fx, NX_EVENT_HANDSHAKE, ANY_CLIENT, WAIT_MS, &ev)) {
        fail_msg("no HANDSHAKE event within %d ms with handshake_events on", WAIT_MS);
    }
    assert_true(ev.client != 0);
    return ev.client;
}

static void handshake_accept(void** state) {
    server_fx* fx = *state;
    fx->opts.handshake_events = 1;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_client_options o = client_options();
    o.subprotocols = "superchat";
    o.headers = "X-Nexus-Test: hello\r\n";
    peer* p = peer_start(fx, &o);
    peer_connect_begin(p, fx_url(fx, "/chat?a=1"));
    uint64_t id = await_handshake(fx);

    nx_ws_client_info info = client_info(fx, id);
    assert_int_equal(info.id, id);
    assert_int_equal(info.pending, 1);
    assert_string_equal(info.path, "/chat");
    assert_string_equal(info.query, "a=1");
    assert_string_equal(info.subprotocol, "");
    assert_int_equal(info.connected_at_ms, 0);
    assert_true(contains(info.headers, info.headers_size, "X-Nexus-Test: hello\r\n"));
    assert_int_equal(strncmp(info.peer, "127.0.0.1:", 10), 0);
    /* Not connected yet. */
    SERVER_EXPECT(fx, 0, nx_ws_server_client_count(fx->server));
    SERVER_EXPECT(fx, 0, nx_ws_server_clients(fx->server, NULL, 0));
    assert_int_equal(fx_count(fx, NX_EVENT_CONNECT), 0);
    /* What the host learnt while deciding stays with the client. */
    assert_int_equal(info.user_data_size, 0);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_set_user_data(fx->server, id, "user=ada", 8));
    info = client_info(fx, id);
    assert_int_equal(info.user_data_size, 8);
    assert_memory_equal(info.user_data, "user=ada", 8);

    SERVER_EXPECT(fx, NX_OK, nx_ws_server_accept(fx->server, id));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_accept(fx->server, id));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_reject(fx->server, id, 401, "", 0));
    PEER_EXPECT(p, NX_OK, peer_call_end(fx, p, WAIT_MS));
    rec_event ev;
    if (!fx_wait_event(fx, NX_EVENT_CONNECT, id, WAIT_MS, &ev)) {
        fail_msg("no CONNECT with the HANDSHAKE's id %llu after accept", (unsigned long long)id);
    }
    p->id = id;
    assert_string_equal(p->subprotocol, "superchat");
    info = client_info(fx, id);
    assert_int_equal(info.pending, 0);
    assert_true(info.connected_at_ms > 0);
    assert_string_equal(info.subprotocol, "superchat");
    assert_int_equal(info.user_data_size, 8);
    assert_memory_equal(info.user_data, "user=ada", 8);
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "in", 2, NX_OPCODE_TEXT));
    expect_server_message(fx, id, NX_OPCODE_TEXT, "in", 2);
    nx_ws_server_stats st = server_stats(fx);
    assert_int_equal(st.connections_total, 1);
    assert_int_equal(st.handshakes_rejected, 0);
}

static void handshake_reject(void** state) {
    server_fx* fx = *state;
    fx->opts.handshake_events = 1;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_server* s = fx->server;
    peer* p = peer_start(fx, NULL);
    peer_connect_begin(p, fx_url(fx, "/chat"));
    uint64_t id = await_handshake(fx);
    const int bad_status[] = {0, 101, 200, 399, 600, -1, 1000};
    for (size_t i = 0; i < sizeof bad_status / sizeof bad_status[0]; ++i) {
        int rc = nx_ws_server_reject(s, id, bad_status[i], "", 0);
        if (rc != NX_EINVAL) {
            fail_msg("nx_ws_server_reject with status %d: expected NX_EINVAL, got %s",
                     bad_status[i], status_name(rc));
        }
    }
    SERVER_EXPECT(fx, NX_EINVAL, nx_ws_server_reject(s, id, 401, NULL, 2));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_set_user_data(s, id, "kept?", 5));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_reject(s, id, 401, "no", 2));
    /* A rejected request leaves nothing behind. */
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_set_user_data(s, id, "late", 4));
    PEER_EXPECT(p, NX_EHANDSHAKE, peer_call_end(fx, p, WAIT_MS));
    assert_int_equal(p->http_status, 401);
    assert_string_not_equal(p->last_error, "");
    assert_int_equal(p->is_open, 0);
    assert_int_equal(fx_count(fx, NX_EVENT_CONNECT), 0);
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_reject(s, id, 401, "no", 2));
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_accept(s, id));
    nx_ws_client_info info;
    memset(&info, 0, sizeof info);
    info.version = NX_WS_CLIENT_INFO_VERSION;
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_client_info(s, id, &info));

    /* 400 and 599 are the bounds; NULL body of size 0. */
    const int statuses[] = {400, 599};
    for (int i = 0; i < 2; ++i) {
        peer* q = peer_start(fx, NULL);
        peer_connect_begin(q, fx_url(fx, "/"));
        uint64_t qid = await_handshake(fx);
        SERVER_EXPECT(fx, NX_OK, nx_ws_server_reject(s, qid, statuses[i], NULL, 0));
        PEER_EXPECT(q, NX_EHANDSHAKE, peer_call_end(fx, q, WAIT_MS));
        assert_int_equal(q->http_status, statuses[i]);
    }
    nx_ws_server_stats st = server_stats(fx);
    assert_int_equal(st.handshakes_rejected, 3);
    assert_int_equal(st.connections_total, 0);
    assert_int_equal(st.clients, 0);
}

static void handshake_unanswered_times_out(void** state) {
    server_fx* fx = *state;
    fx->opts.handshake_events = 1;
    fx->opts.handshake_timeout_ms = 300;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* p = peer_start(fx, NULL);
    peer_connect_begin(p, fx_url(fx, "/"));
    uint64_t id = await_handshake(fx);
    int rc = peer_call_end(fx, p, WAIT_MS);
    if (rc == NX_OK || rc == PEER_TIMEOUT) {
        fail_msg("connect of a request nobody answered: %s, expected a failure once "
                 "handshake_timeout_ms (300) passed",
                 status_name(rc));
    }
    SERVER_EXPECT(fx, NX_ENOCLIENT, nx_ws_server_accept(fx->server, id));
    assert_int_equal(server_stats(fx).dropped_handshake_timeout, 1);
    assert_int_equal(fx_count(fx, NX_EVENT_CONNECT), 0);
}

static void max_clients_gets_503(void** state) {
    server_fx* fx = *state;
    fx->opts.max_clients = 1;
    assert_int_equal(fx_begin(fx), NX_OK);
    peer* a = fx_connect(fx, NULL, "/");
    peer* b = peer_start(fx, NULL);
    PEER_EXPECT(b, NX_EHANDSHAKE, peer_connect(fx, b, fx_url(fx, "/")));
    assert_int_equal(b->http_status, 503);
    assert_int_equal(server_stats(fx).handshakes_rejected, 1);
    SERVER_EXPECT(fx, 1, nx_ws_server_client_count(fx->server));
    /* A place frees up. */
    PEER_EXPECT(a, NX_OK, peer_close(fx, a, 1000, "", 0));
    expect_server_disconnect(fx, a->id);
    fx_connect(fx, NULL, "/");
}

static void origins_checked(void** state) {
    server_fx* fx = *state;
    fx->opts.allowed_origins = "http://good.test,http://other.test";
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_client_options o = client_options();
    o.origin = "http://evil.test";
    peer* evil = peer_start(fx, &o);
    PEER_EXPECT(evil, NX_EHANDSHAKE, peer_connect(fx, evil, fx_url(fx, "/")));
    assert_int_equal(evil->http_status, 403);
    o.origin = "http://other.test";
    peer* good = fx_connect(fx, &o, "/");
    assert_string_equal(client_info(fx, good->id).origin, "http://other.test");
    fx_connect(fx, NULL, "/"); /* no Origin: not a browser, allowed */
    assert_int_equal(server_stats(fx).handshakes_rejected, 1);
}

static void compression_agreed(void** state) {
    server_fx* fx = *state;
    fx->opts.permessage_deflate = 1;
    assert_int_equal(fx_begin(fx), NX_OK);
    nx_ws_client_options o = client_options();
    o.permessage_deflate = 1;
    peer* p = fx_connect(fx, &o, "/");
    assert_int_not_equal(client_info(fx, p->id).compressed, 0);
    char* text = malloc(256 * 1024);
    for (size_t i = 0; i < 256 * 1024; ++i) {
        text[i] = "compressible text "[i % 18];
    }
    char* bin = pattern(100 * 1024, 13);
    for (int round = 0; round < 3; ++round) {
        SERVER_EXPECT(fx, NX_OK,
                      nx_ws_server_send(fx->server, p->id, text, 256 * 1024, NX_OPCODE_TEXT));
        expect_peer_message(fx, p, NX_OPCODE_TEXT, text, 256 * 1024);
        SERVER_EXPECT(fx, NX_OK,
                      nx_ws_server_send(fx->server, p->id, bin, 100 * 1024, NX_OPCODE_BINARY));
        expect_peer_message(fx, p, NX_OPCODE_BINARY, bin, 100 * 1024);
        PEER_EXPECT(p, NX_OK, peer_send(fx, p, text, 256 * 1024, NX_OPCODE_TEXT));
        expect_server_message(fx, p->id, NX_OPCODE_TEXT, text, 256 * 1024);
        PEER_EXPECT(p, NX_OK, peer_send(fx, p, bin, 100 * 1024, NX_OPCODE_BINARY));
        expect_server_message(fx, p->id, NX_OPCODE_BINARY, bin, 100 * 1024);
    }
    SERVER_EXPECT(fx, 1, nx_ws_server_broadcast(fx->server, "both", 4, NX_OPCODE_TEXT, 0));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "both", 4);
    /* A client that does not offer it is served uncompressed. */
    peer* q = fx_connect(fx, NULL, "/");
    assert_int_equal(client_info(fx, q->id).compressed, 0);
    SERVER_EXPECT(fx, 2, nx_ws_server_broadcast(fx->server, text, 1000, NX_OPCODE_TEXT, 0));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, text, 1000);
    expect_peer_message(fx, q, NX_OPCODE_TEXT, text, 1000);
    free(text);
    free(bin);
}

/* ------------------------------------------------------- plain HTTP */

/* Sends a GET for `target` over a plain TCP socket and reads the response
 * (pumping the server meanwhile) into `out`. */
static void http_get(server_fx* fx, const char* target, char* out, size_t out_size) {
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(sock >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)fx->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(sock, (struct sockaddr*)&sa, sizeof sa), 0);
    char request[256];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
    assert_int_equal(send(sock, request, (size_t)n, 0), n);
    fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
    size_t used = 0;
    int64_t deadline = mono_ms() + WAIT_MS;
    for (;;) {
        ssize_t got = recv(sock, out + used, out_size - 1 - used, 0);
        if (got > 0) {
            used += (size_t)got;
            out[used] = '\0';
            const char* end = strstr(out, "\r\n\r\n");
            const char* cl = strstr(out, "Content-Length: ");
            if (cl == NULL) {
                cl = strstr(out, "content-length: ");
            }
            if (end != NULL && cl != NULL &&
                used >= (size_t)(end + 4 - out) + strtoul(cl + 16, NULL, 10)) {
                break;
            }
            continue;
        }
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || used + 1 >= out_size) {
            break;
        }
        if (mono_ms() >= deadline) {
            fail_msg("no complete HTTP response to GET %s within %d ms (got \"%s\")", target,
                     WAIT_MS, out);
        }
        if (fx->threads == 1) {
            fx_pump(fx, 5);
        } else {
            fd_readable(sock, 5);
        }
    }
    out[used] = '\0';
    close(sock);
}

static void plain_http_requests(void** state) {
    server_fx* fx = *state;
    char dir[] = "/tmp/nx-capi-static-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/hello.txt", dir);
    FILE* f = fopen(path, "w");
    assert_non_null(f);
    fputs("hi there", f);
    fclose(f);
    fx->opts.static_dir = dir;
    int rc = fx_begin(fx);
    char response[4096];
    if (rc == NX_OK) {
        http_get(fx, "/hello.txt", response, sizeof response);
    }
    unlink(path);
    rmdir(dir);
    assert_int_equal(rc, NX_OK);
    if (strncmp(response, "HTTP/1.1 200", 12) != 0 || strstr(response, "hi there") == NULL) {
        fail_msg("GET /hello.txt from static_dir: \"%s\"", response);
    }
    http_get(fx, "/missing.txt", response, sizeof response);
    if (strncmp(response, "HTTP/1.1 404", 12) != 0) {
        fail_msg("GET /missing.txt: \"%s\"", response);
    }
    nx_ws_server_stats st = server_stats(fx);
    assert_true(st.http_requests >= 1);
    assert_int_equal(st.connections_total, 0);
    /* WebSocket clients still work beside it. */
    fx_connect(fx, NULL, "/");
}

/* ------------------------------------------------------------- groups */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest server_tests[] = {
    T(connect_with_client_info),
    T(messages_both_ways),
    T(zero_length_messages),
    T(invalid_utf8_text),
    T(sixteen_mib_messages),
    T(over_limit_messages),
    T(message_size_limit_on_the_wire),
    T(client_message_limit),
    T(send_argument_errors),
    T(client_misuse_when_connected),
    T(broadcast_with_except),
    T(server_disconnects_client),
    T(disconnect_arguments),
    T(client_closes),
    T(client_vanishes),
    T(clients_and_capacity),
    T(client_count_any_thread),
    T(sends_keep_order_across_threads),
    T(user_data_round_trip),
    T(channels_subscribe_publish),
    T(stats_counters),
    T(client_ping_gets_pong),
    T(server_pings_client),
    T(no_pong_is_dropped),
    T(idle_timeout_closes_1001),
    T(rate_limit_closes_1008),
    T(slow_reader_cut_off),
    T(server_fd_readable_on_connect),
    T(client_fd_readable_on_message),
    T(client_poll_without_limit),
    T(stop_disconnects_everyone),
    T(handshake_accept),
    T(handshake_reject),
    T(handshake_unanswered_times_out),
    T(max_clients_gets_503),
    T(origins_checked),
    T(compression_agreed),
    T(plain_http_requests),
};

int run_server_1thread(void) {
    g_threads = 1;
    return _cmocka_run_group_tests("server_1thread", server_tests,
                                   sizeof server_tests / sizeof server_tests[0], NULL, NULL);
}

int run_server_2threads(void) {
    g_threads = 2;
    return _cmocka_run_group_tests("server_2threads", server_tests,
                                   sizeof server_tests / sizeof server_tests[0], NULL, NULL);
}
