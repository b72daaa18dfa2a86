// The build itself: headers resolve as installed users include them, and the library links.
#include <concurrentqueue/concurrentqueue.h>
#include <gtest/gtest.h>
#include <weft/runtime/runtime.hpp>

namespace {

weft::Task<int> answer() { co_return 42; }

TEST(BuildSmoke, MoodycamelQueueRoundTripsAValue) {
    moodycamel::ConcurrentQueue<int> queue;
    ASSERT_TRUE(queue.enqueue(7));
    int out = 0;
    ASSERT_TRUE(queue.try_dequeue(out));
    EXPECT_EQ(out, 7);
    EXPECT_FALSE(queue.try_dequeue(out));
}

TEST(BuildSmoke, RuntimeRunsATaskToCompletion) {
    weft::Runtime runtime(weft::RuntimeOptions{.worker_threads = 2});
    EXPECT_EQ(runtime.block_on(answer()), 42);
}

}  // namespace
