// Idle (runtime/detail/idle.hpp): who is awake, who is searching, and when a parked worker is woken.
#include <gtest/gtest.h>

#include <weft/runtime/detail/idle.hpp>

namespace {

using weft::detail::Idle;

TEST(Idle, AtMostHalfTheWorkersSearchAtOnce) {
    Idle idle(4);
    EXPECT_TRUE(idle.transition_worker_to_searching());
    EXPECT_TRUE(idle.transition_worker_to_searching());
    EXPECT_FALSE(idle.transition_worker_to_searching());
    EXPECT_EQ(idle.num_searching_for_test(), 2u);
    EXPECT_FALSE(idle.transition_worker_from_searching());  // one searcher is left
    EXPECT_TRUE(idle.transition_worker_from_searching());   // the last one: it must wake another
    EXPECT_EQ(idle.num_searching_for_test(), 0u);
}

TEST(Idle, NotifyWakesAParkedWorkerAsASearcherOnlyWhenNobodySearches) {
    Idle idle(2);
    EXPECT_EQ(idle.worker_to_notify(), -1);  // nobody is parked
    EXPECT_FALSE(idle.transition_worker_to_parked(1, /*is_searching=*/false));
    ASSERT_TRUE(idle.transition_worker_to_searching());  // worker 0 searches: it will find the work
    EXPECT_EQ(idle.worker_to_notify(), -1);
    EXPECT_TRUE(idle.transition_worker_from_searching());
    EXPECT_EQ(idle.worker_to_notify(), 1);
    EXPECT_EQ(idle.num_searching_for_test(), 1u);  // the woken worker counts as searching
    EXPECT_FALSE(idle.is_parked(1));
    EXPECT_EQ(idle.worker_to_notify(), -1);  // a searcher exists now, and nobody else is parked
}

TEST(Idle, TheLastSearcherToParkIsToldSoItRechecksTheQueues) {
    Idle idle(2);
    ASSERT_TRUE(idle.transition_worker_to_searching());
    EXPECT_TRUE(idle.transition_worker_to_parked(0, /*is_searching=*/true));
    EXPECT_FALSE(idle.transition_worker_to_parked(1, /*is_searching=*/false));
    EXPECT_EQ(idle.num_searching_for_test(), 0u);
}

// A worker that the driver woke with tasks of its own counts as a searcher, so running its first
// task wakes another worker (see Worker::park for why that is kept on purpose).
TEST(Idle, AWorkerUnparkingItselfForItsOwnTasksCountsAsASearcher) {
    Idle idle(2);
    EXPECT_FALSE(idle.transition_worker_to_parked(0, /*is_searching=*/false));
    EXPECT_FALSE(idle.transition_worker_to_parked(1, /*is_searching=*/false));
    EXPECT_TRUE(idle.unpark_worker_by_id(0));
    EXPECT_FALSE(idle.is_parked(0));
    EXPECT_TRUE(idle.is_parked(1));
    EXPECT_EQ(idle.num_searching_for_test(), 1u);
    EXPECT_EQ(idle.worker_to_notify(), -1);                // someone searches already
    EXPECT_TRUE(idle.transition_worker_from_searching());  // it found work: it must wake another
    EXPECT_EQ(idle.worker_to_notify(), 1);
}

TEST(Idle, UnparkingItselfFailsWhenANotifierAlreadyTookTheWorker) {
    Idle idle(2);
    EXPECT_FALSE(idle.transition_worker_to_parked(1, /*is_searching=*/false));
    ASSERT_EQ(idle.worker_to_notify(), 1);
    EXPECT_FALSE(idle.unpark_worker_by_id(1));        // it is the searcher the notifier made
    EXPECT_EQ(idle.num_searching_for_test(), 1u);     // counted once, not twice
}

}  // namespace
