// The manager's atomic batches (pipeline, MULTI/EXEC transaction) and its reconnect, against real
// redis-servers: no other caller's command runs inside a batch, a refused transaction is a clear
// error, and a reconnecting manager serves queued commands on the new connection.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/redis/batch.hpp>
#include <weft/redis/client.hpp>
#include <weft/redis/manager.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/redis_server.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::redis::Batch;
using weft::redis::Client;
using weft::redis::ConnectionInfo;
using weft::redis::IoError;
using weft::redis::Kind;
using weft::redis::Manager;
using weft::redis::ManagerOptions;
using weft::redis::ManagerStatus;
using weft::redis::ServerError;
using weft::redis::SpawnedManager;
using weft::redis::Value;
using weft::test::caught;
using weft::test::key;

ConnectionInfo at(std::uint16_t port) {
    ConnectionInfo info;
    info.port = port;
    return info;
}

class BatchTest : public weft::test::RedisServerTest {};

TEST_P(BatchTest, APipelineReturnsEveryReplyInOrderErrorsIncluded) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k, std::string list) -> Task<void> {
        SpawnedManager spawned = co_await weft::redis::connect_manager(at(port), 16);
        const Manager& redis = spawned.manager;
        Batch batch;
        batch.add("DEL", k, list).add("SET", k, 1).add("INCR", k).add("LPUSH", list, "x").add("INCR", list).add("GET", k);
        EXPECT_EQ(batch.size(), 6u);
        const std::vector<Value> replies = co_await redis.pipeline(batch);
        CO_ASSERT_TRUE(replies.size() == 6u);
        EXPECT_EQ(replies[1].as_string(), "OK");
        EXPECT_EQ(replies[2].as_integer(), 2);
        EXPECT_EQ(replies[3].as_integer(), 1);
        EXPECT_EQ(replies[4].kind(), Kind::error);  // WRONGTYPE, as a value
        EXPECT_EQ(replies[5].as_string(), "2");
        const Batch empty;
        const std::vector<Value> none = co_await redis.pipeline(empty);
        EXPECT_TRUE(none.empty());
        EXPECT_THROW(batch.add("SUBSCRIBE", "x"), std::invalid_argument);
        EXPECT_EQ(batch.size(), 6u);  // the refused command left nothing behind
        const std::vector<Value> again = co_await redis.pipeline(batch);  // a batch can be sent again
        EXPECT_EQ(again[2].as_integer(), 2);
        { Manager last = std::move(spawned.manager); }
        co_await spawned.task;
    }(port(), key("k"), key("list")));
}

// 32 tasks each send pipelines of 10 INCRs of one shared key while 8 others INCR it one at a
// time: each pipeline's replies must be 10 consecutive numbers (nothing ran between them), and
// every number from 1 to the total appears exactly once.
TEST_P(BatchTest, NoOtherCallersCommandRunsInsideAPipeline) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string counter) -> Task<void> {
        constexpr int kBatchers = 32, kSingles = 8, kRounds = 10, kPerBatch = 10;
        SpawnedManager spawned = co_await weft::redis::connect_manager(at(port), 64);
        co_await spawned.manager.del(counter);
        std::vector<JoinHandle<std::vector<std::int64_t>>> tasks;
        for (int t = 0; t < kBatchers + kSingles; ++t) {
            const bool batcher = t < kBatchers;
            tasks.push_back(weft::spawn([](Manager redis, std::string counter, bool batcher) -> Task<std::vector<std::int64_t>> {
                std::vector<std::int64_t> seen;
                for (int round = 0; round < kRounds; ++round) {
                    if (!batcher) {
                        const std::int64_t v = co_await redis.incr(counter);
                        seen.push_back(v);
                        continue;
                    }
                    Batch batch;
                    for (int i = 0; i < kPerBatch; ++i) batch.add("INCR", counter);
                    const std::vector<Value> replies = co_await redis.pipeline(batch);
                    for (std::size_t i = 0; i < replies.size(); ++i) {
                        seen.push_back(replies[i].as_integer());
                        if (i > 0) {
                            EXPECT_EQ(replies[i].as_integer(), replies[i - 1].as_integer() + 1);
                        }
                    }
                }
                co_return seen;
            }(spawned.manager, counter, batcher)));
        }
        std::vector<std::int64_t> all;
        for (auto& t : tasks) {
            std::vector<std::int64_t> seen = co_await t;
            all.insert(all.end(), seen.begin(), seen.end());
        }
        std::sort(all.begin(), all.end());
        const std::size_t total = kBatchers * kRounds * kPerBatch + kSingles * kRounds;
        CO_ASSERT_TRUE(all.size() == total);
        for (std::size_t i = 0; i < total; ++i) EXPECT_EQ(all[i], static_cast<std::int64_t>(i + 1));
    }(port(), key("counter")));
}

TEST_P(BatchTest, ATransactionRunsAtomicallyAndARefusedOneIsAClearError) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k, std::string text) -> Task<void> {
        SpawnedManager spawned = co_await weft::redis::connect_manager(at(port), 16);
        const Manager& redis = spawned.manager;
        Batch batch;
        batch.add("SET", k, 10).add("INCRBY", k, 5).add("SET", text, "abc").add("INCR", text).add("GET", k);
        const std::vector<Value> replies = co_await redis.transaction(batch);
        CO_ASSERT_TRUE(replies.size() == 5u);  // EXEC's replies only
        EXPECT_EQ(replies[0].as_string(), "OK");
        EXPECT_EQ(replies[1].as_integer(), 15);
        EXPECT_EQ(replies[3].kind(), Kind::error);  // failed while running: a value, as Redis does
        EXPECT_EQ(replies[4].as_string(), "15");

        Batch refused;
        refused.add("SET", k, 99).add("INCR");  // INCR without its key: Redis refuses to queue it
        const std::optional<ServerError> e = co_await caught<ServerError>(redis.transaction(refused));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_NE(e->text().find("wrong number of arguments"), std::string::npos) << e->text();
        const std::optional<std::string> unchanged = co_await redis.get(k);  // discarded: SET did not run
        EXPECT_EQ(unchanged, std::optional<std::string>("15"));
        const std::string pong = co_await redis.ping();  // and the connection is in step
        EXPECT_EQ(pong, "PONG");
    }(port(), key("k"), key("text")));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(BatchTest);

class ManagerReconnectTest : public weft::test::AllRuntimes {
protected:
    void SetUp() override {
        if (!weft::test::RedisServer::is_installed()) GTEST_SKIP() << "redis-server is not installed";
    }
};

// A reconnecting manager on `port` whose server is then killed: the command in flight gets the
// error, and the manager moves to reconnecting.
Task<SpawnedManager> manager_that_lost_its_server(weft::test::RedisServer& server) {
    ManagerOptions options;
    options.reconnect = true;
    options.min_backoff = 10ms;
    options.max_backoff = 100ms;
    SpawnedManager spawned = co_await weft::redis::connect_manager(at(server.port()), 16, options);
    const std::string before = co_await spawned.manager.ping();
    EXPECT_EQ(before, "PONG");
    EXPECT_EQ(spawned.manager.status(), ManagerStatus::connected);
    server.kill_now();
    const std::optional<IoError> lost = co_await caught<IoError>(spawned.manager.ping());  // in flight: the error
    EXPECT_TRUE(lost.has_value());
    co_return spawned;
}

// Polls `redis.status()` until it is `want` (bounded: about 10 s).
Task<bool> status_becomes(const Manager& redis, ManagerStatus want) {
    for (int i = 0; i < 10000 && redis.status() != want; ++i) co_await weft::sleep(1ms);
    co_return redis.status() == want;
}

TEST_P(ManagerReconnectTest, QueuedCommandsGoToTheNewConnectionAndTheOneInFlightGetsTheError) {
    weft::test::RedisServer server;
    auto rt = make_runtime();
    rt->block_on([](weft::test::RedisServer& server) -> Task<void> {
        SpawnedManager spawned = co_await manager_that_lost_its_server(server);
        const Manager& redis = spawned.manager;
        const bool reconnecting = co_await status_becomes(redis, ManagerStatus::reconnecting);
        EXPECT_TRUE(reconnecting);
        EXPECT_FALSE(redis.is_failed());
        std::vector<JoinHandle<std::int64_t>> waiting;
        for (int i = 0; i < 10; ++i)
            waiting.push_back(weft::spawn([](Manager redis) -> Task<std::int64_t> { co_return co_await redis.incr("n"); }(redis)));
        co_await weft::sleep(50ms);  // they queue while the server is down
        server.restart();            // a new, empty server on the same port
        std::vector<std::int64_t> got;
        for (auto& w : waiting) got.push_back(co_await w);
        std::sort(got.begin(), got.end());
        for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], i + 1);  // each ran once, on the new server
        EXPECT_EQ(redis.status(), ManagerStatus::connected);
        const std::string pong = co_await redis.ping();
        EXPECT_EQ(pong, "PONG");
    }(server));
}

TEST_P(ManagerReconnectTest, DroppingEveryHandleWhileReconnectingEndsTheManager) {
    weft::test::RedisServer server;
    auto rt = make_runtime();
    rt->block_on([](weft::test::RedisServer& server) -> Task<void> {
        SpawnedManager spawned = co_await manager_that_lost_its_server(server);  // and never back
        { Manager last = std::move(spawned.manager); }
        weft::TimeoutResult<void> ended = co_await weft::timeout(10s, spawned.task);
        EXPECT_FALSE(ended.timed_out());
    }(server));
}

TEST(ManagerReconnect, SpawnManagerRefusesReconnectItCannotDo) {
    weft::Runtime rt;
    weft::test::RedisServer server;
    rt.block_on([](std::uint16_t port) -> Task<void> {
        Client client = co_await Client::connect("127.0.0.1", port);
        ManagerOptions options;
        options.reconnect = true;
        EXPECT_THROW((void)weft::redis::spawn_manager(std::move(client), 4, options), std::invalid_argument);
    }(server.port()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(ManagerReconnectTest);

}  // namespace
