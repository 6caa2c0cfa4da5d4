// Names the calling thread, so that `top -H`, `ps -L`, gdb and perf tell the
// library's threads apart (nx-loop-N, nx-redis-pub, ...). Linux keeps 15
// characters; longer names are cut to fit.
#pragma once

#include <pthread.h>

#include <string>

namespace nexus::io::detail {

inline void name_this_thread(const std::string& name) {
    const std::string cut = name.substr(0, 15);
    static_cast<void>(pthread_setname_np(pthread_self(), cut.c_str()));
}

} // namespace nexus::io::detail
