// Oracle failures abort, so libFuzzer (and the replay driver) report them
// as crashes with the message.
#pragma once

#include <cstdio>
#include <cstdlib>

#define NX_FUZZ_CHECK(cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond);         \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)
