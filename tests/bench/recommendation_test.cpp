// The capacity recommendation (bench/weft_bench/recommendation.hpp) on given figures: the
// smallest capacity within 5% of the best median throughput, per producer count.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "recommendation.hpp"

namespace {

using weft::bench::CapacityResult;
using weft::bench::recommend;
using weft::bench::Recommendation;

CapacityResult row(std::size_t producers, std::size_t capacity, double median, double min = -1, double max = -1) {
    CapacityResult r;
    r.producers = producers;
    r.capacity = capacity;
    r.throughput = {median, min < 0 ? median : min, max < 0 ? median : max};
    return r;
}

TEST(Recommendation, PicksTheSmallestCapacityWithinFivePercentOfTheBest) {
    const auto recs = recommend({row(1, 1, 50), row(1, 16, 96), row(1, 128, 100), row(1, 1024, 99)});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].producers, 1u);
    EXPECT_EQ(recs[0].capacity, 16u);
    EXPECT_DOUBLE_EQ(recs[0].throughput, 96);
    EXPECT_EQ(recs[0].best_capacity, 128u);
    EXPECT_DOUBLE_EQ(recs[0].best_throughput, 100);
}

TEST(Recommendation, ExactlyFivePercentBelowTheBestCounts) {
    const auto recs = recommend({row(1, 1, 95), row(1, 2, 100)});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].capacity, 1u);
}

TEST(Recommendation, JustMoreThanFivePercentBelowTheBestDoesNot) {
    const auto recs = recommend({row(1, 1, 94.9), row(1, 2, 100)});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].capacity, 2u);
}

TEST(Recommendation, ATieForBestGoesToTheSmallerCapacity) {
    const auto recs = recommend({row(4, 64, 100), row(4, 4, 100), row(4, 1, 10)});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].capacity, 4u);
    EXPECT_EQ(recs[0].best_capacity, 4u);
}

TEST(Recommendation, ASingleCapacityIsRecommendedAndIsTheBest) {
    const auto recs = recommend({row(16, 128, 12.5e6)});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].producers, 16u);
    EXPECT_EQ(recs[0].capacity, 128u);
    EXPECT_EQ(recs[0].best_capacity, 128u);
    EXPECT_DOUBLE_EQ(recs[0].throughput, 12.5e6);
}

TEST(Recommendation, EachProducerCountIsJudgedAloneAndListedInAscendingOrder) {
    // Given out of order: producers 16 before 1, capacities shuffled.
    const auto recs = recommend({row(16, 1024, 30), row(1, 1024, 100), row(16, 1, 10), row(1, 1, 99),
                                 row(16, 64, 29), row(1, 64, 60)});
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].producers, 1u);
    EXPECT_EQ(recs[0].capacity, 1u);  // 99 is within 5% of 100, at the smallest capacity
    EXPECT_EQ(recs[0].best_capacity, 1024u);
    EXPECT_EQ(recs[1].producers, 16u);
    EXPECT_EQ(recs[1].capacity, 64u);  // 29 is within 5% of 30; 10 is not
    EXPECT_EQ(recs[1].best_capacity, 1024u);
}

TEST(Recommendation, JudgesByMedianNotByTheLuckiestRun) {
    // Capacity 1 had one fast run (max 200) but its median is far below capacity 8's.
    const auto recs = recommend({row(1, 1, 50, 40, 200), row(1, 8, 100, 98, 101)});
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].capacity, 8u);
    EXPECT_EQ(recs[0].best_capacity, 8u);
}

TEST(Recommendation, AnotherToleranceMovesTheChoice) {
    const std::vector<CapacityResult> rows{row(1, 1, 80), row(1, 16, 92), row(1, 128, 100)};
    EXPECT_EQ(recommend(rows, 0.05)[0].capacity, 128u);
    EXPECT_EQ(recommend(rows, 0.10)[0].capacity, 16u);
    EXPECT_EQ(recommend(rows, 0.25)[0].capacity, 1u);
}

TEST(Recommendation, NoResultsGiveNoRecommendation) { EXPECT_TRUE(recommend({}).empty()); }

}  // namespace
