// ScheduledIo: readiness is never lost to a racing edge, stale bits are forgotten after EAGAIN,
// shutdown is final, readers and writers are woken separately, and every waiter of a direction is
// woken (several accepts on one listener).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <weft/runtime/detail/scheduled_io.hpp>

namespace {

using weft::Waker;
using weft::detail::Interest;
using weft::detail::IoWaiter;
using weft::detail::ScheduledIo;
namespace ready = weft::detail::ready;

// A Waker that counts its wakes, and the wait node a task's awaiter would own.
struct Counter {
    std::atomic<int> wakes{0};
    IoWaiter node;
    static void clone(void*) noexcept {}
    static void wake(void* p) noexcept { static_cast<Counter*>(p)->wakes.fetch_add(1); }
    static void drop(void*) noexcept {}
    static constexpr Waker::Vtable kVtable{&clone, &wake, &wake, &drop};
    Waker waker() { return Waker(&kVtable, this); }
};

TEST(ScheduledIo, AnEdgeWakesTheWaiterOfItsDirectionOnly) {
    ScheduledIo io(-1);
    Counter reader, writer;
    EXPECT_FALSE(io.poll_ready(Interest::read, reader.node, reader.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::write, writer.node, writer.waker()));
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
    EXPECT_FALSE(io.poll_ready(Interest::read, reader.node, reader.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::write, writer.node, writer.waker()));
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
        const bool saw = io.poll_ready(Interest::read, waiter.node, waiter.waker()).has_value();
        reactor.join();
        ASSERT_TRUE(saw || waiter.wakes.load() == 1) << "round " << round;
    }
}

TEST(ScheduledIo, EveryWaiterOfADirectionIsWokenNotJustTheLastToRegister) {
    // Three tasks awaiting accept() on one listener: each must hear the edge. (One waker slot
    // per direction let each new waiter replace the last, and the earlier ones hung.)
    ScheduledIo io(-1);
    Counter a, b, c, writer;
    EXPECT_FALSE(io.poll_ready(Interest::read, a.node, a.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::read, b.node, b.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::read, c.node, c.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::write, writer.node, writer.waker()));
    EXPECT_EQ(io.waiters(), 4u);
    io.set_readiness(ready::kReadable);
    EXPECT_EQ(a.wakes.load(), 1);
    EXPECT_EQ(b.wakes.load(), 1);
    EXPECT_EQ(c.wakes.load(), 1);
    EXPECT_EQ(writer.wakes.load(), 0);
    EXPECT_EQ(io.waiters(), 1u);  // the woken were unlinked; the writer still waits
    EXPECT_FALSE(a.node.linked.load());
    io.set_readiness(ready::kReadable);  // nobody waits on reads now: no second wake
    EXPECT_EQ(a.wakes.load(), 1);
}

TEST(ScheduledIo, PollingAgainWithTheSameNodeDoesNotLinkItTwice) {
    ScheduledIo io(-1);
    Counter a;
    EXPECT_FALSE(io.poll_ready(Interest::read, a.node, a.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::read, a.node, a.waker()));  // a spurious wake, a re-poll
    EXPECT_EQ(io.waiters(), 1u);
    io.set_readiness(ready::kReadable);
    EXPECT_EQ(a.wakes.load(), 1);
    EXPECT_EQ(io.waiters(), 0u);
}

TEST(ScheduledIo, ARemovedWaiterIsNotWokenAndTheOthersStillAre) {
    ScheduledIo io(-1);
    Counter a, b, c;
    EXPECT_FALSE(io.poll_ready(Interest::read, a.node, a.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::read, b.node, b.waker()));
    EXPECT_FALSE(io.poll_ready(Interest::read, c.node, c.waker()));
    io.remove_waiter(b.node);  // the middle one: its task was cancelled
    io.remove_waiter(b.node);  // idempotent
    EXPECT_EQ(io.waiters(), 2u);
    io.set_readiness(ready::kReadable);
    EXPECT_EQ(a.wakes.load(), 1);
    EXPECT_EQ(b.wakes.load(), 0);
    EXPECT_EQ(c.wakes.load(), 1);
    io.remove_waiter(a.node);  // already unlinked by the edge: a no-op
    EXPECT_EQ(io.waiters(), 0u);
}

TEST(ScheduledIo, MoreWaitersThanOneWakeBatchAreAllWokenOnce) {
    ScheduledIo io(-1);
    std::vector<std::unique_ptr<Counter>> waiters;
    for (int i = 0; i < 100; ++i) {
        waiters.push_back(std::make_unique<Counter>());
        Counter& w = *waiters.back();
        // Interleave the directions so a batch boundary falls among skipped nodes.
        EXPECT_FALSE(io.poll_ready(i % 3 == 0 ? Interest::write : Interest::read, w.node, w.waker()));
    }
    io.set_readiness(ready::kReadable);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(waiters[i]->wakes.load(), i % 3 == 0 ? 0 : 1) << i;
    io.shutdown();  // wakes the writers too
    for (int i = 0; i < 100; ++i) EXPECT_EQ(waiters[i]->wakes.load(), 1) << i;
    EXPECT_EQ(io.waiters(), 0u);
}

TEST(ScheduledIo, AWaiterRemovedWhileTheReactorWakesIsWokenAtMostOnceAndFreedSafely) {
    // The owner of a node cancels (remove_waiter, then frees the node) while the reactor's edge
    // unlinks it: whichever wins, the node is never touched after it is freed (TSan, ASan).
    for (int round = 0; round < 5'000; ++round) {
        ScheduledIo io(-1);
        auto a = std::make_unique<Counter>();
        Counter b;
        ASSERT_FALSE(io.poll_ready(Interest::read, a->node, a->waker()));
        ASSERT_FALSE(io.poll_ready(Interest::read, b.node, b.waker()));
        std::thread reactor([&] { io.set_readiness(ready::kReadable); });
        io.remove_waiter(a->node);
        ASSERT_LE(a->wakes.load(), 1);
        a.reset();
        reactor.join();
        ASSERT_EQ(b.wakes.load(), 1) << "round " << round;
        ASSERT_EQ(io.waiters(), 0u);
    }
}

}  // namespace
