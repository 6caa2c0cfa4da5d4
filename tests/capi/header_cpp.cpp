// The header test (C++): <nexus/socket.h> alone compiles as C++17 and C++20
// with -Wall -Wextra -pedantic -Werror (and more), and every function is
// noexcept with C linkage. Building this object is the test.
#include <nexus/socket.h>

#include <type_traits>

static_assert(noexcept(nx_version()), "entry points are noexcept");
static_assert(noexcept(nx_ws_server_poll(nullptr, 0, nullptr)), "entry points are noexcept");
static_assert(noexcept(nx_ws_client_free(nullptr)), "entry points are noexcept");
static_assert(std::is_standard_layout_v<nx_ws_event> && std::is_trivial_v<nx_ws_event>,
              "a C struct");
static_assert(std::is_standard_layout_v<nx_ws_server_options> &&
                  std::is_trivial_v<nx_ws_server_options>,
              "a C struct");
static_assert(std::is_standard_layout_v<nx_ws_client_info> && std::is_trivial_v<nx_ws_client_info>,
              "a C struct");
static_assert(NX_OK == 0 && NX_ETOOBIG == -20, "pinned status values");

int nx_header_test_cpp();

int nx_header_test_cpp() {
    nx_ws_event event{};
    nx_ws_server_options options{};
    nx_ws_server* server = nullptr;
    int (*start)(nx_ws_server*) noexcept = nx_ws_server_start;
    (void)options;
    (void)server;
    (void)start;
    return event.kind + NX_VERSION_NUMBER;
}
