// ScheduledIo: readiness is never lost to a racing edge, stale bits are forgotten after EAGAIN,
// shutdown is final, and readers and writers are woken separately.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <weft/runtime/detail/scheduled_io.hpp>

namespace {

using weft::Waker;
using weft::detail::Interest;
using weft::detail::ScheduledIo;
namespace ready = weft::detail::ready;

// A Waker that counts its wakes.
struct Counter {
    std::atomic<int> wakes{0};
    static void clone(void*) noexcept {}
    static void wake(void* p) noexcept { static_cast<Counter*>(p)->wakes.fetch_add(1); }
    static void drop(void*) noexcept {}
    static constexpr Waker::Vtable kVtable{&clone, &wake, &wake, &drop};
    Waker waker() { return Waker(&kVtable, this); }
};

TEST(ScheduledIo, AnEdgeWakesTheWaiterOfItsDirectionOnly) {
    ScheduledIo io(-1);
    Counter reader, writer;
    EXPECT_FALSE(io.poll_ready(Interest::read, reader.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::write, writer.waker()));
    io.set_readiness(ready::kWritable);
    EXPECT_EQ(reader.wakes.load(), 0);
    EXPECT_EQ(writer.wakes.load(), 1);
    io.set_readiness(ready::kReadable);
    EXPECT_EQ(reader.wakes.load(), 1);
    EXPECT_TRUE(io.ready_now(Interest::read));
}

TEST(ScheduledIo, ClearingAfterEagainForgetsStaleHangUpAndErrorBits) {
    // epoll reports HUP for a socket that is not connected yet: if that bit stuck, every read
    // would find the socket "ready", get EAGAIN, and spin.
    ScheduledIo io(-1);
    io.set_readiness(ready::kReadClosed | ready::kWriteClosed | ready::kError | ready::kReadable | ready::kWritable);
    auto ev = io.ready_now(Interest::read);
    ASSERT_TRUE(ev);
    io.clear_readiness(*ev);
    EXPECT_FALSE(io.ready_now(Interest::read));
    auto wev = io.ready_now(Interest::write);  // the write side has its own stale bit...
    ASSERT_TRUE(wev);
    io.clear_readiness(*wev);  // ...forgotten on its own EAGAIN
    EXPECT_FALSE(io.ready_now(Interest::write));
}

TEST(ScheduledIo, AShortTransferForgetsReadinessButNeverAPendingHangUp) {
    ScheduledIo io(-1);
    io.set_readiness(ready::kReadable);
    auto ev = io.ready_now(Interest::read);
    ASSERT_TRUE(ev);
    io.clear_after_short_transfer(*ev);  // drained: the next read waits for the next edge
    EXPECT_FALSE(io.ready_now(Interest::read));

    // The last bytes and the peer's FIN: a short read took the bytes, and the end of stream must
    // still be seen by the next read (its edge will not come again).
    io.set_readiness(ready::kReadable | ready::kReadClosed);
    ev = io.ready_now(Interest::read);
    ASSERT_TRUE(ev);
    io.clear_after_short_transfer(*ev);
    EXPECT_TRUE(io.ready_now(Interest::read));
}

TEST(ScheduledIo, AnEdgeBetweenEagainAndTheClearIsNotLost) {
    ScheduledIo io(-1);
    io.set_readiness(ready::kReadable);
    const auto seen = io.ready_now(Interest::read);
    ASSERT_TRUE(seen);
    io.set_readiness(ready::kReadable);  // new data arrives after our read returned EAGAIN
    io.clear_readiness(*seen);            // our clear is for the older event: skipped
    EXPECT_TRUE(io.ready_now(Interest::read));
}

TEST(ScheduledIo, ShutdownIsFinalAndWakesEveryone) {
    ScheduledIo io(-1);
    Counter reader, writer;
    EXPECT_FALSE(io.poll_ready(Interest::read, reader.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::write, writer.waker()));
    io.shutdown();
    EXPECT_EQ(reader.wakes.load(), 1);
    EXPECT_EQ(writer.wakes.load(), 1);
    auto ev = io.ready_now(Interest::read);
    ASSERT_TRUE(ev);
    io.clear_readiness(*ev);
    EXPECT_TRUE(io.is_shutdown());
    EXPECT_TRUE(io.ready_now(Interest::read));
}

TEST(ScheduledIo, AWaiterRacingTheReactorIsAlwaysWokenOrSeesTheEdge) {
    // The reactor sets readiness while a waiter registers: either the waiter's second look
    // sees the bit, or the reactor finds the waker. Never neither.
    for (int round = 0; round < 20'000; ++round) {
        ScheduledIo io(-1);
        Counter waiter;
        std::thread reactor([&] { io.set_readiness(ready::kReadable); });
        const bool saw = io.poll_ready(Interest::read, waiter.waker()).has_value();
        reactor.join();
        ASSERT_TRUE(saw || waiter.wakes.load() == 1) << "round " << round;
    }
}

}  // namespace
