// weft::signal: deliveries raised at this process reach every listener (on every runtime flavour,
// and on two runtimes at once), coalesced but never lost; ctrl_c() catches SIGINT.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/signal.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::signal::unix::Signal;

class SignalTest : public weft::test::AllRuntimes {};

// True if a delivery arrives within a generous bound (a lost one fails here instead of hanging).
Task<bool> received(Signal& s) {
    auto r = co_await weft::timeout(10s, s.recv());
    co_return static_cast<bool>(r);
}

TEST_P(SignalTest, EveryListenerOfASignalReceivesEachDelivery) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Signal a = weft::signal::unix::signal(SIGUSR1);
        Signal b = weft::signal::unix::signal(SIGUSR1);
        JoinHandle<bool> ha = weft::spawn(received(a));
        JoinHandle<bool> hb = weft::spawn(received(b));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        EXPECT_EQ(::kill(::getpid(), SIGUSR1), 0);
        EXPECT_TRUE(co_await ha);
        EXPECT_TRUE(co_await hb);
        // And the next delivery too: each recv waits for a new one.
        JoinHandle<bool> again = weft::spawn(received(a));
        co_await weft::sleep(5ms);
        EXPECT_EQ(::kill(::getpid(), SIGUSR1), 0);
        EXPECT_TRUE(co_await again);
        EXPECT_TRUE(co_await received(b));  // delivered while nobody waited on b: kept for its recv
    }());
}

TEST_P(SignalTest, DeliveriesBeforeRecvAreCoalescedButNotLost) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Signal s = weft::signal::unix::signal(SIGUSR2);
        for (int i = 0; i < 3; ++i) EXPECT_EQ(::raise(SIGUSR2), 0);
        EXPECT_TRUE(co_await received(s));
        // The dispatcher may have fanned the three out in one pass or several: at most three in
        // all, and then nothing more.
        int extra = 0;
        for (;;) {
            auto r = co_await weft::timeout(50ms, s.recv());
            if (r.timed_out()) break;
            ++extra;
        }
        EXPECT_LE(extra, 2);
    }());
}

TEST_P(SignalTest, CtrlCCatchesSigintAndTheProcessLives) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        weft::signal::CtrlC ctrl_c = weft::signal::ctrl_c();  // listening from here on
        EXPECT_EQ(::raise(SIGINT), 0);
        auto r = co_await weft::timeout(10s, ctrl_c);
        EXPECT_TRUE(r);
    }());
}

TEST_P(SignalTest, ASignalRacesInSelect) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Signal term = weft::signal::unix::signal(SIGTERM);
        auto idle = co_await weft::select(term.recv(), weft::sleep(10ms));
        EXPECT_EQ(idle.index(), 1u);
        EXPECT_EQ(::kill(::getpid(), SIGTERM), 0);  // no longer fatal: weft handles SIGTERM now
        auto r = co_await weft::select(term.recv(), weft::sleep(10s));
        EXPECT_EQ(r.index(), 0u);
    }());
}

TEST_P(SignalTest, DroppingOneListenerLeavesTheOthersListening) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Signal kept = weft::signal::unix::signal(SIGHUP);
        { Signal dropped = weft::signal::unix::signal(SIGHUP); }
        EXPECT_EQ(::raise(SIGHUP), 0);
        EXPECT_TRUE(co_await received(kept));
    }());
}

TEST_P(SignalTest, SignalsThatCannotBeCaughtAreRefused) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        EXPECT_THROW(weft::signal::unix::signal(SIGKILL), std::invalid_argument);
        EXPECT_THROW(weft::signal::unix::signal(SIGSEGV), std::invalid_argument);
        EXPECT_THROW(weft::signal::unix::signal(0), std::invalid_argument);
        EXPECT_THROW(weft::signal::unix::signal(NSIG), std::invalid_argument);
        co_return;
    }());
}

TEST_P(SignalTest, ListenersOnTwoRuntimesBothReceive) {
    auto first = make_runtime();
    auto second = make_runtime();
    std::atomic<int> listening{0};
    auto listen = [&listening](weft::Runtime& rt) {
        return rt.block_on([](std::atomic<int>& listening) -> Task<bool> {
            Signal s = weft::signal::unix::signal(SIGUSR1);
            listening.fetch_add(1);
            co_return co_await received(s);
        }(listening));
    };
    bool got_first = false, got_second = false;
    std::thread t1([&] { got_first = listen(*first); });
    std::thread t2([&] { got_second = listen(*second); });
    while (listening.load() < 2) std::this_thread::yield();
    EXPECT_EQ(::kill(::getpid(), SIGUSR1), 0);
    t1.join();
    t2.join();
    EXPECT_TRUE(got_first);
    EXPECT_TRUE(got_second);
}

TEST(SignalShutdown, ASignalWhoseRuntimeShutDownFailsToReceive) {
    auto rt = std::make_unique<weft::Runtime>();
    Signal s = rt->block_on([]() -> Task<Signal> { co_return weft::signal::unix::signal(SIGUSR2); }());
    rt.reset();
    weft::Runtime other;
    EXPECT_THROW(other.block_on([](Signal& s) -> Task<void> { co_await s.recv(); }(s)), weft::RuntimeShutdownError);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(SignalTest);

}  // namespace
