#include "bench_stats.hpp"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace nexus::tool::bench {

std::uint64_t now_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000U +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

double own_cpu_seconds() noexcept {
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) != 0) {
        return 0;
    }
    const auto seconds = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Bucket layout: index v for v < 128. For larger v with highest set bit m
// (m >= 7), shift = m - 6 keeps the top 7 bits, v >> shift is in [64, 128),
// and the index is 128 + (shift - 1) * 64 + (v >> shift) - 64.
std::size_t Histogram::index_of(std::uint64_t value) noexcept {
    if (value < k_exact) {
        return static_cast<std::size_t>(value);
    }
    const auto msb = static_cast<unsigned>(std::bit_width(value) - 1);
    const unsigned shift = msb - (k_sub_bits - 1);
    return static_cast<std::size_t>(k_exact + (shift - 1) * k_half + (value >> shift) - k_half);
}

std::uint64_t Histogram::upper_edge(std::size_t index) noexcept {
    if (index < k_exact) {
        return index;
    }
    const std::uint64_t rest = index - k_exact;
    const unsigned shift = static_cast<unsigned>(rest / k_half) + 1;
    const std::uint64_t top = rest % k_half + k_half;
    return ((top + 1) << shift) - 1;
}

void Histogram::record(std::uint64_t value) noexcept {
    ++buckets_[index_of(value)];
    ++count_;
    if (value > max_) {
        max_ = value;
    }
}

void Histogram::merge(const Histogram& other) noexcept {
    for (std::size_t i = 0; i < k_buckets; ++i) {
        buckets_[i] += other.buckets_[i];
    }
    count_ += other.count_;
    if (other.max_ > max_) {
        max_ = other.max_;
    }
}

std::uint64_t Histogram::percentile(double p) const noexcept {
    if (count_ == 0) {
        return 0;
    }
    // The rank (1-based) of the sample wanted: ceil(p * count), at least 1.
    auto rank = static_cast<std::uint64_t>(p * static_cast<double>(count_));
    if (static_cast<double>(rank) < p * static_cast<double>(count_)) {
        ++rank;
    }
    if (rank == 0) {
        rank = 1;
    }
    if (rank > count_) {
        rank = count_;
    }
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < k_buckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank) {
            const std::uint64_t edge = upper_edge(i);
            return edge < max_ ? edge : max_;
        }
    }
    return max_;
}

std::optional<ProcessSample> sample_process(long pid) {
    ProcessSample sample;
    {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(stat, line)) {
            return std::nullopt;
        }
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses,
        // so the fields are counted from the last ')'. After it come field 3
        // (state) onwards; utime and stime are fields 14 and 15.
        const auto paren = line.rfind(')');
        if (paren == std::string::npos) {
            return std::nullopt;
        }
        std::istringstream fields(line.substr(paren + 1));
        std::string field;
        unsigned long long utime = 0;
        unsigned long long stime = 0;
        for (int number = 3; number <= 15 && (fields >> field); ++number) {
            if (number == 14) {
                utime = std::strtoull(field.c_str(), nullptr, 10);
            } else if (number == 15) {
                stime = std::strtoull(field.c_str(), nullptr, 10);
            }
        }
        if (!fields) {
            return std::nullopt;
        }
        const long ticks = ::sysconf(_SC_CLK_TCK);
        sample.cpu_seconds =
            static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
    }
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            sample.rss_bytes = std::strtoull(line.c_str() + 6, nullptr, 10) * 1024; // kB
            break;
        }
    }
    return sample;
}

std::optional<ProcessSample> sample_processes(const std::vector<long>& pids) {
    ProcessSample total;
    for (const long pid : pids) {
        const auto one = sample_process(pid);
        if (!one) {
            return std::nullopt;
        }
        total.cpu_seconds += one->cpu_seconds;
        total.rss_bytes += one->rss_bytes;
    }
    return total;
}

} // namespace nexus::tool::bench
