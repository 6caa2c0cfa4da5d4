/*
 * The C API without traffic: version, status texts, option structs and their
 * validation, misuse (NULL handles and pointers, calls in the wrong state),
 * and the server's lifecycle (start, bind errors, stop, wake, free).
 */
#include "harness.h"

#include <arpa/inet.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "groups.h"

/* The call fails with `expected` and leaves a detail in nx_last_error();
 * recorded, reported together by soft_done(). */
#define EXPECT_FAILS(expected, call) SOFT_FAILS_WITH(expected, call, nx_last_error())

/* ------------------------------------------------------------ version */

static void* version_thread(void* arg) {
    unsigned int* out = arg;
    *out = nx_version();
    return NULL;
}

static void version_matches_macros(void** state) {
    (void)state;
    assert_int_equal(NX_VERSION_NUMBER,
                     NX_VERSION_MAJOR * 10000 + NX_VERSION_MINOR * 100 + NX_VERSION_PATCH);
    assert_int_equal(nx_version(), NX_VERSION_NUMBER);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", NX_VERSION_MAJOR, NX_VERSION_MINOR,
             NX_VERSION_PATCH);
    const char* text = nx_version_string();
    assert_non_null(text);
    assert_string_equal(text, expected);
    /* Static storage: the same text every time. */
    assert_ptr_equal(nx_version_string(), text);
    /* Any thread. */
    unsigned int other = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, version_thread, &other), 0);
    pthread_join(t, NULL);
    assert_int_equal(other, NX_VERSION_NUMBER);
}

static void strerror_every_status(void** state) {
    (void)state;
    const char* texts[23];
    for (int s = 0; s >= -22; --s) {
        const char* text = nx_strerror(s);
        if (text == NULL || text[0] == '\0') {
            fail_msg("nx_strerror(%s) is empty", status_name(s));
        }
        if (strcmp(text, "unknown status") == 0) {
            fail_msg("nx_strerror(%s) says \"unknown status\"", status_name(s));
        }
        /* Static: the same text on a second call. */
        assert_string_equal(nx_strerror(s), text);
        for (int o = 0; o > s; --o) {
            if (strcmp(texts[-o], text) == 0) {
                fail_msg("nx_strerror(%s) == nx_strerror(%s) == \"%s\"", status_name(s),
                         status_name(o), text);
            }
        }
        texts[-s] = text;
    }
    assert_non_null(strstr(nx_strerror(NX_EINVAL), "invalid"));
}

static void strerror_unknown_status(void** state) {
    (void)state;
    const int unknown[] = {1, 2, 100, -23, -24, -100, -10000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; ++i) {
        const char* text = nx_strerror(unknown[i]);
        if (text == NULL || strcmp(text, "unknown status") != 0) {
            fail_msg("nx_strerror(%d) = \"%s\", expected \"unknown status\"", unknown[i],
                     text ? text : "(NULL)");
        }
    }
}

/* The enumerators are pinned forever: a change here is an ABI break. */
static void status_values_pinned(void** state) {
    (void)state;
    assert_int_equal(NX_OK, 0);
    assert_int_equal(NX_EINVAL, -1);
    assert_int_equal(NX_ENOCLIENT, -4);
    assert_int_equal(NX_EHANDSHAKE, -14);
    assert_int_equal(NX_EINTERNAL, -19);
    assert_int_equal(NX_ETOOBIG, -20);
    assert_int_equal(NX_ETLSCONFIG, -21);
    assert_int_equal(NX_EUNAVAILABLE, -22);
    assert_int_equal(NX_EVENT_PONG, 8);
    assert_int_equal(NX_OPCODE_PONG, 10);
    assert_int_equal(NX_LOG_OFF, 5);
}

int run_version(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_matches_macros),
        cmocka_unit_test(strerror_every_status),
        cmocka_unit_test(strerror_unknown_status),
        cmocka_unit_test(status_values_pinned),
    };
    return cmocka_run_group_tests_name("version", tests, NULL, NULL);
}

/* ------------------------------------------------------------ options */

static void server_options_defaults(void** state) {
    (void)state;
    nx_ws_server_options o;
    memset(&o, 0xA5, sizeof o);
    EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION));
    assert_int_equal(o.version, NX_WS_SERVER_OPTIONS_VERSION);
    /* Strings: the default itself, or NULL (which means the default). */
    assert_true(o.host == NULL || strcmp(o.host, "0.0.0.0") == 0);
    assert_int_equal(o.port, 8080);
    assert_int_equal(o.threads, 1);
    assert_int_equal(o.max_clients, 100);
    assert_int_equal(o.handshake_timeout_ms, 10000);
    assert_int_equal(o.max_header_bytes, 16384);
    assert_int_equal(o.max_frame_size, MIB);
    assert_int_equal(o.max_message_size, MIB);
    assert_int_equal(o.ping_interval_ms, 30000);
    assert_int_equal(o.pong_timeout_ms, 30000);
    assert_int_equal(o.idle_timeout_ms, 0);
    assert_int_equal(o.max_send_queue, 4 * MIB);
    assert_true(o.max_messages_per_second == 0.0);
    assert_int_equal(o.close_timeout_ms, 5000);
    assert_true(o.allowed_origins == NULL || o.allowed_origins[0] == '\0');
    assert_null(o.subprotocols);
    assert_int_equal(o.permessage_deflate, 0);
    assert_int_equal(o.deflate_server_no_context_takeover, 1);
    assert_int_equal(o.deflate_client_no_context_takeover, 0);
    assert_int_equal(o.deflate_server_max_window_bits, 15);
    assert_int_equal(o.deflate_client_max_window_bits, 15);
    assert_int_equal(o.deflate_level, -1);
    assert_int_equal(o.deflate_memory_level, 8);
    assert_null(o.static_dir);
    assert_int_equal(o.handshake_events, 0);
    assert_int_equal(o.log_level, NX_LOG_WARNING);
    assert_int_equal(o.max_event_queue, 64 * MIB);
}

static void client_options_defaults(void** state) {
    (void)state;
    nx_ws_client_options o;
    memset(&o, 0xA5, sizeof o);
    EXPECT_STATUS(NX_OK, nx_ws_client_options_init(&o, NX_WS_CLIENT_OPTIONS_VERSION));
    assert_int_equal(o.version, NX_WS_CLIENT_OPTIONS_VERSION);
    assert_int_equal(o.connect_timeout_ms, 10000);
    assert_null(o.subprotocols);
    assert_null(o.headers);
    assert_null(o.origin);
    assert_int_equal(o.permessage_deflate, 0);
    assert_int_equal(o.max_message_size, 16 * MIB);
    assert_int_equal(o.auto_pong, 1);
}

static void options_init_wrong_version(void** state) {
    (void)state;
    const unsigned int wrong[] = {0, 2, 3, 100, UINT_MAX};
    nx_ws_server_options so;
    nx_ws_client_options co;
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; ++i) {
        EXPECT_FAILS(NX_EINVAL, nx_ws_server_options_init(&so, wrong[i]));
        EXPECT_FAILS(NX_EINVAL, nx_ws_client_options_init(&co, wrong[i]));
    }
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_options_init(NULL, NX_WS_SERVER_OPTIONS_VERSION));
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_options_init(NULL, NX_WS_CLIENT_OPTIONS_VERSION));
    soft_done();
}

static void server_new_with_defaults(void** state) {
    (void)state;
    nx_ws_server* s = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_server_new(&s, NULL));
    assert_non_null(s);
    assert_string_equal(nx_ws_server_last_error(s), "");
    nx_ws_server_free(s);
    nx_ws_server_options o;
    EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION));
    s = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_server_new(&s, &o));
    assert_non_null(s);
    nx_ws_server_free(s);
}

static void server_new_wrong_options_version(void** state) {
    (void)state;
    nx_ws_server_options o;
    EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION));
    const unsigned int wrong[] = {0, 2, UINT_MAX};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; ++i) {
        o.version = wrong[i];
        nx_ws_server* s = (nx_ws_server*)&o; /* must become NULL */
        EXPECT_FAILS(NX_EINVAL, nx_ws_server_new(&s, &o));
        assert_null(s);
    }
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_new(NULL, NULL));
    soft_done();
}

#define BAD_OPTION(name, field, value)                                                             \
    static void bad_##name(nx_ws_server_options* o) {                                              \
        o->field = value;                                                                          \
    }
BAD_OPTION(port_negative, port, -1)
BAD_OPTION(port_65536, port, 65536)
BAD_OPTION(port_70000, port, 70000)
BAD_OPTION(threads_0, threads, 0)
BAD_OPTION(max_frame_size_0, max_frame_size, 0)
BAD_OPTION(max_message_size_0, max_message_size, 0)
BAD_OPTION(rate_negative, max_messages_per_second, -1.0)
BAD_OPTION(rate_nan, max_messages_per_second, NAN)
BAD_OPTION(server_bits_7, deflate_server_max_window_bits, 7)
BAD_OPTION(server_bits_16, deflate_server_max_window_bits, 16)
BAD_OPTION(client_bits_7, deflate_client_max_window_bits, 7)
BAD_OPTION(client_bits_16, deflate_client_max_window_bits, 16)
BAD_OPTION(level_minus_2, deflate_level, -2)
BAD_OPTION(level_10, deflate_level, 10)
BAD_OPTION(memory_level_0, deflate_memory_level, 0)
BAD_OPTION(memory_level_10, deflate_memory_level, 10)
BAD_OPTION(log_level_negative, log_level, -1)
BAD_OPTION(log_level_6, log_level, 6)

static const struct {
    const char* what;
    const char* field; /* the detail must name it */
    void (*apply)(nx_ws_server_options*);
} bad_options[] = {
    {"port -1", "port", bad_port_negative},
    {"port 65536", "port", bad_port_65536},
    {"port 70000", "port", bad_port_70000},
    {"threads 0", "threads", bad_threads_0},
    {"max_frame_size 0", "max_frame_size", bad_max_frame_size_0},
    {"max_message_size 0", "max_message_size", bad_max_message_size_0},
    {"max_messages_per_second -1", "max_messages_per_second", bad_rate_negative},
    {"max_messages_per_second NaN", "max_messages_per_second", bad_rate_nan},
    {"deflate_server_max_window_bits 7", "deflate_server_max_window_bits", bad_server_bits_7},
    {"deflate_server_max_window_bits 16", "deflate_server_max_window_bits", bad_server_bits_16},
    {"deflate_client_max_window_bits 7", "deflate_client_max_window_bits", bad_client_bits_7},
    {"deflate_client_max_window_bits 16", "deflate_client_max_window_bits", bad_client_bits_16},
    {"deflate_level -2", "deflate_level", bad_level_minus_2},
    {"deflate_level 10", "deflate_level", bad_level_10},
    {"deflate_memory_level 0", "deflate_memory_level", bad_memory_level_0},
    {"deflate_memory_level 10", "deflate_memory_level", bad_memory_level_10},
    {"log_level -1", "log_level", bad_log_level_negative},
    {"log_level 6", "log_level", bad_log_level_6},
};

static void server_new_rejects_invalid_options(void** state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_options / sizeof bad_options[0]; ++i) {
        nx_ws_server_options o;
        EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION));
        bad_options[i].apply(&o);
        nx_ws_server* s = (nx_ws_server*)&o;
        int rc = nx_ws_server_new(&s, &o);
        if (rc != NX_EINVAL) {
            if (rc == NX_OK) {
                nx_ws_server_free(s);
            }
            SOFT_FAIL("nx_ws_server_new with %s: expected NX_EINVAL, got %s", bad_options[i].what,
                      status_name(rc));
            continue;
        }
        if (s != NULL) {
            SOFT_FAIL("nx_ws_server_new with %s: *out not NULL on failure", bad_options[i].what);
        }
        const char* detail = nx_last_error();
        if (strstr(detail, bad_options[i].field) == NULL) {
            SOFT_FAIL("nx_ws_server_new with %s: nx_last_error() = \"%s\" does not name %s",
                      bad_options[i].what, detail, bad_options[i].field);
        }
    }
    soft_done();
}

#define GOOD_OPTION(name, field, value)                                                            \
    static void good_##name(nx_ws_server_options* o) {                                             \
        o->field = value;                                                                          \
    }
GOOD_OPTION(port_0, port, 0)
GOOD_OPTION(port_65535, port, 65535)
GOOD_OPTION(threads_2, threads, 2)
GOOD_OPTION(frame_1, max_frame_size, 1)
GOOD_OPTION(rate_fraction, max_messages_per_second, 0.5)
GOOD_OPTION(server_bits_8, deflate_server_max_window_bits, 8)
GOOD_OPTION(client_bits_8, deflate_client_max_window_bits, 8)
GOOD_OPTION(level_0, deflate_level, 0)
GOOD_OPTION(level_9, deflate_level, 9)
GOOD_OPTION(memory_level_1, deflate_memory_level, 1)
GOOD_OPTION(memory_level_9, deflate_memory_level, 9)
GOOD_OPTION(log_trace, log_level, NX_LOG_TRACE)
GOOD_OPTION(log_off, log_level, NX_LOG_OFF)
GOOD_OPTION(host_null, host, NULL)
GOOD_OPTION(deflate_on, permessage_deflate, 1)

static void server_new_accepts_edge_options(void** state) {
    (void)state;
    static const struct {
        const char* what;
        void (*apply)(nx_ws_server_options*);
    } good[] = {
        {"port 0", good_port_0},
        {"port 65535", good_port_65535},
        {"threads 2", good_threads_2},
        {"max_frame_size 1", good_frame_1},
        {"max_messages_per_second 0.5", good_rate_fraction},
        {"deflate_server_max_window_bits 8", good_server_bits_8},
        {"deflate_client_max_window_bits 8", good_client_bits_8},
        {"deflate_level 0", good_level_0},
        {"deflate_level 9", good_level_9},
        {"deflate_memory_level 1", good_memory_level_1},
        {"deflate_memory_level 9", good_memory_level_9},
        {"log_level TRACE", good_log_trace},
        {"log_level OFF", good_log_off},
        {"host NULL", good_host_null},
        {"permessage_deflate 1", good_deflate_on},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
        nx_ws_server_options o;
        EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION));
        good[i].apply(&o);
        nx_ws_server* s = NULL;
        int rc = nx_ws_server_new(&s, &o);
        if (rc != NX_OK) {
            SOFT_FAIL("nx_ws_server_new with %s: %s (%s)", good[i].what, status_name(rc),
                      nx_last_error());
        }
        nx_ws_server_free(s);
    }
    /* The process-wide log level back to quiet. */
    nx_ws_server_options o;
    nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION);
    o.log_level = NX_LOG_ERROR;
    nx_ws_server* s = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_server_new(&s, &o));
    nx_ws_server_free(s);
    soft_done();
}

static void client_new_options(void** state) {
    (void)state;
    nx_ws_client* c = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, NULL));
    assert_non_null(c);
    assert_string_equal(nx_ws_client_last_error(c), "");
    nx_ws_client_free(c);

    nx_ws_client_options o;
    EXPECT_STATUS(NX_OK, nx_ws_client_options_init(&o, NX_WS_CLIENT_OPTIONS_VERSION));
    o.subprotocols = "a,b";
    o.headers = "X-One: 1\r\nX-Two: 2\r\n";
    o.origin = "http://origin.test";
    c = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, &o));
    assert_non_null(c);
    nx_ws_client_free(c);

    const unsigned int wrong[] = {0, 2, UINT_MAX};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; ++i) {
        o.version = wrong[i];
        c = (nx_ws_client*)&o;
        EXPECT_FAILS(NX_EINVAL, nx_ws_client_new(&c, &o));
        assert_null(c);
    }
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_new(NULL, NULL));
    soft_done();
}

int run_options(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(server_options_defaults),
        cmocka_unit_test(client_options_defaults),
        cmocka_unit_test(options_init_wrong_version),
        cmocka_unit_test(server_new_with_defaults),
        cmocka_unit_test(server_new_wrong_options_version),
        cmocka_unit_test(server_new_rejects_invalid_options),
        cmocka_unit_test(server_new_accepts_edge_options),
        cmocka_unit_test(client_new_options),
    };
    return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}

/* ------------------------------------------------------------- misuse */

static void null_server_handle(void** state) {
    (void)state;
    nx_ws_event ev;
    nx_ws_client_info info;
    memset(&info, 0, sizeof info);
    info.version = NX_WS_CLIENT_INFO_VERSION;
    nx_ws_server_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.version = NX_WS_SERVER_STATS_VERSION;
    uint64_t ids[4];
    int fd = -1;

    nx_ws_server_free(NULL);
    const char* detail = nx_ws_server_last_error(NULL);
    assert_non_null(detail);
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_start(NULL));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_port(NULL));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_poll(NULL, 0, &ev));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_wake(NULL));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_fd(NULL, &fd));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_stop(NULL));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_send(NULL, 1, "x", 1, NX_OPCODE_TEXT));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_broadcast(NULL, "x", 1, NX_OPCODE_TEXT, 0));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_disconnect(NULL, 1, 1000, "", 0));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_accept(NULL, 1));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_reject(NULL, 1, 401, "no", 2));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_client_info(NULL, 1, &info));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_clients(NULL, ids, 4));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_client_count(NULL));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_set_user_data(NULL, 1, "u", 1));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_subscribe(NULL, 1, "ch", 2));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_unsubscribe(NULL, 1, "ch", 2));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_publish(NULL, "ch", 2, "x", 1, NX_OPCODE_TEXT));
    EXPECT_FAILS(NX_EINVAL, nx_ws_server_get_stats(NULL, &stats));
    soft_done();
}

static void null_client_handle(void** state) {
    (void)state;
    nx_ws_event ev;
    int fd = -1;
    nx_ws_client_free(NULL);
    assert_non_null(nx_ws_client_last_error(NULL));
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_connect(NULL, "ws://127.0.0.1:1/"));
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_http_status(NULL));
    const char* sub = nx_ws_client_subprotocol(NULL);
    assert_non_null(sub);
    /* A boolean: "not open" (0), or NX_EINVAL as every other int function. */
    int open = nx_ws_client_is_open(NULL);
    if (open != 0 && open != NX_EINVAL) {
        fail_msg("nx_ws_client_is_open(NULL) = %d", open);
    }
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_send(NULL, "x", 1, NX_OPCODE_TEXT));
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_ping(NULL, "", 0));
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_close(NULL, 1000, "", 0));
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_poll(NULL, 0, &ev));
    EXPECT_FAILS(NX_EINVAL, nx_ws_client_fd(NULL, &fd));
    soft_done();
}

/* A server made but not started, for the "before start" cases. */
static int make_unstarted(void** state) {
    server_fx* fx = calloc(1, sizeof *fx);
    fx_init(fx, 1);
    EXPECT_STATUS(NX_OK, nx_ws_server_new(&fx->server, &fx->opts));
    *state = fx;
    return 0;
}

static int free_fx(void** state) {
    server_fx* fx = *state;
    fx_free(fx);
    free(fx);
    return 0;
}

static void server_before_start(void** state) {
    server_fx* fx = *state;
    nx_ws_server* s = fx->server;
    nx_ws_event ev;
    int fd = -1;
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_server_port(s), nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_server_poll(s, 0, &ev), nx_ws_server_last_error(s));
    /* must not block: */
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_server_poll(s, -1, &ev), nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_server_fd(s, &fd), nx_ws_server_last_error(s));
    SOFT_STATUS(0, nx_ws_server_client_count(s));
    SOFT_STATUS(0, nx_ws_server_clients(s, NULL, 0));
    nx_ws_server_stats stats;
    memset(&stats, 0xA5, sizeof stats);
    stats.version = NX_WS_SERVER_STATS_VERSION;
    SOFT_STATUS(NX_OK, nx_ws_server_get_stats(s, &stats));
    assert_int_equal(stats.clients, 0);
    assert_int_equal(stats.connections_total, 0);
    assert_int_equal(stats.messages_in, 0);
    assert_int_equal(stats.bytes_out, 0);
    assert_int_equal(stats.dropped_pending_limit, 0);
    soft_done();
}

static void server_null_pointers(void** state) {
    server_fx* fx = *state;
    nx_ws_server* s = fx->server;
    SOFT_STATUS(NX_OK, nx_ws_server_start(s));
    int fd = -1;
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_poll(s, 0, NULL), nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_fd(s, NULL), nx_ws_server_last_error(s));
    SOFT_STATUS(NX_OK, nx_ws_server_fd(s, &fd));
    assert_true(fd >= 0);
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_get_stats(s, NULL), nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_clients(s, NULL, 4), nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_broadcast(s, NULL, 3, NX_OPCODE_BINARY, 0),
                    nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_publish(s, NULL, 2, "x", 1, NX_OPCODE_TEXT),
                    nx_ws_server_last_error(s));
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_publish(s, "ch", 2, NULL, 1, NX_OPCODE_TEXT),
                    nx_ws_server_last_error(s));
    /* Bad opcodes for broadcast and publish (no client needed). */
    const int opcodes[] = {0, 3, NX_OPCODE_CLOSE, NX_OPCODE_PING, NX_OPCODE_PONG, -1, 100};
    for (size_t i = 0; i < sizeof opcodes / sizeof opcodes[0]; ++i) {
        SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_broadcast(s, "x", 1, opcodes[i], 0),
                        nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_publish(s, "ch", 2, "x", 1, opcodes[i]),
                        nx_ws_server_last_error(s));
    }
    /* Versions the library does not know. */
    nx_ws_server_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.version = 0;
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_get_stats(s, &stats), nx_ws_server_last_error(s));
    stats.version = NX_WS_SERVER_STATS_VERSION + 1;
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_server_get_stats(s, &stats), nx_ws_server_last_error(s));
    soft_done();
}

static void server_unknown_clients(void** state) {
    server_fx* fx = *state;
    nx_ws_server* s = fx->server;
    SOFT_STATUS(NX_OK, nx_ws_server_start(s));
    const uint64_t unknown[] = {1, 2, 42, 1000000, UINT64_MAX};
    nx_ws_client_info info;
    memset(&info, 0, sizeof info);
    info.version = NX_WS_CLIENT_INFO_VERSION;
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; ++i) {
        uint64_t id = unknown[i];
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_send(s, id, "x", 1, NX_OPCODE_TEXT),
                        nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_send(s, id, "x", 1, NX_OPCODE_BINARY),
                        nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_disconnect(s, id, 1000, "", 0),
                        nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_accept(s, id), nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_reject(s, id, 401, "no", 2),
                        nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_client_info(s, id, &info),
                        nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_set_user_data(s, id, "u", 1),
                        nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_subscribe(s, id, "ch", 2),
                        nx_ws_server_last_error(s));
        SOFT_FAILS_WITH(NX_ENOCLIENT, nx_ws_server_unsubscribe(s, id, "ch", 2),
                        nx_ws_server_last_error(s));
    }
    /* With nobody connected, fan-out reaches nobody. */
    SOFT_STATUS(0, nx_ws_server_broadcast(s, "x", 1, NX_OPCODE_TEXT, 0));
    SOFT_STATUS(0, nx_ws_server_broadcast(s, NULL, 0, NX_OPCODE_BINARY, 7));
    SOFT_STATUS(0, nx_ws_server_publish(s, "ch", 2, "x", 1, NX_OPCODE_TEXT));
    soft_done();
}

static void client_before_connect(void** state) {
    (void)state;
    nx_ws_client* c = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, NULL));
    nx_ws_event ev;
    int fd = -1;
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_client_send(c, "x", 1, NX_OPCODE_TEXT),
                    nx_ws_client_last_error(c));
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_client_ping(c, "", 0), nx_ws_client_last_error(c));
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_client_close(c, 1000, "", 0), nx_ws_client_last_error(c));
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_client_poll(c, 0, &ev), nx_ws_client_last_error(c));
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_client_poll(c, -1, &ev),
                    nx_ws_client_last_error(c)); /* must not block */
    SOFT_FAILS_WITH(NX_ESTATE, nx_ws_client_fd(c, &fd), nx_ws_client_last_error(c));
    assert_int_equal(nx_ws_client_is_open(c), 0);
    assert_int_equal(nx_ws_client_http_status(c), 0);
    assert_non_null(nx_ws_client_subprotocol(c));
    assert_string_equal(nx_ws_client_subprotocol(c), "");
    /* NULL pointers on a real handle. */
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_client_connect(c, NULL), nx_ws_client_last_error(c));
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_client_poll(c, 0, NULL), nx_ws_client_last_error(c));
    SOFT_FAILS_WITH(NX_EINVAL, nx_ws_client_fd(c, NULL), nx_ws_client_last_error(c));
    nx_ws_client_free(c);
    soft_done();
}

struct error_probe {
    char before[256];
    char after[256];
};

static void* fail_in_thread(void* arg) {
    struct error_probe* probe = arg;
    snprintf(probe->before, sizeof probe->before, "%s", nx_last_error());
    nx_ws_server_options o;
    nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION);
    o.port = 70000;
    nx_ws_server* s = NULL;
    nx_ws_server_new(&s, &o);
    snprintf(probe->after, sizeof probe->after, "%s", nx_last_error());
    return NULL;
}

/* nx_last_error() is per thread: another thread's failure leaves it alone. */
static void last_error_is_thread_local(void** state) {
    (void)state;
    nx_ws_server_options o;
    EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION));
    o.threads = 0;
    nx_ws_server* s = NULL;
    EXPECT_STATUS(NX_EINVAL, nx_ws_server_new(&s, &o));
    char mine[256];
    snprintf(mine, sizeof mine, "%s", nx_last_error());
    assert_non_null(strstr(mine, "threads"));

    struct error_probe probe;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fail_in_thread, &probe), 0);
    pthread_join(t, NULL);
    assert_string_equal(probe.before, ""); /* a fresh thread has none */
    assert_non_null(strstr(probe.after, "port"));
    assert_string_equal(nx_last_error(), mine);
}

int run_misuse(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_server_handle),
        cmocka_unit_test(null_client_handle),
        cmocka_unit_test_setup_teardown(server_before_start, make_unstarted, free_fx),
        cmocka_unit_test_setup_teardown(server_null_pointers, make_unstarted, free_fx),
        cmocka_unit_test_setup_teardown(server_unknown_clients, make_unstarted, free_fx),
        cmocka_unit_test(client_before_connect),
        cmocka_unit_test(last_error_is_thread_local),
    };
    return cmocka_run_group_tests_name("misuse", tests, NULL, NULL);
}

/* ---------------------------------------------------------- lifecycle */

/* Bounds a call that must return by itself (poll(-1) after a wake or a
 * stop): after `ms` it records that it fired and stops the server, so that a
 * hang becomes a failure instead of a stuck test. */
typedef struct watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    nx_ws_server* server;
    int ms;
    int done;
    int fired;
    int wake_after_start; /* also: call nx_ws_server_wake() once started */
    int started;
} watchdog;

static void* watchdog_main(void* arg) {
    watchdog* w = arg;
    pthread_mutex_lock(&w->mu);
    if (w->wake_after_start) {
        while (!w->started && !w->done) {
            pthread_cond_wait(&w->cv, &w->mu);
        }
        if (!w->done) {
            pthread_mutex_unlock(&w->mu);
            nx_ws_server_wake(w->server);
            pthread_mutex_lock(&w->mu);
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += w->ms / 1000;
    ts.tv_nsec += (long)(w->ms % 1000) * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    while (!w->done) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0 && !w->done) {
            w->fired = 1;
            pthread_mutex_unlock(&w->mu);
            nx_ws_server_stop(w->server);
            nx_ws_server_wake(w->server);
            pthread_mutex_lock(&w->mu);
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watchdog_start(watchdog* w, nx_ws_server* server, int ms, int wake) {
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->server = server;
    w->ms = ms;
    w->wake_after_start = wake;
    assert_int_equal(pthread_create(&w->thread, NULL, watchdog_main, w), 0);
}

static void watchdog_signal(watchdog* w, int* field) {
    pthread_mutex_lock(&w->mu);
    *field = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int watchdog_finish(watchdog* w) {
    watchdog_signal(w, &w->done);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    return w->fired;
}

static int make_fx1(void** state) {
    server_fx* fx = calloc(1, sizeof *fx);
    fx_init(fx, 1);
    *state = fx;
    return 0;
}

static int make_fx2(void** state) {
    server_fx* fx = calloc(1, sizeof *fx);
    fx_init(fx, 2);
    *state = fx;
    return 0;
}

static void start_and_port(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    int port = nx_ws_server_port(fx->server);
    assert_true(port > 0 && port <= 65535);
    assert_int_equal(nx_ws_server_port(fx->server), port);
    SERVER_EXPECT(fx, NX_ESTATE, nx_ws_server_start(fx->server));
    assert_string_not_equal(nx_ws_server_last_error(fx->server), "");
    /* Something listens there: a TCP connect succeeds. */
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(sock, (struct sockaddr*)&sa, sizeof sa), 0);
    close(sock);
}

static void start_on_explicit_port(void** state) {
    server_fx* fx = *state;
    int port = unused_port();
    fx->opts.port = port;
    assert_int_equal(fx_begin(fx), NX_OK);
    assert_int_equal(nx_ws_server_port(fx->server), port);
}

static void bind_port_in_use(void** state) {
    server_fx* fx = *state;
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(sock, (struct sockaddr*)&sa, sizeof sa), 0);
    assert_int_equal(listen(sock, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(sock, (struct sockaddr*)&sa, &len);
    int port = ntohs(sa.sin_port);

    fx->opts.port = port;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_new(&fx->server, &fx->opts));
    int rc = nx_ws_server_start(fx->server);
    close(sock);
    SERVER_EXPECT(fx, NX_EBIND, rc);
    const char* detail = nx_ws_server_last_error(fx->server);
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    if (strstr(detail, port_text) == NULL || strstr(detail, "127.0.0.1") == NULL) {
        fail_msg("the EBIND detail \"%s\" does not name 127.0.0.1 and port %d", detail, port);
    }
    /* Not started: still "before start". */
    nx_ws_event ev;
    SERVER_EXPECT(fx, NX_ESTATE, nx_ws_server_poll(fx->server, 0, &ev));
}

static void bind_bad_host(void** state) {
    server_fx* fx = *state;
    fx->opts.host = "256.256.256.256";
    int rc = nx_ws_server_new(&fx->server, &fx->opts);
    if (rc == NX_EINVAL) {
        return; /* refused as an invalid option: fine too */
    }
    SERVER_EXPECT(fx, NX_OK, rc);
    SERVER_EXPECT(fx, NX_EBIND, nx_ws_server_start(fx->server));
    assert_non_null(strstr(nx_ws_server_last_error(fx->server), "256.256.256.256"));
}

static void expect_stopped_forever(server_fx* fx) {
    nx_ws_event ev;
    int64_t deadline = mono_ms() + WAIT_MS;
    int seen = 0;
    while (!seen && mono_ms() < deadline) {
        memset(&ev, 0, sizeof ev);
        SERVER_EXPECT(fx, NX_OK, nx_ws_server_poll(fx->server, 50, &ev));
        seen = ev.kind == NX_EVENT_STOPPED;
        if (ev.kind != NX_EVENT_NONE && ev.kind != NX_EVENT_STOPPED &&
            ev.kind != NX_EVENT_DISCONNECT) {
            fail_msg("event %s while stopping", kind_name(ev.kind));
        }
    }
    if (!seen) {
        fail_msg("no STOPPED within %d ms of nx_ws_server_stop()", WAIT_MS);
    }
    for (int i = 0; i < 3; ++i) {
        memset(&ev, 0, sizeof ev);
        SERVER_EXPECT(fx, NX_OK, nx_ws_server_poll(fx->server, i == 0 ? 0 : 100, &ev));
        assert_string_equal(kind_name(ev.kind), "STOPPED");
        assert_non_null(ev.data);
    }
    /* Also without a timeout: at once, never blocking. */
    watchdog w;
    watchdog_start(&w, fx->server, 5000, 0);
    memset(&ev, 0, sizeof ev);
    int rc = nx_ws_server_poll(fx->server, -1, &ev);
    if (watchdog_finish(&w)) {
        fail_msg("poll(-1) after STOPPED blocked for 5 s");
    }
    SERVER_EXPECT(fx, NX_OK, rc);
    assert_string_equal(kind_name(ev.kind), "STOPPED");
}

static void stop_then_stopped_forever(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_stop(fx->server));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_stop(fx->server)); /* double stop */
    expect_stopped_forever(fx);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_stop(fx->server)); /* and after STOPPED */
    /* Calls after stop. */
    SERVER_EXPECT(fx, NX_ESTATE, nx_ws_server_start(fx->server));
    SERVER_EXPECT(fx, NX_ESTATE, nx_ws_server_send(fx->server, 1, "x", 1, NX_OPCODE_TEXT));
    SERVER_EXPECT(fx, NX_ESTATE, nx_ws_server_broadcast(fx->server, "x", 1, NX_OPCODE_TEXT, 0));
    SERVER_EXPECT(fx, 0, nx_ws_server_client_count(fx->server));
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_wake(fx->server));
    nx_ws_server_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.version = NX_WS_SERVER_STATS_VERSION;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_get_stats(fx->server, &stats));
    /* No new connections. */
    nx_ws_client* c = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, NULL));
    int rc = nx_ws_client_connect(c, fx_url(fx, "/"));
    const char* detail = nx_ws_client_last_error(c);
    nx_ws_client_free(c);
    if (rc != NX_EREFUSED) {
        fail_msg("connect to a stopped server: expected NX_EREFUSED, got %s (%s)", status_name(rc),
                 detail);
    }
}

static void* stop_from_thread(void* arg) {
    nx_ws_server_stop(arg);
    return NULL;
}

static void stop_from_another_thread(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_from_thread, fx->server), 0);
    pthread_join(t, NULL);
    expect_stopped_forever(fx);
}

static void stop_before_start(void** state) {
    server_fx* fx = *state;
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_new(&fx->server, &fx->opts));
    int stop = nx_ws_server_stop(fx->server);
    int start = nx_ws_server_start(fx->server);
    /* Either the stop counted (then the server is stopped) or it was refused. */
    if (!((stop == NX_OK && start == NX_ESTATE) || (stop == NX_ESTATE && start == NX_OK))) {
        fail_msg("stop before start gave %s, then start gave %s", status_name(stop),
                 status_name(start));
    }
}

static void free_running_server(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    int64_t t0 = mono_ms();
    nx_ws_server_free(fx->server);
    fx->server = NULL;
    int64_t took = mono_ms() - t0;
    if (took > (int64_t)fx->opts.close_timeout_ms + 2000) {
        fail_msg("nx_ws_server_free of an idle running server took %lld ms", (long long)took);
    }
}

static void wake_then_poll_forever(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    /* "or the next one": a wake before the poll. */
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_wake(fx->server));
    watchdog w;
    watchdog_start(&w, fx->server, 5000, 0);
    nx_ws_event ev;
    memset(&ev, 0xA5, sizeof ev);
    int rc = nx_ws_server_poll(fx->server, -1, &ev);
    if (watchdog_finish(&w)) {
        fail_msg("poll(-1) after nx_ws_server_wake() did not return within 5 s");
    }
    SERVER_EXPECT(fx, NX_OK, rc);
    assert_string_equal(kind_name(ev.kind), "NONE");
}

static void wake_from_another_thread(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    for (int round = 0; round < 3; ++round) {
        watchdog w;
        watchdog_start(&w, fx->server, 5000, 1);
        watchdog_signal(&w, &w.started); /* the other thread wakes from now on */
        nx_ws_event ev;
        memset(&ev, 0xA5, sizeof ev);
        int rc = nx_ws_server_poll(fx->server, -1, &ev);
        if (watchdog_finish(&w)) {
            fail_msg("round %d: poll(-1) was not ended by nx_ws_server_wake() from another "
                     "thread within 5 s",
                     round);
        }
        SERVER_EXPECT(fx, NX_OK, rc);
        assert_string_equal(kind_name(ev.kind), "NONE");
    }
}

/* Nothing to do: NONE, with data "" (never NULL). */
static void poll_idle_returns_none(void** state) {
    server_fx* fx = *state;
    assert_int_equal(fx_begin(fx), NX_OK);
    for (int timeout = 0; timeout <= 20; timeout += 20) {
        nx_ws_event ev;
        memset(&ev, 0xA5, sizeof ev);
        SERVER_EXPECT(fx, NX_OK, nx_ws_server_poll(fx->server, timeout, &ev));
        assert_string_equal(kind_name(ev.kind), "NONE");
        assert_non_null(ev.data);
        assert_int_equal(ev.size, 0);
        assert_int_equal(ev.client, 0);
    }
}

/* Each lifecycle test runs with one event loop and with two. */
#define T1(f)                                                                                      \
    { #f, f, make_fx1, free_fx, NULL }
#define T2(f)                                                                                      \
    { #f "_2threads", f, make_fx2, free_fx, NULL }

int run_lifecycle(void) {
    const struct CMUnitTest tests[] = {
        T1(start_and_port),
        T2(start_and_port),
        T1(start_on_explicit_port),
        T1(bind_port_in_use),
        T2(bind_port_in_use),
        T1(bind_bad_host),
        T1(stop_then_stopped_forever),
        T2(stop_then_stopped_forever),
        T1(stop_from_another_thread),
        T2(stop_from_another_thread),
        T1(stop_before_start),
        T1(free_running_server),
        T2(free_running_server),
        T1(wake_then_poll_forever),
        T2(wake_then_poll_forever),
        T1(wake_from_another_thread),
        T2(wake_from_another_thread),
        T1(poll_idle_returns_none),
        T2(poll_idle_returns_none),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
