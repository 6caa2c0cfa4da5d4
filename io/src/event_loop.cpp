#include "nexus/io/event_loop.hpp"

#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <span>
#include <system_error>

namespace nexus::io {

namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

/// Registers `fd` in `epoll_fd` for reading, with the fd as its key.
void add_internal(int epoll_fd, int fd, const char* what) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        throw_errno(what);
    }
}

/// Interest bits to epoll's: the half-close comes with readable interest
/// (errors and hang-ups are always reported).
std::uint32_t to_epoll(int interest) noexcept {
    auto events = static_cast<std::uint32_t>(interest) & (EPOLLIN | EPOLLOUT);
    if ((events & EPOLLIN) != 0) {
        events |= EPOLLRDHUP;
    }
    return events;
}

/// epoll's bits to a Watcher's: any error or hang-up is `failed` plus
/// `readable`, so the watcher reads and meets the EOF or the error.
int to_ready(std::uint32_t events) noexcept {
    int ready = static_cast<int>(events & (EPOLLIN | EPOLLOUT));
    if ((events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0) {
        ready |= EventLoop::failed | EventLoop::readable;
    }
    return ready;
}

/// Whole milliseconds for epoll_wait, rounded up so a timer due in 300 µs
/// does not become a busy 0 ms wait.
int to_timeout_ms(EventLoop::Clock::duration wait) noexcept {
    if (wait <= EventLoop::Clock::duration::zero()) {
        return 0;
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

/// Reads an eventfd or timerfd counter, leaving it unreadable. Returns the
/// count, 0 when there was none (EAGAIN).
std::uint64_t drain(int fd) noexcept {
    std::uint64_t count = 0;
    if (::read(fd, &count, sizeof count) != static_cast<ssize_t>(sizeof count)) {
        return 0;
    }
    return count;
}

} // namespace

EventLoop::EventLoop() {
    try {
        epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) {
            throw_errno("epoll_create1");
        }
        wakeup_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wakeup_fd_ < 0) {
            throw_errno("eventfd");
        }
        // CLOCK_MONOTONIC is steady_clock's clock (libstdc++ and libc++ on
        // Linux), so deadlines arm it as they are.
        timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (timer_fd_ < 0) {
            throw_errno("timerfd_create");
        }
        add_internal(epoll_fd_, wakeup_fd_, "epoll_ctl(eventfd)");
        add_internal(epoll_fd_, timer_fd_, "epoll_ctl(timerfd)");
    } catch (...) {
        for (const int fd : {timer_fd_, wakeup_fd_, epoll_fd_}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
        throw;
    }
}

EventLoop::~EventLoop() {
    ::close(timer_fd_);
    ::close(wakeup_fd_);
    ::close(epoll_fd_);
}

void EventLoop::watch(int fd, Watcher* watcher, int interest) {
    if (fd < 0) {
        throw std::system_error(EBADF, std::generic_category(), "watch");
    }
    const auto index = static_cast<std::size_t>(fd);
    if (index >= watchers_.size()) {
        watchers_.resize(index + 1, nullptr); // amortised: capacity grows geometrically
    }
    epoll_event event{};
    event.events = to_epoll(interest);
    event.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
        // Still registered: a re-watch, or an fd closed without unwatch()
        // and reused while another descriptor keeps the old file open.
        if (errno != EEXIST || ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0) {
            throw_errno("epoll_ctl(add)");
        }
    }
    if (watchers_[index] == nullptr) {
        ++watched_;
    }
    watchers_[index] = watcher;
}

void EventLoop::modify(int fd, int interest) {
    epoll_event event{};
    event.events = to_epoll(interest);
    event.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0) {
        throw_errno("epoll_ctl(mod)");
    }
}

void EventLoop::unwatch(int fd) noexcept {
    if (fd < 0) {
        return;
    }
    const auto index = static_cast<std::size_t>(fd);
    if (index >= watchers_.size() || watchers_[index] == nullptr) {
        return;
    }
    // Fails only when the fd was closed already, which removed it.
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    watchers_[index] = nullptr;
    --watched_;
}

void EventLoop::watch(const Poco::Net::Socket& socket, Watcher* watcher, int interest) {
    watch(socket.impl()->sockfd(), watcher, interest);
}

void EventLoop::modify(const Poco::Net::Socket& socket, int interest) {
    modify(socket.impl()->sockfd(), interest);
}

void EventLoop::unwatch(const Poco::Net::Socket& socket) noexcept {
    unwatch(socket.impl()->sockfd());
}

EventLoop::TimerId EventLoop::at(Clock::time_point when, std::function<void()> task) {
    const TimerId id = next_timer_++;
    timer_deadlines_.emplace(id, when);
    try {
        timers_.emplace(std::make_pair(when, id), std::move(task));
    } catch (...) {
        timer_deadlines_.erase(id);
        throw;
    }
    if (!dispatching_) {
        arm_timer();
    }
    return id;
}

void EventLoop::cancel(TimerId id) noexcept {
    const auto it = timer_deadlines_.find(id);
    if (it == timer_deadlines_.end()) {
        return;
    }
    timers_.erase(std::make_pair(it->second, id));
    timer_deadlines_.erase(it);
    if (!dispatching_) {
        arm_timer();
    }
}

void EventLoop::arm_timer() noexcept {
    const Clock::time_point next =
        timers_.empty() ? Clock::time_point::max() : timers_.begin()->first.first;
    if (next == armed_) {
        return; // the common path: the earliest deadline did not change
    }
    itimerspec spec{}; // all zero disarms
    if (next != Clock::time_point::max()) {
        const auto since = next.time_since_epoch();
        if (since <= Clock::duration::zero()) {
            spec.it_value.tv_nsec = 1; // long past; zero would disarm
        } else {
            const auto seconds = std::chrono::floor<std::chrono::seconds>(since);
            spec.it_value.tv_sec = static_cast<std::time_t>(seconds.count());
            spec.it_value.tv_nsec = static_cast<long>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds).count());
        }
    }
    // Fails only on arguments we never pass (a bad fd, tv_nsec out of range).
    // Re-arming also clears an expiry not read yet.
    if (::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr) == 0) {
        armed_ = next;
    }
}

void EventLoop::on_iteration_end(std::function<void()> hook) {
    iteration_hooks_.push_back(std::move(hook));
}

void EventLoop::post(std::function<void()> task) {
    {
        const std::lock_guard lock(tasks_mutex_);
        tasks_.push_back(std::move(task));
    }
    if (!tasks_pending_.exchange(true, std::memory_order_acq_rel)) {
        wake();
    }
}

void EventLoop::stop() noexcept {
    stopped_.store(true, std::memory_order_release);
    wake();
}

bool EventLoop::in_loop_thread() const noexcept {
    const std::thread::id owner = loop_thread_.load(std::memory_order_acquire);
    if (owner == std::thread::id{}) {
        return !reserved_.load(std::memory_order_acquire);
    }
    return owner == std::this_thread::get_id();
}

void EventLoop::wake() noexcept {
    const std::uint64_t one = 1;
    // A full counter (never in practice) still leaves the fd readable.
    [[maybe_unused]] const auto n = ::write(wakeup_fd_, &one, sizeof one);
}

EventLoop::Clock::duration EventLoop::time_to_next_timer(Clock::duration max_wait) const {
    if (tasks_pending_.load(std::memory_order_acquire)) {
        return Clock::duration::zero();
    }
    if (timers_.empty()) {
        return max_wait;
    }
    const auto until = timers_.begin()->first.first - Clock::now();
    if (until <= Clock::duration::zero()) {
        return Clock::duration::zero();
    }
    return until < max_wait ? until : max_wait;
}

bool EventLoop::run_once(Clock::duration max_wait) {
    loop_thread_.store(std::this_thread::get_id(), std::memory_order_release);
    if (stopped()) {
        return false;
    }
    // Timers added or cancelled during the iteration arm the timerfd once, at
    // its end (also when a handler throws), before anyone can poll again.
    struct ArmAtEnd {
        EventLoop& loop;
        explicit ArmAtEnd(EventLoop& l) noexcept : loop(l) { loop.dispatching_ = true; }
        ~ArmAtEnd() {
            loop.dispatching_ = false;
            loop.arm_timer();
        }
        ArmAtEnd(const ArmAtEnd&) = delete;
        ArmAtEnd& operator=(const ArmAtEnd&) = delete;
    };
    const ArmAtEnd arm_at_end(*this);

    int count = ::epoll_wait(epoll_fd_, events_.data(), k_max_events,
                             to_timeout_ms(time_to_next_timer(max_wait)));
    interrupted_ = false;
    if (count < 0) {
        if (errno != EINTR) {
            throw_errno("epoll_wait");
        }
        count = 0; // a signal: still run tasks, timers and hooks
        interrupted_ = true;
    }
    for (const epoll_event& event : std::span(events_.data(), static_cast<std::size_t>(count))) {
        const int fd = event.data.fd;
        if (fd == wakeup_fd_) {
            drain(wakeup_fd_);
        } else if (fd == timer_fd_) {
            if (drain(timer_fd_) != 0) {
                armed_ = Clock::time_point::max(); // one-shot: it is disarmed now
            }
        } else if (const auto index = static_cast<std::size_t>(fd); index < watchers_.size()) {
            // Look up each time: an earlier handler may have unwatched it.
            if (Watcher* watcher = watchers_[index]; watcher != nullptr) {
                watcher->on_ready(to_ready(event.events));
            }
        }
    }
    run_tasks();
    run_timers();
    for (auto& hook : iteration_hooks_) {
        hook();
    }
    return !stopped();
}

void EventLoop::run() {
    while (run_once(std::chrono::seconds(1))) {
    }
}

void EventLoop::run_tasks() {
    if (!tasks_pending_.load(std::memory_order_acquire)) {
        return;
    }
    {
        const std::lock_guard lock(tasks_mutex_);
        running_tasks_.swap(tasks_);
        tasks_pending_.store(false, std::memory_order_release);
    }
    for (auto& task : running_tasks_) {
        task();
    }
    running_tasks_.clear();
}

void EventLoop::run_timers() {
    if (timers_.empty()) {
        return;
    }
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
        auto node = timers_.extract(timers_.begin());
        timer_deadlines_.erase(node.key().second);
        node.mapped()();
    }
}

} // namespace nexus::io
