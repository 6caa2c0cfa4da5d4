/* Built against the installed package by scripts/package-test: the header's
 * version is the library's, and the library answers. Exit 0 when they agree. */
#include <stdio.h>

#include <nexus/socket.h>

int main(void) {
    const unsigned int library = nx_version();
    printf("nexus-socket %s (header %u, library %u), %s\n", nx_version_string(),
           (unsigned int)NX_VERSION_NUMBER, library, nx_strerror(NX_OK));
    return library == NX_VERSION_NUMBER ? 0 : 1;
}
