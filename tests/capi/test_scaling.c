/*
 * Scaling through Redis, as the C API shows it: two servers in this process
 * share one redis-server of the test's own (Debian's, started by the group on
 * a free loopback port, in memory only, and killed at the end) and a key
 * prefix of each test's own, so that nothing one test leaves in Redis is seen
 * by the next. Clients are nx_ws_client peers on threads of their own.
 *
 * Server A runs with threads == 1 (it progresses only inside poll) and B
 * with threads == 2, and every wait pumps both. What only Redis's state
 * shows (presence, the other servers' statistics, which are up to a third
 * of the lease old) is polled with a bound: nothing sleeps to wait.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "groups.h"
#include "harness.h"

extern char** environ;

/* The presence lease of the servers: the others' statistics are at most a
 * third of it old. */
#define LEASE_MS 1500
/* Bound of waits on what Redis relays or keeps (a few leases). */
#define CLUSTER_WAIT_MS 15000
/* How long redis-server may take to say it is ready. */
#define REDIS_START_MS 20000

/* ------------------------------------------------------------ redis-server */

/* The group's redis-server. Its pid is also read by the signal handler. */
static volatile pid_t redis_pid = -1;
static int redis_port;
static char redis_url[64];

static void redis_kill(void) {
    pid_t pid = redis_pid;
    if (pid > 0) {
        redis_pid = -1;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
}

/* A test run interrupted (Ctrl-C, ctest's SIGTERM, an abort) takes its
 * redis-server with it. */
static void redis_kill_on_signal(int sig) {
    pid_t pid = redis_pid;
    if (pid > 0) {
        kill(pid, SIGKILL);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Starts redis-server on `port` with its output on a pipe and nothing else
 * of ours (a child holding a copy of a test's socket keeps that connection
 * open); waits, bounded, for its ready line. 0 when ready; -1 with the
 * output in `why` otherwise (port taken, not installed, ...). */
static int redis_start_on(int port, char* why, size_t why_size) {
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(why, why_size, "pipe: %s", strerror(errno));
        return -1;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    char* argv[] = {"redis-server", "--bind", "127.0.0.1",  "--port", port_text, "--save", "",
                    "--appendonly", "no",     "--loglevel", "notice", NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, "redis-server", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        snprintf(why, why_size, "cannot start redis-server (%s); scripts/install-deps installs it",
                 strerror(rc));
        return -1;
    }
    redis_pid = pid;

    char output[16384];
    size_t used = 0;
    int ready = 0;
    int64_t deadline = mono_ms() + REDIS_START_MS;
    while (!ready) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            break;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        if (used + 1 >= sizeof output) { /* keep the end, where the news is */
            memmove(output, output + sizeof output / 2, used - sizeof output / 2);
            used -= sizeof output / 2;
        }
        ssize_t got = read(fds[0], output + used, sizeof output - 1 - used);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break; /* it exited */
        }
        used += (size_t)got;
        output[used] = '\0';
        ready = strstr(output, "Ready to accept connections") != NULL;
    }
    /* Its later output (a line now and then) fits the pipe's buffer, and
     * once the read end is closed a write only fails: redis-server
     * ignores SIGPIPE. */
    close(fds[0]);
    if (!ready) {
        output[used] = '\0';
        const char* tail = used > 800 ? output + used - 800 : output; /* its last words */
        snprintf(why, why_size, "redis-server on port %d did not get ready within %d ms: %.800s",
                 port, REDIS_START_MS, tail);
        redis_kill();
        return -1;
    }
    return 0;
}

static int redis_group_setup(void** state) {
    (void)state;
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; ++i) {
        signal(signals[i], redis_kill_on_signal);
    }
    atexit(redis_kill);
    char why[1024] = "";
    /* A port free a moment ago may be taken meanwhile: try a few. */
    for (int attempt = 0; attempt < 3; ++attempt) {
        int port = unused_port();
        if (redis_start_on(port, why, sizeof why) == 0) {
            redis_port = port;
            snprintf(redis_url, sizeof redis_url, "redis://127.0.0.1:%d/0", port);
            return 0;
        }
        if (strstr(why, "cannot start") != NULL) {
            break;
        }
    }
    print_error("%s\n", why);
    return -1;
}

static int redis_group_teardown(void** state) {
    (void)state;
    redis_kill();
    return 0;
}

/* ------------------------------------------------------------ two servers */

typedef struct cluster {
    server_fx a; /* threads == 1 */
    server_fx b; /* threads == 2 */
    char prefix[64];
} cluster;

static int setup(void** state) {
    static unsigned counter;
    cluster* c = calloc(1, sizeof *c);
    if (c == NULL) {
        return -1;
    }
    snprintf(c->prefix, sizeof c->prefix, "nxcapi%ld-%u-%lld", (long)getpid(), ++counter,
             (long long)(wall_ms() % 1000000));
    server_fx* both[] = {&c->a, &c->b};
    for (unsigned i = 0; i < 2; ++i) {
        fx_init(both[i], i + 1);
        both[i]->opts.scaling_redis = 1;
        both[i]->opts.redis_url = redis_url;
        both[i]->opts.scaling_prefix = c->prefix;
        both[i]->opts.scaling_lease_ms = LEASE_MS;
        both[i]->opts.scaling_timeout_ms = 1000;
    }
    *state = c;
    return 0;
}

static int teardown(void** state) {
    cluster* c = *state;
    fx_free(&c->a);
    fx_free(&c->b);
    free(c);
    return 0;
}

/* One short poll of each server (A's loop runs only inside it). */
static void pump_both(cluster* c) {
    fx_pump(&c->a, 2);
    fx_pump(&c->b, 2);
}

/* Pumps both servers until `cond` holds or `ms` passed; `ok` says which. */
#define WAIT_UNTIL(ok, c, ms, cond)                                                                \
    do {                                                                                           \
        const int64_t until_ = mono_ms() + (ms);                                                   \
        while (!((ok) = (cond) ? 1 : 0) && mono_ms() < until_) {                                   \
            pump_both(c);                                                                          \
        }                                                                                          \
    } while (0)

/* A client id of `server`'s node that no client has. */
static uint64_t absent_id_on(nx_ws_server* server) {
    uint32_t node = 0;
    EXPECT_STATUS(NX_OK, nx_ws_server_node_id(server, &node));
    return ((uint64_t)node << 40) | 0xFFFFFFFFu;
}

static int reaches(nx_ws_server* from, uint64_t id) {
    return nx_ws_server_send(from, id, "probe", 5, NX_OPCODE_TEXT) == NX_OK;
}

/* Starts both servers and waits until each can reach the other through
 * Redis (a send to an absent client of the other's node is accepted). */
static void cluster_begin(cluster* c) {
    assert_int_equal(fx_begin(&c->a), NX_OK);
    assert_int_equal(fx_begin(&c->b), NX_OK);
    uint64_t on_a = absent_id_on(c->a.server);
    uint64_t on_b = absent_id_on(c->b.server);
    int linked;
    WAIT_UNTIL(linked, c, CLUSTER_WAIT_MS,
               reaches(c->a.server, on_b) && reaches(c->b.server, on_a));
    if (!linked) {
        fail_msg("the servers did not see each other through %s within %d ms (A: \"%s\", B: "
                 "\"%s\")",
                 redis_url, CLUSTER_WAIT_MS, nx_ws_server_last_error(c->a.server),
                 nx_ws_server_last_error(c->b.server));
    }
}

/* The next event of `kind` of peer p (data owned by the peer), pumping both
 * servers meanwhile; fails the test when none comes. */
static rec_event cluster_peer_event(cluster* c, peer* p, int kind, const char* what) {
    rec_event ev = {0};
    int arrived;
    WAIT_UNTIL(arrived, c, WAIT_MS, peer_pending(p, kind) > 0);
    if (!arrived || !peer_wait_event(NULL, p, kind, 0, &ev)) {
        fail_msg("%s: the client got no %s within %d ms (poll status %s)", what, kind_name(kind),
                 WAIT_MS, status_name(p->poll_status));
    }
    return ev;
}

static void expect_text(cluster* c, peer* p, const char* text, const char* what) {
    rec_event ev = cluster_peer_event(c, p, NX_EVENT_MESSAGE, what);
    if (ev.opcode != NX_OPCODE_TEXT || ev.size != strlen(text) ||
        memcmp(ev.data, text, ev.size) != 0) {
        fail_msg("%s: got opcode %d \"%s\", expected text \"%s\"", what, ev.opcode, ev.data, text);
    }
}

/* The cluster's client ids as `server` sees them (at most 8), or the
 * failing status. */
static int cluster_ids(nx_ws_server* server, uint64_t ids[8]) {
    return nx_ws_server_cluster_clients(server, ids, 8);
}

static int has_id(const uint64_t* ids, int n, uint64_t id) {
    for (int i = 0; i < n; ++i) {
        if (ids[i] == id) {
            return 1;
        }
    }
    return 0;
}

static nx_ws_server_stats stats_of(nx_ws_server* server, int cluster_wide) {
    nx_ws_server_stats s;
    memset(&s, 0, sizeof s);
    s.version = NX_WS_SERVER_STATS_VERSION;
    int rc = cluster_wide ? nx_ws_server_get_cluster_stats(server, &s)
                          : nx_ws_server_get_stats(server, &s);
    if (rc != NX_OK) {
        memset(&s, 0, sizeof s);
    }
    return s;
}

/* ------------------------------------------------------------------ tests */

static void node_ids_differ_and_carry_the_client_ids(void** state) {
    cluster* c = *state;
    cluster_begin(c);
    uint32_t node_a = 0, node_b = 0;
    EXPECT_STATUS(NX_OK, nx_ws_server_node_id(c->a.server, &node_a));
    EXPECT_STATUS(NX_OK, nx_ws_server_node_id(c->b.server, &node_b));
    assert_true(node_a != 0);
    assert_true(node_b != 0);
    assert_true(node_a != node_b);
    peer* a1 = fx_connect(&c->a, NULL, "/");
    peer* b1 = fx_connect(&c->b, NULL, "/");
    assert_int_equal(a1->id >> 40, node_a);
    assert_int_equal(b1->id >> 40, node_b);
    EXPECT_STATUS(NX_EINVAL, nx_ws_server_node_id(c->a.server, NULL));
}

static void broadcast_and_publish_reach_the_other_server(void** state) {
    cluster* c = *state;
    cluster_begin(c);
    peer* a1 = fx_connect(&c->a, NULL, "/");
    peer* b1 = fx_connect(&c->b, NULL, "/");
    peer* b2 = fx_connect(&c->b, NULL, "/");
    /* (Probes sent before the link was up count as dropped.) */
    const uint64_t dropped_before = stats_of(c->a.server, 0).remote_dropped;

    /* The count is the local one; every client of both servers gets it once. */
    SERVER_EXPECT(&c->a, 1, nx_ws_server_broadcast(c->a.server, "hello all", 9, NX_OPCODE_TEXT, 0));
    expect_text(c, a1, "hello all", "a1, broadcast from A");
    expect_text(c, b1, "hello all", "b1, broadcast from A");
    expect_text(c, b2, "hello all", "b2, broadcast from A");

    /* Excluding a client of the other server. */
    SERVER_EXPECT(&c->a, 1,
                  nx_ws_server_broadcast(c->a.server, "not b1", 6, NX_OPCODE_TEXT, b1->id));
    expect_text(c, a1, "not b1", "a1, broadcast from A but b1");
    expect_text(c, b2, "not b1", "b2, broadcast from A but b1");
    SERVER_EXPECT(&c->b, 2, nx_ws_server_broadcast(c->b.server, "second", 6, NX_OPCODE_TEXT, 0));
    /* b1's next message is this one: the exclusion held. */
    expect_text(c, b1, "second", "b1, broadcast from B");
    expect_text(c, a1, "second", "a1, broadcast from B");
    expect_text(c, b2, "second", "b2, broadcast from B");

    /* Binary stays binary. */
    SERVER_EXPECT(&c->b, 2, nx_ws_server_broadcast(c->b.server, "\0\1\2", 3, NX_OPCODE_BINARY, 0));
    peer* everyone[] = {a1, b1, b2};
    for (int i = 0; i < 3; ++i) {
        rec_event ev = cluster_peer_event(c, everyone[i], NX_EVENT_MESSAGE, "binary broadcast");
        assert_int_equal(ev.opcode, NX_OPCODE_BINARY);
        assert_int_equal(ev.size, 3);
        assert_memory_equal(ev.data, "\0\1\2", 3);
    }

    /* A channel: its subscribers on both servers, nobody else. */
    SERVER_EXPECT(&c->a, NX_OK, nx_ws_server_subscribe(c->a.server, a1->id, "news", 4));
    SERVER_EXPECT(&c->b, NX_OK, nx_ws_server_subscribe(c->b.server, b1->id, "news", 4));
    SERVER_EXPECT(&c->b, 1,
                  nx_ws_server_publish(c->b.server, "news", 4, "extra", 5, NX_OPCODE_TEXT));
    expect_text(c, a1, "extra", "a1, publish from B");
    expect_text(c, b1, "extra", "b1, publish from B");
    SERVER_EXPECT(&c->a, 1, nx_ws_server_broadcast(c->a.server, "marker", 6, NX_OPCODE_TEXT, 0));
    expect_text(c, b2, "marker", "b2 (not subscribed), after the publish");

    /* The counters say what went through Redis. */
    int counted;
    WAIT_UNTIL(counted, c, CLUSTER_WAIT_MS, stats_of(c->a.server, 0).remote_out >= 3);
    assert_true(counted);
    WAIT_UNTIL(counted, c, CLUSTER_WAIT_MS, stats_of(c->b.server, 0).remote_in >= 2);
    assert_true(counted);
    nx_ws_server_stats s = stats_of(c->a.server, 0);
    assert_int_equal(s.backplane_up, 1);
    assert_int_equal(s.servers, 1);
    assert_int_equal(s.remote_dropped, dropped_before);
}

static void send_and_disconnect_reach_a_client_of_the_other_server(void** state) {
    cluster* c = *state;
    cluster_begin(c);
    peer* a1 = fx_connect(&c->a, NULL, "/");
    peer* b1 = fx_connect(&c->b, NULL, "/");

    SERVER_EXPECT(&c->a, NX_OK,
                  nx_ws_server_send(c->a.server, b1->id, "for b1 only", 11, NX_OPCODE_TEXT));
    expect_text(c, b1, "for b1 only", "b1, send from A");
    SERVER_EXPECT(&c->b, NX_OK, nx_ws_server_send(c->b.server, a1->id, "back", 4, NX_OPCODE_TEXT));
    expect_text(c, a1, "back", "a1, send from B");
    SERVER_EXPECT(&c->a, NX_EUTF8,
                  nx_ws_server_send(c->a.server, b1->id, "\xff", 1, NX_OPCODE_TEXT));

    /* Closed by the other server, with the code and reason. */
    SERVER_EXPECT(&c->a, NX_OK, nx_ws_server_disconnect(c->a.server, b1->id, 4001, "moved", 5));
    rec_event ev = cluster_peer_event(c, b1, NX_EVENT_DISCONNECT, "b1, disconnect from A");
    assert_int_equal(ev.close_code, 4001);
    assert_int_equal(ev.size, 5);
    assert_string_equal(ev.data, "moved");
    int gone;
    WAIT_UNTIL(gone, c, WAIT_MS, log_find(&c->b.events, NX_EVENT_DISCONNECT, b1->id) >= 0);
    if (!gone) {
        fail_msg("B reported no DISCONNECT of b1 within %d ms", WAIT_MS);
    }
    assert_int_equal(
        c->b.events.items[log_find(&c->b.events, NX_EVENT_DISCONNECT, b1->id)].close_code, 4001);
    assert_int_equal(peer_pending(b1, NX_EVENT_MESSAGE), 0); /* the bad text never went */

    /* A server that does not exist: no such client. */
    const uint64_t nowhere = ((uint64_t)4000000 << 40) | 1;
    SERVER_EXPECT(&c->a, NX_ENOCLIENT,
                  nx_ws_server_send(c->a.server, nowhere, "x", 1, NX_OPCODE_TEXT));
    SERVER_EXPECT(&c->a, NX_ENOCLIENT, nx_ws_server_disconnect(c->a.server, nowhere, 1000, "", 0));
    assert_true(nx_ws_server_last_error(c->a.server)[0] != '\0');
}

static void cluster_clients_and_stats_cover_both_servers(void** state) {
    cluster* c = *state;
    cluster_begin(c);
    peer* a1 = fx_connect(&c->a, NULL, "/room?name=blue");
    peer* b1 = fx_connect(&c->b, NULL, "/lobby");

    uint64_t ids[8];
    int n = 0;
    int ok;
    WAIT_UNTIL(ok, c, CLUSTER_WAIT_MS, (n = cluster_ids(c->a.server, ids)) == 2);
    if (!ok) {
        fail_msg("A's nx_ws_server_cluster_clients: %s, expected 2 clients within %d ms",
                 n < 0 ? status_name(n) : "a count other than 2", CLUSTER_WAIT_MS);
    }
    assert_true(has_id(ids, n, a1->id));
    assert_true(has_id(ids, n, b1->id));
    assert_true(ids[0] < ids[1]);
    SERVER_EXPECT(&c->a, 2, nx_ws_server_cluster_clients(c->a.server, NULL, 0));
    SERVER_EXPECT(&c->a, 1, nx_ws_server_clients(c->a.server, ids, 8)); /* stays local */
    SERVER_EXPECT(&c->a, 1, nx_ws_server_client_count(c->a.server));

    /* The remote client as A knows it, from presence. */
    nx_ws_client_info info;
    memset(&info, 0, sizeof info);
    info.version = NX_WS_CLIENT_INFO_VERSION;
    SERVER_EXPECT(&c->a, NX_OK, nx_ws_server_client_info(c->a.server, b1->id, &info));
    assert_int_equal(info.id, b1->id);
    assert_string_equal(info.path, "/lobby");
    assert_string_equal(info.query, "");
    char peer_text[64];
    snprintf(peer_text, sizeof peer_text, "127.0.0.1:%d", b1->local_port);
    assert_string_equal(info.peer, peer_text);
    assert_true(info.connected_at_ms > 0);
    assert_int_equal(info.pending, 0);
    assert_int_equal(info.channels_size, 0);
    assert_true(info.headers_size > 0);
    SERVER_EXPECT(&c->a, NX_OK, nx_ws_server_client_info(c->a.server, a1->id, &info));
    assert_string_equal(info.path, "/room");
    assert_string_equal(info.query, "name=blue");

    /* Statistics of both, from either side (the other's up to a third of the lease old). */
    nx_ws_server_stats total;
    memset(&total, 0, sizeof total);
    WAIT_UNTIL(ok, c, CLUSTER_WAIT_MS,
               (total = stats_of(c->b.server, 1)).servers == 2 && total.clients == 2);
    if (!ok) {
        fail_msg("B's cluster statistics: servers %llu, clients %llu; expected 2 and 2 (%s)",
                 (unsigned long long)total.servers, (unsigned long long)total.clients,
                 nx_ws_server_last_error(c->b.server));
    }
    assert_int_equal(total.backplane_up, 2);
    assert_true(total.connections_total >= 2);
    WAIT_UNTIL(ok, c, CLUSTER_WAIT_MS, stats_of(c->a.server, 1).servers == 2);
    assert_true(ok);
    nx_ws_server_stats own = stats_of(c->a.server, 0);
    assert_int_equal(own.servers, 1);
    assert_int_equal(own.clients, 1);
    EXPECT_STATUS(NX_EINVAL, nx_ws_server_get_cluster_stats(c->a.server, NULL));

    /* A client that leaves leaves presence. */
    PEER_EXPECT(b1, NX_OK, peer_close(&c->b, b1, 1000, "", 0));
    WAIT_UNTIL(ok, c, CLUSTER_WAIT_MS, cluster_ids(c->a.server, ids) == 1);
    assert_true(ok);
    assert_int_equal(ids[0], a1->id);

    /* A server that stops leaves at once (it says goodbye), not when its lease
     * runs out (at least two thirds of it after its last heartbeat). */
    SERVER_EXPECT(&c->b, NX_OK, nx_ws_server_stop(c->b.server));
    WAIT_UNTIL(ok, c, WAIT_MS, c->b.stopped);
    if (!ok) {
        fail_msg("B did not stop within %d ms", WAIT_MS);
    }
    WAIT_UNTIL(ok, c, LEASE_MS * 2 / 3, stats_of(c->a.server, 1).servers == 1);
    assert_true(ok);
}

static void redis_unreachable_at_start(void** state) {
    cluster* c = *state;
    server_fx* fx = &c->a;
    char url[64];
    int port = unused_port(); /* nothing listens there */
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    fx->opts.redis_url = url;
    fx->opts.scaling_timeout_ms = 500;

    /* It starts and serves anyway, and says why it is alone. */
    assert_int_equal(fx_begin(fx), NX_OK);
    rec_event error = {0};
    if (!fx_wait_event(fx, NX_EVENT_ERROR, 0, WAIT_MS, &error)) {
        fail_msg("no NX_EVENT_ERROR for client 0 within %d ms", WAIT_MS);
    }
    if (strstr(error.data, "redis") == NULL && strstr(error.data, "Redis") == NULL) {
        fail_msg("the error does not mention Redis: \"%s\"", error.data);
    }
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    if (strstr(error.data, port_text) == NULL) {
        fail_msg("the error does not say where Redis was looked for (port %d): \"%s\"", port,
                 error.data);
    }
    uint32_t node = 0;
    EXPECT_STATUS(NX_OK, nx_ws_server_node_id(fx->server, &node));
    assert_true(node != 0);

    peer* p = fx_connect(fx, NULL, "/");
    PEER_EXPECT(p, NX_OK, peer_send(fx, p, "hello", 5, NX_OPCODE_TEXT));
    expect_server_message(fx, p->id, NX_OPCODE_TEXT, "hello", 5);
    SERVER_EXPECT(fx, NX_OK, nx_ws_server_send(fx->server, p->id, "local", 5, NX_OPCODE_TEXT));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "local", 5);
    SERVER_EXPECT(fx, 1, nx_ws_server_broadcast(fx->server, "lonely", 6, NX_OPCODE_TEXT, 0));
    expect_peer_message(fx, p, NX_OPCODE_TEXT, "lonely", 6);

    /* Another server's client cannot be reached now. */
    const uint64_t elsewhere = ((uint64_t)(node == 1 ? 2 : 1) << 40) | 1;
    SERVER_EXPECT(fx, NX_EUNAVAILABLE,
                  nx_ws_server_send(fx->server, elsewhere, "x", 1, NX_OPCODE_TEXT));
    SERVER_EXPECT(fx, NX_EUNAVAILABLE, nx_ws_server_disconnect(fx->server, elsewhere, 1000, "", 0));

    /* The cluster cannot be asked; the statistics say what was lost. */
    uint64_t ids[8];
    int n = nx_ws_server_cluster_clients(fx->server, ids, 8);
    if (n >= 0) {
        fail_msg("nx_ws_server_cluster_clients without Redis: %d, expected a failing status", n);
    }
    assert_true(nx_ws_server_last_error(fx->server)[0] != '\0');
    nx_ws_server_stats s;
    memset(&s, 0, sizeof s);
    s.version = NX_WS_SERVER_STATS_VERSION;
    assert_true(nx_ws_server_get_cluster_stats(fx->server, &s) < 0);
    s = stats_of(fx->server, 0);
    assert_int_equal(s.backplane_up, 0);
    assert_true(s.backplane_errors >= 1);
    assert_true(s.remote_dropped >= 1);
    assert_int_equal(s.clients, 1);
}

static void scaling_off_keeps_the_local_view(void** state) {
    cluster* c = *state;
    server_fx* fx = &c->a;
    fx->opts.scaling_redis = 0;
    assert_int_equal(fx_begin(fx), NX_OK);
    uint32_t node = 7;
    EXPECT_STATUS(NX_OK, nx_ws_server_node_id(fx->server, &node));
    assert_int_equal(node, 0);
    peer* p = fx_connect(fx, NULL, "/");
    uint64_t ids[8];
    SERVER_EXPECT(fx, 1, nx_ws_server_cluster_clients(fx->server, ids, 8));
    assert_int_equal(ids[0], p->id);
    nx_ws_server_stats s = stats_of(fx->server, 1);
    assert_int_equal(s.servers, 1);
    assert_int_equal(s.clients, 1);
    assert_int_equal(s.backplane_up, 0);
    /* An id of no client is no client: nothing to route it to. */
    SERVER_EXPECT(fx, NX_ENOCLIENT,
                  nx_ws_server_send(fx->server, ((uint64_t)5 << 40) | 1, "x", 1, NX_OPCODE_TEXT));
}

/* ------------------------------------------------------------------ group */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest scaling_tests[] = {
    T(node_ids_differ_and_carry_the_client_ids),
    T(broadcast_and_publish_reach_the_other_server),
    T(send_and_disconnect_reach_a_client_of_the_other_server),
    T(cluster_clients_and_stats_cover_both_servers),
    T(redis_unreachable_at_start),
    T(scaling_off_keeps_the_local_view),
};

int run_scaling(void) {
    return _cmocka_run_group_tests("scaling", scaling_tests,
                                   sizeof scaling_tests / sizeof scaling_tests[0],
                                   redis_group_setup, redis_group_teardown);
}
