/*
 * nexus-capi-tests [group...]: runs the named CMocka groups (all without an
 * argument). ctest registers one test per group as capi.<group>.
 */
#include <stdio.h>
#include <string.h>

#include "groups.h"

static const struct {
    const char* name;
    int (*run)(void);
} groups[] = {
    {"version", run_version},
    {"options", run_options},
    {"misuse", run_misuse},
    {"lifecycle", run_lifecycle},
    {"server_1thread", run_server_1thread},
    {"server_2threads", run_server_2threads},
    {"client_errors", run_client_errors},
    {"sockets", run_sockets},
    {"scaling", run_scaling},
};

#define GROUP_COUNT (sizeof groups / sizeof groups[0])

int main(int argc, char** argv) {
    /* SIGPIPE keeps its default action on purpose: a library that writes to a
     * closed socket without MSG_NOSIGNAL would kill its host, and this test. */
    int failed = 0;
    if (argc < 2) {
        for (size_t i = 0; i < GROUP_COUNT; ++i) {
            failed += groups[i].run();
        }
        return failed != 0;
    }
    for (int a = 1; a < argc; ++a) {
        size_t i = 0;
        while (i < GROUP_COUNT && strcmp(groups[i].name, argv[a]) != 0) {
            ++i;
        }
        if (i == GROUP_COUNT) {
            fprintf(stderr, "nexus-capi-tests: no group '%s'; groups:", argv[a]);
            for (size_t j = 0; j < GROUP_COUNT; ++j) {
                fprintf(stderr, " %s", groups[j].name);
            }
            fprintf(stderr, "\n");
            return 2;
        }
        failed += groups[i].run();
    }
    return failed != 0;
}
