// TimerWheel: every entry fires exactly once, never before its deadline, and no later than the
// first poll at or after it; cancelled entries never fire; far deadlines are re-filed, not lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <weft/runtime/detail/timer_wheel.hpp>

#include "support/runtimes.hpp"

namespace {

using weft::detail::TimerEntry;
using weft::detail::TimerWheel;

struct Fired {
    std::vector<std::pair<const TimerEntry*, std::uint64_t>> log;  // entry, tick it fired at
};

void advance(TimerWheel& wheel, std::uint64_t now, Fired& fired) {
    wheel.poll(now, [&](TimerEntry& e) {
        fired.log.emplace_back(&e, now);
        return true;
    });
}

TEST(TimerWheel, EntriesFireAtTheFirstPollAtOrAfterTheirDeadlineAndNeverBefore) {
    std::mt19937_64 rng(42);
    const std::size_t n = weft::test::scaled(200'000);
    std::vector<TimerEntry> entries(n);
    TimerWheel wheel;
    for (auto& e : entries) {
        // Spread over every level: 1 ms to a few days.
        const unsigned level = static_cast<unsigned>(rng() % 5);
        e.when = 1 + rng() % (std::uint64_t{64} << (6 * level));
        ASSERT_TRUE(wheel.insert(e));
    }
    EXPECT_EQ(wheel.size(), n);
    Fired fired;
    std::uint64_t now = 0;
    const std::uint64_t last = std::max_element(entries.begin(), entries.end(), [](auto& a, auto& b) {
                                   return a.when < b.when;
                               })->when;
    while (!wheel.is_empty()) {
        const std::uint64_t prev = now;
        now += 1 + rng() % 5000;  // uneven steps, sometimes far past several deadlines
        advance(wheel, now, fired);
        for (std::size_t i = fired.log.size(); i-- > 0 && fired.log[i].second == now;) {
            const TimerEntry* e = fired.log[i].first;
            ASSERT_GE(now, e->when) << "fired early";
            ASSERT_LT(prev, e->when) << "fired late: an earlier poll was already past its deadline";
        }
        ASSERT_LE(now, last + 5000);
    }
    ASSERT_EQ(fired.log.size(), n);
    std::vector<const TimerEntry*> seen;
    for (auto& [e, at] : fired.log) seen.push_back(e);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "an entry fired twice";
}

TEST(TimerWheel, NextExpirationIsNeverLaterThanTheEarliestDeadline) {
    std::mt19937_64 rng(7);
    TimerWheel wheel;
    std::vector<TimerEntry> entries(2000);
    for (auto& e : entries) {
        e.when = 1 + rng() % 10'000'000;
        ASSERT_TRUE(wheel.insert(e));
    }
    Fired fired;
    while (!wheel.is_empty()) {
        std::uint64_t earliest = ~std::uint64_t{0};
        for (auto& e : entries)
            if (e.is_registered) earliest = std::min(earliest, e.when);
        const auto next = wheel.next_expiration();
        ASSERT_TRUE(next.has_value());
        ASSERT_LE(*next, earliest);
        ASSERT_GE(*next, wheel.elapsed());
        advance(wheel, *next, fired);  // what a parked driver does: sleep until next, then poll
    }
    EXPECT_EQ(fired.log.size(), entries.size());
}

TEST(TimerWheel, CancelledEntriesNeverFire) {
    TimerWheel wheel;
    std::vector<TimerEntry> entries(1000);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        entries[i].when = 10 + i * 37;
        ASSERT_TRUE(wheel.insert(entries[i]));
    }
    for (std::size_t i = 0; i < entries.size(); i += 2) wheel.remove(entries[i]);
    EXPECT_EQ(wheel.size(), 500u);
    Fired fired;
    advance(wheel, 1'000'000, fired);
    ASSERT_EQ(fired.log.size(), 500u);
    for (auto& [e, at] : fired.log) EXPECT_EQ((e - entries.data()) % 2, 1);
    EXPECT_TRUE(wheel.is_empty());
}

TEST(TimerWheel, ADeadlineAlreadyPastIsRefused) {
    TimerWheel wheel;
    Fired fired;
    advance(wheel, 100, fired);
    TimerEntry e;
    e.when = 100;
    EXPECT_FALSE(wheel.insert(e));
    EXPECT_FALSE(e.is_registered);
    e.when = 101;
    EXPECT_TRUE(wheel.insert(e));
}

TEST(TimerWheel, DeadlinesBeyondTheWheelsReachAreRefiledAndFireOnTime) {
    TimerWheel wheel;
    TimerEntry far;
    far.when = TimerWheel::kMaxDuration * 3 + 12345;
    ASSERT_TRUE(wheel.insert(far));
    Fired fired;
    std::uint64_t now = 0;
    while (!wheel.is_empty()) {
        const auto next = wheel.next_expiration();
        ASSERT_TRUE(next.has_value());
        ASSERT_LE(*next, far.when);
        now = *next;
        advance(wheel, now, fired);
    }
    ASSERT_EQ(fired.log.size(), 1u);
    EXPECT_EQ(fired.log[0].second, far.when);
}

TEST(TimerWheel, AMillionPendingTimersCostNoWorkUntilDue) {
    const std::size_t n = weft::test::scaled(1'000'000);
    auto entries = std::make_unique<TimerEntry[]>(n);
    TimerWheel wheel;
    for (std::size_t i = 0; i < n; ++i) {
        entries[i].when = 1'000'000 + i;
        ASSERT_TRUE(wheel.insert(entries[i]));
    }
    std::size_t calls = 0;
    wheel.poll(999'999, [&](TimerEntry&) { return ++calls, true; });
    EXPECT_EQ(calls, 0u);
    EXPECT_EQ(wheel.size(), n);
    wheel.poll(1'000'000 + n, [&](TimerEntry&) { return ++calls, true; });
    EXPECT_EQ(calls, n);
}

}  // namespace
