// What the connection accepts, against a real redis-server: RESP3 through HELLO 3 (with AUTH and
// SETNAME folded in), push messages kept apart from replies, status and error lines longer than
// 64 KiB, the commands a request/reply call refuses (on the Client and through the manager), and
// the URL's query.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/channels/unbounded.hpp>
#include <weft/redis/client.hpp>
#include <weft/redis/manager.hpp>
#include <weft/redis/url.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/redis_server.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::redis::Client;
using weft::redis::ClientOptions;
using weft::redis::ConnectionInfo;
using weft::redis::Kind;
using weft::redis::Manager;
using weft::redis::ProtocolError;
using weft::redis::RespVersion;
using weft::redis::ServerError;
using weft::redis::Value;
using weft::test::caught;
using weft::test::key;

// SO_KEEPALIVE on a socket (the Client keeps only the stream half of its TcpStream, which has no
// option getters).
bool keepalive(const Client& c) {
    int on = 0;
    socklen_t len = sizeof on;
    EXPECT_EQ(::getsockopt(c.native_handle(), SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
    return on != 0;
}

std::string url(std::uint16_t port, std::string_view query = "") {
    return "redis://127.0.0.1:" + std::to_string(port) + std::string(query);
}

class RedisProtocolTest : public weft::test::RedisServerTest {};

TEST_P(RedisProtocolTest, Resp3FromTheUrlSpeaksResp3AndNamesTheConnection) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string h) -> Task<void> {
        Client c = co_await Client::connect(url(port, "?protocol=resp3&client_name=weft-resp3"));
        EXPECT_EQ(c.protocol(), RespVersion::resp3);
        const Value name = co_await c.command("CLIENT", "GETNAME");
        EXPECT_EQ(name.as_string(), "weft-resp3");
        co_await c.del(h);
        const Value added = co_await c.command("HSET", h, "a", "1", "b", "2");
        EXPECT_EQ(added.as_integer(), 2);
        const Value all = co_await c.command("HGETALL", h);
        EXPECT_EQ(all.kind(), Kind::map);  // RESP2 would give a flat array
        EXPECT_EQ(all.as_map().size(), 2u);
        const std::optional<std::string> missing = co_await c.get(h + ":missing");  // RESP3 null `_`
        EXPECT_FALSE(missing.has_value());
        const Value yes = co_await c.command("EVAL", "return redis.setresp(3) or true", 0);
        EXPECT_EQ(yes.kind(), Kind::boolean);
    }(port(), key("h")));
}

TEST_P(RedisProtocolTest, Resp2NamesTheConnectionWithClientSetname) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        Client c = co_await Client::connect(url(port, "?client_name=weft-resp2"));
        EXPECT_EQ(c.protocol(), RespVersion::resp2);
        const Value name = co_await c.command("CLIENT", "GETNAME");
        EXPECT_EQ(name.as_string(), "weft-resp2");
        EXPECT_TRUE(keepalive(c));  // on by default
        ClientOptions without;
        without.keepalive = false;
        Client plain = co_await Client::connect("127.0.0.1", port, std::move(without));
        EXPECT_FALSE(keepalive(plain));
    }(port()));
}

TEST_P(RedisProtocolTest, PushMessagesGoToOnPushAndNeverToACall) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        // Client-side caching: the server pushes an invalidation when a key we read changes.
        auto pushes = std::make_shared<std::vector<Value>>();
        ClientOptions options;
        options.on_push = [pushes](Value&& v) { pushes->push_back(std::move(v)); };
        ConnectionInfo info;
        info.port = port;
        info.protocol = RespVersion::resp3;
        Client tracked = co_await Client::connect(info, std::move(options));
        Client writer = co_await Client::connect("127.0.0.1", port);
        co_await writer.set(k, "v1");
        const Value on = co_await tracked.command("CLIENT", "TRACKING", "on");
        EXPECT_EQ(on.as_string(), "OK");
        const std::optional<std::string> first = co_await tracked.get(k);
        EXPECT_EQ(first, std::optional<std::string>("v1"));
        for (int round = 0; round < 3; ++round) {
            co_await writer.set(k, "v" + std::to_string(round + 2));  // invalidates what `tracked` read
            // The invalidation was queued on `tracked`'s connection before this PING: it arrives
            // first, and must not be taken for PING's reply.
            const std::string pong = co_await tracked.ping();
            EXPECT_EQ(pong, "PONG");
            const std::optional<std::string> again = co_await tracked.get(k);  // tracked again
            EXPECT_EQ(again, std::optional<std::string>("v" + std::to_string(round + 2)));
        }
        CO_ASSERT_TRUE(pushes->size() == 3u);
        for (const Value& push : *pushes) {
            EXPECT_EQ(push.kind(), Kind::push);
            CO_ASSERT_TRUE(push.as_array().size() == 2u);
            EXPECT_EQ(push.as_array()[0].as_string(), "invalidate");
            EXPECT_EQ(push.as_array()[1].as_array()[0].as_string(), k);
        }
    }(port(), key("cached")));
}

TEST_P(RedisProtocolTest, StatusAndErrorLinesLongerThan64KiBArriveWhole) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        const Value status = co_await c.command("EVAL", "return redis.status_reply(string.rep('s', 200000))", 0);
        EXPECT_EQ(status.kind(), Kind::simple_string);
        EXPECT_EQ(status.as_string(), std::string(200000, 's'));
        const Value error = co_await c.command("EVAL", "return redis.error_reply(string.rep('e', 300000))", 0);
        EXPECT_EQ(error.kind(), Kind::error);
        EXPECT_NE(error.error_text().find(std::string(300000, 'e')), std::string::npos);  // "ERR " + text
        const std::optional<ServerError> thrown =
            co_await caught<ServerError>(c.command("EVAL", "error(string.rep('x', 100000))", 0));
        EXPECT_FALSE(thrown.has_value());  // command() hands error replies back as values
        const std::string pong = co_await c.ping();  // still in step
        EXPECT_EQ(pong, "PONG");
        EXPECT_FALSE(c.is_broken());
    }(port()));
}

TEST_P(RedisProtocolTest, ALineOverTheConfiguredLimitIsAProtocolError) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        ClientOptions options;
        options.max_line_length = 1024;
        Client c = co_await Client::connect("127.0.0.1", port, std::move(options));
        const std::optional<ProtocolError> e =
            co_await caught<ProtocolError>(c.command("EVAL", "return redis.status_reply(string.rep('s', 5000))", 0));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_NE(std::string(e->what()).find("max_line_length"), std::string::npos) << e->what();
        EXPECT_TRUE(c.is_broken());
    }(port()));
}

TEST_P(RedisProtocolTest, TheClientRefusesCommandsWithoutExactlyOneReplyBeforeSendingThem) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        Client c = co_await Client::connect("127.0.0.1", port);
        const std::vector<std::vector<std::string>> refused = {
            {"SUBSCRIBE", "news"}, {"psubscribe", "n*"}, {"SSubscribe", "s"}, {"UNSUBSCRIBE"},
            {"MONITOR"},           {"HELLO", "3"},      {"RESET"},           {"client", "reply", "off"},
            {"CLIENT", "REPLY", "SKIP"}};
        for (const std::vector<std::string>& command : refused) {
            bool threw = false;
            try {
                (void)c.command(command);
            } catch (const std::invalid_argument& e) {
                threw = true;
                EXPECT_NE(std::string(e.what()).find("cannot be sent"), std::string::npos) << e.what();
            }
            EXPECT_TRUE(threw) << command[0];
        }
        // Nothing was sent: the connection is in step, and CLIENT REPLY ON (one reply) is allowed.
        const Value on = co_await c.command("CLIENT", "REPLY", "ON");
        EXPECT_EQ(on.as_string(), "OK");
        const std::string pong = co_await c.ping();
        EXPECT_EQ(pong, "PONG");
    }(port()));
}

TEST_P(RedisProtocolTest, TheManagerRefusesThemTooAndItsCallsWorkOnAConstHandle) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string k) -> Task<void> {
        Client client = co_await Client::connect("127.0.0.1", port);
        auto [manager, task] = weft::redis::spawn_manager(std::move(client), 16);
        {
            const Manager& redis = manager;  // every call is const
            EXPECT_THROW((void)redis.command("SUBSCRIBE", "news"), std::invalid_argument);
            EXPECT_THROW((void)redis.command("monitor"), std::invalid_argument);
            co_await redis.set(k, "1");
            const std::int64_t n = co_await redis.incr(k);
            EXPECT_EQ(n, 2);
            const std::optional<std::string> v = co_await redis.get(k);
            EXPECT_EQ(v, std::optional<std::string>("2"));
            const Value echoed = co_await redis.command("ECHO", "after the refusals");
            EXPECT_EQ(echoed.as_string(), "after the refusals");  // replies still matched
            const std::int64_t gone = co_await redis.del(k);
            EXPECT_EQ(gone, 1);
            const std::string pong = co_await redis.ping();
            EXPECT_EQ(pong, "PONG");
        }
        { Manager drop = std::move(manager); }
        co_await task;
    }(port(), key("n")));
}

// The next push within 10 s, or a nil Value (a failure for the caller to report).
Task<Value> next_push(weft::mpsc::UnboundedReceiver<Value>& pushes) {
    weft::TimeoutResult<std::optional<Value>> got = co_await weft::timeout(10s, pushes.recv());
    if (got.timed_out() || !*got) co_return Value();
    co_return std::move(**got);
}

TEST_P(RedisProtocolTest, AResp3ManagerSubscribesOnItsSharedConnectionAndPushesNeverReachACaller) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string ch, std::string k) -> Task<void> {
        auto [push_tx, pushes] = weft::mpsc::unbounded_channel<Value>();
        auto forward = std::make_shared<weft::mpsc::UnboundedSender<Value>>(std::move(push_tx));
        ClientOptions client_options;
        client_options.on_push = [forward](Value&& v) { (void)forward->send(std::move(v)); };
        ConnectionInfo info;
        info.port = port;
        info.protocol = RespVersion::resp3;
        const weft::redis::ManagerOptions manager_options;
        weft::redis::SpawnedManager spawned =
            co_await weft::redis::connect_manager(info, 16, manager_options, std::move(client_options));
        const Manager& redis = spawned.manager;
        const std::vector<std::string> channels{ch};
        co_await redis.subscribe(channels);
        Client publisher = co_await Client::connect("127.0.0.1", port);
        for (int i = 0; i < 5; ++i) {
            const Value heard = co_await publisher.command("PUBLISH", ch, "m" + std::to_string(i));
            EXPECT_EQ(heard.as_integer(), 1);
            // Commands on the same connection keep getting their own replies between the pushes.
            co_await redis.set(k, std::to_string(i));
            const std::optional<std::string> v = co_await redis.get(k);
            EXPECT_EQ(v, std::optional<std::string>(std::to_string(i)));
        }
        const Value confirmed = co_await next_push(pushes);
        CO_ASSERT_TRUE(confirmed.kind() == Kind::push);
        EXPECT_EQ(confirmed.as_array()[0].as_string(), "subscribe");
        for (int i = 0; i < 5; ++i) {
            const Value m = co_await next_push(pushes);
            CO_ASSERT_TRUE(m.kind() == Kind::push && m.as_array().size() == 3u);
            EXPECT_EQ(m.as_array()[0].as_string(), "message");
            EXPECT_EQ(m.as_array()[1].as_string(), ch);
            EXPECT_EQ(m.as_array()[2].as_string(), "m" + std::to_string(i));
        }
        co_await redis.unsubscribe();
        const Value left = co_await next_push(pushes);
        CO_ASSERT_TRUE(left.kind() == Kind::push);
        EXPECT_EQ(left.as_array()[0].as_string(), "unsubscribe");
        const Value nobody = co_await publisher.command("PUBLISH", ch, "unheard");
        EXPECT_EQ(nobody.as_integer(), 0);
        const std::vector<std::string> none;
        EXPECT_THROW((void)redis.subscribe(none), std::invalid_argument);
    }(port(), key("ch"), key("k")));
}

TEST_P(RedisProtocolTest, AResp2ManagerRefusesToSubscribe) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        Client client = co_await Client::connect("127.0.0.1", port);
        auto [manager, task] = weft::redis::spawn_manager(std::move(client), 4);
        const std::vector<std::string> channels{"news"};
        EXPECT_THROW((void)manager.subscribe(channels), std::logic_error);
        const std::string pong = co_await manager.ping();
        EXPECT_EQ(pong, "PONG");
    }(port()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(RedisProtocolTest);

// HELLO 3 with AUTH folded in, against a server started with --requirepass "s3cret:p@ss".
class RedisProtocolAuthTest : public weft::test::RedisPasswordTest {};

TEST_P(RedisProtocolAuthTest, HelloCarriesAuthAndSetname) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        Client c = co_await Client::connect("redis://:s3cret%3Ap%40ss@127.0.0.1:" + std::to_string(port) +
                                            "/3?protocol=resp3&client_name=authed");
        EXPECT_EQ(c.protocol(), RespVersion::resp3);
        const Value who = co_await c.command("ACL", "WHOAMI");
        EXPECT_EQ(who.as_string(), "default");
        const Value name = co_await c.command("CLIENT", "GETNAME");
        EXPECT_EQ(name.as_string(), "authed");
        const Value info = co_await c.command("CLIENT", "INFO");
        const std::string text = info.as_string();  // a verbatim string in RESP3
        EXPECT_NE(text.find("db=3"), std::string::npos) << text;
        EXPECT_NE(text.find("resp=3"), std::string::npos) << text;
        const std::optional<ServerError> wrong =
            co_await caught<ServerError>(Client::connect("redis://:nope@127.0.0.1:" + std::to_string(port) +
                                                         "?protocol=resp3"));
        CO_ASSERT_TRUE(wrong.has_value());
        EXPECT_EQ(wrong->prefix(), "WRONGPASS") << wrong->text();
    }(server_->port()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(RedisProtocolAuthTest);

// ---- the URL's query ---------------------------------------------------------------------------

TEST(RedisUrlQuery, ProtocolAndClientNameAreRead) {
    const ConnectionInfo three = weft::redis::parse_url("redis://:pw@h:7000/2?protocol=resp3&client_name=my%2Dapp");
    EXPECT_EQ(three.port, 7000);
    EXPECT_EQ(three.database, 2u);
    EXPECT_EQ(three.password, std::optional<std::string>("pw"));
    EXPECT_EQ(three.protocol, RespVersion::resp3);
    EXPECT_EQ(three.client_name, std::optional<std::string>("my-app"));
    const ConnectionInfo none = weft::redis::parse_url("redis://h");
    EXPECT_EQ(none.protocol, RespVersion::resp2);
    EXPECT_FALSE(none.client_name.has_value());
}

TEST(RedisUrlQuery, BadQueriesAreInvalidArgumentNamingTheProblem) {
    const auto message = [](std::string_view u) -> std::string {
        try {
            (void)weft::redis::parse_url(u);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "(accepted)";
    };
    EXPECT_NE(message("redis://h?protocol=resp4").find("resp2 or resp3"), std::string::npos);
    EXPECT_NE(message("redis://h?protocol=3&protocol=2").find("twice"), std::string::npos);
    EXPECT_NE(message("redis://h?timeout=1").find("unknown query parameter 'timeout'"), std::string::npos);
    EXPECT_NE(message("redis://h?client_name=").find("empty"), std::string::npos);
    EXPECT_NE(message("redis://h?client_name=a%20b").find("whitespace"), std::string::npos);
    EXPECT_NE(message("redis://h#frag").find("fragment"), std::string::npos);
    const ConnectionInfo two = weft::redis::parse_url("redis://h?protocol=2&client_name=app-1");
    EXPECT_EQ(two.protocol, RespVersion::resp2);
    EXPECT_EQ(two.client_name, std::optional<std::string>("app-1"));
    const ConnectionInfo plain = weft::redis::parse_url("redis://h?");
    EXPECT_EQ(plain.protocol, RespVersion::resp2);
}

}  // namespace
