// RwLock<T>: readers share, writers exclude, one FIFO line (a queued writer blocks later readers),
// cancelled waits (abort, timeout, select) that pass on what they were given, owned and mapped
// guards, downgrade, max_readers, and a stress run with aborts on two workers.
//
// Tests that depend on which task reached its wait first run on the single-threaded flavours
// (RwLockOrder); the rest run on every flavour.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <weft/channels/rwlock.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::OwnedRwLockReadGuard;
using weft::OwnedRwLockWriteGuard;
using weft::RwLock;
using weft::RwLockReadGuard;
using weft::RwLockWriteGuard;
using weft::Task;
using weft::test::settle;
using weft::test::was_aborted;

class RwLockTest : public weft::test::AllRuntimes {};
class RwLockOrder : public weft::test::AllRuntimes {};

struct Pair {
    int a = 0;
    std::string b;
};

// Raises `max` to at least `now`.
void raise_max(std::atomic<long>& max, long now) {
    long seen = max.load();
    while (now > seen && !max.compare_exchange_weak(seen, now)) {
    }
}

// ---- without a runtime ----------------------------------------------------------------------------

TEST(RwLockBasics, TheValueIsBuiltInPlaceAndGuardsGiveAccessToIt) {
    RwLock<std::unique_ptr<std::string>> lock(std::make_unique<std::string>("in place"));  // move-only T
    {
        auto w = lock.try_write();
        ASSERT_TRUE(w.has_value());
        (*w)->get()->append("!");
    }
    auto r = lock.try_read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(**r.value(), "in place!");
    EXPECT_EQ(lock.max_readers(), RwLock<int>::kMaxReaders);
}

TEST(RwLockBasics, ReadersShareAndAWriterExcludesEveryone) {
    RwLock<int> lock(7);
    {
        auto r1 = lock.try_read();
        auto r2 = lock.try_read();
        ASSERT_TRUE(r1 && r2);
        EXPECT_EQ(**r1 + **r2, 14);
        EXPECT_FALSE(lock.try_write());  // readers hold it
        auto moved = std::move(*r1);     // the read lock travels with the guard
        r1.reset();
        r2.reset();
        EXPECT_FALSE(lock.try_write());
    }
    auto w = lock.try_write();
    ASSERT_TRUE(w);
    EXPECT_FALSE(lock.try_read());
    EXPECT_FALSE(lock.try_write());
    **w = 8;
    w.reset();
    EXPECT_EQ(**lock.try_read(), 8);
}

TEST(RwLockBasics, MaxReadersBoundsConcurrentReadersAndIsChecked) {
    auto lock = RwLock<int>::with_max_readers(2, 5);
    EXPECT_EQ(lock.max_readers(), 2u);
    auto r1 = lock.try_read();
    auto r2 = lock.try_read();
    ASSERT_TRUE(r1 && r2);
    EXPECT_FALSE(lock.try_read());  // a third reader would exceed max_readers
    r1.reset();
    EXPECT_TRUE(lock.try_read());

    RwLock<int> tagged(weft::RwLockMaxReaders{3}, 1);
    EXPECT_EQ(tagged.max_readers(), 3u);
    EXPECT_THROW((void)RwLock<int>(weft::RwLockMaxReaders{0}), std::invalid_argument);
    EXPECT_THROW((void)RwLock<int>(weft::RwLockMaxReaders{RwLock<int>::kMaxReaders + 1}), std::invalid_argument);
    EXPECT_THROW((void)RwLock<int>::with_max_readers(0, 1), std::invalid_argument);
}

TEST(RwLockBasics, GetMutAndIntoInnerReachTheValueWithoutLocking) {
    RwLock<std::vector<int>> lock(std::vector<int>{1, 2});
    lock.get_mut().push_back(3);
    std::vector<int> out = std::move(lock).into_inner();
    EXPECT_EQ(out, (std::vector<int>{1, 2, 3}));
}

TEST(RwLockBasics, MappedGuardsKeepTheLockAndGiveAccessToAPart) {
    RwLock<Pair> lock(Pair{1, "one"});
    {
        RwLockWriteGuard<Pair> w = std::move(*lock.try_write());
        auto b = RwLockWriteGuard<Pair>::map(std::move(w), [](Pair& p) -> std::string& { return p.b; });
        *b += "!";
        EXPECT_FALSE(lock.try_read());  // still write-locked through the mapped guard
        auto deeper = weft::RwLockMappedWriteGuard<std::string>::map(std::move(b), [](std::string& s) -> char& { return s[0]; });
        *deeper = 'O';
        EXPECT_FALSE(lock.try_read());
    }
    RwLockReadGuard<Pair> r = std::move(*lock.try_read());
    RwLockReadGuard<std::string> b = RwLockReadGuard<Pair>::map(std::move(r), [](const Pair& p) -> const std::string& { return p.b; });
    EXPECT_EQ(*b, "One!");
    EXPECT_EQ(b->size(), 4u);
    EXPECT_FALSE(lock.try_write());  // the mapped read guard still holds the read lock
    EXPECT_TRUE(lock.try_read());
}

TEST(RwLockBasics, AMapThatThrowsReleasesTheLock) {
    RwLock<Pair> lock;
    EXPECT_THROW((void)RwLockWriteGuard<Pair>::map(std::move(*lock.try_write()),
                                                   [](Pair&) -> int& { throw std::runtime_error("no part"); }),
                 std::runtime_error);
    EXPECT_TRUE(lock.try_write());
    EXPECT_THROW((void)RwLockReadGuard<Pair>::map(std::move(*lock.try_read()),
                                                  [](const Pair&) -> const int& { throw std::runtime_error("no part"); }),
                 std::runtime_error);
    EXPECT_TRUE(lock.try_write());
}

TEST(RwLockBasics, DowngradeKeepsAReadLockAndLetsOtherReadersIn) {
    RwLock<int> lock(1);
    RwLockWriteGuard<int> w = std::move(*lock.try_write());
    *w = 2;
    RwLockReadGuard<int> r = RwLockWriteGuard<int>::downgrade(std::move(w));
    EXPECT_EQ(*r, 2);
    EXPECT_FALSE(lock.try_write());
    auto other = lock.try_read();
    ASSERT_TRUE(other);
    EXPECT_EQ(**other, 2);
    other.reset();
    { auto gone = std::move(r); }
    EXPECT_TRUE(lock.try_write());
}

TEST(RwLockBasics, OwnedGuardsKeepTheLockAlive) {
    auto lock = std::make_shared<RwLock<std::string>>("owned");
    std::weak_ptr<RwLock<std::string>> weak = lock;
    std::optional<OwnedRwLockWriteGuard<std::string>> w = RwLock<std::string>::try_write_owned(lock);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->rwlock(), lock);
    EXPECT_FALSE(RwLock<std::string>::try_read_owned(lock));
    lock.reset();
    EXPECT_FALSE(weak.expired());  // the guard holds it
    **w += "!";
    OwnedRwLockReadGuard<std::string> r = OwnedRwLockWriteGuard<std::string>::downgrade(std::move(*w));
    w.reset();
    EXPECT_EQ(*r, "owned!");
    auto first = OwnedRwLockReadGuard<std::string>::map(std::move(r), [](const std::string& s) -> const char& { return s[0]; });
    EXPECT_EQ(*first, 'o');
    EXPECT_FALSE(weak.expired());
    auto again = RwLock<std::string>::try_read_owned(first.rwlock());  // readers share
    ASSERT_TRUE(again);
    EXPECT_FALSE(RwLock<std::string>::try_write_owned(first.rwlock()));
    { auto gone = std::move(first); }
    again.reset();
    EXPECT_TRUE(weak.expired());  // the last guard released the lock, then the lock itself
    EXPECT_THROW((void)RwLock<int>::try_write_owned(nullptr), std::invalid_argument);
    EXPECT_THROW((void)RwLock<int>::read_owned(nullptr), std::invalid_argument);
}

TEST(RwLockBasics, OwnedMappedWriteGuardsKeepTheLockAlive) {
    auto lock = std::make_shared<RwLock<Pair>>(Pair{3, "x"});
    std::weak_ptr<RwLock<Pair>> weak = lock;
    auto w = std::move(*RwLock<Pair>::try_write_owned(std::move(lock)));
    auto a = OwnedRwLockWriteGuard<Pair>::map(std::move(w), [](Pair& p) -> int& { return p.a; });
    *a = 4;
    EXPECT_FALSE(RwLock<Pair>::try_read_owned(a.rwlock()));
    auto reassigned = std::move(a);  // guard moves keep one reference, one lock
    EXPECT_FALSE(weak.expired());
    { auto gone = std::move(reassigned); }
    EXPECT_TRUE(weak.expired());
}

// ---- on every runtime -------------------------------------------------------------------------

TEST_P(RwLockTest, ReadersHoldTheLockTogether) {
    auto rt = make_runtime();
    const long inside_at_once = rt->block_on([]() -> Task<long> {
        RwLock<int> lock(0);
        std::atomic<long> inside{0};
        std::atomic<long> max_inside{0};
        std::vector<JoinHandle<void>> readers;
        for (int i = 0; i < 4; ++i)
            readers.push_back(weft::spawn([](RwLock<int>& lock, std::atomic<long>& inside, std::atomic<long>& max_inside) -> Task<void> {
                auto r = co_await lock.read();
                raise_max(max_inside, inside.fetch_add(1) + 1);
                // Stay inside until all four are: only possible if they share the lock.
                for (long spins = 0; spins < 1'000'000 && inside.load() < 4; ++spins) co_await weft::yield_now();
                co_await weft::yield_now();
            }(lock, inside, max_inside)));
        for (auto& r : readers) co_await r;
        co_return max_inside.load();
    }());
    EXPECT_EQ(inside_at_once, 4);
}

TEST_P(RwLockTest, AWriterWaitsForReadersAndReadersWaitForAWriter) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        RwLock<int> lock(0);
        auto r = co_await lock.read();
        JoinHandle<void> writer = weft::spawn([](RwLock<int>& lock) -> Task<void> {
            auto w = co_await lock.write();
            *w = 1;
        }(lock));
        co_await settle();
        EXPECT_FALSE(writer.is_finished());
        { auto unlock = std::move(r); }
        co_await writer;
        auto w = co_await lock.write();
        JoinHandle<int> reader = weft::spawn([](RwLock<int>& lock) -> Task<int> {
            auto r = co_await lock.read();
            co_return *r;
        }(lock));
        co_await settle();
        EXPECT_FALSE(reader.is_finished());
        *w = 2;
        { auto unlock = std::move(w); }
        EXPECT_EQ(co_await reader, 2);
    }());
}

// The point of an async RwLock: guards stay held while their task is suspended. Writers do a
// read-modify-write across a yield; readers check the value does not move under them; atomics
// count who is inside.
TEST_P(RwLockTest, WritersExcludeEveryoneAcrossSuspensionPoints) {
    auto rt = make_runtime();
    const long writers = 6, readers = 10, rounds = weft::test::scaled(300, 5);
    struct Check {
        std::atomic<long> readers_inside{0};
        std::atomic<long> writers_inside{0};
        std::atomic<long> max_writers{0};
        std::atomic<long> overlaps{0};  // a reader alongside a writer, or a torn read
    };
    Check check;
    const long total = rt->block_on([](Check& check, long writers, long readers, long rounds) -> Task<long> {
        RwLock<long> lock(0);
        std::vector<JoinHandle<void>> tasks;
        for (long t = 0; t < writers; ++t)
            tasks.push_back(weft::spawn([](RwLock<long>& lock, Check& check, long rounds) -> Task<void> {
                for (long i = 0; i < rounds; ++i) {
                    auto w = co_await lock.write();
                    const long now = check.writers_inside.fetch_add(1) + 1;
                    raise_max(check.max_writers, now);
                    if (check.readers_inside.load() != 0) check.overlaps.fetch_add(1);
                    const long seen = *w;
                    co_await weft::yield_now();  // suspended while holding the write lock
                    *w = seen + 1;
                    check.writers_inside.fetch_sub(1);
                }
            }(lock, check, rounds)));
        for (long t = 0; t < readers; ++t)
            tasks.push_back(weft::spawn([](RwLock<long>& lock, Check& check, long rounds) -> Task<void> {
                for (long i = 0; i < rounds; ++i) {
                    auto r = co_await lock.read();
                    check.readers_inside.fetch_add(1);
                    if (check.writers_inside.load() != 0) check.overlaps.fetch_add(1);
                    const long seen = *r;
                    co_await weft::yield_now();  // suspended while holding the read lock
                    if (*r != seen) check.overlaps.fetch_add(1);
                    check.readers_inside.fetch_sub(1);
                }
            }(lock, check, rounds)));
        for (auto& t : tasks) co_await t;
        auto r = co_await lock.read();
        co_return *r;
    }(check, writers, readers, rounds));
    EXPECT_EQ(total, writers * rounds);
    EXPECT_EQ(check.max_writers.load(), 1);
    EXPECT_EQ(check.overlaps.load(), 0);
}

// A write() bounded by timeout(): the lock is busy, so it times out; the permits set aside for it
// go on to the reader queued behind it (which would otherwise wait behind the writer for ever).
TEST_P(RwLockTest, ATimedOutWriteLeavesTheLineAndLetsTheReadersBehindItIn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        RwLock<int> lock(1);
        auto held = co_await lock.read();
        JoinHandle<bool> writer = weft::spawn([](RwLock<int>& lock) -> Task<bool> {
            auto r = co_await weft::timeout(20ms, lock.write());
            co_return r.timed_out();
        }(lock));
        co_await settle();
        // A reader that comes after the writer waits behind it, although only readers hold the lock.
        JoinHandle<int> reader = weft::spawn([](RwLock<int>& lock) -> Task<int> {
            auto r = co_await lock.read();
            co_return *r;
        }(lock));
        EXPECT_TRUE(co_await writer);
        EXPECT_EQ(co_await reader, 1);  // got in while `held` is still held
        EXPECT_FALSE(lock.try_write());
        { auto unlock = std::move(held); }
        EXPECT_TRUE(lock.try_write());  // nothing lost, nobody stale in line
    }());
}

TEST_P(RwLockTest, TimeoutYieldsTheGuardWhenTheLockComesAndTimesOutWhenItDoesNot) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        RwLock<int> lock(3);
        {
            auto r = co_await weft::timeout(10s, lock.read());
            CO_ASSERT_TRUE(!r.timed_out());
            EXPECT_EQ(**r, 3);
            auto w = co_await weft::timeout(5ms, lock.write());  // the read guard inside `r` blocks it
            EXPECT_TRUE(w.timed_out());
        }
        auto w = co_await weft::timeout(10s, lock.write());
        CO_ASSERT_TRUE(!w.timed_out());
        **w = 4;
        EXPECT_FALSE(lock.try_read());
        auto owned = std::make_shared<RwLock<int>>(8);
        auto o = co_await weft::timeout(10s, RwLock<int>::read_owned(owned));
        CO_ASSERT_TRUE(!o.timed_out());
        EXPECT_EQ(**o, 8);
        auto blocked = co_await weft::timeout(5ms, RwLock<int>::write_owned(owned));
        EXPECT_TRUE(blocked.timed_out());
    }());
}

TEST_P(RwLockTest, SelectTakesReadsAndWritesAndALosingWriteGivesItsPlaceBack) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        RwLock<int> lock(5);
        {
            auto s = co_await weft::select(lock.write(), weft::sleep(10s));
            CO_ASSERT_TRUE(s.index() == 0);
            *std::get<0>(s) = 6;
        }
        auto held = co_await lock.read();
        auto lost = co_await weft::select(lock.write(), weft::sleep(5ms));
        EXPECT_EQ(lost.index(), 1u);
        // The losing writer left: a later reader is not queued behind it.
        auto s = co_await weft::select(lock.read(), weft::sleep(10s));
        CO_ASSERT_TRUE(s.index() == 0);
        EXPECT_EQ(*std::get<0>(s), 6);
        auto owned = std::make_shared<RwLock<int>>(7);
        auto o = co_await weft::select(RwLock<int>::write_owned(owned), weft::sleep(10s));
        CO_ASSERT_TRUE(o.index() == 0);
        EXPECT_EQ(*std::get<0>(o), 7);
    }());
}

TEST_P(RwLockTest, AGuardIsReleasedWhenItsTaskThrows) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        RwLock<int> lock(0);
        JoinHandle<void> thrower = weft::spawn([](RwLock<int>& lock) -> Task<void> {
            auto w = co_await lock.write();
            *w = 1;
            co_await weft::yield_now();
            throw std::runtime_error("while writing");
        }(lock));
        auto failed = co_await weft::test::caught<std::runtime_error>([](JoinHandle<void>& h) -> Task<void> {
            co_await h;
        }(thrower));
        EXPECT_TRUE(failed.has_value());
        auto w = co_await lock.write();  // released by the exception's unwinding
        EXPECT_EQ(*w, 1);
        { auto unlock = std::move(w); }
        JoinHandle<void> reader_thrower = weft::spawn([](RwLock<int>& lock) -> Task<void> {
            auto r = co_await lock.read();
            throw std::runtime_error("while reading");
        }(lock));
        auto failed_too = co_await weft::test::caught<std::runtime_error>([](JoinHandle<void>& h) -> Task<void> {
            co_await h;
        }(reader_thrower));
        EXPECT_TRUE(failed_too.has_value());
        EXPECT_TRUE(lock.try_write());
    }());
}

TEST_P(RwLockTest, OwnedGuardsTravelToOtherTasksAndKeepTheLockAlive) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto lock = std::make_shared<RwLock<std::vector<int>>>();
        std::weak_ptr<RwLock<std::vector<int>>> weak = lock;
        OwnedRwLockWriteGuard<std::vector<int>> w = co_await RwLock<std::vector<int>>::write_owned(lock);
        JoinHandle<std::size_t> waiter = weft::spawn([](std::shared_ptr<RwLock<std::vector<int>>> lock) -> Task<std::size_t> {
            auto r = co_await RwLock<std::vector<int>>::read_owned(std::move(lock));
            co_return r->size();
        }(lock));
        lock.reset();  // from here only the guard and the waiting task keep it alive
        co_await settle();
        EXPECT_FALSE(waiter.is_finished());
        JoinHandle<void> writer = weft::spawn([](OwnedRwLockWriteGuard<std::vector<int>> w) -> Task<void> {
            w->push_back(1);
            co_await weft::yield_now();
            w->push_back(2);
        }(std::move(w)));
        co_await writer;
        EXPECT_EQ(co_await waiter, 2u);
        EXPECT_TRUE(weak.expired());
    }());
}

// ---- order: one thread runs every task --------------------------------------------------------

using Order = std::vector<std::string>;

Task<void> reader(RwLock<int>& lock, Order& order, std::string name) {
    auto r = co_await lock.read();
    order.push_back(name);
    co_await weft::yield_now();
}

Task<void> writer(RwLock<int>& lock, Order& order, std::string name) {
    auto w = co_await lock.write();
    order.push_back(name);
    co_await weft::yield_now();
}

// Readers and writers are served in one FIFO line: a queued writer holds back the readers behind
// it, and the readers between two writers get in together.
TEST_P(RwLockOrder, OneFifoLineAQueuedWriterBlocksLaterReaders) {
    auto rt = make_runtime();
    const Order order = rt->block_on([]() -> Task<Order> {
        RwLock<int> lock(0);
        Order order;
        std::vector<JoinHandle<void>> tasks;
        auto held = co_await lock.read();
        tasks.push_back(weft::spawn(writer(lock, order, "w1")));
        co_await settle();
        // Only a reader holds the lock, yet a new reader must queue behind the writer.
        EXPECT_FALSE(lock.try_read());
        tasks.push_back(weft::spawn(reader(lock, order, "r1")));
        co_await settle();
        tasks.push_back(weft::spawn(reader(lock, order, "r2")));
        co_await settle();
        tasks.push_back(weft::spawn(writer(lock, order, "w2")));
        co_await settle();
        tasks.push_back(weft::spawn(reader(lock, order, "r3")));
        co_await settle();
        EXPECT_TRUE(order.empty());
        { auto unlock = std::move(held); }
        for (auto& t : tasks) co_await t;
        co_return order;
    }());
    EXPECT_EQ(order, (Order{"w1", "r1", "r2", "w2", "r3"}));
}

TEST_P(RwLockOrder, ReadersBetweenTwoWritersHoldTheLockTogether) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        RwLock<int> lock(0);
        std::atomic<long> inside{0};
        std::atomic<long> max_inside{0};
        auto held = co_await lock.write();
        std::vector<JoinHandle<void>> readers;
        for (int i = 0; i < 3; ++i) {
            readers.push_back(weft::spawn([](RwLock<int>& lock, std::atomic<long>& inside, std::atomic<long>& max_inside) -> Task<void> {
                auto r = co_await lock.read();
                raise_max(max_inside, inside.fetch_add(1) + 1);
                co_await weft::test::settle();
                inside.fetch_sub(1);
            }(lock, inside, max_inside)));
            co_await settle();
        }
        JoinHandle<void> late_writer = weft::spawn([](RwLock<int>& lock, std::atomic<long>& inside) -> Task<void> {
            auto w = co_await lock.write();
            EXPECT_EQ(inside.load(), 0);
        }(lock, inside));
        co_await settle();
        { auto unlock = std::move(held); }
        for (auto& r : readers) co_await r;
        co_await late_writer;
        EXPECT_EQ(max_inside.load(), 3);
    }());
}

TEST_P(RwLockOrder, DowngradeAdmitsTheReadersAtTheHeadButNotTheWriterBehindThem) {
    auto rt = make_runtime();
    const Order order = rt->block_on([]() -> Task<Order> {
        RwLock<int> lock(0);
        Order order;
        std::vector<JoinHandle<void>> tasks;
        auto w = co_await lock.write();
        tasks.push_back(weft::spawn(reader(lock, order, "r1")));
        co_await settle();
        tasks.push_back(weft::spawn(writer(lock, order, "w1")));
        co_await settle();
        tasks.push_back(weft::spawn(reader(lock, order, "r2")));
        co_await settle();
        auto r = RwLockWriteGuard<int>::downgrade(std::move(w));
        co_await tasks[0];  // r1 got in alongside our read lock
        EXPECT_EQ(order, Order{"r1"});
        co_await settle();
        EXPECT_FALSE(tasks[1].is_finished());  // w1 waits for our read lock
        EXPECT_FALSE(tasks[2].is_finished());  // r2 waits behind w1
        { auto unlock = std::move(r); }
        co_await tasks[1];
        co_await tasks[2];
        co_return order;
    }());
    EXPECT_EQ(order, (Order{"r1", "w1", "r2"}));
}

// A writer queued behind readers has permits set aside for it; aborted, it passes them on, and the
// reader queued behind it gets in at once (the first reader still holds the lock).
TEST_P(RwLockOrder, AnAbortedWriterPassesOnWhatWasSetAsideForIt) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        RwLock<int> lock(0);
        Order order;
        auto held = co_await lock.read();
        JoinHandle<void> doomed = weft::spawn(writer(lock, order, "doomed"));
        co_await settle();
        JoinHandle<void> behind = weft::spawn(reader(lock, order, "r"));
        co_await settle();
        EXPECT_FALSE(behind.is_finished());
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        co_await behind;
        EXPECT_EQ(order, Order{"r"});
        EXPECT_FALSE(lock.try_write());  // `held` still holds it
        { auto unlock = std::move(held); }
        EXPECT_TRUE(lock.try_write());
    }());
}

TEST_P(RwLockOrder, AWriteLockHandedToATaskAbortedBeforeItRanIsPassedOn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        RwLock<int> lock(0);
        Order order;
        auto held = co_await lock.write();
        JoinHandle<void> doomed = weft::spawn(writer(lock, order, "doomed"));
        co_await settle();
        JoinHandle<void> behind = weft::spawn(reader(lock, order, "r"));
        co_await settle();
        { auto unlock = std::move(held); }  // hands the lock to `doomed`, woken but not yet run...
        doomed.abort();                      // ...and never will
        EXPECT_TRUE(co_await was_aborted(doomed));
        co_await behind;
        EXPECT_EQ(order, Order{"r"});
        EXPECT_TRUE(lock.try_write());
    }());
}

TEST_P(RwLockOrder, ReadersBeyondMaxReadersWaitForOneToLeave) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto lock = RwLock<int>::with_max_readers(2, 0);
        Order order;
        auto r1 = co_await lock.read();
        auto r2 = co_await lock.read();
        JoinHandle<void> third = weft::spawn(reader(lock, order, "r3"));
        co_await settle();
        EXPECT_FALSE(third.is_finished());
        { auto unlock = std::move(r1); }
        co_await third;
        EXPECT_EQ(order, Order{"r3"});
        auto w = co_await weft::timeout(5ms, lock.write());  // r2 still reads
        EXPECT_TRUE(w.timed_out());
    }());
}

// ---- stress: two workers, aborts racing with grants ---------------------------------------------

struct StressCheck {
    std::atomic<long> readers_inside{0};
    std::atomic<long> writers_inside{0};
    std::atomic<long> violations{0};
    std::atomic<long> writes{0};
};

// Declared after the guard, so destroyed before it (also when the task is aborted while holding).
struct Inside {
    std::atomic<long>& count;
    ~Inside() { count.fetch_sub(1); }
};

Task<void> stress_user(RwLock<long>& lock, StressCheck& check, int id, long rounds) {
    for (long i = 0; i < rounds; ++i) {
        const int kind = static_cast<int>((id + i) % 6);
        if (kind < 2) {
            // A write: blocking, or bounded by a short timeout (cancelled while queued).
            std::optional<RwLockWriteGuard<long>> w;
            if (kind == 0) {
                w.emplace(co_await lock.write());
            } else {
                auto r = co_await weft::timeout(std::chrono::microseconds(50), lock.write());
                if (r.timed_out()) continue;
                w.emplace(std::move(*r));
            }
            check.writers_inside.fetch_add(1);
            Inside inside{check.writers_inside};
            if (check.writers_inside.load() != 1 || check.readers_inside.load() != 0) check.violations.fetch_add(1);
            const long seen = **w;
            if (i % 2 == 0) co_await weft::yield_now();
            **w = seen + 1;
            check.writes.fetch_add(1);
        } else if (kind == 5) {
            auto w = lock.try_write();
            if (!w) continue;
            check.writers_inside.fetch_add(1);
            Inside inside{check.writers_inside};
            if (check.writers_inside.load() != 1 || check.readers_inside.load() != 0) check.violations.fetch_add(1);
            **w += 1;
            check.writes.fetch_add(1);
        } else {
            auto r = co_await lock.read();
            check.readers_inside.fetch_add(1);
            Inside inside{check.readers_inside};
            if (check.writers_inside.load() != 0) check.violations.fetch_add(1);
            const long seen = *r;
            if (i % 3 == 0) co_await weft::yield_now();
            if (*r != seen) check.violations.fetch_add(1);
        }
    }
}

Task<void> join_all(std::vector<JoinHandle<void>>& handles) {
    for (auto& h : handles) {
        try {
            co_await h;
        } catch (const weft::JoinError&) {
        }
    }
}

TEST(RwLockStress, ManyReadersAndWritersOnTwoWorkersNeverOverlapAndLoseNoWrite) {
    constexpr int kTasks = 32;
    const long rounds = weft::test::scaled(3'000, 30);
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    StressCheck check;
    const long value = rt.block_on([](StressCheck& check, long rounds) -> Task<long> {
        RwLock<long> lock(0);
        std::vector<JoinHandle<void>> tasks;
        for (int t = 0; t < kTasks; ++t) tasks.push_back(weft::spawn(stress_user(lock, check, t, rounds)));
        co_await join_all(tasks);
        auto w = lock.try_write();  // not wedged: free, on the fast path
        EXPECT_TRUE(w.has_value());
        co_return w ? **w : -1;
    }(check, rounds));
    EXPECT_EQ(check.violations.load(), 0);
    EXPECT_EQ(value, check.writes.load());
    EXPECT_EQ(check.readers_inside.load(), 0);
    EXPECT_EQ(check.writers_inside.load(), 0);
}

// Tasks are aborted at random moments: queued, just granted, holding. Every permit comes back.
TEST(RwLockStress, AbortsRacingWithGrantsLeaveTheLockFree) {
    const int rounds = static_cast<int>(weft::test::scaled(1'000, 10));
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    rt.block_on([](int rounds) -> Task<void> {
        for (int round = 0; round < rounds; ++round) {
            auto lock = RwLock<long>::with_max_readers(3, 0);
            StressCheck check;
            std::vector<JoinHandle<void>> tasks;
            for (int t = 0; t < 12; ++t) tasks.push_back(weft::spawn(stress_user(lock, check, t, 20)));
            for (int i = 0; i < round % 4; ++i) co_await weft::yield_now();
            for (std::size_t t = round % 2; t < tasks.size(); t += 2) tasks[t].abort();
            co_await join_all(tasks);
            EXPECT_EQ(check.violations.load(), 0) << "round " << round;
            auto w = lock.try_write();
            EXPECT_TRUE(w.has_value()) << "round " << round;
            if (w) {
                EXPECT_EQ(**w, check.writes.load()) << "round " << round;
            }
        }
    }(rounds));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(RwLockTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(RwLockOrder);

}  // namespace
