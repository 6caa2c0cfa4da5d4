// Measurement helpers of `nexus-socket bench`: a monotonic clock, a latency
// histogram, and a probe that reads another process's CPU time and resident
// memory from /proc. No I/O besides /proc; no threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace nexus::tool::bench {

/// Nanoseconds of CLOCK_MONOTONIC.
std::uint64_t now_ns() noexcept;

/// CPU seconds (user + system) this process has used so far.
double own_cpu_seconds() noexcept;

/// A log-linear histogram of non-negative integer values (nanoseconds here):
/// values below 128 have a bucket each; above, every power of two is split
/// into 64 buckets, so a percentile is off by at most 1/64 (1.6 %) of the
/// value. Fixed size (about 30 KiB), O(1) record, no allocation: millions of
/// samples are never stored or sorted.
class Histogram {
public:
    void record(std::uint64_t value) noexcept;
    /// Adds every sample of `other`.
    void merge(const Histogram& other) noexcept;

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return max_; }
    /// The value at or below which a fraction `p` (0 < p <= 1) of the samples
    /// lie: the upper edge of the bucket holding that sample, capped at
    /// max(). 0 when there are no samples. Monotone in `p`.
    std::uint64_t percentile(double p) const noexcept;

private:
    static constexpr unsigned k_sub_bits = 7;                  // 128 exact values
    static constexpr std::uint64_t k_exact = 1U << k_sub_bits; // values 0..127
    static constexpr std::uint64_t k_half = k_exact / 2;       // 64 per power of two
    static constexpr std::size_t k_buckets = k_exact + (64 - k_sub_bits) * k_half;

    static std::size_t index_of(std::uint64_t value) noexcept;
    static std::uint64_t upper_edge(std::size_t index) noexcept;

    std::array<std::uint64_t, k_buckets> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
};

/// What /proc says about a process at one moment.
struct ProcessSample {
    double cpu_seconds = 0;      // utime + stime of all its threads
    std::uint64_t rss_bytes = 0; // VmRSS
};

/// Reads /proc/PID/stat (fields 14 utime and 15 stime, in clock ticks,
/// divided by sysconf(_SC_CLK_TCK)) and /proc/PID/status (VmRSS). Returns
/// nothing when the process does not exist or the files do not parse.
std::optional<ProcessSample> sample_process(long pid);
/// The samples of `pids` added up; nothing when one of them is missing.
std::optional<ProcessSample> sample_processes(const std::vector<long>& pids);

} // namespace nexus::tool::bench
