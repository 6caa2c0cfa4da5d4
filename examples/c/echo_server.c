/* A WebSocket echo server in C: every message goes back to its sender with
 * its kind (text or binary). Stops on SIGINT/SIGTERM, gracefully.
 *
 *   build/bin/example-c-echo-server [port]      (0 picks a free port)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <nexus/socket.h>

static nx_ws_server* g_server;
static volatile sig_atomic_t g_stop_requested;

static void on_signal(int signo) {
    (void)signo;
    /* Only nx_ws_server_wake() is async-signal-safe: it makes the poll
     * return, and the loop below stops the server on its own thread. */
    g_stop_requested = 1;
    nx_ws_server_wake(g_server);
}

int main(int argc, char** argv) {
    nx_ws_server_options options;
    nx_ws_server_options_init(&options, NX_WS_SERVER_OPTIONS_VERSION);
    options.host = "127.0.0.1";
    options.port = argc > 1 ? atoi(argv[1]) : 8080;

    int rc = nx_ws_server_new(&g_server, &options);
    if (rc != NX_OK) {
        fprintf(stderr, "options: %s\n", nx_last_error());
        return 2;
    }
    rc = nx_ws_server_start(g_server);
    if (rc != NX_OK) {
        fprintf(stderr, "start: %s\n", nx_ws_server_last_error(g_server));
        nx_ws_server_free(g_server);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("listening on %d\n", nx_ws_server_port(g_server));
    fflush(stdout);

    nx_ws_event event;
    for (;;) {
        rc = nx_ws_server_poll(g_server, 1000, &event);
        if (rc != NX_OK) {
            fprintf(stderr, "poll: %s\n", nx_ws_server_last_error(g_server));
            break;
        }
        if (event.kind == NX_EVENT_STOPPED) {
            break;
        }
        if (g_stop_requested) {
            g_stop_requested = 0;
            nx_ws_server_stop(g_server); /* close 1001 to all, flush, then STOPPED */
        }
        if (event.kind == NX_EVENT_MESSAGE) {
            rc = nx_ws_server_send(g_server, event.client, event.data, event.size, event.opcode);
            if (rc != NX_OK && rc != NX_ENOCLIENT && rc != NX_ECLOSING) {
                fprintf(stderr, "send: %s\n", nx_ws_server_last_error(g_server));
            }
        }
    }
    nx_ws_server_free(g_server);
    return 0;
}
