/*
 * The header test (C): <nexus/socket.h> alone compiles as C11 with
 * -Wall -Wextra -pedantic -Werror (and more). Building this object is the test.
 */
#include <nexus/socket.h>

/* Everything the header promises is usable from C without other includes. */
int nx_header_test_c(void);

int nx_header_test_c(void) {
    nx_ws_event event = {NX_EVENT_NONE, 0, NX_OPCODE_TEXT, "", 0, 0};
    nx_ws_server_options server_options;
    nx_ws_client_options client_options;
    nx_ws_client_info info;
    nx_ws_server_stats stats;
    enum nx_status status = NX_ETOOBIG;
    enum nx_log_level level = NX_LOG_OFF;
    nx_ws_server* server = 0;
    nx_ws_client* client = 0;
    unsigned int (*version)(void) = nx_version;
    int (*poll)(nx_ws_server*, int, nx_ws_event*) = nx_ws_server_poll;
    (void)server_options;
    (void)client_options;
    (void)info;
    (void)stats;
    (void)server;
    (void)client;
    (void)version;
    (void)poll;
    return (int)event.size + (int)status + (int)level + NX_VERSION_NUMBER +
           NX_WS_SERVER_OPTIONS_VERSION + NX_WS_CLIENT_OPTIONS_VERSION + NX_WS_CLIENT_INFO_VERSION +
           NX_WS_SERVER_STATS_VERSION;
}
