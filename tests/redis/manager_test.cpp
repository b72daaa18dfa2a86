// The manager actor against a real redis-server: every command through the handle, 64 tasks of
// mixed commands each checking its own replies, both modes, callers that give up (aborted, timed
// out), the server killed with commands in flight, the manager task aborted.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <weft/redis/client.hpp>
#include <weft/redis/manager.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/redis_server.hpp"
#include "support/task_helpers.hpp"

// ASSERT_* cannot be used in a coroutine (it returns): this expects, then leaves the Task<void>.
namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::test::caught;
using weft::test::key;
using weft::redis::Client;
using weft::redis::IoError;
using weft::redis::Manager;
using weft::redis::ManagerOptions;
using weft::redis::ServerError;
using weft::redis::SpawnedManager;
using weft::redis::Value;

// Until the server shows a client blocked in BLPOP (so the order of what follows is certain).
Task<void> until_blpop_waits(Client& observer) {
    for (;;) {
        const Value clients = co_await observer.command("CLIENT", "LIST");
        if (clients.as_string().find("cmd=blpop") != std::string::npos) co_return;
        co_await weft::sleep(1ms);
    }
}

class ManagerTest : public weft::test::RedisServerTest {};

TEST_P(ManagerTest, EveryCommandIsAnsweredThroughTheHandle) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k, std::string counter, std::string list) -> Task<void> {
        Client client = co_await Client::connect("127.0.0.1", port);
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 16);
        Manager redis = spawned.manager;
        co_await redis.del(k, counter, list);
        const std::string pong = co_await redis.ping();
        EXPECT_EQ(pong, "PONG");
        co_await redis.set(k, "bar", 30s);
        const std::optional<std::string> got = co_await redis.get(k);
        EXPECT_EQ(got, std::optional<std::string>("bar"));
        const std::int64_t one = co_await redis.incr(counter);
        const std::int64_t two = co_await redis.incr(counter);
        EXPECT_EQ(one, 1);
        EXPECT_EQ(two, 2);
        const Value pushed = co_await redis.command("RPUSH", list, "a", "b");
        EXPECT_EQ(pushed.as_integer(), 2);
        const std::vector<std::string> lrange{"LRANGE", list, "0", "-1"};
        const Value all = co_await redis.command(lrange);
        EXPECT_EQ(all, Value::array({Value::bulk_string("a"), Value::bulk_string("b")}));
        const Value error = co_await redis.command("INCR", list);  // an error reply, as a value
        EXPECT_TRUE(error.is_error());
        const std::optional<ServerError> wrong = co_await caught<ServerError>(redis.get(list));
        CO_ASSERT_TRUE(wrong.has_value());
        EXPECT_EQ(wrong->prefix(), "WRONGTYPE");
        const std::int64_t removed = co_await redis.del(k, counter, list);
        EXPECT_EQ(removed, 3);
        EXPECT_FALSE(redis.is_failed());
        { auto last = std::move(redis), first = std::move(spawned.manager); }  // every handle gone:
        co_await spawned.task;                                                // the manager ends
    }(port(), key("k"), key("counter"), key("list")));
}

// Commands too long to be carried inline (EncodedCommand) and large replies, among short ones.
TEST_P(ManagerTest, LongCommandsAndLargeValuesGoThroughWhole) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string big_key, std::string small_key) -> Task<void> {
        Client client = co_await Client::connect("127.0.0.1", port);
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 8);
        Manager redis = spawned.manager;
        std::string big(2 * 1024 * 1024 + 3, '\0');
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + 1);
        const std::string medium(200, 'm');  // just past the inline size
        JoinHandle<void> small = weft::spawn([](Manager redis, std::string k, std::string v) -> Task<void> {
            for (int i = 0; i < 50; ++i) {
                co_await redis.set(k, v);
                const std::optional<std::string> got = co_await redis.get(k);
                EXPECT_EQ(got, std::optional<std::string>(v));
            }
        }(redis, small_key, medium));
        co_await redis.set(big_key, big);
        const std::optional<std::string> back = co_await redis.get(big_key);
        CO_ASSERT_TRUE(back.has_value());
        EXPECT_TRUE(*back == big);
        co_await small;
        const std::int64_t removed = co_await redis.del(big_key, small_key);
        EXPECT_EQ(removed, 2);
    }(port(), key("big"), key("small")));
}

// Each task works on its own keys and knows what every reply must be.
Task<long> mixed_commands(Manager redis, std::string prefix, int id, long operations) {
    std::map<std::string, std::string> values;
    std::int64_t counter = 0;
    long wrong = 0;
    const std::string counter_key = prefix + ":counter";
    for (long i = 0; i < operations; ++i) {
        const std::string k = prefix + ":k" + std::to_string(i % 5);
        switch (i % 4) {
            case 0: {
                const std::string v = "t" + std::to_string(id) + "-" + std::to_string(i);
                co_await redis.set(k, v);
                values[k] = v;
                break;
            }
            case 1: {
                const std::optional<std::string> got = co_await redis.get(k);
                const auto it = values.find(k);
                const std::optional<std::string> expected =
                    it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
                if (got != expected) ++wrong;
                break;
            }
            case 2: {
                const std::int64_t n = co_await redis.incr(counter_key);
                if (n != ++counter) ++wrong;
                break;
            }
            case 3: {
                const std::int64_t removed = co_await redis.del(k);
                if (removed != (values.erase(k) ? 1 : 0)) ++wrong;
                break;
            }
        }
    }
    co_await redis.del(counter_key);
    for (const auto& [k, v] : values) co_await redis.del(k);
    co_return wrong;
}

Task<long> many_tasks(std::uint16_t port, std::string prefix, int tasks, long each, ManagerOptions options) {
    Client client = co_await Client::connect("127.0.0.1", port);
    SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 64, options);
    std::vector<JoinHandle<long>> handles;
    for (int t = 0; t < tasks; ++t)
        handles.push_back(weft::spawn(mixed_commands(spawned.manager, prefix + ":t" + std::to_string(t), t, each)));
    { auto ours = std::move(spawned.manager); }
    long wrong = 0;
    for (auto& h : handles) wrong += co_await h;
    co_await spawned.task;
    co_return wrong;
}

TEST_P(ManagerTest, SixtyFourTasksOfMixedCommandsEachGetTheirOwnReplies) {
    auto rt = make_runtime();
    const long each = weft::test::scaled(10'000, 20);
    const long wrong = rt->block_on(many_tasks(port(), key("p"), 64, each, ManagerOptions{}));
    EXPECT_EQ(wrong, 0);
}

TEST_P(ManagerTest, SequentialModeAnswersEveryTaskCorrectlyToo) {
    auto rt = make_runtime();
    ManagerOptions options;
    options.mode = ManagerOptions::Mode::sequential;
    const long wrong = rt->block_on(many_tasks(port(), key("s"), 8, weft::test::scaled(1'000), options));
    EXPECT_EQ(wrong, 0);
}

TEST_P(ManagerTest, ASmallBatchLimitStillAnswersEveryone) {
    auto rt = make_runtime();
    ManagerOptions options;
    options.max_batch = 3;
    const long wrong = rt->block_on(many_tasks(port(), key("b"), 16, weft::test::scaled(1'000), options));
    EXPECT_EQ(wrong, 0);
}

// Cancellation: the caller is aborted while its command waits on the server; the manager drops
// that reply and the next caller gets its own.
TEST_P(ManagerTest, ACallerAbortedWhileWaitingCostsOnlyItsReply) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string list, std::string k) -> Task<void> {
        Client observer = co_await Client::connect("127.0.0.1", port);
        co_await observer.del(list);
        co_await observer.set(k, "next caller's");
        Client client = co_await Client::connect("127.0.0.1", port);
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 8);
        Manager redis = spawned.manager;
        JoinHandle<Value> blocked = weft::spawn([](Manager redis, std::string list) -> Task<Value> {
            co_return co_await redis.command("BLPOP", list, 0);
        }(redis, list));
        co_await until_blpop_waits(observer);
        blocked.abort();
        const std::optional<weft::JoinError> aborted =
            co_await caught<weft::JoinError>([](JoinHandle<Value>& h) -> Task<void> { co_await h; }(blocked));
        EXPECT_TRUE(aborted.has_value());
        JoinHandle<std::optional<std::string>> next = weft::spawn(
            [](Manager redis, std::string k) -> Task<std::optional<std::string>> { co_return co_await redis.get(k); }(
                redis, k));
        co_await observer.command("RPUSH", list, "unblocks");  // BLPOP's reply, for nobody
        const std::optional<std::string> got = co_await next;
        EXPECT_EQ(got, std::optional<std::string>("next caller's"));
        const std::int64_t len = co_await observer.del(k, list);
        EXPECT_EQ(len, 1);  // BLPOP did pop the element: the command ran, only its reply was dropped
        EXPECT_FALSE(redis.is_failed());
    }(port(), key("list"), key("k")));
}

TEST_P(ManagerTest, ACallThatTimesOutThrowsTimeoutErrorAndTheNextCallGetsItsOwnReply) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string list, std::string k) -> Task<void> {
        Client observer = co_await Client::connect("127.0.0.1", port);
        co_await observer.del(list);
        co_await observer.set(k, "mine");
        Client client = co_await Client::connect("127.0.0.1", port);
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 8);
        const Manager impatient = spawned.manager.with_timeout(20ms);
        EXPECT_EQ(impatient.timeout(), std::optional<weft::Clock::duration>(20ms));
        EXPECT_FALSE(spawned.manager.timeout().has_value());
        Manager copy = impatient;
        const std::optional<weft::TimeoutError> timed_out =
            co_await caught<weft::TimeoutError>(copy.command("BLPOP", list, 0));
        EXPECT_TRUE(timed_out.has_value());
        co_await observer.command("RPUSH", list, "late");
        Manager patient = copy.without_timeout();
        const std::optional<std::string> got = co_await patient.get(k);
        EXPECT_EQ(got, std::optional<std::string>("mine"));
        co_await observer.del(k, list);
    }(port(), key("list"), key("k")));
}

TEST_P(ManagerTest, BadArgumentsAreRejected) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        Client a = co_await Client::connect("127.0.0.1", port);
        EXPECT_THROW((void)weft::redis::spawn_manager(std::move(a), 0), std::invalid_argument);
        Client b = co_await Client::connect("127.0.0.1", port);
        ManagerOptions none;
        none.max_batch = 0;
        EXPECT_THROW((void)weft::redis::spawn_manager(std::move(b), 8, none), std::invalid_argument);
        Client c = co_await Client::connect("127.0.0.1", port);
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(c), 8);
        EXPECT_THROW((void)spawned.manager.with_timeout(0ms), std::invalid_argument);
        EXPECT_THROW((void)spawned.manager.set("k", "v", 0ms), std::invalid_argument);
    }(port()));
}

// The manager task is aborted while a command waits: its caller gets an error, not a hang, and
// later calls fail at once.
TEST_P(ManagerTest, AbortingTheManagerTaskFailsWaitingAndLaterCalls) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string list) -> Task<void> {
        Client observer = co_await Client::connect("127.0.0.1", port);
        co_await observer.del(list);
        Client client = co_await Client::connect("127.0.0.1", port);
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 8);
        JoinHandle<void> caller = weft::spawn([](Manager redis, std::string list) -> Task<void> {
            const std::optional<IoError> e = co_await caught<IoError>(redis.command("BLPOP", list, 0));
            CO_ASSERT_TRUE(e.has_value());
            EXPECT_EQ(e->code(), std::errc::operation_canceled);
        }(spawned.manager, list));
        co_await until_blpop_waits(observer);
        spawned.task.abort();
        auto joined = co_await weft::timeout(30s, caller);
        EXPECT_FALSE(joined.timed_out());
        const std::optional<IoError> later = co_await caught<IoError>(spawned.manager.ping());
        CO_ASSERT_TRUE(later.has_value());
        EXPECT_EQ(later->code(), std::errc::operation_canceled);
    }(port(), key("list")));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(ManagerTest);

// The server is killed (SIGKILL) with commands in flight and queued: every caller gets an
// IoError, none hangs, the manager ends, and later calls fail at once with the same error.
class ManagerServerKillTest : public weft::test::AllRuntimes {
protected:
    void SetUp() override {
        if (!weft::test::RedisServer::is_installed()) GTEST_SKIP() << "redis-server is not installed";
    }
};

struct KillOutcome {
    long io_errors = 0;
    long other_errors = 0;
    long hung = 0;
};

Task<int> hammer(Manager redis, std::string prefix, std::atomic<long>& replies) {
    for (long i = 0;; ++i) {
        const std::string k = prefix + std::to_string(i % 7);
        try {
            co_await redis.set(k, "v");
            (void)co_await redis.get(k);
        } catch (const IoError&) {
            co_return 1;
        } catch (const weft::redis::Error&) {
            co_return 2;
        }
        replies.fetch_add(2, std::memory_order_relaxed);
    }
}

TEST_P(ManagerServerKillTest, EveryPendingCallerGetsAnIoErrorAndNoneHangs) {
    weft::test::RedisServer server;
    auto rt = make_runtime();
    const KillOutcome outcome = rt->block_on([](weft::test::RedisServer& server) -> Task<KillOutcome> {
        Client client = co_await Client::connect("127.0.0.1", server.port());
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 16);  // small: callers queue
        std::atomic<long> replies{0};
        std::vector<JoinHandle<int>> callers;
        for (int t = 0; t < 48; ++t)
            callers.push_back(weft::spawn(hammer(spawned.manager, "kill:t" + std::to_string(t) + ":", replies)));
        while (replies.load(std::memory_order_relaxed) < weft::test::scaled(20'000)) co_await weft::sleep(1ms);
        server.kill_now();  // mid-stream: commands written, queued, and waiting for room
        KillOutcome out;
        for (auto& c : callers) {
            auto r = co_await weft::timeout(60s, c);
            if (r.timed_out()) ++out.hung;
            else if (*r == 1) ++out.io_errors;
            else ++out.other_errors;
        }
        auto ended = co_await weft::timeout(60s, spawned.task);
        EXPECT_FALSE(ended.timed_out());
        EXPECT_TRUE(spawned.manager.is_failed());
        // Later calls fail at once with the error that broke the connection.
        const std::optional<IoError> later = co_await caught<IoError>(spawned.manager.ping());
        EXPECT_TRUE(later.has_value());
        EXPECT_TRUE(spawned.manager.failure() != nullptr);
        co_return out;
    }(server));
    EXPECT_EQ(outcome.hung, 0);
    EXPECT_EQ(outcome.other_errors, 0);
    EXPECT_EQ(outcome.io_errors, 48);
    EXPECT_EQ(rt->metrics().io_sources, 0u);  // the connection's socket was closed and deregistered
}

WEFT_INSTANTIATE_ALL_RUNTIMES(ManagerServerKillTest);

}  // namespace
