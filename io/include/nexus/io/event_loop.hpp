// One event loop on our own epoll: non-blocking descriptors (Poco sockets or
// plain fds), timers, and tasks posted from other threads.
//
// One epoll instance holds the watched descriptors (level-triggered), an
// eventfd that post() and stop() write, and a timerfd armed to the earliest
// timer deadline. So the epoll descriptor itself (poll_fd()) is readable
// exactly when run_once() has work, and another loop (or the C API's caller)
// can wait on it.
//
// We neither use Poco's SocketReactor (1.11 spins a core when a write handler
// is removed while a read handler stays, and its stop() cannot interrupt a
// wait) nor its PollSet (1.11 builds a std::map per wakeup and keeps a map
// entry and a Socket copy per descriptor). Per watched descriptor the loop
// keeps one pointer.
//
// Threading: everything but post() and stop() must be called on the thread
// that runs the loop (run()/run_once()), or before the loop first runs.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <Poco/Net/Socket.h>

#include "nexus/io/mapped_allocator.hpp"

namespace nexus::io {

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    using TimerId = std::uint64_t;

    /// Readiness bits given to a Watcher (and interest bits for watch()).
    /// They are epoll's bits, so a plain fd user may pass EPOLLIN/EPOLLOUT.
    enum Interest : int {
        readable = EPOLLIN,
        writable = EPOLLOUT,
        /// Error, hang-up or the peer's half-close (EPOLLERR, EPOLLHUP,
        /// EPOLLRDHUP). Always reported together with `readable`, so a
        /// watcher reads and sees the EOF or the error. Never needed in an
        /// interest: it is always reported.
        failed = EPOLLERR | EPOLLHUP,
    };

    /// Reacts to the readiness of one descriptor, on the loop's thread.
    class Watcher {
    public:
        virtual void on_ready(int events) = 0;

    protected:
        ~Watcher() = default;
    };

    /// Throws std::system_error when the kernel refuses the epoll instance,
    /// the eventfd or the timerfd (EMFILE, ENFILE, ENOMEM).
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Starts watching `fd` for `interest` (readable/writable bits, other
    /// bits ignored); `failed` is always reported. Watching an fd already
    /// watched replaces its watcher and interest. `watcher` must outlive the
    /// registration, and the caller keeps owning `fd`: call unwatch() before
    /// closing it or destroying the watcher. Throws std::system_error (EBADF
    /// for a negative or closed fd, EPERM for a regular file, ENOMEM,
    /// ENOSPC past fs.epoll.max_user_watches) or std::bad_alloc, watching
    /// nothing new then.
    void watch(int fd, Watcher* watcher, int interest);
    /// Replaces the interest of a watched `fd`. Throws std::system_error
    /// (ENOENT when `fd` is not watched).
    void modify(int fd, int interest);
    /// Stops watching `fd`; its watcher is not called again, even for events
    /// already collected in this iteration. Unknown or negative fds are
    /// ignored.
    void unwatch(int fd) noexcept;

    /// The same on a Poco socket's descriptor (socket.impl()->sockfd()). The
    /// loop keeps no copy of the socket: keep it open until unwatch().
    void watch(const Poco::Net::Socket& socket, Watcher* watcher, int interest);
    void modify(const Poco::Net::Socket& socket, int interest);
    /// A closed socket (no descriptor) is ignored.
    void unwatch(const Poco::Net::Socket& socket) noexcept;

    /// How many descriptors are watched.
    std::size_t watched() const noexcept { return watched_; }
    /// The watcher of `fd`, or null when `fd` is not watched (negative or
    /// past watch_limit() included). Lets an owner that watches each of its
    /// objects' descriptors use this table to find them instead of keeping
    /// one of its own.
    Watcher* watcher(int fd) const noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < watchers_.size()
                   ? watchers_[static_cast<std::size_t>(fd)]
                   : nullptr;
    }
    /// Every watched descriptor is below this.
    int watch_limit() const noexcept { return static_cast<int>(watchers_.size()); }

    /// Runs `task` once at `when` (or at the first iteration after it).
    /// Timers due at the same iteration run in deadline order, equal
    /// deadlines in the order they were added. Throws std::bad_alloc.
    TimerId at(Clock::time_point when, std::function<void()> task);
    TimerId after(Clock::duration delay, std::function<void()> task) {
        return at(Clock::now() + delay, std::move(task));
    }
    /// Cancelling an unknown or already fired timer does nothing.
    void cancel(TimerId id) noexcept;

    /// Runs `hook` at the end of every iteration (after I/O, tasks and
    /// timers): where batched writes are flushed.
    void on_iteration_end(std::function<void()> hook);

    /// Queues `task` to run on the loop's thread and wakes the loop. Safe
    /// from any thread. Throws std::bad_alloc.
    void post(std::function<void()> task);

    /// One iteration: waits at most `max_wait` (rounded up to whole
    /// milliseconds; less when a timer is due, not at all when tasks are
    /// queued), dispatches ready descriptors, runs posted tasks, due timers
    /// and the iteration hooks. Returns false once stop() was called.
    /// Exceptions thrown by watchers, tasks, timers and hooks propagate
    /// (the rest of that iteration is skipped); epoll_wait failing otherwise
    /// than by EINTR throws std::system_error.
    bool run_once(Clock::duration max_wait);
    /// Iterates until stop().
    void run();
    /// Makes run() return and run_once() return false. Safe from any thread.
    void stop() noexcept;
    /// Makes a waiting run_once() return after its iteration. Any thread,
    /// and async-signal-safe (one write(2) to an eventfd).
    void wake() noexcept;
    /// True when the last run_once()'s wait was cut short by a signal: a
    /// host that drives the loop gets the chance to act on it.
    bool interrupted() const noexcept { return interrupted_; }
    bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }

    /// True on the thread that last ran the loop (or on any thread before the
    /// loop first ran, unless reserve() was called).
    bool in_loop_thread() const noexcept;
    /// Says the loop is about to be run by some thread: until it first runs,
    /// no thread counts as its own, so work from other threads is posted
    /// instead of racing with the thread that starts it. Any thread.
    void reserve() noexcept { reserved_.store(true, std::memory_order_release); }
    /// Makes the calling thread the loop's own, as if it had run the loop
    /// last. For a host that drives the loop from whichever thread holds it
    /// (one at a time): its operations then act at once and in the order it
    /// made them, instead of some being posted and overtaken by later ones.
    /// Never while another thread runs the loop.
    void adopt_current_thread() noexcept {
        loop_thread_.store(std::this_thread::get_id(), std::memory_order_release);
    }

    /// The epoll descriptor: readable whenever run_once() has work (a watched
    /// descriptor is ready, a task was posted, stop() was called, or a timer
    /// is due) and, after an iteration, not before then. Poll it, never read
    /// it or close it. Valid for the loop's lifetime.
    int poll_fd() const noexcept { return epoll_fd_; }

    /// Becomes readable whenever post() or stop() was called since the last
    /// iteration (poll_fd() covers this and more).
    int wakeup_fd() const noexcept { return wakeup_fd_; }

private:
    static constexpr int k_max_events = 256;

    void run_tasks();
    void run_timers();
    void arm_timer() noexcept;
    Clock::duration time_to_next_timer(Clock::duration max_wait) const;

    int epoll_fd_ = -1;
    bool interrupted_ = false;
    int wakeup_fd_ = -1;
    int timer_fd_ = -1;
    // Indexed by fd; nullptr when not watched. Mapped once big, so its old
    // copies do not stay behind in the heap as it grows (MappedAllocator).
    std::vector<Watcher*, MappedAllocator<Watcher*>> watchers_;
    std::size_t watched_ = 0;
    std::array<epoll_event, k_max_events> events_{};

    std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers_;
    std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;
    TimerId next_timer_ = 1;
    // The deadline the timerfd is armed to; max() when disarmed or expired.
    Clock::time_point armed_ = Clock::time_point::max();
    // Inside run_once(): at() and cancel() leave arming to its end.
    bool dispatching_ = false;
    std::vector<std::function<void()>> iteration_hooks_;

    std::mutex tasks_mutex_;
    std::vector<std::function<void()>> tasks_;
    std::vector<std::function<void()>> running_tasks_;
    std::atomic<bool> tasks_pending_{false};
    std::atomic<bool> stopped_{false};
    std::atomic<std::thread::id> loop_thread_{};
    std::atomic<bool> reserved_{false};
};

} // namespace nexus::io
