// EventLoop on its own: poll_fd() readiness, watchers, timers, posted tasks.
// No sleeps: every wait is a poll() with a bound.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "nexus/io/event_loop.hpp"

namespace {

using nexus::io::EventLoop;
using Clock = EventLoop::Clock;
using namespace std::chrono_literals;

constexpr int k_bound_ms = 5000; // how long a test waits for an event at most

/// Whether `fd` is readable within `timeout_ms` (0: right now).
bool readable_within(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

/// A connected pair of non-blocking stream sockets, closed on destruction.
struct SocketPair {
    std::array<int, 2> fds{-1, -1};
    SocketPair() {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds.data()) != 0) {
            throw std::runtime_error("socketpair");
        }
    }
    ~SocketPair() {
        for (const int fd : fds) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }
    SocketPair(const SocketPair&) = delete;
    SocketPair& operator=(const SocketPair&) = delete;
    void send_byte() const { ASSERT_EQ(::write(fds[1], "x", 1), 1); }
};

/// Records its calls; optionally reads what is there, or runs an action.
class Recorder final : public EventLoop::Watcher {
public:
    explicit Recorder(int fd) : fd_(fd) {}
    void on_ready(int events) override {
        calls.push_back(events);
        if ((events & EventLoop::readable) != 0) {
            std::array<char, 64> buffer{};
            while (::read(fd_, buffer.data(), buffer.size()) > 0) {
            }
        }
        if (action) {
            action();
        }
    }
    std::vector<int> calls;
    std::function<void()> action;

private:
    int fd_;
};

TEST(EventLoop, PollFdIsNotReadableWhenNothingIsDue) {
    EventLoop loop;
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
    SocketPair pair;
    Recorder watcher(pair.fds[0]);
    loop.watch(pair.fds[0], &watcher, EventLoop::readable);
    loop.after(1h, [] {});
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_TRUE(watcher.calls.empty());
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
    loop.unwatch(pair.fds[0]);
}

TEST(EventLoop, PollFdBecomesReadableAfterPostFromAnotherThread) {
    EventLoop loop;
    std::atomic<bool> ran{false};
    std::thread poster([&] { loop.post([&] { ran = true; }); });
    ASSERT_TRUE(readable_within(loop.poll_fd(), k_bound_ms));
    poster.join();
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_TRUE(ran);
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
}

TEST(EventLoop, PollFdBecomesReadableWhenAWatchedSocketHasData) {
    EventLoop loop;
    SocketPair pair;
    Recorder watcher(pair.fds[0]);
    loop.watch(pair.fds[0], &watcher, EventLoop::readable);
    EXPECT_EQ(loop.watched(), 1U);
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
    pair.send_byte();
    ASSERT_TRUE(readable_within(loop.poll_fd(), k_bound_ms));
    EXPECT_TRUE(loop.run_once(0ms));
    ASSERT_EQ(watcher.calls.size(), 1U);
    EXPECT_EQ(watcher.calls[0], EventLoop::readable);
    // Drained by the watcher: level-triggered, so nothing is left.
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
    loop.unwatch(pair.fds[0]);
    EXPECT_EQ(loop.watched(), 0U);
}

TEST(EventLoop, PollFdBecomesReadableWhenATimerIsDue) {
    EventLoop loop;
    bool fired = false;
    const auto deadline = Clock::now() + 20ms;
    loop.at(deadline, [&] { fired = true; });
    // Readable only once due (checked race-free: readiness implies the time).
    const bool early = readable_within(loop.poll_fd(), 0);
    const auto checked = Clock::now();
    if (early) {
        EXPECT_GE(checked, deadline);
    }
    ASSERT_TRUE(readable_within(loop.poll_fd(), k_bound_ms));
    EXPECT_GE(Clock::now(), deadline);
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_TRUE(fired);
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
}

TEST(EventLoop, PollFdFollowsTheEarliestTimer) {
    EventLoop loop;
    loop.after(1h, [] {});
    // An earlier timer re-arms: one long past is due at once.
    const auto past = loop.at(Clock::now() - 1s, [] {});
    ASSERT_TRUE(readable_within(loop.poll_fd(), k_bound_ms));
    // Cancelling it re-arms to the hour: nothing is due any more.
    loop.cancel(past);
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
    // A later timer does not change the earliest deadline.
    loop.after(2h, [] {});
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
}

TEST(EventLoop, TimersFireInDeadlineOrder) {
    EventLoop loop;
    std::vector<int> order;
    const auto now = Clock::now();
    loop.at(now - 1ms, [&] { order.push_back(3); });
    loop.at(now - 3ms, [&] { order.push_back(1); });
    loop.at(now + 1h, [&] { order.push_back(99); });
    loop.at(now - 2ms, [&] { order.push_back(2); });
    loop.at(now - 1ms, [&] { order.push_back(4); }); // same deadline: after the earlier one
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(EventLoop, CancelledTimersDoNotFire) {
    EventLoop loop;
    int fired = 0;
    const auto first = loop.after(0ms, [&] { fired += 1; });
    loop.after(0ms, [&] { fired += 10; });
    const auto third = loop.after(0ms, [&] { fired += 100; });
    loop.cancel(first);
    loop.cancel(third);
    loop.cancel(third); // twice: nothing
    loop.cancel(12345); // unknown: nothing
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_EQ(fired, 10);
}

TEST(EventLoop, TimerCancelledByAnEarlierTimerDoesNotFire) {
    EventLoop loop;
    std::vector<int> order;
    EventLoop::TimerId second = 0;
    loop.at(Clock::now() - 2ms, [&] {
        order.push_back(1);
        loop.cancel(second);
    });
    second = loop.at(Clock::now() - 1ms, [&] { order.push_back(2); });
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_EQ(order, (std::vector<int>{1}));
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
}

TEST(EventLoop, WatcherUnwatchedByAnEarlierHandlerIsNotCalled) {
    EventLoop loop;
    SocketPair a;
    SocketPair b;
    Recorder watcher_a(a.fds[0]);
    Recorder watcher_b(b.fds[0]);
    // Whichever runs first unwatches the other.
    watcher_a.action = [&] { loop.unwatch(b.fds[0]); };
    watcher_b.action = [&] { loop.unwatch(a.fds[0]); };
    loop.watch(a.fds[0], &watcher_a, EventLoop::readable);
    loop.watch(b.fds[0], &watcher_b, EventLoop::readable);
    a.send_byte();
    b.send_byte();
    // Both ready in the same wait, so both are in one batch.
    ASSERT_TRUE(readable_within(a.fds[0], k_bound_ms));
    ASSERT_TRUE(readable_within(b.fds[0], k_bound_ms));
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_EQ(watcher_a.calls.size() + watcher_b.calls.size(), 1U);
    EXPECT_EQ(loop.watched(), 1U);
    loop.unwatch(a.fds[0]);
    loop.unwatch(b.fds[0]);
    EXPECT_EQ(loop.watched(), 0U);
}

TEST(EventLoop, WritableInterestAndModify) {
    EventLoop loop;
    SocketPair pair;
    Recorder watcher(pair.fds[0]);
    loop.watch(pair.fds[0], &watcher, EventLoop::readable | EventLoop::writable);
    ASSERT_TRUE(readable_within(loop.poll_fd(), k_bound_ms));
    EXPECT_TRUE(loop.run_once(0ms));
    ASSERT_EQ(watcher.calls.size(), 1U);
    EXPECT_EQ(watcher.calls[0], EventLoop::writable);
    loop.modify(pair.fds[0], EventLoop::readable);
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_EQ(watcher.calls.size(), 1U);
    loop.unwatch(pair.fds[0]);
    EXPECT_THROW(loop.modify(pair.fds[0], EventLoop::readable), std::system_error);
    EXPECT_THROW(loop.watch(-1, &watcher, EventLoop::readable), std::system_error);
}

TEST(EventLoop, HangUpIsReportedAsFailedAndReadable) {
    EventLoop loop;
    SocketPair pair;
    Recorder watcher(pair.fds[0]);
    loop.watch(pair.fds[0], &watcher, EventLoop::readable);
    ::close(pair.fds[1]);
    pair.fds[1] = -1;
    ASSERT_TRUE(readable_within(loop.poll_fd(), k_bound_ms));
    EXPECT_TRUE(loop.run_once(0ms));
    ASSERT_FALSE(watcher.calls.empty());
    EXPECT_EQ(watcher.calls[0] & EventLoop::readable, EventLoop::readable);
    EXPECT_EQ(watcher.calls[0] & EventLoop::failed, EventLoop::failed);
    loop.unwatch(pair.fds[0]);
}

TEST(EventLoop, WatchesPocoSockets) {
    EventLoop loop;
    Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
    Poco::Net::StreamSocket client(listener.address());
    Poco::Net::StreamSocket accepted = listener.acceptConnection();
    accepted.setBlocking(false);
    Recorder watcher(accepted.impl()->sockfd());
    loop.watch(accepted, &watcher, EventLoop::readable);
    EXPECT_FALSE(readable_within(loop.poll_fd(), 0));
    client.sendBytes("x", 1);
    ASSERT_TRUE(readable_within(loop.poll_fd(), k_bound_ms));
    EXPECT_TRUE(loop.run_once(0ms));
    EXPECT_EQ(watcher.calls.size(), 1U);
    loop.modify(accepted, EventLoop::readable | EventLoop::writable);
    EXPECT_TRUE(loop.run_once(0ms));
    ASSERT_EQ(watcher.calls.size(), 2U);
    EXPECT_EQ(watcher.calls[1], EventLoop::writable);
    loop.unwatch(accepted);
    EXPECT_EQ(loop.watched(), 0U);
    accepted.close();
    loop.unwatch(accepted); // closed: ignored
}

TEST(EventLoop, StopMakesPollFdReadableAndRunOnceReturnFalse) {
    EventLoop loop;
    std::thread stopper([&] { loop.stop(); });
    ASSERT_TRUE(readable_within(loop.poll_fd(), k_bound_ms));
    stopper.join();
    EXPECT_FALSE(loop.run_once(0ms));
    EXPECT_TRUE(loop.stopped());
}

TEST(EventLoop, TasksTimersAndHooksRunInOneIteration) {
    EventLoop loop;
    std::vector<int> order;
    loop.on_iteration_end([&] { order.push_back(3); });
    loop.after(0ms, [&] { order.push_back(2); });
    loop.post([&] { order.push_back(1); });
    EXPECT_TRUE(loop.run_once(1h)); // a task is queued: no wait
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

} // namespace
