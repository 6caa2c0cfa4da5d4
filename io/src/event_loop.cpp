#include "nexus/io/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <Poco/Net/StreamSocketImpl.h>

namespace nexus::io {

EventLoop::EventLoop() {
    wakeup_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeup_fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    // PollSet takes Poco sockets only; a StreamSocketImpl around the eventfd
    // is just a descriptor holder for it (and closes the fd when dropped).
    wakeup_socket_ = Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(wakeup_fd_));
    poll_set_.add(wakeup_socket_, Poco::Net::PollSet::POLL_READ);
}

EventLoop::~EventLoop() {
    poll_set_.clear();
}

void EventLoop::watch(const Poco::Net::Socket& socket, Watcher* watcher, int interest) {
    const int fd = socket.impl()->sockfd();
    watchers_[fd] = {socket, watcher};
    poll_set_.add(socket, interest | Poco::Net::PollSet::POLL_ERROR);
}

void EventLoop::modify(const Poco::Net::Socket& socket, int interest) {
    poll_set_.update(socket, interest | Poco::Net::PollSet::POLL_ERROR);
}

void EventLoop::unwatch(const Poco::Net::Socket& socket) {
    poll_set_.remove(socket);
    watchers_.erase(socket.impl()->sockfd());
}

EventLoop::TimerId EventLoop::at(Clock::time_point when, std::function<void()> task) {
    const TimerId id = next_timer_++;
    timers_.emplace(std::make_pair(when, id), std::move(task));
    timer_deadlines_.emplace(id, when);
    return id;
}

void EventLoop::cancel(TimerId id) noexcept {
    const auto it = timer_deadlines_.find(id);
    if (it == timer_deadlines_.end()) {
        return;
    }
    timers_.erase(std::make_pair(it->second, id));
    timer_deadlines_.erase(it);
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
    return owner == std::thread::id{} || owner == std::this_thread::get_id();
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
    const auto wait = time_to_next_timer(max_wait);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
    // Round up so a timer due in 300 µs does not become a busy 0 ms wait.
    const Poco::Timespan timeout(micros > 0 && micros < 1000 ? 1000 : micros);
    const Poco::Net::PollSet::SocketModeMap ready = poll_set_.poll(timeout);
    for (const auto& [socket, events] : ready) {
        const int fd = socket.impl()->sockfd();
        if (fd == wakeup_fd_) {
            std::uint64_t count = 0;
            [[maybe_unused]] const auto n = ::read(wakeup_fd_, &count, sizeof count);
            continue;
        }
        // Look up each time: an earlier handler may have closed this socket.
        const auto it = watchers_.find(fd);
        if (it != watchers_.end()) {
            it->second.second->on_ready(events);
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
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
        auto node = timers_.extract(timers_.begin());
        timer_deadlines_.erase(node.key().second);
        node.mapped()();
    }
}

} // namespace nexus::io
