/* The test groups of nexus-capi-tests; each runs with CMocka and returns the
 * number of failed tests. main.c picks them by name (ctest: capi.<name>). */
#ifndef NX_TESTS_CAPI_GROUPS_H
#define NX_TESTS_CAPI_GROUPS_H

int run_version(void);
int run_options(void);
int run_misuse(void);
int run_lifecycle(void);
int run_server_1thread(void);
int run_server_2threads(void);
int run_client_errors(void);
int run_sockets(void);
int run_scaling(void);

#endif
