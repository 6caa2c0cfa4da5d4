/*
 * nx_ws_client_connect's failures, each on loopback or a reserved name:
 * malformed URLs (NX_EURL), a port nothing listens on (NX_EREFUSED), a name
 * that cannot resolve (NX_EDNS), and a peer that is not a WebSocket server
 * (NX_EHANDSHAKE). Nothing here connects anywhere but 127.0.0.1.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "groups.h"

static int new_client(void** state) {
    nx_ws_client_options o;
    EXPECT_STATUS(NX_OK, nx_ws_client_options_init(&o, NX_WS_CLIENT_OPTIONS_VERSION));
    o.connect_timeout_ms = 5000;
    nx_ws_client* c = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, &o));
    *state = c;
    return 0;
}

static int free_client(void** state) {
    nx_ws_client_free(*state);
    return 0;
}

/* The client is as new after a failed connect. */
static void expect_unconnected(nx_ws_client* c) {
    nx_ws_event ev;
    assert_int_equal(nx_ws_client_is_open(c), 0);
    EXPECT_STATUS(NX_ESTATE, nx_ws_client_send(c, "x", 1, NX_OPCODE_TEXT));
    EXPECT_STATUS(NX_ESTATE, nx_ws_client_poll(c, 0, &ev));
}

static void expect_connect(nx_ws_client* c, const char* url, int expected) {
    int rc = nx_ws_client_connect(c, url);
    const char* detail = nx_ws_client_last_error(c);
    if (rc != expected) {
        fail_msg("nx_ws_client_connect(\"%s\"): expected %s, got %s (\"%s\")", url,
                 status_name(expected), status_name(rc), detail ? detail : "(NULL)");
    }
    if (detail == NULL || detail[0] == '\0') {
        fail_msg("nx_ws_client_connect(\"%s\") failed without a detail", url);
    }
    assert_int_equal(nx_ws_client_http_status(c), 0);
}

static void malformed_urls(void** state) {
    nx_ws_client* c = *state;
    const char* const urls[] = {
        "",
        "127.0.0.1:80",
        "http://127.0.0.1/",
        "ws//127.0.0.1/",
        "ws://",
        "ws:///path",
        "ws://127.0.0.1:99999/",
        "ws://127.0.0.1:-1/",
        "ws://127.0.0.1:abc/",
        "ws://[::1/",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; ++i) {
        expect_connect(c, urls[i], NX_EURL);
        expect_unconnected(c);
    }
}

static void refused(void** state) {
    nx_ws_client* c = *state;
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", unused_port());
    expect_connect(c, url, NX_EREFUSED);
    const char* detail = nx_ws_client_last_error(c);
    if (strstr(detail, "127.0.0.1") == NULL) {
        fail_msg("the EREFUSED detail \"%s\" does not say where", detail);
    }
    expect_unconnected(c);
    /* The same client can try again. */
    expect_connect(c, url, NX_EREFUSED);
}

static void unknown_host(void** state) {
    nx_ws_client* c = *state;
    expect_connect(c, "ws://nonexistent.invalid/", NX_EDNS);
    assert_non_null(strstr(nx_ws_client_last_error(c), "nonexistent.invalid"));
    expect_unconnected(c);
}

/* A TCP listener that answers one request with a fixed HTTP response. */
typedef struct fake_http {
    int listener;
    int port;
    const char* response;
    pthread_t thread;
} fake_http;

static void* fake_http_main(void* arg) {
    fake_http* f = arg;
    struct pollfd pfd = {f->listener, POLLIN, 0};
    if (poll(&pfd, 1, WAIT_MS) <= 0) {
        return NULL;
    }
    int conn = accept(f->listener, NULL, NULL);
    if (conn < 0) {
        return NULL;
    }
    char buf[4096];
    size_t used = 0;
    int64_t deadline = mono_ms() + WAIT_MS;
    while (used + 1 < sizeof buf && mono_ms() < deadline) {
        struct pollfd cp = {conn, POLLIN, 0};
        if (poll(&cp, 1, 100) <= 0) {
            continue;
        }
        ssize_t n = recv(conn, buf + used, sizeof buf - 1 - used, 0);
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL) {
            break;
        }
    }
    ssize_t ignored = send(conn, f->response, strlen(f->response), MSG_NOSIGNAL);
    (void)ignored;
    close(conn);
    return NULL;
}

static void fake_http_start(fake_http* f, const char* response) {
    memset(f, 0, sizeof *f);
    f->response = response;
    f->listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->listener >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->listener, (struct sockaddr*)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->listener, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(f->listener, (struct sockaddr*)&sa, &len);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_http_main, f), 0);
}

static void fake_http_stop(fake_http* f) {
    pthread_join(f->thread, NULL);
    close(f->listener);
}

static void not_a_websocket_server(void** state) {
    nx_ws_client* c = *state;
    fake_http f;
    fake_http_start(&f, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/chat", f.port);
    int rc = nx_ws_client_connect(c, url);
    fake_http_stop(&f);
    if (rc != NX_EHANDSHAKE) {
        fail_msg("connect to an HTTP 404: expected NX_EHANDSHAKE, got %s (%s)", status_name(rc),
                 nx_ws_client_last_error(c));
    }
    assert_int_equal(nx_ws_client_http_status(c), 404);
    expect_unconnected(c);

    /* A 101 without a valid Sec-WebSocket-Accept is no handshake either. */
    fake_http_start(&f, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: bogus\r\n\r\n");
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", f.port);
    rc = nx_ws_client_connect(c, url);
    fake_http_stop(&f);
    if (rc != NX_EHANDSHAKE) {
        fail_msg("connect to a bad 101: expected NX_EHANDSHAKE, got %s (%s)", status_name(rc),
                 nx_ws_client_last_error(c));
    }
    expect_unconnected(c);
}

static void silent_server_times_out(void** state) {
    (void)state;
    nx_ws_client_options o;
    EXPECT_STATUS(NX_OK, nx_ws_client_options_init(&o, NX_WS_CLIENT_OPTIONS_VERSION));
    o.connect_timeout_ms = 300;
    nx_ws_client* c = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, &o));
    /* Listens (the kernel completes the TCP handshake) but never answers. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(listener, (struct sockaddr*)&sa, sizeof sa), 0);
    assert_int_equal(listen(listener, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(listener, (struct sockaddr*)&sa, &len);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", ntohs(sa.sin_port));
    int64_t t0 = mono_ms();
    int rc = nx_ws_client_connect(c, url);
    int64_t took = mono_ms() - t0;
    close(listener);
    const char* detail = nx_ws_client_last_error(c);
    char copy[256];
    snprintf(copy, sizeof copy, "%s", detail);
    nx_ws_client_free(c);
    if (rc != NX_ETIMEDOUT) {
        fail_msg("connect to a silent listener: expected NX_ETIMEDOUT, got %s (%s)",
                 status_name(rc), copy);
    }
    if (took > WAIT_MS) {
        fail_msg("connect_timeout_ms 300 took %lld ms", (long long)took);
    }
}

int run_client_errors(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(malformed_urls, new_client, free_client),
        cmocka_unit_test_setup_teardown(refused, new_client, free_client),
        cmocka_unit_test_setup_teardown(unknown_host, new_client, free_client),
        cmocka_unit_test_setup_teardown(not_a_websocket_server, new_client, free_client),
        cmocka_unit_test(silent_server_times_out),
    };
    return cmocka_run_group_tests_name("client_errors", tests, NULL, NULL);
}
