// Redis over a Unix domain socket, against real redis-servers listening on one
// (tests/support/redis_server.hpp, `--unixsocket DIR/redis.sock --unixsocketperm 700`): GET/SET
// through the Client, the manager and a Subscriber, the `unix://` and `redis+unix://` URL forms
// with their query (db, password, protocol, client_name), AUTH, RESP3, and a missing socket failing
// at once with a clear error.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <weft/redis/client.hpp>
#include <weft/redis/manager.hpp>
#include <weft/redis/subscriber.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/redis_server.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::TimeoutResult;
using weft::redis::Client;
using weft::redis::IoError;
using weft::redis::Kind;
using weft::redis::Manager;
using weft::redis::Message;
using weft::redis::RespVersion;
using weft::redis::ServerError;
using weft::redis::SpawnedManager;
using weft::redis::Subscriber;
using weft::redis::Value;
using weft::test::caught;
using weft::test::key;
using weft::test::RedisServer;

// The family of the socket a Client holds: AF_UNIX proves the URL did not fall back to TCP.
int family(const Client& c) {
    sockaddr_storage address{};
    socklen_t len = sizeof address;
    EXPECT_EQ(::getsockname(c.native_handle(), reinterpret_cast<sockaddr*>(&address), &len), 0);
    return address.ss_family;
}

// One server on a Unix socket, and one that also wants the password "s3cret:p@ss", for the suite.
class RedisUnixTest : public weft::test::AllRuntimes {
protected:
    static void SetUpTestSuite() {
        if (!RedisServer::is_installed()) return;
        RedisServer::Options plain;
        plain.unix_socket = true;
        plain_ = new RedisServer(plain);
        RedisServer::Options with_password;
        with_password.unix_socket = true;
        with_password.password = "s3cret:p@ss";
        auth_ = new RedisServer(with_password);
    }
    static void TearDownTestSuite() {
        delete plain_;
        delete auth_;
        plain_ = auth_ = nullptr;
    }
    void SetUp() override {
        if (!plain_) GTEST_SKIP() << "redis-server is not installed (apt-get install redis-server)";
    }
    static std::string path() { return plain_->socket_path(); }
    static std::string auth_path() { return auth_->socket_path(); }

    static inline RedisServer* plain_ = nullptr;
    static inline RedisServer* auth_ = nullptr;
};

TEST_P(RedisUnixTest, TheClientSetsAndGetsOverTheSocket) {
    auto rt = make_runtime();
    rt->block_on([](std::string path, std::string k) -> Task<void> {
        Client c = co_await Client::connect_unix(path);  // keepalive on by default: not for a Unix socket
        EXPECT_EQ(family(c), AF_UNIX);
        EXPECT_EQ(c.peer(), path);
        co_await c.set(k, "over unix");
        const std::optional<std::string> got = co_await c.get(k);
        EXPECT_EQ(got, std::optional<std::string>("over unix"));
        const std::int64_t n = co_await c.incr(k + ":n");
        EXPECT_EQ(n, 1);
        const std::int64_t removed = co_await c.del(k, k + ":n");
        EXPECT_EQ(removed, 2);
    }(path(), key("k")));
}

TEST_P(RedisUnixTest, BothUrlFormsConnectWithTheirQuery) {
    auto rt = make_runtime();
    rt->block_on([](std::string path, std::string k) -> Task<void> {
        Client plain = co_await Client::connect("unix://" + path);
        EXPECT_EQ(family(plain), AF_UNIX);
        const std::string pong = co_await plain.ping();
        EXPECT_EQ(pong, "PONG");

        // db=3 SELECTs database 3: a key written there is not in database 0.
        Client in_3 = co_await Client::connect("redis+unix://" + path + "?db=3&client_name=weft-unix");
        EXPECT_EQ(family(in_3), AF_UNIX);
        const Value name = co_await in_3.command("CLIENT", "GETNAME");
        EXPECT_EQ(name.as_string(), "weft-unix");
        co_await in_3.set(k, "in db 3");
        const std::optional<std::string> in_0 = co_await plain.get(k);
        EXPECT_FALSE(in_0.has_value());
        Client also_3 = co_await Client::connect("UNIX://" + path + "?db=3");  // the scheme in any case
        const std::optional<std::string> got = co_await also_3.get(k);
        EXPECT_EQ(got, std::optional<std::string>("in db 3"));
        co_await also_3.del(k);
    }(path(), key("k")));
}

TEST_P(RedisUnixTest, TheManagerPipelinesOverTheSocket) {
    auto rt = make_runtime();
    rt->block_on([](std::string path, std::string prefix) -> Task<void> {
        SpawnedManager spawned = co_await weft::redis::connect_manager("unix://" + path, 64);
        std::vector<JoinHandle<void>> tasks;
        for (int i = 0; i < 16; ++i) {
            tasks.push_back(weft::spawn([](Manager redis, std::string k) -> Task<void> {
                co_await redis.set(k, k);
                const std::optional<std::string> got = co_await redis.get(k);
                EXPECT_EQ(got, std::optional<std::string>(k));
                co_await redis.del(k);
            }(spawned.manager, prefix + std::to_string(i))));
        }
        for (JoinHandle<void>& t : tasks) {
            TimeoutResult<void> done = co_await weft::timeout(10s, t);
            EXPECT_FALSE(done.timed_out());
        }
        // spawn_manager on a Client connected to the socket works the same.
        Client client = co_await Client::connect_unix(path);
        SpawnedManager second = weft::redis::spawn_manager(std::move(client), 8);
        const std::string pong = co_await second.manager.ping();
        EXPECT_EQ(pong, "PONG");
        { auto last = std::move(spawned.manager); }
        { auto last = std::move(second.manager); }
        co_await spawned.task;
        co_await second.task;
    }(path(), key("k")));
}

TEST_P(RedisUnixTest, ASubscriberReceivesOverTheSocket) {
    auto rt = make_runtime();
    rt->block_on([](std::string path, std::string channel) -> Task<void> {
        Subscriber sub = co_await Subscriber::connect("unix://" + path);
        std::vector<std::string> channels{channel};
        co_await sub.subscribe(channels);
        weft::mpsc::Receiver<Message> messages = sub.take_messages();
        Client pub = co_await Client::connect_unix(path);
        const Value receivers = co_await pub.command("PUBLISH", channel, "hello");
        EXPECT_EQ(receivers.as_integer(), 1);
        TimeoutResult<std::optional<Message>> m = co_await weft::timeout(10s, messages.recv());
        CO_ASSERT_TRUE(!m.timed_out() && m->has_value());
        EXPECT_EQ((*m)->channel, channel);
        EXPECT_EQ((*m)->payload, "hello");
    }(path(), key("channel")));
}

TEST_P(RedisUnixTest, AuthOverTheSocketTakesThePasswordFromTheQuery) {
    auto rt = make_runtime();
    rt->block_on([](std::string path) -> Task<void> {
        // ':' and '@' percent-encoded, as in a redis:// URL.
        Client c = co_await Client::connect("unix://" + path + "?password=s3cret%3Ap%40ss");
        const std::string pong = co_await c.ping();
        EXPECT_EQ(pong, "PONG");
        Client named = co_await Client::connect("redis+unix://" + path + "?user=default&password=s3cret%3Ap%40ss&db=1");
        const Value who = co_await named.command("ACL", "WHOAMI");
        EXPECT_EQ(who.as_string(), "default");

        const std::optional<ServerError> wrong =
            co_await caught<ServerError>(Client::connect("unix://" + path + "?password=wrong"));
        CO_ASSERT_TRUE(wrong.has_value());
        EXPECT_EQ(wrong->prefix(), "WRONGPASS") << wrong->text();
        Client anonymous = co_await Client::connect_unix(path);
        const std::optional<ServerError> refused = co_await caught<ServerError>(anonymous.get("anything"));
        CO_ASSERT_TRUE(refused.has_value());
        EXPECT_EQ(refused->prefix(), "NOAUTH") << refused->text();
    }(auth_path()));
}

TEST_P(RedisUnixTest, Resp3OverTheSocket) {
    auto rt = make_runtime();
    rt->block_on([](std::string path, std::string auth_path, std::string h) -> Task<void> {
        Client c = co_await Client::connect("unix://" + path + "?protocol=resp3&client_name=weft-resp3");
        EXPECT_EQ(c.protocol(), RespVersion::resp3);
        const Value name = co_await c.command("CLIENT", "GETNAME");
        EXPECT_EQ(name.as_string(), "weft-resp3");
        co_await c.del(h);
        co_await c.command("HSET", h, "a", "1", "b", "2");
        const Value all = co_await c.command("HGETALL", h);
        EXPECT_EQ(all.kind(), Kind::map);  // RESP2 would give a flat array
        EXPECT_EQ(all.as_map().size(), 2u);
        co_await c.del(h);
        // HELLO 3 with AUTH folded in.
        Client logged_in = co_await Client::connect("unix://" + auth_path + "?protocol=3&password=s3cret%3Ap%40ss");
        EXPECT_EQ(logged_in.protocol(), RespVersion::resp3);
        const std::string pong = co_await logged_in.ping();
        EXPECT_EQ(pong, "PONG");
    }(path(), auth_path(), key("h")));
}

TEST_P(RedisUnixTest, AMissingSocketIsAClearConnectionErrorAtOnce) {
    auto rt = make_runtime();
    rt->block_on([](std::string missing) -> Task<void> {
        // Bounded: a hang here would be the bug.
        TimeoutResult<std::optional<IoError>> direct =
            co_await weft::timeout(10s, caught<IoError>(Client::connect_unix(missing)));
        CO_ASSERT_TRUE(!direct.timed_out() && direct->has_value());
        EXPECT_EQ((*direct)->code(), std::error_code(ENOENT, std::system_category()));
        EXPECT_NE(std::string((*direct)->what()).find(missing), std::string::npos) << (*direct)->what();

        TimeoutResult<std::optional<IoError>> by_url =
            co_await weft::timeout(10s, caught<IoError>(Client::connect("unix://" + missing)));
        CO_ASSERT_TRUE(!by_url.timed_out() && by_url->has_value());
        EXPECT_EQ((*by_url)->code(), std::error_code(ENOENT, std::system_category()));

        TimeoutResult<std::optional<IoError>> manager =
            co_await weft::timeout(10s, caught<IoError>(weft::redis::connect_manager("unix://" + missing, 8)));
        CO_ASSERT_TRUE(!manager.timed_out() && manager->has_value());
        EXPECT_EQ((*manager)->code(), std::error_code(ENOENT, std::system_category()));

        TimeoutResult<std::optional<IoError>> subscriber =
            co_await weft::timeout(10s, caught<IoError>(Subscriber::connect("redis+unix://" + missing)));
        CO_ASSERT_TRUE(!subscriber.timed_out() && subscriber->has_value());
        EXPECT_EQ((*subscriber)->code(), std::error_code(ENOENT, std::system_category()));
    }(path() + ".missing"));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(RedisUnixTest);

}  // namespace
