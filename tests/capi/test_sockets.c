/*
 * The plain sockets of the C API (nx_socket_*, nx_socket_server_*): misuse
 * (NULL handles and pointers, bad types, ports and options, calls in the
 * wrong state or on the wrong kind of socket) and real traffic on loopback
 * only: TCP, UDP, TLS with certificates made at test time by `openssl` (a CA
 * and certificates it signs, in a mkdtemp directory), and STARTTLS.
 *
 * Both ends of a TCP test run on the test thread (the kernel completes a
 * connect before accept). A TLS handshake needs both ends at once: the
 * client then runs on a thread of its own (a "job") that records what it
 * saw; the test checks that after joining it. Every call has a timeout;
 * nothing sleeps. Handles and jobs are tracked so that the teardown
 * releases them even after a failed assertion.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "groups.h"

/* The bound of one call of a job (a client on its own thread). */
#define JOB_MS 5000

/* A host no resolver is asked about: a label over 63 bytes (RFC 1035). */
#define LONG_LABEL_HOST                                                                            \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.invalid"

/* The lines of the exchange of serve_hello() and the jobs: binary, with NULs. */
static const char CLIENT_HELLO[] = "hello\0from the client\n";
static const char SERVER_HELLO[] = "welcome\0back\r\n";
static const char SERVER_BYE[] = "bye\0\xff\x01 that is all";
#define LEN(literal) (sizeof(literal) - 1)

/* For a call on a socket / a server: fails naming both statuses and the
 * handle's detail. */
#define SOCK_EXPECT(s, expected, call)                                                             \
    do {                                                                                           \
        int got_ = (call);                                                                         \
        if (got_ != (expected)) {                                                                  \
            fail_msg("%s\n      expected %s, got %s (nx_socket_last_error: \"%s\")", #call,        \
                     status_name(expected), status_name(got_), nx_socket_last_error(s));           \
        }                                                                                          \
    } while (0)
#define SERVER_SOCK_EXPECT(sv, expected, call)                                                     \
    do {                                                                                           \
        int got_ = (call);                                                                         \
        if (got_ != (expected)) {                                                                  \
            fail_msg("%s\n      expected %s, got %s (nx_socket_server_last_error: \"%s\")", #call, \
                     status_name(expected), status_name(got_), nx_socket_server_last_error(sv));   \
        }                                                                                          \
    } while (0)

/* Fails with `expected` and leaves a detail: the handle's, or the thread's
 * for calls without a handle. Recorded; soft_done() reports them all. */
#define SOCK_FAILS(s, expected, call) SOFT_FAILS_WITH(expected, call, nx_socket_last_error(s))
#define SERVER_FAILS(sv, expected, call)                                                           \
    SOFT_FAILS_WITH(expected, call, nx_socket_server_last_error(sv))
#define THREAD_FAILS(expected, call) SOFT_FAILS_WITH(expected, call, nx_last_error())

/* ------------------------------------------------------ tracked handles */

typedef struct client_job client_job;

#define MAX_TRACKED 16
static nx_socket* tracked_sockets[MAX_TRACKED];
static nx_socket_server* tracked_servers[MAX_TRACKED];
static client_job* tracked_jobs[MAX_TRACKED];

static void job_join(client_job* j);

static nx_socket* track_socket(nx_socket* s) {
    for (size_t i = 0; i < MAX_TRACKED; ++i) {
        if (tracked_sockets[i] == NULL) {
            tracked_sockets[i] = s;
            return s;
        }
    }
    fail_msg("more than %d sockets in one test", MAX_TRACKED);
    return NULL;
}

static nx_socket_server* track_server(nx_socket_server* sv) {
    for (size_t i = 0; i < MAX_TRACKED; ++i) {
        if (tracked_servers[i] == NULL) {
            tracked_servers[i] = sv;
            return sv;
        }
    }
    fail_msg("more than %d servers in one test", MAX_TRACKED);
    return NULL;
}

/* Servers and sockets first (a job waiting on one of them then sees its
 * end at once), then the jobs, whose every call is bounded by JOB_MS. */
static int release_tracked(void** state) {
    (void)state;
    for (size_t i = 0; i < MAX_TRACKED; ++i) {
        nx_socket_free(tracked_sockets[i]);
        tracked_sockets[i] = NULL;
        nx_socket_server_free(tracked_servers[i]);
        tracked_servers[i] = NULL;
    }
    for (size_t i = 0; i < MAX_TRACKED; ++i) {
        if (tracked_jobs[i] != NULL) {
            job_join(tracked_jobs[i]);
            free(tracked_jobs[i]);
            tracked_jobs[i] = NULL;
        }
    }
    return 0;
}

/* Frees a tracked server now. */
static void free_server(nx_socket_server* sv) {
    for (size_t i = 0; i < MAX_TRACKED; ++i) {
        if (tracked_servers[i] == sv) {
            tracked_servers[i] = NULL;
        }
    }
    nx_socket_server_free(sv);
}

static nx_socket* new_socket(int type) {
    nx_socket* s = NULL;
    EXPECT_STATUS(NX_OK, nx_socket_new(&s, type));
    assert_non_null(s);
    return track_socket(s);
}

static nx_socket_server* new_server(int type) {
    nx_socket_server* sv = NULL;
    EXPECT_STATUS(NX_OK, nx_socket_server_new(&sv, type));
    assert_non_null(sv);
    return track_server(sv);
}

/* Listens on 127.0.0.1, port 0: the bound port. */
static int listen_loopback(nx_socket_server* sv) {
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_listen(sv, "127.0.0.1", 0));
    int port = nx_socket_server_port(sv);
    if (port <= 0 || port > 65535) {
        fail_msg("nx_socket_server_port after listen: %s", status_name(port));
    }
    return port;
}

static nx_socket_server* tcp_server(int* port) {
    nx_socket_server* sv = new_server(NX_SOCKET_TCP);
    *port = listen_loopback(sv);
    return sv;
}

static nx_socket* tcp_connect(int port) {
    nx_socket* s = new_socket(NX_SOCKET_TCP);
    SOCK_EXPECT(s, NX_OK, nx_socket_connect(s, "127.0.0.1", port, WAIT_MS));
    return s;
}

/* The next connection (tracked); *peer_out (when not NULL) gets a copy of
 * its "ip:port". */
static nx_socket* accept_one(nx_socket_server* sv, char* peer_out, size_t peer_size) {
    nx_socket* c = NULL;
    const char* peer_at = NULL;
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_accept(sv, WAIT_MS, &c, &peer_at));
    assert_non_null(c);
    track_socket(c);
    assert_non_null(peer_at);
    if (peer_out != NULL) {
        snprintf(peer_out, peer_size, "%s", peer_at);
    }
    return c;
}

static void send_all(nx_socket* s, const void* data, size_t size) {
    int rc = nx_socket_send(s, data, size, WAIT_MS);
    if (rc != (int)size) {
        fail_msg("nx_socket_send of %zu bytes: got %s (nx_socket_last_error: \"%s\")", size,
                 status_name(rc), nx_socket_last_error(s));
    }
}

static void expect_bytes(const char* what, const char* got, size_t got_size, const void* expected,
                         size_t expected_size) {
    if (got == NULL) {
        fail_msg("%s: data is NULL", what);
    }
    if (got_size != expected_size) {
        fail_msg("%s: %zu bytes, expected %zu", what, got_size, expected_size);
    }
    const unsigned char* e = expected;
    for (size_t i = 0; i < got_size; ++i) {
        if ((unsigned char)got[i] != e[i]) {
            fail_msg("%s: byte %zu is 0x%02x, expected 0x%02x", what, i, (unsigned char)got[i],
                     e[i]);
        }
    }
}

/* Receives exactly n bytes into out, in as many receives as it takes. */
static void receive_exactly(nx_socket* s, char* out, size_t n) {
    size_t got = 0;
    const int64_t deadline = mono_ms() + WAIT_MS;
    while (got < n) {
        const int64_t left = deadline - mono_ms();
        if (left <= 0) {
            fail_msg("only %zu of %zu bytes within %d ms", got, n, WAIT_MS);
        }
        const char* data = NULL;
        size_t size = 0;
        int rc = nx_socket_receive(s, n - got, (int)left, &data, &size);
        if (rc != NX_OK) {
            fail_msg("nx_socket_receive after %zu of %zu bytes: %s (\"%s\")", got, n,
                     status_name(rc), nx_socket_last_error(s));
        }
        if (size == 0) {
            fail_msg("end of stream after %zu of %zu bytes", got, n);
        }
        if (size > n - got || data == NULL) {
            fail_msg("nx_socket_receive(max %zu) gave %zu bytes at %p", n - got, size,
                     (const void*)data);
        }
        memcpy(out + got, data, size);
        got += size;
    }
}

static void expect_line(nx_socket* s, size_t max_line, const void* expected, size_t size) {
    const char* data = NULL;
    size_t got = 0;
    SOCK_EXPECT(s, NX_OK, nx_socket_read_line(s, max_line, WAIT_MS, &data, &got));
    expect_bytes("nx_socket_read_line", data, got, expected, size);
}

/* Receive at the end of the stream: NX_OK with 0 bytes. */
static void expect_end_of_stream(nx_socket* s) {
    const char* data = NULL;
    size_t size = 99;
    SOCK_EXPECT(s, NX_OK, nx_socket_receive(s, 16, WAIT_MS, &data, &size));
    if (size != 0) {
        fail_msg("nx_socket_receive at the end of the stream: %zu bytes, expected 0", size);
    }
}

static void expect_address(const char* what, const char* got, const char* ip, int port) {
    char expected[64];
    snprintf(expected, sizeof expected, "%s:%d", ip, port);
    if (got == NULL || strcmp(got, expected) != 0) {
        fail_msg("%s = \"%s\", expected \"%s\"", what, got ? got : "(NULL)", expected);
    }
}

static void expect_contains(const char* what, const char* text, const char* needle) {
    if (text == NULL || strstr(text, needle) == NULL) {
        fail_msg("%s \"%s\" does not mention \"%s\"", what, text ? text : "(NULL)", needle);
    }
}

/* The port of "ip:port" (-1 if none). */
static int port_of(const char* address) {
    const char* colon = address ? strrchr(address, ':') : NULL;
    return colon ? atoi(colon + 1) : -1;
}

/* The local port of a descriptor (getsockname), or -1. */
static int fd_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr*)&ss, &len) != 0) {
        return -1;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in*)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6*)&ss)->sin6_port);
    }
    return -1;
}

static int int_sockopt(int fd, int level, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    if (getsockopt(fd, level, name, &value, &len) != 0) {
        return -1;
    }
    return value;
}

static int socket_fd(nx_socket* s) {
    int fd = -1;
    SOCK_EXPECT(s, NX_OK, nx_socket_fd(s, &fd));
    assert_true(fd >= 0);
    return fd;
}

/* A UDP port on 127.0.0.1 that was free a moment ago (bound, then closed). */
static int unused_udp_port(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr*)&sa, sizeof sa), 0);
    int port = fd_port(fd);
    close(fd);
    return port;
}

/* ----------------------------------------------------- certificates */

static struct {
    char dir[64];
    char ca[128];
    char server_cert[128];
    char server_key[128];
    char encrypted_key[128]; /* server_key with the passphrase "secret" */
    char other_cert[128];    /* other.test, signed by the CA */
    char other_key[128];
    char error[256];
    int ready;
} certs;

static int openssl_in_dir(const char* command) {
    char line[1024];
    snprintf(line, sizeof line, "cd '%s' && %s >>openssl.log 2>&1", certs.dir, command);
    if (system(line) != 0) {
        snprintf(certs.error, sizeof certs.error, "failed: %s (see %s/openssl.log)", command,
                 certs.dir);
        return 0;
    }
    return 1;
}

#define EC_KEY "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

/* Group setup: a CA and certificates it signs, made with `openssl`. A
 * failure is reported by the TLS tests (need_certs), not here, so that the
 * rest of the group still runs. */
static int make_certificates(void** state) {
    (void)state;
    snprintf(certs.dir, sizeof certs.dir, "/tmp/nexus-capi-tls-XXXXXX");
    if (mkdtemp(certs.dir) == NULL) {
        snprintf(certs.error, sizeof certs.error, "mkdtemp failed");
        certs.dir[0] = '\0';
        return 0;
    }
    const char* const steps[] = {
        "openssl req -x509 " EC_KEY " -keyout ca.key -out ca.pem -days 2"
        " -subj '/CN=nexus capi test CA'",
        "openssl req -new " EC_KEY " -keyout server.key -out server.csr -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 101 -days 2"
        " -copy_extensions copy -out server.pem",
        "openssl req -new " EC_KEY " -keyout other.key -out other.csr -subj /CN=other.test"
        " -addext subjectAltName=DNS:other.test",
        "openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -set_serial 102 -days 2"
        " -copy_extensions copy -out other.pem",
        "openssl pkey -in server.key -aes256 -passout pass:secret -out server-enc.key",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; ++i) {
        if (!openssl_in_dir(steps[i])) {
            return 0;
        }
    }
    snprintf(certs.ca, sizeof certs.ca, "%s/ca.pem", certs.dir);
    snprintf(certs.server_cert, sizeof certs.server_cert, "%s/server.pem", certs.dir);
    snprintf(certs.server_key, sizeof certs.server_key, "%s/server.key", certs.dir);
    snprintf(certs.encrypted_key, sizeof certs.encrypted_key, "%s/server-enc.key", certs.dir);
    snprintf(certs.other_cert, sizeof certs.other_cert, "%s/other.pem", certs.dir);
    snprintf(certs.other_key, sizeof certs.other_key, "%s/other.key", certs.dir);
    certs.ready = 1;
    return 0;
}

static int remove_certificates(void** state) {
    (void)state;
    if (certs.dir[0] != '\0') {
        char line[128];
        snprintf(line, sizeof line, "rm -rf '%s'", certs.dir);
        if (system(line) != 0) {
            fprintf(stderr, "cannot remove %s\n", certs.dir);
        }
    }
    return 0;
}

static void need_certs(void) {
    if (!certs.ready) {
        fail_msg("no test certificates: %s", certs.error);
    }
}

/* A TLS server on 127.0.0.1 with the test CA's localhost certificate. */
static nx_socket_server* tls_server(int* port) {
    need_certs();
    nx_socket_server* sv = new_server(NX_SOCKET_TLS);
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "local_cert", certs.server_cert));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "local_pk", certs.server_key));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "handshake_timeout", "5"));
    *port = listen_loopback(sv);
    return sv;
}

/* ------------------------------------------------------------- jobs */

/* A client on its own thread: new, options, connect to 127.0.0.1:port
 * (plain first with starttls: "STARTTLS\r\n", "GO\r\n", nx_socket_start_tls
 * as client), then sends CLIENT_HELLO, reads a line (reply) and everything
 * until the server closes (tail), and frees its socket. The first step that
 * fails ends it and is recorded. */
#define JOB_OPTIONS 8

struct client_job {
    pthread_t thread;
    int running;
    /* Set before job_start. */
    int type;
    int port;
    int starttls;
    const char* options[JOB_OPTIONS][2];
    /* What it saw (read after job_join). */
    const char* failed_step; /* NULL: every step passed */
    int status;
    char detail[512];
    char local[64];
    char reply[256];
    size_t reply_size;
    char tail[256];
    size_t tail_size;
};

static client_job* job_new(int type, int port) {
    client_job* j = calloc(1, sizeof *j);
    assert_non_null(j);
    j->type = type;
    j->port = port;
    for (size_t i = 0; i < MAX_TRACKED; ++i) {
        if (tracked_jobs[i] == NULL) {
            tracked_jobs[i] = j;
            return j;
        }
    }
    free(j);
    fail_msg("more than %d jobs in one test", MAX_TRACKED);
    return NULL;
}

static void job_option(client_job* j, const char* name, const char* value) {
    for (size_t i = 0; i < JOB_OPTIONS; ++i) {
        if (j->options[i][0] == NULL) {
            j->options[i][0] = name;
            j->options[i][1] = value;
            return;
        }
    }
    fail_msg("more than %d job options", JOB_OPTIONS);
}

/* Records the failure of `step` unless rc is NX_OK; returns 1 when it is. */
static int job_check(client_job* j, nx_socket* s, const char* step, int rc) {
    if (rc == NX_OK) {
        return 1;
    }
    j->failed_step = step;
    j->status = rc;
    snprintf(j->detail, sizeof j->detail, "%s", s ? nx_socket_last_error(s) : nx_last_error());
    return 0;
}

static int job_send(client_job* j, nx_socket* s, const char* data, size_t size) {
    int rc = nx_socket_send(s, data, size, JOB_MS);
    return job_check(j, s, "nx_socket_send", rc == (int)size ? NX_OK : rc < 0 ? rc : NX_EIO);
}

static void* job_main(void* arg) {
    client_job* j = arg;
    nx_socket* s = NULL;
    const char* data = NULL;
    size_t size = 0;
    if (!job_check(j, NULL, "nx_socket_new", nx_socket_new(&s, j->type))) {
        return NULL;
    }
    for (size_t i = 0; i < JOB_OPTIONS && j->options[i][0] != NULL; ++i) {
        if (!job_check(j, s, "nx_socket_set_option",
                       nx_socket_set_option(s, j->options[i][0], j->options[i][1]))) {
            goto done;
        }
    }
    if (!job_check(j, s, "nx_socket_connect", nx_socket_connect(s, "127.0.0.1", j->port, JOB_MS))) {
        goto done;
    }
    snprintf(j->local, sizeof j->local, "%s", nx_socket_local_address(s));
    if (j->starttls) {
        if (!job_send(j, s, "STARTTLS\r\n", 10) ||
            !job_check(j, s, "nx_socket_read_line (GO)",
                       nx_socket_read_line(s, 100, JOB_MS, &data, &size))) {
            goto done;
        }
        if (size != 4 || memcmp(data, "GO\r\n", 4) != 0) {
            j->failed_step = "the server's GO line";
            j->status = NX_OK;
            snprintf(j->detail, sizeof j->detail, "%.*s", (int)size, data);
            goto done;
        }
        if (!job_check(j, s, "nx_socket_start_tls", nx_socket_start_tls(s, 0, JOB_MS))) {
            goto done;
        }
    }
    if (!job_send(j, s, CLIENT_HELLO, LEN(CLIENT_HELLO)) ||
        !job_check(j, s, "nx_socket_read_line",
                   nx_socket_read_line(s, sizeof j->reply, JOB_MS, &data, &size))) {
        goto done;
    }
    memcpy(j->reply, data, size);
    j->reply_size = size;
    if (!job_check(j, s, "nx_socket_read_all",
                   nx_socket_read_all(s, sizeof j->tail, JOB_MS, &data, &size))) {
        goto done;
    }
    memcpy(j->tail, data, size);
    j->tail_size = size;
done:
    nx_socket_free(s);
    return NULL;
}

static void job_start(client_job* j) {
    assert_int_equal(pthread_create(&j->thread, NULL, job_main, j), 0);
    j->running = 1;
}

/* Bounded: each call of the job has a timeout of JOB_MS. */
static void job_join(client_job* j) {
    if (j->running) {
        pthread_join(j->thread, NULL);
        j->running = 0;
    }
}

/* The job did every step and got what serve_hello() sends. */
static void expect_job_ok(client_job* j) {
    job_join(j);
    if (j->failed_step != NULL) {
        fail_msg("client: %s: %s (\"%s\")", j->failed_step, status_name(j->status), j->detail);
    }
    expect_bytes("the client's reply line", j->reply, j->reply_size, SERVER_HELLO,
                 LEN(SERVER_HELLO));
    expect_bytes("the client's read_all", j->tail, j->tail_size, SERVER_BYE, LEN(SERVER_BYE));
}

/* The job failed at `step` with `expected` and a detail that mentions
 * `needle`. */
static void expect_job_failed(client_job* j, const char* step, int expected, const char* needle) {
    job_join(j);
    if (j->failed_step == NULL) {
        fail_msg("client: every step passed; expected %s to fail with %s", step,
                 status_name(expected));
    }
    if (strcmp(j->failed_step, step) != 0 || j->status != expected) {
        fail_msg("client: %s failed with %s (\"%s\"); expected %s to fail with %s", j->failed_step,
                 status_name(j->status), j->detail, step, status_name(expected));
    }
    expect_contains("the client's detail", j->detail, needle);
}

/* The server's half of the exchange of a job, on an accepted (or upgraded)
 * connection: the client's line, our line, our tail, then close. */
static void serve_hello(nx_socket* c) {
    expect_line(c, 256, CLIENT_HELLO, LEN(CLIENT_HELLO));
    send_all(c, SERVER_HELLO, LEN(SERVER_HELLO));
    send_all(c, SERVER_BYE, LEN(SERVER_BYE));
    SOCK_EXPECT(c, NX_OK, nx_socket_close(c));
}

/* The server's view of a client that refuses our certificate for its name:
 * the client checks the name once its side of the handshake is done, so
 * accept may fail (NX_ETLS, NX_ECERT) or hand over a connection that the
 * client then ends without sending anything (end of stream, or NX_ECLOSED
 * for a reset). */
static void expect_refused_by_client(nx_socket_server* sv) {
    nx_socket* c = NULL;
    const char* peer_at = NULL;
    int rc = nx_socket_server_accept(sv, WAIT_MS, &c, &peer_at);
    if (rc == NX_ETLS || rc == NX_ECERT) {
        assert_null(c);
        return;
    }
    if (rc != NX_OK) {
        fail_msg("accept: expected NX_ETLS, NX_ECERT or NX_OK, got %s (\"%s\")", status_name(rc),
                 nx_socket_server_last_error(sv));
    }
    track_socket(c);
    const char* data = NULL;
    size_t size = 0;
    rc = nx_socket_receive(c, 16, WAIT_MS, &data, &size);
    if (!(rc == NX_OK && size == 0) && rc != NX_ECLOSED && rc != NX_ETLS) {
        fail_msg("the connection of a client that refused the certificate: receive gave %s with "
                 "%zu bytes (\"%s\"), expected its end",
                 status_name(rc), size, nx_socket_last_error(c));
    }
}

/* ------------------------------------------------------------- misuse */

static void null_handles(void** state) {
    (void)state;
    const char* data = NULL;
    const char* sender = NULL;
    size_t size = 0;
    int fd = -1;
    nx_socket* client = NULL;

    nx_socket_free(NULL);
    nx_socket_server_free(NULL);
    assert_non_null(nx_socket_last_error(NULL));
    assert_non_null(nx_socket_server_last_error(NULL));
    THREAD_FAILS(NX_EINVAL, nx_socket_new(NULL, NX_SOCKET_TCP));
    THREAD_FAILS(NX_EINVAL, nx_socket_server_new(NULL, NX_SOCKET_TCP));
    THREAD_FAILS(NX_EINVAL, nx_socket_set_option(NULL, "timeout", "1"));
    THREAD_FAILS(NX_EINVAL, nx_socket_connect(NULL, "127.0.0.1", 1, 0));
    SOFT_STATUS(0, nx_socket_is_connected(NULL));
    THREAD_FAILS(NX_EINVAL, nx_socket_send(NULL, "x", 1, 0));
    THREAD_FAILS(NX_EINVAL, nx_socket_receive(NULL, 1, 0, &data, &size));
    THREAD_FAILS(NX_EINVAL, nx_socket_read_line(NULL, 10, 0, &data, &size));
    THREAD_FAILS(NX_EINVAL, nx_socket_read_all(NULL, 10, 0, &data, &size));
    THREAD_FAILS(NX_EINVAL, nx_socket_start_tls(NULL, 0, 0));
    THREAD_FAILS(NX_EINVAL, nx_socket_bind(NULL, "127.0.0.1", 0));
    THREAD_FAILS(NX_EINVAL, nx_socket_send_to(NULL, "127.0.0.1", 9, "x", 1, 0));
    THREAD_FAILS(NX_EINVAL, nx_socket_receive_from(NULL, 10, 0, &data, &size, &sender));
    const char* peer_at = nx_socket_peer_address(NULL);
    const char* local = nx_socket_local_address(NULL);
    if (peer_at == NULL || peer_at[0] != '\0' || local == NULL || local[0] != '\0') {
        SOFT_FAIL("nx_socket_peer_address(NULL) / local_address(NULL): \"%s\" / \"%s\", "
                  "expected \"\"",
                  peer_at ? peer_at : "(NULL)", local ? local : "(NULL)");
    }
    THREAD_FAILS(NX_EINVAL, nx_socket_fd(NULL, &fd));
    THREAD_FAILS(NX_EINVAL, nx_socket_close(NULL));
    THREAD_FAILS(NX_EINVAL, nx_socket_server_set_option(NULL, "backlog", "4"));
    THREAD_FAILS(NX_EINVAL, nx_socket_server_listen(NULL, "127.0.0.1", 0));
    THREAD_FAILS(NX_EINVAL, nx_socket_server_port(NULL));
    THREAD_FAILS(NX_EINVAL, nx_socket_server_accept(NULL, 0, &client, &peer_at));
    THREAD_FAILS(NX_EINVAL, nx_socket_server_fd(NULL, &fd));
    THREAD_FAILS(NX_EINVAL, nx_socket_server_close(NULL));
    soft_done();
}

static void bad_types(void** state) {
    (void)state;
    const int bad[] = {0, 4, -1, 100, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        nx_socket* s = (nx_socket*)&s; /* not NULL: the call must clear it */
        THREAD_FAILS(NX_EINVAL, nx_socket_new(&s, bad[i]));
        if (s != NULL) {
            SOFT_FAIL("nx_socket_new(type %d) failed but left *out non-NULL", bad[i]);
        }
    }
    const int bad_server[] = {0, NX_SOCKET_UDP, 4, -1, INT_MAX};
    for (size_t i = 0; i < sizeof bad_server / sizeof bad_server[0]; ++i) {
        nx_socket_server* sv = (nx_socket_server*)&sv;
        THREAD_FAILS(NX_EINVAL, nx_socket_server_new(&sv, bad_server[i]));
        if (sv != NULL) {
            SOFT_FAIL("nx_socket_server_new(type %d) failed but left *out non-NULL", bad_server[i]);
        }
    }
    const int good[] = {NX_SOCKET_TCP, NX_SOCKET_UDP, NX_SOCKET_TLS};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
        nx_socket* s = NULL;
        SOFT_STATUS(NX_OK, nx_socket_new(&s, good[i]));
        if (s == NULL) {
            SOFT_FAIL("nx_socket_new(type %d): NULL", good[i]);
        } else {
            const char* detail = nx_socket_last_error(s);
            if (detail == NULL || detail[0] != '\0') {
                SOFT_FAIL("a new socket's last error is \"%s\", expected \"\"",
                          detail ? detail : "(NULL)");
            }
            SOFT_STATUS(0, nx_socket_is_connected(s));
        }
        nx_socket_free(s);
    }
    for (int type = NX_SOCKET_TCP; type <= NX_SOCKET_TLS; type += 2) {
        nx_socket_server* sv = NULL;
        SOFT_STATUS(NX_OK, nx_socket_server_new(&sv, type));
        if (sv == NULL) {
            SOFT_FAIL("nx_socket_server_new(type %d): NULL", type);
        } else if (nx_socket_server_last_error(sv)[0] != '\0') {
            SOFT_FAIL("a new server's last error is \"%s\"", nx_socket_server_last_error(sv));
        }
        nx_socket_server_free(sv);
    }
    soft_done();
}

/* Every failure on a handle leaves its detail in that handle's last error
 * (each case on a fresh handle, so that no earlier detail stands in). */
static void failures_leave_a_detail(void** state) {
    (void)state;
    const char* data = NULL;
    const char* sender = NULL;
    const char* peer_at = NULL;
    size_t size = 0;
    int fd = -1;
    nx_socket* client = NULL;
#define FRESH_SOCKET(type, expected, call_on_s)                                                    \
    do {                                                                                           \
        nx_socket* s = new_socket(type);                                                           \
        SOCK_FAILS(s, expected, call_on_s);                                                        \
    } while (0)
#define FRESH_SERVER(expected, call_on_sv)                                                         \
    do {                                                                                           \
        nx_socket_server* sv = new_server(NX_SOCKET_TCP);                                          \
        SERVER_FAILS(sv, expected, call_on_sv);                                                    \
    } while (0)
    FRESH_SOCKET(NX_SOCKET_TCP, NX_ESTATE, nx_socket_fd(s, &fd));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_EINVAL, nx_socket_fd(s, NULL));
    FRESH_SOCKET(NX_SOCKET_UDP, NX_ESTATE, nx_socket_fd(s, &fd));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_ESTATE, nx_socket_send(s, "x", 1, 0));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_ESTATE, nx_socket_receive(s, 1, 0, &data, &size));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_ESTATE, nx_socket_read_line(s, 1, 0, &data, &size));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_ESTATE, nx_socket_read_all(s, 1, 0, &data, &size));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_ESTATE, nx_socket_start_tls(s, 0, 0));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_EINVAL, nx_socket_bind(s, "127.0.0.1", 0));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_EINVAL, nx_socket_send_to(s, "127.0.0.1", 9, "x", 1, 0));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_EINVAL, nx_socket_receive_from(s, 1, 0, &data, &size, &sender));
    FRESH_SOCKET(NX_SOCKET_TCP, NX_EINVAL, nx_socket_set_option(s, "no_such_option", "1"));
    FRESH_SOCKET(NX_SOCKET_UDP, NX_ESTATE, nx_socket_send(s, "x", 1, 0));
    FRESH_SOCKET(NX_SOCKET_UDP, NX_ESTATE, nx_socket_receive(s, 1, 0, &data, &size));
    FRESH_SOCKET(NX_SOCKET_UDP, NX_EINVAL, nx_socket_read_line(s, 1, 0, &data, &size));
    FRESH_SOCKET(NX_SOCKET_UDP, NX_EINVAL, nx_socket_start_tls(s, 0, 0));
    FRESH_SERVER(NX_ESTATE, nx_socket_server_port(sv));
    FRESH_SERVER(NX_ESTATE, nx_socket_server_fd(sv, &fd));
    FRESH_SERVER(NX_EINVAL, nx_socket_server_fd(sv, NULL));
    FRESH_SERVER(NX_ESTATE, nx_socket_server_accept(sv, 0, &client, &peer_at));
    FRESH_SERVER(NX_EINVAL, nx_socket_server_set_option(sv, "no_such_option", "1"));
    FRESH_SERVER(NX_EINVAL, nx_socket_server_listen(sv, "127.0.0.1", -1));
#undef FRESH_SOCKET
#undef FRESH_SERVER
    soft_done();
}

/* NULL pointers and zero sizes on real handles. */
static void null_pointers(void** state) {
    (void)state;
    nx_socket* tcp = new_socket(NX_SOCKET_TCP);
    nx_socket* udp = new_socket(NX_SOCKET_UDP);
    nx_socket_server* sv = new_server(NX_SOCKET_TCP);
    const char* data = NULL;
    const char* sender = NULL;
    const char* peer_at = NULL;
    size_t size = 0;
    nx_socket* client = NULL;

    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_set_option(tcp, NULL, "1"));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_set_option(tcp, "timeout", NULL));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_connect(tcp, NULL, 80, 0));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_send(tcp, NULL, 3, 0));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_receive(tcp, 10, 0, NULL, &size));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_receive(tcp, 10, 0, &data, NULL));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_receive(tcp, 0, 0, &data, &size));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_read_line(tcp, 10, 0, NULL, &size));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_read_line(tcp, 10, 0, &data, NULL));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_read_line(tcp, 0, 0, &data, &size));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_read_all(tcp, 10, 0, NULL, &size));
    SOCK_FAILS(tcp, NX_EINVAL, nx_socket_read_all(tcp, 10, 0, &data, NULL));
    SOFT_STATUS(NX_EINVAL, nx_socket_fd(tcp, NULL));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_connect(udp, NULL, 80, 0));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_bind(udp, NULL, 0));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_send_to(udp, NULL, 9, "x", 1, 0));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_send_to(udp, "127.0.0.1", 9, NULL, 1, 0));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_receive_from(udp, 10, 0, NULL, &size, &sender));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_receive_from(udp, 10, 0, &data, NULL, &sender));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_receive_from(udp, 10, 0, &data, &size, NULL));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_receive_from(udp, 0, 0, &data, &size, &sender));
    SOCK_FAILS(udp, NX_EINVAL, nx_socket_send(udp, NULL, 1, 0));
    SERVER_FAILS(sv, NX_EINVAL, nx_socket_server_set_option(sv, NULL, "4"));
    SERVER_FAILS(sv, NX_EINVAL, nx_socket_server_set_option(sv, "backlog", NULL));
    SERVER_FAILS(sv, NX_EINVAL, nx_socket_server_listen(sv, NULL, 0));
    SOFT_STATUS(NX_EINVAL, nx_socket_server_fd(sv, NULL));
    /* Listening, so that only the pointers are wrong. */
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_listen(sv, "127.0.0.1", 0));
    SERVER_FAILS(sv, NX_EINVAL, nx_socket_server_accept(sv, 0, NULL, &peer_at));
    SERVER_FAILS(sv, NX_EINVAL, nx_socket_server_accept(sv, 0, &client, NULL));
    SOFT_STATUS(NX_EINVAL, nx_socket_server_fd(sv, NULL));
    /* Nothing was connected by the failures. */
    SOFT_STATUS(0, nx_socket_is_connected(tcp));
    SOFT_STATUS(0, nx_socket_is_connected(udp));
    soft_done();
}

static void bad_ports(void** state) {
    (void)state;
    nx_socket* tcp = new_socket(NX_SOCKET_TCP);
    nx_socket* tls = new_socket(NX_SOCKET_TLS);
    nx_socket* udp = new_socket(NX_SOCKET_UDP);
    nx_socket_server* sv = new_server(NX_SOCKET_TCP);
    const int bad[] = {-1, 65536, 70000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        SOCK_FAILS(tcp, NX_EINVAL, nx_socket_connect(tcp, "127.0.0.1", bad[i], 1000));
        SOCK_FAILS(tls, NX_EINVAL, nx_socket_connect(tls, "127.0.0.1", bad[i], 1000));
        SOCK_FAILS(udp, NX_EINVAL, nx_socket_connect(udp, "127.0.0.1", bad[i], 1000));
        SOCK_FAILS(udp, NX_EINVAL, nx_socket_bind(udp, "127.0.0.1", bad[i]));
        SOCK_FAILS(udp, NX_EINVAL, nx_socket_send_to(udp, "127.0.0.1", bad[i], "x", 1, 1000));
        SERVER_FAILS(sv, NX_EINVAL, nx_socket_server_listen(sv, "127.0.0.1", bad[i]));
    }
    SOFT_STATUS(NX_ESTATE, nx_socket_server_port(sv)); /* still not listening */
    SOFT_STATUS(0, nx_socket_is_connected(tcp));
    soft_done();
}

typedef struct option_case {
    const char* name;
    const char* value;
    const char* needle; /* what the detail of a refusal must mention */
} option_case;

static void socket_options(void** state) {
    (void)state;
    const option_case good[] = {
        {"timeout", "2.5", NULL},
        {"timeout", "0", NULL},
        {"timeout", "30", NULL},
        {"tcp_nodelay", "1", NULL},
        {"tcp_nodelay", "off", NULL},
        {"keepalive", "yes", NULL},
        {"keepalive", "false", NULL},
        {"rcvbuf", "65536", NULL},
        {"sndbuf", "65536", NULL},
        {"verify_peer", "true", NULL},
        {"verify_peer_name", "no", NULL},
        {"allow_self_signed", "1", NULL},
        {"cafile", "/nonexistent/ca.pem", NULL},
        {"capath", "/nonexistent", NULL},
        {"peer_name", "example.test", NULL},
        {"SNI_enabled", "off", NULL},
        {"local_cert", "/nonexistent/c.pem", NULL},
        {"local_pk", "/nonexistent/k.pem", NULL},
        {"passphrase", "secret", NULL},
        {"ciphers", "HIGH:!aNULL", NULL},
    };
    const option_case bad[] = {
        {"no_such_option", "1", "no_such_option"},
        {"", "1", "option"},
        {"Timeout", "1", "Timeout"},
        {"verify-peer", "1", "verify-peer"},
        {"backlog", "4", "backlog"},
        {"handshake_timeout", "1", "handshake_timeout"},
        {"sni:example.test", "c.pem,k.pem", "sni:example.test"},
        {"timeout", "abc", "timeout"},
        {"timeout", "-1", "timeout"},
        {"timeout", "", "timeout"},
        {"timeout", "1x", "timeout"},
        {"timeout", "nan", "timeout"},
        {"tcp_nodelay", "maybe", "tcp_nodelay"},
        {"tcp_nodelay", "2", "tcp_nodelay"},
        {"keepalive", "yes please", "keepalive"},
        {"rcvbuf", "-1", "rcvbuf"},
        {"rcvbuf", "abc", "rcvbuf"},
        {"rcvbuf", "1.5", "rcvbuf"},
        {"sndbuf", "", "sndbuf"},
        {"sndbuf", "99999999999999", "sndbuf"},
        {"broadcast", "2", "broadcast"},
        {"verify_peer", "maybe", "verify_peer"},
        {"verify_peer_name", "x", "verify_peer_name"},
        {"allow_self_signed", "10", "allow_self_signed"},
        {"SNI_enabled", "nah", "SNI_enabled"},
    };
    /* UDP: the socket options that apply to it. */
    const option_case good_udp[] = {
        {"timeout", "2.5", NULL},   {"timeout", "0", NULL},     {"rcvbuf", "65536", NULL},
        {"sndbuf", "65536", NULL},  {"broadcast", "on", NULL},  {"broadcast", "0", NULL},
        {"broadcast", "yes", NULL}, {"broadcast", "off", NULL},
    };
    const int types[] = {NX_SOCKET_TCP, NX_SOCKET_TLS, NX_SOCKET_UDP};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
        nx_socket* s = new_socket(types[t]);
        const int udp = types[t] == NX_SOCKET_UDP;
        const option_case* ok = udp ? good_udp : good;
        const size_t ok_count =
            udp ? sizeof good_udp / sizeof good_udp[0] : sizeof good / sizeof good[0];
        for (size_t i = 0; i < ok_count; ++i) {
            int rc = nx_socket_set_option(s, ok[i].name, ok[i].value);
            if (rc != NX_OK) {
                SOFT_FAIL("type %d: nx_socket_set_option(\"%s\", \"%s\"): expected NX_OK, got %s "
                          "(\"%s\")",
                          types[t], ok[i].name, ok[i].value, status_name(rc),
                          nx_socket_last_error(s));
            }
        }
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
            int rc = nx_socket_set_option(s, bad[i].name, bad[i].value);
            const char* detail = nx_socket_last_error(s);
            if (rc != NX_EINVAL) {
                SOFT_FAIL("type %d: nx_socket_set_option(\"%s\", \"%s\"): expected NX_EINVAL, "
                          "got %s",
                          types[t], bad[i].name, bad[i].value, status_name(rc));
            } else if (detail == NULL || strstr(detail, bad[i].needle) == NULL) {
                SOFT_FAIL("type %d: nx_socket_set_option(\"%s\", \"%s\"): the detail \"%s\" does "
                          "not mention \"%s\"",
                          types[t], bad[i].name, bad[i].value, detail ? detail : "(NULL)",
                          bad[i].needle);
            }
        }
    }
    soft_done();
}

static void server_options(void** state) {
    (void)state;
    const option_case good[] = {
        {"backlog", "16", NULL},
        {"handshake_timeout", "2.5", NULL},
        {"timeout", "1", NULL},
        {"tcp_nodelay", "0", NULL},
        {"keepalive", "1", NULL},
        {"verify_peer", "0", NULL},
        {"verify_peer_name", "off", NULL},
        {"allow_self_signed", "yes", NULL},
        {"cafile", "/nonexistent/ca.pem", NULL},
        {"capath", "/nonexistent", NULL},
        {"peer_name", "example.test", NULL},
        {"SNI_enabled", "1", NULL},
        {"passphrase", "secret", NULL},
        {"ciphers", "HIGH", NULL},
        {"sni:example.test", "/nonexistent/c.pem,/nonexistent/k.pem", NULL},
        {"sni:*.example.test", "/nonexistent/c.pem,/nonexistent/k.pem,secret", NULL},
    };
    const option_case bad[] = {
        {"no_such_option", "1", "no_such_option"},
        {"broadcast", "1", "broadcast"},
        {"backlog", "0", "backlog"},
        {"backlog", "-3", "backlog"},
        {"backlog", "x", "backlog"},
        {"backlog", "", "backlog"},
        {"handshake_timeout", "x", "handshake_timeout"},
        {"handshake_timeout", "-1", "handshake_timeout"},
        {"timeout", "abc", "timeout"},
        {"tcp_nodelay", "maybe", "tcp_nodelay"},
        {"verify_peer", "maybe", "verify_peer"},
        {"sni:", "c.pem,k.pem", "sni:"},
        {"sni:example.test", "no-comma.pem", "sni:"},
        {"sni:example.test", ",k.pem", "sni:"},
    };
    for (int type = NX_SOCKET_TCP; type <= NX_SOCKET_TLS; type += 2) {
        nx_socket_server* sv = new_server(type);
        for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
            int rc = nx_socket_server_set_option(sv, good[i].name, good[i].value);
            if (rc != NX_OK) {
                SOFT_FAIL("type %d: nx_socket_server_set_option(\"%s\", \"%s\"): expected NX_OK, "
                          "got %s (\"%s\")",
                          type, good[i].name, good[i].value, status_name(rc),
                          nx_socket_server_last_error(sv));
            }
        }
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
            int rc = nx_socket_server_set_option(sv, bad[i].name, bad[i].value);
            const char* detail = nx_socket_server_last_error(sv);
            if (rc != NX_EINVAL) {
                SOFT_FAIL("type %d: nx_socket_server_set_option(\"%s\", \"%s\"): expected "
                          "NX_EINVAL, got %s",
                          type, bad[i].name, bad[i].value, status_name(rc));
            } else if (detail == NULL || strstr(detail, bad[i].needle) == NULL) {
                SOFT_FAIL("type %d: nx_socket_server_set_option(\"%s\", \"%s\"): the detail "
                          "\"%s\" does not mention \"%s\"",
                          type, bad[i].name, bad[i].value, detail ? detail : "(NULL)",
                          bad[i].needle);
            }
        }
    }
    /* After listen: NX_ESTATE, good option or not. */
    nx_socket_server* sv = new_server(NX_SOCKET_TCP);
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "backlog", "8"));
    listen_loopback(sv);
    SERVER_FAILS(sv, NX_ESTATE, nx_socket_server_set_option(sv, "backlog", "8"));
    SERVER_FAILS(sv, NX_ESTATE, nx_socket_server_set_option(sv, "timeout", "1"));
    SERVER_FAILS(sv, NX_ESTATE, nx_socket_server_set_option(sv, "local_cert", "/x.pem"));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_close(sv));
    SERVER_FAILS(sv, NX_ESTATE, nx_socket_server_set_option(sv, "backlog", "8"));
    soft_done();
}

/* Every call that needs a connection, before connect; the calls of the
 * other kind of socket (UDP-only on TCP/TLS and the reverse). */
static void before_connect(void** state) {
    (void)state;
    const char* data = NULL;
    const char* sender = NULL;
    size_t size = 0;
    int fd = -1;
    for (int type = NX_SOCKET_TCP; type <= NX_SOCKET_TLS; type += 2) {
        nx_socket* s = new_socket(type);
        SOCK_FAILS(s, NX_ESTATE, nx_socket_send(s, "x", 1, 0));
        SOCK_FAILS(s, NX_ESTATE, nx_socket_send(s, NULL, 0, 0));
        SOCK_FAILS(s, NX_ESTATE, nx_socket_receive(s, 10, 0, &data, &size));
        const int64_t t0 = mono_ms();
        SOCK_FAILS(s, NX_ESTATE, nx_socket_receive(s, 10, -1, &data, &size)); /* no wait */
        SOCK_FAILS(s, NX_ESTATE, nx_socket_read_line(s, 10, -1, &data, &size));
        SOCK_FAILS(s, NX_ESTATE, nx_socket_read_all(s, 10, -1, &data, &size));
        SOCK_FAILS(s, NX_ESTATE, nx_socket_start_tls(s, 0, -1));
        SOCK_FAILS(s, NX_ESTATE, nx_socket_start_tls(s, 1, -1));
        if (mono_ms() - t0 > 1000) {
            SOFT_FAIL("type %d: calls before connect waited %lld ms", type,
                      (long long)(mono_ms() - t0));
        }
        SOFT_STATUS(NX_ESTATE, nx_socket_fd(s, &fd));
        SOCK_FAILS(s, NX_EINVAL, nx_socket_bind(s, "127.0.0.1", 0));
        SOCK_FAILS(s, NX_EINVAL, nx_socket_send_to(s, "127.0.0.1", 9, "x", 1, 0));
        SOCK_FAILS(s, NX_EINVAL, nx_socket_receive_from(s, 10, 0, &data, &size, &sender));
        SOFT_STATUS(0, nx_socket_is_connected(s));
        if (strcmp(nx_socket_peer_address(s), "") != 0 ||
            strcmp(nx_socket_local_address(s), "") != 0) {
            SOFT_FAIL("type %d: addresses before connect: \"%s\" / \"%s\"", type,
                      nx_socket_peer_address(s), nx_socket_local_address(s));
        }
        SOFT_STATUS(NX_OK, nx_socket_close(s));
        SOFT_STATUS(NX_OK, nx_socket_close(s));
    }
    nx_socket* u = new_socket(NX_SOCKET_UDP);
    SOCK_FAILS(u, NX_ESTATE, nx_socket_send(u, "x", 1, 0));
    SOCK_FAILS(u, NX_ESTATE, nx_socket_receive(u, 10, -1, &data, &size));
    SOCK_FAILS(u, NX_ESTATE, nx_socket_receive_from(u, 10, -1, &data, &size, &sender));
    SOFT_STATUS(NX_ESTATE, nx_socket_fd(u, &fd));
    SOCK_FAILS(u, NX_EINVAL, nx_socket_read_line(u, 10, 0, &data, &size));
    SOCK_FAILS(u, NX_EINVAL, nx_socket_read_all(u, 10, 0, &data, &size));
    SOCK_FAILS(u, NX_EINVAL, nx_socket_start_tls(u, 0, 0));
    SOFT_STATUS(0, nx_socket_is_connected(u));
    /* Bound, the TCP-only calls are still not for UDP. */
    SOCK_EXPECT(u, NX_OK, nx_socket_bind(u, "127.0.0.1", 0));
    SOCK_FAILS(u, NX_EINVAL, nx_socket_read_line(u, 10, 0, &data, &size));
    SOCK_FAILS(u, NX_EINVAL, nx_socket_read_all(u, 10, 0, &data, &size));
    SOCK_FAILS(u, NX_EINVAL, nx_socket_start_tls(u, 1, 0));
    /* Bound without a peer: send has nowhere to go. */
    SOCK_FAILS(u, NX_ESTATE, nx_socket_send(u, "x", 1, 0));
    SOFT_STATUS(NX_OK, nx_socket_close(u));
    SOFT_STATUS(NX_OK, nx_socket_close(u));
    SOFT_STATUS(0, nx_socket_is_connected(u));
    soft_done();
}

static void server_before_listen(void** state) {
    (void)state;
    nx_socket_server* sv = new_server(NX_SOCKET_TCP);
    nx_socket* client = (nx_socket*)&client;
    const char* peer_at = NULL;
    int fd = -1;
    SOFT_STATUS(NX_ESTATE, nx_socket_server_port(sv));
    const int64_t t0 = mono_ms();
    SERVER_FAILS(sv, NX_ESTATE, nx_socket_server_accept(sv, WAIT_MS, &client, &peer_at));
    SERVER_FAILS(sv, NX_ESTATE, nx_socket_server_accept(sv, -1, &client, &peer_at));
    if (mono_ms() - t0 > 1000) {
        SOFT_FAIL("accept before listen waited %lld ms", (long long)(mono_ms() - t0));
    }
    if (client != NULL) {
        SOFT_FAIL("a failed accept left *client non-NULL");
    }
    SOFT_STATUS(NX_ESTATE, nx_socket_server_fd(sv, &fd));
    SOFT_STATUS(NX_OK, nx_socket_server_close(sv)); /* nothing to close: fine */
    soft_done();

    /* Listen twice; after close, nothing but close. */
    int port = listen_loopback(sv);
    SERVER_FAILS(sv, NX_ESTATE, nx_socket_server_listen(sv, "127.0.0.1", 0));
    assert_int_equal(nx_socket_server_port(sv), port);
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_close(sv));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_close(sv));
    SERVER_FAILS(sv, NX_ESTATE, nx_socket_server_accept(sv, 0, &client, &peer_at));
    SOFT_STATUS(NX_ESTATE, nx_socket_server_fd(sv, &fd));
    /* Closed: nothing listens on the port any more. */
    nx_socket* c = new_socket(NX_SOCKET_TCP);
    SOCK_FAILS(c, NX_EREFUSED, nx_socket_connect(c, "127.0.0.1", port, WAIT_MS));
    soft_done();
}

/* ---------------------------------------------------------------- TCP */

static void tcp_binary_both_ways(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    nx_socket* client = tcp_connect(port);
    assert_int_equal(nx_socket_is_connected(client), 1);
    char peer_at[64];
    nx_socket* server_side = accept_one(sv, peer_at, sizeof peer_at);
    assert_int_equal(nx_socket_is_connected(server_side), 1);

    /* Addresses: each end's local is the other's peer. */
    char client_local[64];
    snprintf(client_local, sizeof client_local, "%s", nx_socket_local_address(client));
    expect_address("nx_socket_peer_address(client)", nx_socket_peer_address(client), "127.0.0.1",
                   port);
    expect_address("nx_socket_local_address(accepted)", nx_socket_local_address(server_side),
                   "127.0.0.1", port);
    assert_string_equal(peer_at, client_local);
    assert_string_equal(nx_socket_peer_address(server_side), client_local);
    /* The descriptors are the connection's. */
    assert_int_equal(fd_port(socket_fd(client)), port_of(client_local));
    assert_int_equal(fd_port(socket_fd(server_side)), port);

    /* 32 KiB with every byte value (NULs included), each way. */
    enum { N = 32 * 1024 };
    static char out[N];
    static char in[N];
    for (size_t i = 0; i < N; ++i) {
        out[i] = (char)((i * 7 + 3) & 0xff);
    }
    out[0] = '\0';
    send_all(client, out, N);
    receive_exactly(server_side, in, N);
    expect_bytes("client to server", in, N, out, N);
    for (size_t i = 0; i < N; ++i) {
        out[i] = (char)(255 - (i & 0xff));
    }
    send_all(server_side, out, N);
    receive_exactly(client, in, N);
    expect_bytes("server to client", in, N, out, N);

    /* Empty sends write nothing. */
    SOCK_EXPECT(client, 0, nx_socket_send(client, NULL, 0, 0));
    SOCK_EXPECT(client, 0, nx_socket_send(client, "", 0, 0));
    send_all(client, "\0", 1);
    receive_exactly(server_side, in, 1);
    assert_int_equal(in[0], 0);

    /* Connected already: no second connect. */
    SOCK_EXPECT(client, NX_ESTATE, nx_socket_connect(client, "127.0.0.1", port, WAIT_MS));
    assert_int_equal(nx_socket_is_connected(client), 1);
}

static void tcp_read_line(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    nx_socket* client = tcp_connect(port);
    nx_socket* c = accept_one(sv, NULL, 0);
    static const char text[] = "one\ntwo\r\nbin\0ary\n\nrest";
    send_all(c, text, LEN(text));
    SOCK_EXPECT(c, NX_OK, nx_socket_close(c));

    expect_line(client, 100, "one\n", 4);
    expect_line(client, 100, "two\r\n", 5);
    expect_line(client, 100, "bin\0ary\n", 8);
    expect_line(client, 100, "\n", 1);
    expect_line(client, 100, "rest", 4); /* the unterminated rest at the end */
    const char* data = NULL;
    size_t size = 0;
    SOCK_EXPECT(client, NX_ECLOSED, nx_socket_read_line(client, 100, WAIT_MS, &data, &size));
    assert_true(nx_socket_last_error(client)[0] != '\0');
    SOCK_EXPECT(client, NX_ECLOSED, nx_socket_read_line(client, 100, WAIT_MS, &data, &size));
    expect_end_of_stream(client);
    assert_int_equal(nx_socket_is_connected(client), 0);
}

static void tcp_read_line_limits(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    nx_socket* client = tcp_connect(port);
    nx_socket* c = accept_one(sv, NULL, 0);
    const char* data = NULL;
    size_t size = 0;

    /* max_line bytes without "\n": NX_ETOOBIG, and the bytes stay. */
    send_all(c, "abcdefgh\n", 9);
    SOCK_EXPECT(client, NX_ETOOBIG, nx_socket_read_line(client, 4, WAIT_MS, &data, &size));
    assert_true(nx_socket_last_error(client)[0] != '\0');
    expect_line(client, 100, "abcdefgh\n", 9);
    /* ...also for receive. */
    send_all(c, "0123456789\n", 11);
    SOCK_EXPECT(client, NX_ETOOBIG, nx_socket_read_line(client, 5, WAIT_MS, &data, &size));
    char in[11];
    receive_exactly(client, in, 11);
    expect_bytes("receive after NX_ETOOBIG", in, 11, "0123456789\n", 11);

    /* No "\n" in time: NX_ETIMEDOUT, and the bytes stay. */
    send_all(c, "partial", 7);
    int64_t t0 = mono_ms();
    SOCK_EXPECT(client, NX_ETIMEDOUT, nx_socket_read_line(client, 100, 100, &data, &size));
    int64_t took = mono_ms() - t0;
    if (took < 90 || took > WAIT_MS) {
        fail_msg("read_line with timeout 100 ms took %lld ms", (long long)took);
    }
    send_all(c, "-line\n", 6);
    expect_line(client, 100, "partial-line\n", 13);
    /* Exactly max_line bytes with the "\n" last is a line. */
    send_all(c, "abc\n", 4);
    expect_line(client, 4, "abc\n", 4);
}

/* The server sends in pieces and closes; read_all gets it all. Over the
 * limit: NX_ETOOBIG; without the close in time: NX_ETIMEDOUT. */
static void tcp_read_all(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    const char* data = NULL;
    size_t size = 0;

    nx_socket* client = tcp_connect(port);
    nx_socket* c = accept_one(sv, NULL, 0);
    send_all(c, "first\0", 6);
    send_all(c, "second\n", 7);
    send_all(c, "third", 5);
    SOCK_EXPECT(c, NX_OK, nx_socket_close(c));
    SOCK_EXPECT(client, NX_OK, nx_socket_read_all(client, MIB, WAIT_MS, &data, &size));
    expect_bytes("read_all", data, size, "first\0second\nthird", 18);
    assert_int_equal(nx_socket_is_connected(client), 0);
    /* At the end: nothing more, and receive says end of stream. */
    SOCK_EXPECT(client, NX_OK, nx_socket_read_all(client, MIB, WAIT_MS, &data, &size));
    assert_int_equal(size, 0);
    expect_end_of_stream(client);

    /* Over max: NX_ETOOBIG. */
    nx_socket* big = tcp_connect(port);
    c = accept_one(sv, NULL, 0);
    static char thousand[1000];
    memset(thousand, 'x', sizeof thousand);
    send_all(c, thousand, sizeof thousand);
    SOCK_EXPECT(c, NX_OK, nx_socket_close(c));
    SOCK_EXPECT(big, NX_ETOOBIG, nx_socket_read_all(big, 100, WAIT_MS, &data, &size));
    assert_true(nx_socket_last_error(big)[0] != '\0');

    /* The peer stays open: NX_ETIMEDOUT after the whole timeout. */
    nx_socket* slow = tcp_connect(port);
    c = accept_one(sv, NULL, 0);
    send_all(c, "x", 1);
    int64_t t0 = mono_ms();
    SOCK_EXPECT(slow, NX_ETIMEDOUT, nx_socket_read_all(slow, 100, 150, &data, &size));
    int64_t took = mono_ms() - t0;
    if (took < 140 || took > WAIT_MS) {
        fail_msg("read_all with timeout 150 ms took %lld ms", (long long)took);
    }
}

static void tcp_receive_timeout_and_end(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    nx_socket* client = new_socket(NX_SOCKET_TCP);
    /* The default of calls without a timeout of their own. */
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "timeout", "0.2"));
    SOCK_EXPECT(client, NX_OK, nx_socket_connect(client, "127.0.0.1", port, WAIT_MS));
    nx_socket* c = accept_one(sv, NULL, 0);
    const char* data = NULL;
    size_t size = 0;

    int64_t t0 = mono_ms();
    SOCK_EXPECT(client, NX_ETIMEDOUT, nx_socket_receive(client, 10, 100, &data, &size));
    int64_t took = mono_ms() - t0;
    if (took < 90 || took > WAIT_MS) {
        fail_msg("receive with timeout 100 ms took %lld ms", (long long)took);
    }
    assert_true(nx_socket_last_error(client)[0] != '\0');
    t0 = mono_ms();
    SOCK_EXPECT(client, NX_ETIMEDOUT, nx_socket_receive(client, 10, 0, &data, &size));
    if (mono_ms() - t0 > 1000) {
        fail_msg("receive with timeout 0 took %lld ms", (long long)(mono_ms() - t0));
    }
    t0 = mono_ms();
    SOCK_EXPECT(client, NX_ETIMEDOUT, nx_socket_receive(client, 10, -1, &data, &size));
    took = mono_ms() - t0;
    if (took < 180 || took > WAIT_MS) {
        fail_msg("receive with the \"timeout\" option 0.2 s took %lld ms", (long long)took);
    }
    assert_int_equal(nx_socket_is_connected(client), 1);

    /* Receive gives at most max bytes, the rest stays. */
    send_all(c, "abcdef", 6);
    char in[6];
    receive_exactly(client, in, 2);
    receive_exactly(client, in + 2, 4);
    expect_bytes("in two receives", in, 6, "abcdef", 6);

    /* The peer closes: 0 bytes, every time; no longer connected. */
    SOCK_EXPECT(c, NX_OK, nx_socket_close(c));
    expect_end_of_stream(client);
    expect_end_of_stream(client);
    assert_int_equal(nx_socket_is_connected(client), 0);
}

/* The peer is gone: send fails with NX_ECLOSED, without SIGPIPE (which
 * would end this process). */
static void tcp_send_to_closed_peer(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    nx_socket* client = tcp_connect(port);
    nx_socket* c = accept_one(sv, NULL, 0);
    SOCK_EXPECT(client, NX_OK, nx_socket_close(client));
    expect_end_of_stream(c);
    int rc = NX_OK;
    const int64_t deadline = mono_ms() + WAIT_MS;
    while (rc >= 0 && mono_ms() < deadline) {
        rc = nx_socket_send(c, "data", 4, 1000);
    }
    if (rc != NX_ECLOSED) {
        fail_msg("sending to a closed peer: expected NX_ECLOSED, got %s (\"%s\")", status_name(rc),
                 nx_socket_last_error(c));
    }
}

/* After nx_socket_close: the handle stays, the connection does not. */
static void tcp_close_then_calls(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    nx_socket* client = tcp_connect(port);
    nx_socket* c = accept_one(sv, NULL, 0);
    const char* data = NULL;
    size_t size = 0;
    int fd = -1;
    SOCK_EXPECT(client, NX_OK, nx_socket_close(client));
    SOCK_EXPECT(client, NX_OK, nx_socket_close(client));
    assert_int_equal(nx_socket_is_connected(client), 0);
    SOCK_FAILS(client, NX_ESTATE, nx_socket_send(client, "x", 1, 0));
    SOCK_FAILS(client, NX_ESTATE, nx_socket_receive(client, 10, 0, &data, &size));
    SOFT_STATUS(NX_ESTATE, nx_socket_fd(client, &fd));
    soft_done();
    expect_end_of_stream(c);
}

static void tcp_refused(void** state) {
    (void)state;
    nx_socket* s = new_socket(NX_SOCKET_TCP);
    int port = unused_port();
    SOCK_EXPECT(s, NX_EREFUSED, nx_socket_connect(s, "127.0.0.1", port, WAIT_MS));
    char where[32];
    snprintf(where, sizeof where, "127.0.0.1:%d", port);
    expect_contains("the NX_EREFUSED detail", nx_socket_last_error(s), where);
    assert_int_equal(nx_socket_is_connected(s), 0);
    const char* data = NULL;
    size_t size = 0;
    SOCK_EXPECT(s, NX_ESTATE, nx_socket_receive(s, 10, 0, &data, &size));
    /* The same for TLS (before any handshake). */
    nx_socket* t = new_socket(NX_SOCKET_TLS);
    SOCK_EXPECT(t, NX_EREFUSED, nx_socket_connect(t, "127.0.0.1", port, WAIT_MS));
    /* The handle is still good: it connects to a server. */
    int server_port = 0;
    nx_socket_server* sv = tcp_server(&server_port);
    SOCK_EXPECT(s, NX_OK, nx_socket_connect(s, "127.0.0.1", server_port, WAIT_MS));
    accept_one(sv, NULL, 0);
    assert_int_equal(nx_socket_is_connected(s), 1);
}

static void dns_failure(void** state) {
    (void)state;
    const int types[] = {NX_SOCKET_TCP, NX_SOCKET_TLS, NX_SOCKET_UDP};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; ++i) {
        nx_socket* s = new_socket(types[i]);
        SOCK_FAILS(s, NX_EDNS, nx_socket_connect(s, LONG_LABEL_HOST, 80, WAIT_MS));
        const char* detail = nx_socket_last_error(s);
        if (strstr(detail, "aaaaaaaaaa") == NULL) {
            SOFT_FAIL("type %d: the NX_EDNS detail \"%s\" does not name the host", types[i],
                      detail);
        }
        SOFT_STATUS(0, nx_socket_is_connected(s));
    }
    nx_socket* u = new_socket(NX_SOCKET_UDP);
    SOCK_FAILS(u, NX_EDNS, nx_socket_send_to(u, LONG_LABEL_HOST, 9, "x", 1, WAIT_MS));
    /* Binding to a name that does not resolve: NX_EBIND ("bad host") or
     * NX_EDNS, and a detail; never success. */
    nx_socket* b = new_socket(NX_SOCKET_UDP);
    int rc = nx_socket_bind(b, LONG_LABEL_HOST, 0);
    if (rc != NX_EBIND && rc != NX_EDNS) {
        SOFT_FAIL("nx_socket_bind(long label): expected NX_EBIND or NX_EDNS, got %s",
                  status_name(rc));
    }
    nx_socket_server* sv = new_server(NX_SOCKET_TCP);
    rc = nx_socket_server_listen(sv, LONG_LABEL_HOST, 0);
    if (rc != NX_EBIND && rc != NX_EDNS) {
        SOFT_FAIL("nx_socket_server_listen(long label): expected NX_EBIND or NX_EDNS, got %s",
                  status_name(rc));
    } else if (nx_socket_server_last_error(sv)[0] == '\0') {
        SOFT_FAIL("nx_socket_server_listen(long label) failed without a detail");
    }
    SOFT_STATUS(NX_ESTATE, nx_socket_server_port(sv));
    soft_done();
}

/* Options reach the descriptor: before connect (applied at connect) and on
 * a connected socket (at once); a server's reach the sockets it accepts. */
static void tcp_options_reach_the_socket(void** state) {
    (void)state;
    nx_socket_server* sv = new_server(NX_SOCKET_TCP);
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "keepalive", "1"));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "tcp_nodelay", "1"));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "timeout", "0.2"));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "backlog", "4"));
    int port = listen_loopback(sv);

    nx_socket* client = new_socket(NX_SOCKET_TCP);
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "keepalive", "on"));
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "tcp_nodelay", "0"));
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "rcvbuf", "4096"));
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "sndbuf", "4096"));
    SOCK_EXPECT(client, NX_OK, nx_socket_connect(client, "127.0.0.1", port, WAIT_MS));
    int fd = socket_fd(client);
    if (int_sockopt(fd, SOL_SOCKET, SO_KEEPALIVE) == 0) {
        SOFT_FAIL("keepalive=on before connect: SO_KEEPALIVE is off");
    }
    if (int_sockopt(fd, IPPROTO_TCP, TCP_NODELAY) != 0) {
        SOFT_FAIL("tcp_nodelay=0 before connect: TCP_NODELAY is on");
    }
    int rcvbuf = int_sockopt(fd, SOL_SOCKET, SO_RCVBUF);
    int sndbuf = int_sockopt(fd, SOL_SOCKET, SO_SNDBUF);
    /* Linux reports twice the value set. */
    if (rcvbuf < 4096 || rcvbuf > 8192 || sndbuf < 4096 || sndbuf > 8192) {
        SOFT_FAIL("rcvbuf/sndbuf=4096: SO_RCVBUF %d, SO_SNDBUF %d", rcvbuf, sndbuf);
    }
    /* On a connected socket: at once. */
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "keepalive", "off"));
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "tcp_nodelay", "true"));
    if (int_sockopt(fd, SOL_SOCKET, SO_KEEPALIVE) != 0) {
        SOFT_FAIL("keepalive=off when connected: SO_KEEPALIVE is on");
    }
    if (int_sockopt(fd, IPPROTO_TCP, TCP_NODELAY) == 0) {
        SOFT_FAIL("tcp_nodelay=true when connected: TCP_NODELAY is off");
    }
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "timeout", "0.1"));
    const char* data = NULL;
    size_t size = 0;
    int64_t t0 = mono_ms();
    SOCK_EXPECT(client, NX_ETIMEDOUT, nx_socket_receive(client, 10, -1, &data, &size));
    int64_t took = mono_ms() - t0;
    if (took < 90 || took > WAIT_MS) {
        SOFT_FAIL("\"timeout\" 0.1 set when connected: receive took %lld ms", (long long)took);
    }

    /* The server's options on the accepted socket. */
    nx_socket* c = accept_one(sv, NULL, 0);
    int cfd = socket_fd(c);
    if (int_sockopt(cfd, SOL_SOCKET, SO_KEEPALIVE) == 0) {
        SOFT_FAIL("server keepalive=1: the accepted socket has SO_KEEPALIVE off");
    }
    if (int_sockopt(cfd, IPPROTO_TCP, TCP_NODELAY) == 0) {
        SOFT_FAIL("server tcp_nodelay=1: the accepted socket has TCP_NODELAY off");
    }
    t0 = mono_ms();
    SOCK_EXPECT(c, NX_ETIMEDOUT, nx_socket_receive(c, 10, -1, &data, &size));
    took = mono_ms() - t0;
    if (took < 180 || took > WAIT_MS) {
        SOFT_FAIL("server \"timeout\" 0.2: the accepted socket's receive took %lld ms",
                  (long long)took);
    }
    soft_done();
}

static void server_accept_timeout_and_fd(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    nx_socket* c = (nx_socket*)&c;
    const char* peer_at = NULL;
    int64_t t0 = mono_ms();
    SERVER_SOCK_EXPECT(sv, NX_ETIMEDOUT, nx_socket_server_accept(sv, 100, &c, &peer_at));
    int64_t took = mono_ms() - t0;
    if (took < 90 || took > WAIT_MS) {
        fail_msg("accept with timeout 100 ms took %lld ms", (long long)took);
    }
    assert_null(c);
    assert_true(nx_socket_server_last_error(sv)[0] != '\0');
    SERVER_SOCK_EXPECT(sv, NX_ETIMEDOUT, nx_socket_server_accept(sv, 0, &c, &peer_at));

    /* The listening descriptor: readable once a connection waits. */
    int fd = -1;
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_fd(sv, &fd));
    assert_true(fd >= 0);
    assert_int_equal(fd_port(fd), port);
    struct pollfd p = {fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 0), 0);
    nx_socket* client = tcp_connect(port);
    p.revents = 0;
    assert_int_equal(poll(&p, 1, WAIT_MS), 1);
    assert_true(p.revents & POLLIN);
    /* A connection is waiting: accept takes it even with timeout 0. */
    char addr[64];
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_accept(sv, 0, &c, &peer_at));
    assert_non_null(c);
    track_socket(c);
    snprintf(addr, sizeof addr, "%s", nx_socket_local_address(client));
    assert_string_equal(peer_at, addr);
    /* The same with a negative timeout. */
    nx_socket* second = tcp_connect(port);
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_accept(sv, -1, &c, &peer_at));
    assert_non_null(c);
    track_socket(c);
    snprintf(addr, sizeof addr, "%s", nx_socket_local_address(second));
    assert_string_equal(peer_at, addr);
    /* Accepted sockets outlive their server. */
    free_server(sv);
    send_all(c, "still here\n", 11);
    expect_line(second, 100, "still here\n", 11);
}

static void server_port_in_use(void** state) {
    (void)state;
    int port = 0;
    tcp_server(&port);
    nx_socket_server* second = new_server(NX_SOCKET_TCP);
    SERVER_SOCK_EXPECT(second, NX_EBIND, nx_socket_server_listen(second, "127.0.0.1", port));
    char where[32];
    snprintf(where, sizeof where, "127.0.0.1:%d", port);
    expect_contains("the NX_EBIND detail", nx_socket_server_last_error(second), where);
    SERVER_SOCK_EXPECT(second, NX_ESTATE, nx_socket_server_port(second));
    /* Still before listen: options, then another port. */
    SERVER_SOCK_EXPECT(second, NX_OK, nx_socket_server_set_option(second, "backlog", "2"));
    listen_loopback(second);

    /* UDP: a bound port is in use too. */
    nx_socket* u = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(u, NX_OK, nx_socket_bind(u, "127.0.0.1", 0));
    int uport = port_of(nx_socket_local_address(u));
    nx_socket* u2 = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(u2, NX_EBIND, nx_socket_bind(u2, "127.0.0.1", uport));
}

/* ---------------------------------------------------------------- UDP */

static void udp_bind_send_to_receive_from(void** state) {
    (void)state;
    nx_socket* server = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(server, NX_OK, nx_socket_bind(server, "127.0.0.1", 0));
    assert_int_equal(nx_socket_is_connected(server), 1);
    char server_addr[64];
    snprintf(server_addr, sizeof server_addr, "%s", nx_socket_local_address(server));
    int port = port_of(server_addr);
    assert_true(port > 0);
    expect_address("the bound address", server_addr, "127.0.0.1", port);
    assert_int_equal(fd_port(socket_fd(server)), port);

    nx_socket* client = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(client, NX_OK, nx_socket_bind(client, "127.0.0.1", 0));
    char client_addr[64];
    snprintf(client_addr, sizeof client_addr, "%s", nx_socket_local_address(client));
    static const char payload[] = "da\0ta\0";
    SOCK_EXPECT(client, 6, nx_socket_send_to(client, "127.0.0.1", port, payload, 6, WAIT_MS));

    const char* data = NULL;
    const char* sender = NULL;
    size_t size = 0;
    SOCK_EXPECT(server, NX_OK,
                nx_socket_receive_from(server, 1500, WAIT_MS, &data, &size, &sender));
    expect_bytes("the datagram", data, size, payload, 6);
    assert_non_null(sender);
    assert_string_equal(sender, client_addr);
    /* Reply to the sender. */
    char reply_to[64];
    snprintf(reply_to, sizeof reply_to, "%s", sender);
    *strrchr(reply_to, ':') = '\0';
    SOCK_EXPECT(server, 4,
                nx_socket_send_to(server, reply_to, port_of(sender), "re\0!", 4, WAIT_MS));
    SOCK_EXPECT(client, NX_OK,
                nx_socket_receive_from(client, 1500, WAIT_MS, &data, &size, &sender));
    expect_bytes("the reply", data, size, "re\0!", 4);
    assert_string_equal(sender, server_addr);

    /* Datagrams keep their boundaries; a long one is cut at max. */
    static char hundred[100];
    memset(hundred, 'z', sizeof hundred);
    SOCK_EXPECT(client, 100, nx_socket_send_to(client, "127.0.0.1", port, hundred, 100, WAIT_MS));
    SOCK_EXPECT(client, 2, nx_socket_send_to(client, "127.0.0.1", port, "ab", 2, WAIT_MS));
    SOCK_EXPECT(server, NX_OK, nx_socket_receive_from(server, 10, WAIT_MS, &data, &size, &sender));
    expect_bytes("a truncated datagram", data, size, hundred, 10);
    SOCK_EXPECT(server, NX_OK, nx_socket_receive(server, 1500, WAIT_MS, &data, &size));
    expect_bytes("the next datagram", data, size, "ab", 2);

    /* Nothing more: NX_ETIMEDOUT within the timeout, then the option's. */
    int64_t t0 = mono_ms();
    SOCK_EXPECT(server, NX_ETIMEDOUT,
                nx_socket_receive_from(server, 10, 100, &data, &size, &sender));
    int64_t took = mono_ms() - t0;
    if (took < 90 || took > WAIT_MS) {
        fail_msg("receive_from with timeout 100 ms took %lld ms", (long long)took);
    }
    SOCK_EXPECT(server, NX_OK, nx_socket_set_option(server, "timeout", "0.2"));
    t0 = mono_ms();
    SOCK_EXPECT(server, NX_ETIMEDOUT,
                nx_socket_receive_from(server, 10, -1, &data, &size, &sender));
    took = mono_ms() - t0;
    if (took < 180 || took > WAIT_MS) {
        fail_msg("receive_from with the \"timeout\" option 0.2 s took %lld ms", (long long)took);
    }
    t0 = mono_ms();
    SOCK_EXPECT(server, NX_ETIMEDOUT, nx_socket_receive(server, 10, -1, &data, &size));
    took = mono_ms() - t0;
    if (took < 180 || took > WAIT_MS) {
        fail_msg("receive with the \"timeout\" option 0.2 s took %lld ms", (long long)took);
    }
    /* Closed: not connected, no descriptor. */
    SOCK_EXPECT(server, NX_OK, nx_socket_close(server));
    assert_int_equal(nx_socket_is_connected(server), 0);
    int fd = -1;
    SOCK_EXPECT(server, NX_ESTATE, nx_socket_fd(server, &fd));
}

/* The first send_to makes the descriptor: its sender address answers. */
static void udp_send_to_without_bind(void** state) {
    (void)state;
    nx_socket* server = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(server, NX_OK, nx_socket_bind(server, "127.0.0.1", 0));
    int port = port_of(nx_socket_local_address(server));
    nx_socket* client = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(client, 3, nx_socket_send_to(client, "127.0.0.1", port, "one", 3, WAIT_MS));
    const char* data = NULL;
    const char* sender = NULL;
    size_t size = 0;
    SOCK_EXPECT(server, NX_OK, nx_socket_receive_from(server, 100, WAIT_MS, &data, &size, &sender));
    expect_bytes("the datagram", data, size, "one", 3);
    int client_port = port_of(sender);
    assert_int_equal(fd_port(socket_fd(client)), client_port);
    assert_int_equal(port_of(nx_socket_local_address(client)), client_port);
    SOCK_EXPECT(server, 3, nx_socket_send_to(server, "127.0.0.1", client_port, "two", 3, WAIT_MS));
    SOCK_EXPECT(client, NX_OK, nx_socket_receive(client, 100, WAIT_MS, &data, &size));
    expect_bytes("the answer", data, size, "two", 3);
}

static void udp_connect_send_receive(void** state) {
    (void)state;
    nx_socket* server = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(server, NX_OK, nx_socket_bind(server, "127.0.0.1", 0));
    int port = port_of(nx_socket_local_address(server));

    nx_socket* client = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(client, NX_OK, nx_socket_connect(client, "127.0.0.1", port, WAIT_MS));
    assert_int_equal(nx_socket_is_connected(client), 1);
    SOCK_EXPECT(client, 3, nx_socket_send(client, "h\0i", 3, WAIT_MS));
    const char* data = NULL;
    const char* sender = NULL;
    size_t size = 0;
    SOCK_EXPECT(server, NX_OK, nx_socket_receive_from(server, 100, WAIT_MS, &data, &size, &sender));
    expect_bytes("the datagram", data, size, "h\0i", 3);
    char client_addr[64];
    snprintf(client_addr, sizeof client_addr, "%s", nx_socket_local_address(client));
    assert_string_equal(sender, client_addr);
    SOCK_EXPECT(server, 2,
                nx_socket_send_to(server, "127.0.0.1", port_of(client_addr), "yo", 2, WAIT_MS));
    SOCK_EXPECT(client, NX_OK, nx_socket_receive(client, 100, WAIT_MS, &data, &size));
    expect_bytes("the answer", data, size, "yo", 2);
    /* receive_from on a connected socket names the peer. */
    SOCK_EXPECT(server, 1,
                nx_socket_send_to(server, "127.0.0.1", port_of(client_addr), "!", 1, WAIT_MS));
    SOCK_EXPECT(client, NX_OK, nx_socket_receive_from(client, 100, WAIT_MS, &data, &size, &sender));
    expect_bytes("the second answer", data, size, "!", 1);
    expect_address("its sender", sender, "127.0.0.1", port);
    int64_t t0 = mono_ms();
    SOCK_EXPECT(client, NX_ETIMEDOUT, nx_socket_receive(client, 100, 100, &data, &size));
    int64_t took = mono_ms() - t0;
    if (took < 90 || took > WAIT_MS) {
        fail_msg("receive with timeout 100 ms took %lld ms", (long long)took);
    }
}

/* A connected UDP socket's peer is the address it connected to. */
static void udp_connected_peer_address(void** state) {
    (void)state;
    nx_socket* server = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(server, NX_OK, nx_socket_bind(server, "127.0.0.1", 0));
    int port = port_of(nx_socket_local_address(server));
    const char* unbound_peer = nx_socket_peer_address(server);
    assert_non_null(unbound_peer);
    assert_string_equal(unbound_peer, ""); /* bound, not connected: no peer */
    nx_socket* client = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(client, NX_OK, nx_socket_connect(client, "127.0.0.1", port, WAIT_MS));
    expect_address("nx_socket_peer_address of a connected UDP socket",
                   nx_socket_peer_address(client), "127.0.0.1", port);
}

/* ICMP port unreachable on loopback: a connected socket learns it. */
static void udp_refused(void** state) {
    (void)state;
    nx_socket* client = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(client, NX_OK, nx_socket_connect(client, "127.0.0.1", unused_udp_port(), WAIT_MS));
    SOCK_EXPECT(client, 1, nx_socket_send(client, "x", 1, WAIT_MS));
    const char* data = NULL;
    size_t size = 0;
    SOCK_EXPECT(client, NX_EREFUSED, nx_socket_receive(client, 10, WAIT_MS, &data, &size));
}

/* "broadcast", "rcvbuf" and "sndbuf" reach a UDP descriptor, whichever
 * call makes it (bind, connect) and when set afterwards. */
static void udp_options_reach_the_socket(void** state) {
    (void)state;
    nx_socket* bound = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(bound, NX_OK, nx_socket_set_option(bound, "broadcast", "1"));
    SOCK_EXPECT(bound, NX_OK, nx_socket_set_option(bound, "rcvbuf", "4096"));
    SOCK_EXPECT(bound, NX_OK, nx_socket_set_option(bound, "sndbuf", "4096"));
    SOCK_EXPECT(bound, NX_OK, nx_socket_bind(bound, "127.0.0.1", 0));
    int fd = socket_fd(bound);
    if (int_sockopt(fd, SOL_SOCKET, SO_BROADCAST) == 0) {
        SOFT_FAIL("broadcast=1 before bind: SO_BROADCAST is off after bind");
    }
    int rcvbuf = int_sockopt(fd, SOL_SOCKET, SO_RCVBUF);
    int sndbuf = int_sockopt(fd, SOL_SOCKET, SO_SNDBUF);
    if (rcvbuf < 4096 || rcvbuf > 8192) {
        SOFT_FAIL("rcvbuf=4096 before bind: SO_RCVBUF is %d after bind (Linux: 8192)", rcvbuf);
    }
    if (sndbuf < 4096 || sndbuf > 8192) {
        SOFT_FAIL("sndbuf=4096 before bind: SO_SNDBUF is %d after bind (Linux: 8192)", sndbuf);
    }
    SOCK_EXPECT(bound, NX_OK, nx_socket_set_option(bound, "broadcast", "off"));
    if (int_sockopt(fd, SOL_SOCKET, SO_BROADCAST) != 0) {
        SOFT_FAIL("broadcast=off when bound: SO_BROADCAST is still on");
    }
    SOCK_EXPECT(bound, NX_OK, nx_socket_set_option(bound, "rcvbuf", "16384"));
    rcvbuf = int_sockopt(fd, SOL_SOCKET, SO_RCVBUF);
    if (rcvbuf < 16384 || rcvbuf > 32768) {
        SOFT_FAIL("rcvbuf=16384 when bound: SO_RCVBUF is %d (Linux: 32768)", rcvbuf);
    }

    nx_socket* connected = new_socket(NX_SOCKET_UDP);
    SOCK_EXPECT(connected, NX_OK, nx_socket_set_option(connected, "broadcast", "yes"));
    SOCK_EXPECT(connected, NX_OK, nx_socket_set_option(connected, "rcvbuf", "4096"));
    SOCK_EXPECT(connected, NX_OK,
                nx_socket_connect(connected, "127.0.0.1", port_of(nx_socket_local_address(bound)),
                                  WAIT_MS));
    fd = socket_fd(connected);
    if (int_sockopt(fd, SOL_SOCKET, SO_BROADCAST) == 0) {
        SOFT_FAIL("broadcast=yes before connect: SO_BROADCAST is off after connect");
    }
    rcvbuf = int_sockopt(fd, SOL_SOCKET, SO_RCVBUF);
    if (rcvbuf < 4096 || rcvbuf > 8192) {
        SOFT_FAIL("rcvbuf=4096 before connect: SO_RCVBUF is %d after connect (Linux: 8192)",
                  rcvbuf);
    }
    soft_done();
}

/* ---------------------------------------------------------------- TLS */

/* A TLS client trusting the test CA, both ways with the TLS server; the
 * accepted socket is a connected TLS socket with the right addresses. */
static void tls_client_and_server(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tls_server(&port);
    client_job* j = job_new(NX_SOCKET_TLS, port);
    job_option(j, "cafile", certs.ca);
    job_start(j);
    char peer_at[64];
    nx_socket* c = accept_one(sv, peer_at, sizeof peer_at);
    assert_int_equal(nx_socket_is_connected(c), 1);
    expect_address("the accepted socket's local address", nx_socket_local_address(c), "127.0.0.1",
                   port);
    assert_string_equal(nx_socket_peer_address(c), peer_at);
    socket_fd(c);
    serve_hello(c);
    expect_job_ok(j);
    assert_string_equal(j->local, peer_at);
}

/* The system's CAs do not know the test CA: NX_ECERT, and the server's
 * accept fails for that client only. */
static void tls_unknown_ca_is_ecert(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tls_server(&port);
    client_job* j = job_new(NX_SOCKET_TLS, port);
    job_start(j);
    nx_socket* c = (nx_socket*)&c;
    const char* peer_at = NULL;
    int rc = nx_socket_server_accept(sv, WAIT_MS, &c, &peer_at);
    char server_detail[512];
    snprintf(server_detail, sizeof server_detail, "%s", nx_socket_server_last_error(sv));
    expect_job_failed(j, "nx_socket_connect", NX_ECERT, "certificate");
    if (rc != NX_ETLS && rc != NX_ECERT) {
        fail_msg("accept of a client that refused our certificate: expected NX_ETLS or NX_ECERT, "
                 "got %s (\"%s\")",
                 status_name(rc), server_detail);
    }
    assert_null(c);
    assert_true(server_detail[0] != '\0');

    /* The server stays usable: the next client trusts the CA. */
    client_job* good = job_new(NX_SOCKET_TLS, port);
    job_option(good, "cafile", certs.ca);
    job_start(good);
    serve_hello(accept_one(sv, NULL, 0));
    expect_job_ok(good);
}

static void tls_wrong_peer_name_is_ecert(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tls_server(&port);
    client_job* j = job_new(NX_SOCKET_TLS, port);
    job_option(j, "cafile", certs.ca);
    job_option(j, "peer_name", "wrong.test");
    job_start(j);
    expect_refused_by_client(sv);
    expect_job_failed(j, "nx_socket_connect", NX_ECERT, "wrong.test");
    /* The right peer_name works (and is what is checked). */
    client_job* good = job_new(NX_SOCKET_TLS, port);
    job_option(good, "cafile", certs.ca);
    job_option(good, "peer_name", "localhost");
    job_start(good);
    serve_hello(accept_one(sv, NULL, 0));
    expect_job_ok(good);
}

static void tls_without_verification(void** state) {
    (void)state;
    int port = 0;
    nx_socket_server* sv = tls_server(&port);
    client_job* j = job_new(NX_SOCKET_TLS, port);
    job_option(j, "verify_peer", "0");
    job_option(j, "verify_peer_name", "0");
    job_option(j, "peer_name", "wrong.test");
    job_start(j);
    serve_hello(accept_one(sv, NULL, 0));
    expect_job_ok(j);
}

/* The server picks the certificate named by the client's SNI. */
static void tls_sni_certificate(void** state) {
    (void)state;
    need_certs();
    nx_socket_server* sv = new_server(NX_SOCKET_TLS);
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "local_cert", certs.server_cert));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "local_pk", certs.server_key));
    char files[300];
    snprintf(files, sizeof files, "%s,%s", certs.other_cert, certs.other_key);
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "sni:other.test", files));
    int port = listen_loopback(sv);
    /* SNI other.test: the other certificate, valid for that name. */
    client_job* j = job_new(NX_SOCKET_TLS, port);
    job_option(j, "cafile", certs.ca);
    job_option(j, "peer_name", "other.test");
    job_start(j);
    serve_hello(accept_one(sv, NULL, 0));
    expect_job_ok(j);
    /* No SNI: the default certificate, not valid for other.test. */
    client_job* plain = job_new(NX_SOCKET_TLS, port);
    job_option(plain, "cafile", certs.ca);
    job_option(plain, "peer_name", "other.test");
    job_option(plain, "SNI_enabled", "0");
    job_start(plain);
    expect_refused_by_client(sv);
    expect_job_failed(plain, "nx_socket_connect", NX_ECERT, "certificate");
}

/* STARTTLS: a plain connection, a line in clear, then TLS on both ends (the
 * accepted socket with local_cert / local_pk set on it). */
static void starttls(void** state) {
    (void)state;
    need_certs();
    int port = 0;
    nx_socket_server* sv = tcp_server(&port);
    client_job* j = job_new(NX_SOCKET_TCP, port);
    j->starttls = 1;
    job_option(j, "cafile", certs.ca);
    job_start(j);
    nx_socket* c = accept_one(sv, NULL, 0);
    expect_line(c, 100, "STARTTLS\r\n", 10);
    send_all(c, "GO\r\n", 4);
    SOCK_EXPECT(c, NX_OK, nx_socket_set_option(c, "local_cert", certs.server_cert));
    SOCK_EXPECT(c, NX_OK, nx_socket_set_option(c, "local_pk", certs.server_key));
    SOCK_EXPECT(c, NX_OK, nx_socket_start_tls(c, 1, WAIT_MS));
    assert_int_equal(nx_socket_is_connected(c), 1);
    serve_hello(c);
    expect_job_ok(j);
}

/* Misconfigured TLS: a server without a usable certificate does not
 * listen, a client with an unreadable cafile does not connect, and STARTTLS
 * as a server needs local_cert (refused at once, without waiting for the
 * peer). */
static void tls_unusable_options(void** state) {
    (void)state;
    need_certs();
    /* No certificate at all. */
    nx_socket_server* none = new_server(NX_SOCKET_TLS);
    int rc = nx_socket_server_listen(none, "127.0.0.1", 0);
    if (rc != NX_ETLSCONFIG && rc != NX_EINVAL) {
        SOFT_FAIL("TLS listen without local_cert: expected NX_ETLSCONFIG or NX_EINVAL, got %s",
                  status_name(rc));
    } else {
        expect_contains("the detail", nx_socket_server_last_error(none), "local_cert");
    }
    SOFT_STATUS(NX_ESTATE, nx_socket_server_port(none));
    /* A certificate that does not exist. */
    nx_socket_server* missing = new_server(NX_SOCKET_TLS);
    SERVER_SOCK_EXPECT(missing, NX_OK,
                       nx_socket_server_set_option(missing, "local_cert", "/nonexistent/c.pem"));
    SERVER_FAILS(missing, NX_ETLSCONFIG, nx_socket_server_listen(missing, "127.0.0.1", 0));
    expect_contains("the detail", nx_socket_server_last_error(missing), "/nonexistent/c.pem");
    /* A key that is not the certificate's. */
    nx_socket_server* mismatch = new_server(NX_SOCKET_TLS);
    SERVER_SOCK_EXPECT(mismatch, NX_OK,
                       nx_socket_server_set_option(mismatch, "local_cert", certs.server_cert));
    SERVER_SOCK_EXPECT(mismatch, NX_OK,
                       nx_socket_server_set_option(mismatch, "local_pk", certs.other_key));
    SERVER_FAILS(mismatch, NX_ETLSCONFIG, nx_socket_server_listen(mismatch, "127.0.0.1", 0));
    /* An encrypted key: the wrong passphrase, then the right one. */
    nx_socket_server* enc = new_server(NX_SOCKET_TLS);
    SERVER_SOCK_EXPECT(enc, NX_OK,
                       nx_socket_server_set_option(enc, "local_cert", certs.server_cert));
    SERVER_SOCK_EXPECT(enc, NX_OK,
                       nx_socket_server_set_option(enc, "local_pk", certs.encrypted_key));
    SERVER_SOCK_EXPECT(enc, NX_OK, nx_socket_server_set_option(enc, "passphrase", "wrong"));
    SERVER_FAILS(enc, NX_ETLSCONFIG, nx_socket_server_listen(enc, "127.0.0.1", 0));
    SERVER_SOCK_EXPECT(enc, NX_OK, nx_socket_server_set_option(enc, "passphrase", "secret"));
    SERVER_SOCK_EXPECT(enc, NX_OK, nx_socket_server_listen(enc, "127.0.0.1", 0));
    soft_done();

    /* A client whose cafile cannot be read. */
    int port = 0;
    tcp_server(&port);
    nx_socket* client = new_socket(NX_SOCKET_TLS);
    SOCK_EXPECT(client, NX_OK, nx_socket_set_option(client, "cafile", "/nonexistent/ca.pem"));
    SOCK_FAILS(client, NX_ETLSCONFIG, nx_socket_connect(client, "127.0.0.1", port, 2000));
    expect_contains("the detail", nx_socket_last_error(client), "/nonexistent/ca.pem");
    SOFT_STATUS(0, nx_socket_is_connected(client));
    nx_socket_server* plain = tcp_server(&port);

    /* STARTTLS as a server without local_cert. */
    nx_socket* tcp = tcp_connect(port);
    nx_socket* c = accept_one(plain, NULL, 0);
    int64_t t0 = mono_ms();
    rc = nx_socket_start_tls(c, 1, 2000);
    if (rc != NX_EINVAL && rc != NX_ETLSCONFIG) {
        SOFT_FAIL("nx_socket_start_tls as a server without local_cert: expected NX_EINVAL or "
                  "NX_ETLSCONFIG, got %s (\"%s\")",
                  status_name(rc), nx_socket_last_error(c));
    }
    if (mono_ms() - t0 > 1000) {
        SOFT_FAIL("nx_socket_start_tls without local_cert waited %lld ms for the peer",
                  (long long)(mono_ms() - t0));
    }
    (void)tcp;
    soft_done();
}

/* A server's failed handshakes: a plain client, a silent one; the server
 * stays usable. Both ends on the test thread (the client never does TLS). */
static void tls_server_rejects_bad_clients(void** state) {
    (void)state;
    need_certs();
    nx_socket_server* sv = new_server(NX_SOCKET_TLS);
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "local_cert", certs.server_cert));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "local_pk", certs.server_key));
    SERVER_SOCK_EXPECT(sv, NX_OK, nx_socket_server_set_option(sv, "handshake_timeout", "0.3"));
    int port = listen_loopback(sv);

    /* Plain text instead of a ClientHello. */
    nx_socket* plain = tcp_connect(port);
    send_all(plain, "GET / HTTP/1.0\r\n\r\n", 18);
    nx_socket* c = (nx_socket*)&c;
    const char* peer_at = NULL;
    SERVER_SOCK_EXPECT(sv, NX_ETLS, nx_socket_server_accept(sv, WAIT_MS, &c, &peer_at));
    assert_null(c);
    expect_contains("the accept detail", nx_socket_server_last_error(sv), "127.0.0.1");

    /* Silent: the handshake times out after handshake_timeout. */
    nx_socket* silent = tcp_connect(port);
    int64_t t0 = mono_ms();
    int rc = nx_socket_server_accept(sv, WAIT_MS, &c, &peer_at);
    int64_t took = mono_ms() - t0;
    if (rc != NX_ETIMEDOUT && rc != NX_ETLS) {
        fail_msg("accept of a silent TLS client: expected NX_ETIMEDOUT or NX_ETLS, got %s (\"%s\")",
                 status_name(rc), nx_socket_server_last_error(sv));
    }
    if (took < 250 || took > WAIT_MS) {
        fail_msg("handshake_timeout 0.3 s: accept took %lld ms", (long long)took);
    }
    (void)silent;

    /* A TLS client still gets in. */
    client_job* j = job_new(NX_SOCKET_TLS, port);
    job_option(j, "cafile", certs.ca);
    job_start(j);
    serve_hello(accept_one(sv, NULL, 0));
    expect_job_ok(j);
}

/* A TLS client whose server never answers: NX_ETIMEDOUT within the
 * connect timeout. */
static void tls_handshake_timeout(void** state) {
    (void)state;
    int port = 0;
    tcp_server(&port); /* the kernel completes the TCP handshake; nobody speaks TLS */
    nx_socket* client = new_socket(NX_SOCKET_TLS);
    int64_t t0 = mono_ms();
    SOCK_EXPECT(client, NX_ETIMEDOUT, nx_socket_connect(client, "127.0.0.1", port, 300));
    int64_t took = mono_ms() - t0;
    if (took < 250 || took > WAIT_MS) {
        fail_msg("TLS connect with timeout 300 ms took %lld ms", (long long)took);
    }
    assert_int_equal(nx_socket_is_connected(client), 0);
}

/* ---------------------------------------------------------------- wss:// */

/* A wss:// server (two loops: it runs without being polled while our
 * client connects on this thread) with the test CA's certificate. */
static nx_ws_server* wss_server(int* port) {
    need_certs();
    nx_ws_server_options o;
    EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION));
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.log_level = NX_LOG_OFF;
    nx_ws_server* s = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_server_new(&s, &o));
    EXPECT_STATUS(NX_EINVAL, nx_ws_server_set_tls_option(s, "no_such_option", "1"));
    EXPECT_STATUS(NX_EINVAL, nx_ws_server_set_tls_option(s, NULL, "1"));
    EXPECT_STATUS(NX_EINVAL, nx_ws_server_set_tls_option(s, "allow_self_signed", "maybe"));
    EXPECT_STATUS(NX_OK, nx_ws_server_set_tls_option(s, "local_cert", certs.server_cert));
    EXPECT_STATUS(NX_OK, nx_ws_server_set_tls_option(s, "local_pk", certs.server_key));
    EXPECT_STATUS(NX_OK, nx_ws_server_start(s));
    EXPECT_STATUS(NX_ESTATE, nx_ws_server_set_tls_option(s, "local_pk", certs.server_key));
    *port = nx_ws_server_port(s);
    assert_true(*port > 0);
    return s;
}

/* Polls `s` until an event of `kind` (bounded). */
static nx_ws_event wss_wait_server(nx_ws_server* s, int kind) {
    nx_ws_event e;
    const int64_t deadline = mono_ms() + WAIT_MS;
    while (mono_ms() < deadline) {
        EXPECT_STATUS(NX_OK, nx_ws_server_poll(s, 100, &e));
        if (e.kind == kind) {
            return e;
        }
    }
    fail_msg("no %s event from the wss server within %d ms", kind_name(kind), WAIT_MS);
    return e;
}

static void wss_server_and_client(void** state) {
    (void)state;
    int port = 0;
    nx_ws_server* s = wss_server(&port);
    char url[64];
    snprintf(url, sizeof url, "wss://localhost:%d/tls", port);

    nx_ws_client* c = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, NULL));
    EXPECT_STATUS(NX_EINVAL, nx_ws_client_set_tls_option(c, "sni:x", "a,b"));
    EXPECT_STATUS(NX_EINVAL, nx_ws_client_set_tls_option(c, "no_such_option", "1"));
    EXPECT_STATUS(NX_OK, nx_ws_client_set_tls_option(c, "cafile", certs.ca));
    if (nx_ws_client_connect(c, url) != NX_OK) {
        fail_msg("wss connect: %s", nx_ws_client_last_error(c));
    }
    EXPECT_STATUS(NX_ESTATE, nx_ws_client_set_tls_option(c, "cafile", certs.ca));
    const nx_ws_event connected = wss_wait_server(s, NX_EVENT_CONNECT);
    static const char hello[] = "over TLS\0with a NUL";
    EXPECT_STATUS(
        NX_OK, nx_ws_server_send(s, connected.client, hello, sizeof hello - 1, NX_OPCODE_BINARY));
    nx_ws_event e;
    EXPECT_STATUS(NX_OK, nx_ws_client_poll(c, WAIT_MS, &e));
    assert_int_equal(e.kind, NX_EVENT_MESSAGE);
    assert_int_equal(e.size, sizeof hello - 1);
    assert_memory_equal(e.data, hello, sizeof hello - 1);
    EXPECT_STATUS(NX_OK, nx_ws_client_send(c, "back", 4, NX_OPCODE_TEXT));
    e = wss_wait_server(s, NX_EVENT_MESSAGE);
    assert_int_equal(e.size, 4);
    assert_memory_equal(e.data, "back", 4);
    nx_ws_client_free(c);

    /* Without the CA the certificate is refused, and the detail says why. */
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, NULL));
    EXPECT_STATUS(NX_ECERT, nx_ws_client_connect(c, url));
    if (strstr(nx_ws_client_last_error(c), "certificate") == NULL) {
        fail_msg("NX_ECERT detail: %s", nx_ws_client_last_error(c));
    }
    nx_ws_client_free(c);

    /* A ws:// client on the wss:// port fails. The server counts both
     * failed TLS handshakes (the refused certificate ended with the
     * client's alert). */
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
    EXPECT_STATUS(NX_OK, nx_ws_client_new(&c, NULL));
    const int plain = nx_ws_client_connect(c, url);
    if (plain != NX_EIO && plain != NX_EHANDSHAKE) {
        fail_msg("ws:// to a wss:// port: %s (%s)", status_name(plain), nx_ws_client_last_error(c));
    }
    nx_ws_client_free(c);
    nx_ws_server_stats stats = {.version = NX_WS_SERVER_STATS_VERSION};
    const int64_t deadline = mono_ms() + WAIT_MS;
    do {
        nx_ws_server_poll(s, 10, &e);
        EXPECT_STATUS(NX_OK, nx_ws_server_get_stats(s, &stats));
    } while (stats.dropped_tls_handshake < 2 && mono_ms() < deadline);
    assert_int_equal(stats.dropped_tls_handshake, 2);
    nx_ws_server_free(s);
}

static void wss_unusable_certificate(void** state) {
    (void)state;
    need_certs();
    nx_ws_server_options o;
    EXPECT_STATUS(NX_OK, nx_ws_server_options_init(&o, NX_WS_SERVER_OPTIONS_VERSION));
    o.host = "127.0.0.1";
    o.port = 0;
    o.log_level = NX_LOG_OFF;
    nx_ws_server* s = NULL;
    EXPECT_STATUS(NX_OK, nx_ws_server_new(&s, &o));
    EXPECT_STATUS(NX_OK, nx_ws_server_set_tls_option(s, "local_cert", certs.server_cert));
    EXPECT_STATUS(NX_OK, nx_ws_server_set_tls_option(s, "local_pk", certs.encrypted_key));
    EXPECT_STATUS(NX_OK, nx_ws_server_set_tls_option(s, "passphrase", "wrong"));
    EXPECT_STATUS(NX_ETLSCONFIG, nx_ws_server_start(s));
    if (nx_ws_server_last_error(s)[0] == '\0') {
        fail_msg("NX_ETLSCONFIG without a detail");
    }
    assert_int_equal(nx_ws_server_port(s) > 0, 0);
    nx_ws_server_free(s);
}

#define T(test) cmocka_unit_test_teardown(test, release_tracked)

int run_sockets(void) {
    const struct CMUnitTest tests[] = {
        T(null_handles),
        T(bad_types),
        T(failures_leave_a_detail),
        T(null_pointers),
        T(bad_ports),
        T(socket_options),
        T(server_options),
        T(before_connect),
        T(server_before_listen),
        T(tcp_binary_both_ways),
        T(tcp_read_line),
        T(tcp_read_line_limits),
        T(tcp_read_all),
        T(tcp_receive_timeout_and_end),
        T(tcp_send_to_closed_peer),
        T(tcp_close_then_calls),
        T(tcp_refused),
        T(dns_failure),
        T(tcp_options_reach_the_socket),
        T(server_accept_timeout_and_fd),
        T(server_port_in_use),
        T(udp_bind_send_to_receive_from),
        T(udp_send_to_without_bind),
        T(udp_connect_send_receive),
        T(udp_connected_peer_address),
        T(udp_refused),
        T(udp_options_reach_the_socket),
        T(tls_client_and_server),
        T(tls_unknown_ca_is_ecert),
        T(tls_wrong_peer_name_is_ecert),
        T(tls_without_verification),
        T(tls_sni_certificate),
        T(starttls),
        T(tls_unusable_options),
        T(tls_server_rejects_bad_clients),
        T(tls_handshake_timeout),
        T(wss_server_and_client),
        T(wss_unusable_certificate),
    };
    return cmocka_run_group_tests_name("sockets", tests, make_certificates, remove_certificates);
}
