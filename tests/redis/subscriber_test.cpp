// redis::Subscriber against real redis-servers: channels, patterns and shard channels with a real
// publisher, many channels, a slow subscriber (the server cuts it off; it reconnects), a server
// restart (it subscribes again), and the failure paths (reconnect off, the handle dropped).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/redis/client.hpp>
#include <weft/redis/subscriber.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/redis_server.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::redis::Client;
using weft::redis::ConnectionInfo;
using weft::redis::IoError;
using weft::redis::Message;
using weft::redis::Subscriber;
using weft::redis::SubscriberOptions;
using weft::redis::Value;
using weft::test::caught;
using weft::test::key;

using Messages = weft::mpsc::Receiver<Message>;

// The next message, or nullopt if none came within `limit` (a failure for the caller to report)
// or the channel closed.
Task<std::optional<Message>> next_within(Messages& rx, std::chrono::milliseconds limit = 10s) {
    weft::TimeoutResult<std::optional<Message>> got = co_await weft::timeout(limit, rx.recv());
    if (got.timed_out()) co_return std::nullopt;
    co_return std::move(*got);
}

ConnectionInfo at(std::uint16_t port) {
    ConnectionInfo info;
    info.port = port;
    return info;
}

Task<std::int64_t> publish(Client& c, const std::string& channel, const std::string& payload) {
    const Value receivers = co_await c.command("PUBLISH", channel, payload);
    co_return receivers.as_integer();
}

class SubscriberTest : public weft::test::RedisServerTest {};

TEST_P(SubscriberTest, ChannelsAndPatternsDeliverInOrderAndUnsubscribeStopsThem) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string a, std::string b) -> Task<void> {
        Subscriber sub = co_await Subscriber::connect(at(port));
        std::vector<std::string> channels{a, b};
        co_await sub.subscribe(channels);
        std::vector<std::string> patterns{a + ".*"};
        co_await sub.psubscribe(patterns);
        Messages rx = sub.take_messages();
        EXPECT_THROW((void)sub.take_messages(), std::logic_error);
        Client pub = co_await Client::connect("127.0.0.1", port);
        const std::int64_t to_a = co_await publish(pub, a, "one");
        EXPECT_EQ(to_a, 1);
        co_await publish(pub, b, "two");
        co_await publish(pub, a + ".x", "three");
        const std::optional<Message> m1 = co_await next_within(rx);
        const std::optional<Message> m2 = co_await next_within(rx);
        const std::optional<Message> m3 = co_await next_within(rx);
        CO_ASSERT_TRUE(m1 && m2 && m3);
        EXPECT_EQ(m1->channel, a);
        EXPECT_EQ(m1->payload, "one");
        EXPECT_FALSE(m1->pattern.has_value());
        EXPECT_EQ(m2->channel, b);
        EXPECT_EQ(m2->payload, "two");
        EXPECT_EQ(m3->channel, a + ".x");
        EXPECT_EQ(m3->pattern, std::optional<std::string>(a + ".*"));
        EXPECT_EQ(m3->payload, "three");

        std::vector<std::string> just_a{a};
        co_await sub.unsubscribe(just_a);
        const std::int64_t after = co_await publish(pub, a, "unheard");
        EXPECT_EQ(after, 0);
        co_await sub.punsubscribe();  // every pattern
        const std::int64_t pattern_after = co_await publish(pub, a + ".y", "unheard");
        EXPECT_EQ(pattern_after, 0);
        co_await publish(pub, b, "still");
        const std::optional<Message> m4 = co_await next_within(rx);
        CO_ASSERT_TRUE(m4.has_value());
        EXPECT_EQ(m4->payload, "still");  // nothing from the channels given up came first
        co_await sub.unsubscribe();       // every channel
        const std::int64_t none = co_await publish(pub, b, "unheard");
        EXPECT_EQ(none, 0);
        EXPECT_EQ(sub.reconnects(), 0u);
        EXPECT_TRUE(sub.is_connected());
    }(port(), key("a"), key("b")));
}

TEST_P(SubscriberTest, ManyChannelsLoseNothingAndKeepEachChannelsOrder) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string prefix) -> Task<void> {
        constexpr int kChannels = 50;
        constexpr int kEach = 20;
        Subscriber sub = co_await Subscriber::connect(at(port));
        std::vector<std::string> channels;
        for (int c = 0; c < kChannels; ++c) channels.push_back(prefix + std::to_string(c));
        co_await sub.subscribe(channels);
        Messages rx = sub.take_messages();
        Client pub = co_await Client::connect("127.0.0.1", port);
        for (int i = 0; i < kEach; ++i)
            for (int c = 0; c < kChannels; ++c) co_await publish(pub, channels[c], std::to_string(i));
        std::map<std::string, int> next;
        for (int n = 0; n < kChannels * kEach; ++n) {
            const std::optional<Message> m = co_await next_within(rx);
            CO_ASSERT_TRUE(m.has_value());
            int& expected = next[m->channel];
            EXPECT_EQ(m->payload, std::to_string(expected)) << m->channel;
            ++expected;
        }
        EXPECT_EQ(next.size(), static_cast<std::size_t>(kChannels));
        for (const auto& [channel, count] : next) EXPECT_EQ(count, kEach) << channel;
    }(port(), key("ch")));
}

TEST_P(SubscriberTest, ShardChannelsGetSpublish) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string s) -> Task<void> {
        Subscriber sub = co_await Subscriber::connect("redis://127.0.0.1:" + std::to_string(port));
        std::vector<std::string> shard{s};
        co_await sub.ssubscribe(shard);
        Messages rx = sub.take_messages();
        Client pub = co_await Client::connect("127.0.0.1", port);
        const Value n = co_await pub.command("SPUBLISH", s, "sharded");
        EXPECT_EQ(n.as_integer(), 1);
        const std::optional<Message> m = co_await next_within(rx);
        CO_ASSERT_TRUE(m.has_value());
        EXPECT_TRUE(m->sharded);
        EXPECT_EQ(m->channel, s);
        EXPECT_EQ(m->payload, "sharded");
        co_await sub.sunsubscribe();
        const Value after = co_await pub.command("SPUBLISH", s, "unheard");
        EXPECT_EQ(after.as_integer(), 0);
    }(port(), key("s")));
}

TEST_P(SubscriberTest, ASlowSubscriberHoldsBoundedMemoryAndLosesNothingWithinTheServersLimit) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string ch) -> Task<void> {
        SubscriberOptions options;
        options.capacity = 4;  // the task stops reading the socket once 4 wait
        Subscriber sub = co_await Subscriber::connect(at(port), options);
        std::vector<std::string> channels{ch};
        co_await sub.subscribe(channels);
        Messages rx = sub.take_messages();
        Client pub = co_await Client::connect("127.0.0.1", port);
        const std::string payload(1000, 'p');
        for (int i = 0; i < 2000; ++i) co_await publish(pub, ch, std::to_string(i) + payload);  // 2 MB
        for (int i = 0; i < 2000; ++i) {
            const std::optional<Message> m = co_await next_within(rx);
            CO_ASSERT_TRUE(m.has_value());
            EXPECT_EQ(m->payload, std::to_string(i) + payload);
        }
        EXPECT_EQ(sub.reconnects(), 0u);
    }(port(), key("slow")));
}

TEST_P(SubscriberTest, SubscribingToNothingIsInvalidArgumentAndDroppingTheHandleClosesTheChannel) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        Task<Messages> subscribing = [](std::uint16_t port) -> Task<Messages> {
            Subscriber sub = co_await Subscriber::connect(at(port));
            const std::vector<std::string> nothing;
            const std::optional<std::invalid_argument> e = co_await caught<std::invalid_argument>(sub.subscribe(nothing));
            EXPECT_TRUE(e.has_value());
            co_return sub.take_messages();  // the Subscriber is dropped here
        }(port);
        Messages rx = co_await subscribing;
        const std::optional<Message> m = co_await next_within(rx);  // closed: empty at once
        EXPECT_FALSE(m.has_value());
        EXPECT_TRUE(rx.is_closed());
    }(port()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(SubscriberTest);

// Servers of its own: restarted, killed, or with a small Pub/Sub output limit.
class SubscriberFaultTest : public weft::test::AllRuntimes {
protected:
    void SetUp() override {
        if (!weft::test::RedisServer::is_installed()) GTEST_SKIP() << "redis-server is not installed";
    }
};

// Publishes on `channel` until `rx` gets a message (a resubscription may still be on its way).
Task<std::optional<Message>> publish_until_heard(std::uint16_t port, std::string channel, Messages& rx) {
    for (int attempt = 0; attempt < 200; ++attempt) {
        std::optional<Client> pub;
        try {
            pub.emplace(co_await Client::connect("127.0.0.1", port));
        } catch (const IoError&) {
        }
        if (pub) co_await publish(*pub, channel, "after");
        std::optional<Message> m = co_await next_within(rx, 50ms);
        if (m) co_return m;
    }
    co_return std::nullopt;
}

TEST_P(SubscriberFaultTest, AfterAServerRestartItReconnectsAndSubscribesAgain) {
    weft::test::RedisServer server;
    auto rt = make_runtime();
    rt->block_on([](weft::test::RedisServer& server) -> Task<void> {
        Subscriber sub = co_await Subscriber::connect(at(server.port()));
        std::vector<std::string> channels{"news"};
        co_await sub.subscribe(channels);
        std::vector<std::string> patterns{"logs.*"};
        co_await sub.psubscribe(patterns);
        Messages rx = sub.take_messages();
        server.restart();  // blocks this worker briefly: the subscriber task sees EOF afterwards
        const std::optional<Message> m = co_await publish_until_heard(server.port(), "news", rx);
        CO_ASSERT_TRUE(m.has_value());
        EXPECT_EQ(m->payload, "after");
        const std::optional<Message> p = co_await publish_until_heard(server.port(), "logs.app", rx);
        CO_ASSERT_TRUE(p.has_value());
        EXPECT_EQ(p->pattern, std::optional<std::string>("logs.*"));
        EXPECT_GE(sub.reconnects(), 1u);
        EXPECT_TRUE(sub.is_connected());
        EXPECT_EQ(sub.failure(), nullptr);
        std::vector<std::string> more{"more"};
        co_await sub.subscribe(more);  // requests work on the new connection
    }(server));
}

TEST_P(SubscriberFaultTest, WithReconnectOffAKilledServerEndsItWithTheError) {
    weft::test::RedisServer server;
    auto rt = make_runtime();
    rt->block_on([](weft::test::RedisServer& server) -> Task<void> {
        SubscriberOptions options;
        options.reconnect = false;
        Subscriber sub = co_await Subscriber::connect(at(server.port()), options);
        std::vector<std::string> channels{"news"};
        co_await sub.subscribe(channels);
        Messages rx = sub.take_messages();
        server.kill_now();
        const std::optional<Message> m = co_await next_within(rx);  // closes, not a timeout
        EXPECT_FALSE(m.has_value());
        EXPECT_TRUE(rx.is_closed());
        EXPECT_NE(sub.failure(), nullptr);
        EXPECT_FALSE(sub.is_connected());
        const std::optional<IoError> e = co_await caught<IoError>(sub.subscribe(channels));
        EXPECT_TRUE(e.has_value());
    }(server));
}

// The server cuts a subscriber off past its `client-output-buffer-limit pubsub`; loopback's
// socket buffers (tens of MB here) would make a test that fills them slow, so the cut is made
// with CLIENT KILL while the subscriber is behind, which is what the server does at its limit.
TEST_P(SubscriberFaultTest, ASubscriberCutOffWhileBehindDeliversWhatArrivedAndComesBack) {
    weft::test::RedisServer server;
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port) -> Task<void> {
        SubscriberOptions options;
        options.capacity = 2;
        Subscriber sub = co_await Subscriber::connect(at(port), options);
        std::vector<std::string> channels{"flood"};
        co_await sub.subscribe(channels);
        Messages rx = sub.take_messages();
        Client pub = co_await Client::connect("127.0.0.1", port);
        const std::string payload(10000, 'f');
        for (int i = 0; i < 100; ++i) co_await publish(pub, "flood", std::to_string(i) + payload);  // nobody reading
        const Value killed = co_await pub.command("CLIENT", "KILL", "TYPE", "pubsub");
        EXPECT_EQ(killed.as_integer(), 1);
        // What reached the subscriber before the cut comes out in order; then the channel is
        // heard again after the reconnect.
        int delivered = 0;
        for (;;) {
            const std::optional<Message> m = co_await next_within(rx, 300ms);
            if (!m) break;
            EXPECT_EQ(m->payload, std::to_string(delivered) + payload);
            ++delivered;
        }
        EXPECT_EQ(delivered, 100);  // all were in the socket before the kill
        const std::optional<Message> m = co_await publish_until_heard(port, "flood", rx);
        CO_ASSERT_TRUE(m.has_value());
        EXPECT_EQ(m->payload, "after");
        EXPECT_GE(sub.reconnects(), 1u);
    }(server.port()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(SubscriberFaultTest);

}  // namespace
