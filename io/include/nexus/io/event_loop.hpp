// One event loop: non-blocking sockets on Poco's PollSet (epoll on Linux),
// timers, and tasks posted from other threads.
//
// We drive PollSet ourselves instead of using Poco's SocketReactor (1.11
// spins a core when a write handler is removed while a read handler stays,
// and its stop() cannot interrupt a wait); interest is updated explicitly and
// an eventfd wakes the wait.
//
// Threading: everything but post() and stop() must be called on the thread
// that runs the loop (run()/run_once()), or before the loop first runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <Poco/Net/PollSet.h>
#include <Poco/Net/StreamSocket.h>

namespace nexus::io {

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    using TimerId = std::uint64_t;

    /// Readiness bits given to a Watcher.
    enum Interest : int {
        readable = Poco::Net::PollSet::POLL_READ,
        writable = Poco::Net::PollSet::POLL_WRITE,
        failed = Poco::Net::PollSet::POLL_ERROR,
    };

    /// Reacts to the readiness of one socket, on the loop's thread.
    class Watcher {
    public:
        virtual void on_ready(int events) = 0;

    protected:
        ~Watcher() = default;
    };

    /// Throws Poco::Exception (or std::system_error) when the kernel refuses
    /// the poll set or the wakeup descriptor.
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Starts watching `socket` for `interest` (readable/writable bits);
    /// errors and hang-ups are always reported. `watcher` must outlive the
    /// registration (call unwatch() before destroying it).
    void watch(const Poco::Net::Socket& socket, Watcher* watcher, int interest);
    void modify(const Poco::Net::Socket& socket, int interest);
    void unwatch(const Poco::Net::Socket& socket);
    std::size_t watched() const noexcept { return watchers_.size(); }

    /// Runs `task` once at `when` (or at the first iteration after it).
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

    /// One iteration: waits at most `max_wait` (less when a timer is due, not
    /// at all when tasks are queued), then dispatches. Returns false once
    /// stop() was called.
    bool run_once(Clock::duration max_wait);
    /// Iterates until stop().
    void run();
    /// Makes run() return and run_once() return false. Safe from any thread.
    void stop() noexcept;
    bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }

    /// True on the thread that last ran the loop (or on any thread before the
    /// loop first ran).
    bool in_loop_thread() const noexcept;

    /// Becomes readable whenever post() or stop() was called since the last
    /// iteration; lets another event loop wait on this one.
    int wakeup_fd() const noexcept { return wakeup_fd_; }

private:
    void wake() noexcept;
    void run_tasks();
    void run_timers();
    Clock::duration time_to_next_timer(Clock::duration max_wait) const;

    Poco::Net::PollSet poll_set_;
    std::unordered_map<int, std::pair<Poco::Net::Socket, Watcher*>> watchers_;
    int wakeup_fd_ = -1;
    Poco::Net::StreamSocket wakeup_socket_;

    std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers_;
    std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;
    TimerId next_timer_ = 1;
    std::vector<std::function<void()>> iteration_hooks_;

    std::mutex tasks_mutex_;
    std::vector<std::function<void()>> tasks_;
    std::vector<std::function<void()>> running_tasks_;
    std::atomic<bool> tasks_pending_{false};
    std::atomic<bool> stopped_{false};
    std::atomic<std::thread::id> loop_thread_{};
};

} // namespace nexus::io
