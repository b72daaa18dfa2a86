// redis::Client against a real redis-server (tests/support/redis_server.hpp): every command and
// reply kind, URLs with AUTH and SELECT, errors kept apart, cancellation; and parse_url alone.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <weft/redis/client.hpp>
#include <weft/redis/url.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

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
using weft::redis::ConnectionInfo;
using weft::redis::IoError;
using weft::redis::Kind;
using weft::redis::ServerError;
using weft::redis::Value;

class ClientTest : public weft::test::RedisServerTest {};

TEST_P(ClientTest, PingAnswersPong) {
    auto rt = make_runtime();
    const std::string pong = rt->block_on([](std::uint16_t port) -> Task<std::string> {
        Client c = co_await Client::connect("127.0.0.1", port);
        EXPECT_EQ(c.peer(), "127.0.0.1:" + std::to_string(port));
        co_return co_await c.ping();
    }(port()));
    EXPECT_EQ(pong, "PONG");
}

TEST_P(ClientTest, SetThenGetReturnsTheValueAndAMissingKeyIsEmpty) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k, std::string missing) -> Task<void> {
        Client c = co_await Client::connect("localhost", port);  // a name: resolved off the workers
        co_await c.del(k, missing);
        co_await c.set(k, "bar");
        const std::optional<std::string> got = co_await c.get(k);
        EXPECT_EQ(got, std::optional<std::string>("bar"));
        co_await c.set(k, "overwritten");
        const std::optional<std::string> again = co_await c.get(k);
        EXPECT_EQ(again, std::optional<std::string>("overwritten"));
        const std::optional<std::string> none = co_await c.get(missing);
        EXPECT_FALSE(none.has_value());
    }(port(), key("k"), key("missing")));
}

TEST_P(ClientTest, ValuesAreBinarySafeAndLargeValuesArriveWhole) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k, std::string big_key) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        const std::string binary("a\0b\r\nc$*\xff", 10);
        co_await c.set(k, binary);
        const std::optional<std::string> got = co_await c.get(k);
        EXPECT_EQ(got, std::optional<std::string>(binary));
        std::string big(3 * 1024 * 1024 + 7, '\0');
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
        co_await c.set(big_key, big);
        const std::optional<std::string> big_back = co_await c.get(big_key);
        CO_ASSERT_TRUE(big_back.has_value());
        EXPECT_TRUE(*big_back == big);
        co_await c.del(k, big_key);
    }(port(), key("bin"), key("big")));
}

TEST_P(ClientTest, SetWithAnExpiryGivesTheKeyATimeToLive) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        co_await c.set(k, "v", std::chrono::seconds(60));
        const Value pttl = co_await c.command("PTTL", k);
        EXPECT_GT(pttl.as_integer(), 0);
        EXPECT_LE(pttl.as_integer(), 60'000);
        co_await c.set(k, "v");  // without an expiry: no time to live
        const Value none = co_await c.command("PTTL", k);
        EXPECT_EQ(none.as_integer(), -1);
    }(port(), key("k")));
}

TEST_P(ClientTest, ANonPositiveExpiryIsRejectedBeforeAnythingIsSent) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        EXPECT_THROW((void)c.set(k, "v", std::chrono::milliseconds(0)), std::invalid_argument);
        EXPECT_THROW((void)c.set(k, "v", -5s), std::invalid_argument);
        const std::optional<std::string> got = co_await c.get(k);  // still usable, nothing was set
        EXPECT_FALSE(got.has_value());
    }(port(), key("k")));
}

TEST_P(ClientTest, DelCountsOnlyTheKeysThatExisted) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string a, std::string b, std::string c_key) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        co_await c.del(a, b, c_key);
        co_await c.set(a, "1");
        co_await c.set(b, "2");
        const std::int64_t removed = co_await c.del(a, b, c_key);
        EXPECT_EQ(removed, 2);
        const std::int64_t again = co_await c.del(a);
        EXPECT_EQ(again, 0);
    }(port(), key("a"), key("b"), key("c")));
}

TEST_P(ClientTest, IncrCountsUpFromZero) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        co_await c.del(k);
        for (std::int64_t i = 1; i <= 5; ++i) {
            const std::int64_t n = co_await c.incr(k);
            EXPECT_EQ(n, i);
        }
        const std::optional<std::string> text = co_await c.get(k);
        EXPECT_EQ(text, std::optional<std::string>("5"));
    }(port(), key("counter")));
}

TEST_P(ClientTest, IncrOnTextIsAServerErrorWithTheServersTextAndTheConnectionStaysUsable) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        co_await c.set(k, "not a number");
        const std::optional<ServerError> e = co_await caught<ServerError>(c.incr(k));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->prefix(), "ERR");
        EXPECT_EQ(e->text(), "ERR value is not an integer or out of range");
        EXPECT_EQ(e->code(), weft::redis::Errc::server_error);
        EXPECT_FALSE(c.is_broken());
        const std::string pong = co_await c.ping();
        EXPECT_EQ(pong, "PONG");
    }(port(), key("text")));
}

// The way most callers will write it: the call awaited directly inside a try block.
TEST_P(ClientTest, AServerErrorCanBeCaughtAroundTheAwaitItself) {
    auto rt = make_runtime();
    const int caught_errors = rt->block_on([](std::uint16_t port, std::string k) -> Task<int> {
        Client c = co_await Client::connect("127.0.0.1", port);
        co_await c.set(k, "text");
        int errors = 0;
        for (int i = 0; i < 3; ++i) {
            try {
                (void)co_await c.incr(k);
            } catch (const ServerError& e) {
                errors += e.prefix() == "ERR" ? 1 : 0;
            }
        }
        co_await c.del(k);
        co_return errors;
    }(port(), key("text")));
    EXPECT_EQ(caught_errors, 3);
}

TEST_P(ClientTest, GetOnAListIsWrongType) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        co_await c.del(k);
        const Value pushed = co_await c.command("RPUSH", k, "x");
        EXPECT_EQ(pushed.as_integer(), 1);
        const std::optional<ServerError> e = co_await caught<ServerError>(c.get(k));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->prefix(), "WRONGTYPE");
        co_await c.del(k);
    }(port(), key("list")));
}

TEST_P(ClientTest, CommandReturnsEveryKindOfReplyAndErrorRepliesAsValues) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string a, std::string list, std::string missing) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        co_await c.del(a, list, missing);

        const Value ok = co_await c.command("SET", a, "hello");
        EXPECT_EQ(ok, Value::simple_string("OK"));
        const Value bulk = co_await c.command("GET", a);
        EXPECT_EQ(bulk, Value::bulk_string("hello"));
        const Value nil = co_await c.command("GET", missing);
        EXPECT_TRUE(nil.is_nil());
        const Value integer = co_await c.command("STRLEN", a);
        EXPECT_EQ(integer, Value::integer(5));
        const Value mget = co_await c.command("MGET", a, missing);
        EXPECT_EQ(mget, Value::array({Value::bulk_string("hello"), Value()}));
        const Value empty = co_await c.command("LRANGE", list, 0, -1);
        EXPECT_EQ(empty, Value::array({}));
        const Value nested = co_await c.command("EVAL", "return {1, {'two', 3}, 'four'}", 0);
        EXPECT_EQ(nested, Value::array({Value::integer(1),
                                        Value::array({Value::bulk_string("two"), Value::integer(3)}),
                                        Value::bulk_string("four")}));

        // An error reply is a Value, not an exception; reading it as something else throws it.
        const Value error = co_await c.command("NOSUCHCOMMAND", "x");
        CO_ASSERT_TRUE(error.is_error());
        EXPECT_EQ(error.error_text().rfind("ERR unknown command", 0), 0u) << error.error_text();
        EXPECT_THROW((void)error.as_string(), ServerError);
        EXPECT_FALSE(c.is_broken());
        co_await c.del(a);
    }(port(), key("a"), key("list"), key("missing")));
}

TEST_P(ClientTest, CommandTakesARangeOfArguments) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        const std::vector<std::string> rpush{"RPUSH", k, "1", "2", "3"};
        co_await c.del(k);
        const Value n = co_await c.command(rpush);
        EXPECT_EQ(n.as_integer(), 3);
        const std::vector<std::string> lrange{"LRANGE", k, "0", "-1"};
        const Value all = co_await c.command(lrange);
        EXPECT_EQ(all, Value::array({Value::bulk_string("1"), Value::bulk_string("2"), Value::bulk_string("3")}));
        co_await c.del(k);
        EXPECT_THROW((void)c.command(std::vector<std::string>{}), std::invalid_argument);
    }(port(), key("list")));
}

TEST_P(ClientTest, AUrlWithADatabaseSelectsIt) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client db3 = co_await Client::connect("redis://127.0.0.1:" + std::to_string(port) + "/3");
        Client db0 = co_await Client::connect("redis://127.0.0.1:" + std::to_string(port));
        co_await db0.del(k);
        co_await db3.set(k, "in three");
        const std::optional<std::string> seen_in_3 = co_await db3.get(k);
        const std::optional<std::string> seen_in_0 = co_await db0.get(k);
        EXPECT_EQ(seen_in_3, std::optional<std::string>("in three"));
        EXPECT_FALSE(seen_in_0.has_value());
        co_await db3.del(k);
    }(port(), key("k")));
}

TEST_P(ClientTest, ADatabaseTheServerDoesNotHaveIsAServerError) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        const std::optional<ServerError> e =
            co_await caught<ServerError>(Client::connect("redis://127.0.0.1:" + std::to_string(port) + "/999"));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->prefix(), "ERR");
    }(port()));
}

TEST_P(ClientTest, ABadUrlIsInvalidArgumentWhenAwaited) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Task<Client> connecting = Client::connect(std::string_view("http://localhost"));  // nothing thrown yet
        const std::optional<std::invalid_argument> e = co_await caught<std::invalid_argument>(std::move(connecting));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_NE(std::string(e->what()).find("redis://"), std::string::npos) << e->what();
    }());
}

TEST_P(ClientTest, ConnectingWhereNothingListensIsAnIoErrorCarryingTheErrno) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        const std::optional<IoError> e = co_await caught<IoError>(Client::connect("127.0.0.1", port));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->code(), std::errc::connection_refused);
        EXPECT_NE(std::string(e->what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e->what();
        // Every redis error is a weft::redis::Error.
        const std::optional<weft::redis::Error> base = co_await caught<weft::redis::Error>(Client::connect("127.0.0.1", port));
        EXPECT_TRUE(base.has_value());
    }(weft::test::RedisServer::free_port()));
}

TEST_P(ClientTest, ACommandStartedWhileAnotherIsInFlightIsALogicError) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        Client other = co_await Client::connect("127.0.0.1", port);
        co_await c.del(k);
        JoinHandle<Value> blocked = weft::spawn([](Client& c, std::string k) -> Task<Value> {
            co_return co_await c.command("BLPOP", k, 0);
        }(c, k));
        for (;;) {
            // Wait until the spawned task's BLPOP reached the server.
            const Value clients = co_await other.command("CLIENT", "LIST");
            if (clients.as_string().find("cmd=blpop") != std::string::npos) break;
            co_await weft::sleep(1ms);
        }
        // A second call on the same Client while BLPOP waits: refused at once.
        EXPECT_THROW((void)c.get(k), std::logic_error);
        co_await other.command("RPUSH", k, "x");
        const Value popped = co_await blocked;
        EXPECT_EQ(popped, Value::array({Value::bulk_string(k), Value::bulk_string("x")}));
        const std::string pong = co_await c.ping();  // usable again
        EXPECT_EQ(pong, "PONG");
    }(port(), key("list")));
}

// Cancellation: a call aborted while waiting for its reply has sent its command; its reply is
// dropped by the next call, which gets its own.
TEST_P(ClientTest, ACallAbortedWhileAwaitingItsReplyLeavesTheConnectionInStep) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string list, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        Client other = co_await Client::connect("127.0.0.1", port);
        co_await other.del(list);
        co_await other.set(k, "mine");
        JoinHandle<Value> waiting = weft::spawn([](Client& c, std::string list) -> Task<Value> {
            co_return co_await c.command("BLPOP", list, 0);
        }(c, list));
        for (;;) {
            const Value clients = co_await other.command("CLIENT", "LIST");
            if (clients.as_string().find("cmd=blpop") != std::string::npos) break;
            co_await weft::sleep(1ms);
        }
        waiting.abort();
        const std::optional<weft::JoinError> aborted = co_await caught<weft::JoinError>([](JoinHandle<Value>& h) -> Task<void> {
            co_await h;
        }(waiting));
        EXPECT_TRUE(aborted.has_value());
        co_await other.command("RPUSH", list, "unblocks");  // BLPOP's reply now comes, and is dropped
        const std::optional<std::string> mine = co_await c.get(k);
        EXPECT_EQ(mine, std::optional<std::string>("mine"));
        const std::string pong = co_await c.ping();
        EXPECT_EQ(pong, "PONG");
        EXPECT_FALSE(c.is_broken());
        co_await other.del(k);
    }(port(), key("list"), key("k")));
}

// The same through weft::timeout: the reply that comes after the deadline is not taken for the
// next command's.
TEST_P(ClientTest, ACallThatTimedOutLeavesTheConnectionInStep) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string list, std::string k) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        Client other = co_await Client::connect("127.0.0.1", port);
        co_await other.del(list);
        co_await other.set(k, "value");
        auto timed = co_await weft::timeout(20ms, c.command("BLPOP", list, 0));
        EXPECT_TRUE(timed.timed_out());
        co_await other.command("RPUSH", list, "late");
        const std::optional<std::string> got = co_await c.get(k);
        EXPECT_EQ(got, std::optional<std::string>("value"));
        co_await other.del(k);
    }(port(), key("list"), key("k")));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(ClientTest);

// AUTH against a server started with --requirepass "s3cret:p@ss".
class ClientAuthTest : public weft::test::RedisPasswordTest {};

TEST_P(ClientAuthTest, TheRightPasswordInTheUrlLogsIn) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        // ':' and '@' percent-encoded in the URL.
        Client c = co_await Client::connect("redis://:s3cret%3Ap%40ss@127.0.0.1:" + std::to_string(port));
        const std::string pong = co_await c.ping();
        EXPECT_EQ(pong, "PONG");
        Client named = co_await Client::connect("redis://default:s3cret%3Ap%40ss@127.0.0.1:" + std::to_string(port) + "/1");
        const Value who = co_await named.command("ACL", "WHOAMI");
        EXPECT_EQ(who.as_string(), "default");
    }(server_->port()));
}

TEST_P(ClientAuthTest, AWrongPasswordIsAClearServerError) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        const std::optional<ServerError> e =
            co_await caught<ServerError>(Client::connect("redis://:wrong@127.0.0.1:" + std::to_string(port)));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->prefix(), "WRONGPASS") << e->text();
    }(server_->port()));
}

TEST_P(ClientAuthTest, WithoutAPasswordCommandsAreRefusedWithNoAuth) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        const std::optional<ServerError> e = co_await caught<ServerError>(c.get("anything"));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->prefix(), "NOAUTH") << e->text();
    }(server_->port()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(ClientAuthTest);

// ---- parse_url ---------------------------------------------------------------------------------

TEST(RedisUrl, HostAloneTakesTheDefaults) {
    const ConnectionInfo info = weft::redis::parse_url("redis://cache.internal");
    EXPECT_EQ(info.host, "cache.internal");
    EXPECT_EQ(info.port, 6379);
    EXPECT_FALSE(info.username.has_value());
    EXPECT_FALSE(info.password.has_value());
    EXPECT_EQ(info.database, 0u);
}

TEST(RedisUrl, EveryPartIsRead) {
    const ConnectionInfo info = weft::redis::parse_url("redis://app:s%40cret@10.0.0.5:6380/2");
    EXPECT_EQ(info.host, "10.0.0.5");
    EXPECT_EQ(info.port, 6380);
    EXPECT_EQ(info.username, std::optional<std::string>("app"));
    EXPECT_EQ(info.password, std::optional<std::string>("s@cret"));
    EXPECT_EQ(info.database, 2u);
}

TEST(RedisUrl, APasswordAloneAndAnIpv6HostAndASlashAlone) {
    const ConnectionInfo info = weft::redis::parse_url("REDIS://:pw@[::1]:7000/");
    EXPECT_EQ(info.host, "::1");
    EXPECT_EQ(info.port, 7000);
    EXPECT_FALSE(info.username.has_value());
    EXPECT_EQ(info.password, std::optional<std::string>("pw"));
    EXPECT_EQ(info.database, 0u);
    const ConnectionInfo empty_password = weft::redis::parse_url("redis://:@h");
    EXPECT_EQ(empty_password.password, std::optional<std::string>(""));
}

TEST(RedisUrl, UnixUrlsNameASocketPathWithTheLoginInTheQuery) {
    const ConnectionInfo plain = weft::redis::parse_url("unix:///run/redis/redis.sock");
    EXPECT_EQ(plain.socket_path, std::optional<std::string>("/run/redis/redis.sock"));
    EXPECT_FALSE(plain.password.has_value());
    EXPECT_EQ(plain.database, 0u);
    const ConnectionInfo full = weft::redis::parse_url(
        "redis+unix:///tmp/my%20dir/r.sock?db=3&user=app&password=s%40cret&protocol=resp3&client_name=svc");
    EXPECT_EQ(full.socket_path, std::optional<std::string>("/tmp/my dir/r.sock"));
    EXPECT_EQ(full.database, 3u);
    EXPECT_EQ(full.username, std::optional<std::string>("app"));
    EXPECT_EQ(full.password, std::optional<std::string>("s@cret"));
    EXPECT_EQ(full.protocol, weft::redis::RespVersion::resp3);
    EXPECT_EQ(full.client_name, std::optional<std::string>("svc"));
    const ConnectionInfo upper = weft::redis::parse_url("Redis+Unix:///r.sock?password=pw");
    EXPECT_EQ(upper.socket_path, std::optional<std::string>("/r.sock"));
    EXPECT_FALSE(upper.username.has_value());
    EXPECT_EQ(upper.password, std::optional<std::string>("pw"));
    // A TCP URL names no socket.
    EXPECT_FALSE(weft::redis::parse_url("redis://h").socket_path.has_value());
}

TEST(RedisUrl, MalformedUrlsAreInvalidArgumentNamingTheProblem) {
    const auto message = [](std::string_view url) -> std::string {
        try {
            (void)weft::redis::parse_url(url);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "(accepted)";
    };
    EXPECT_NE(message("http://h").find("expected redis://"), std::string::npos);
    EXPECT_NE(message("rediss://h").find("TLS"), std::string::npos);
    EXPECT_NE(message("redis://").find("host is missing"), std::string::npos);
    EXPECT_NE(message("redis://h:0").find("port"), std::string::npos);
    EXPECT_NE(message("redis://h:65536").find("port"), std::string::npos);
    EXPECT_NE(message("redis://h:12x").find("port"), std::string::npos);
    EXPECT_NE(message("redis://h/db").find("database"), std::string::npos);
    EXPECT_NE(message("redis://h/-1").find("database"), std::string::npos);
    EXPECT_NE(message("redis://h?timeout=1").find("query"), std::string::npos);
    EXPECT_NE(message("redis://user@h").find("needs a password"), std::string::npos);
    EXPECT_NE(message("redis://:bad%zz@h").find("hex"), std::string::npos);
    EXPECT_NE(message("redis://[::1").find("]"), std::string::npos);
    EXPECT_NE(message("unix://").find("absolute socket path"), std::string::npos);
    EXPECT_NE(message("unix://host/r.sock").find("absolute socket path"), std::string::npos);
    EXPECT_NE(message("unix:///r.sock?db=x").find("database"), std::string::npos);
    EXPECT_NE(message("unix:///r.sock?db=1&db=2").find("twice"), std::string::npos);
    EXPECT_NE(message("unix:///r.sock?timeout=1").find("query"), std::string::npos);
    EXPECT_NE(message("unix:///r.sock?user=u").find("needs a password"), std::string::npos);
    EXPECT_NE(message("unix:///r.sock#x").find("fragment"), std::string::npos);
    EXPECT_NE(message("redis://h?db=1").find("query"), std::string::npos);  // a TCP URL has /db
    // The password never shows in a message.
    const std::string m = message("redis://u:topsecret@h:0");
    EXPECT_EQ(m.find("topsecret"), std::string::npos) << m;
    const std::string q = message("unix:///r.sock?password=topsecret&db=x");
    EXPECT_EQ(q.find("topsecret"), std::string::npos) << q;
    EXPECT_NE(q.find("password=***&db=x"), std::string::npos) << q;
}

}  // namespace
