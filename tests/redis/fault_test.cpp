// The Redis client and the manager against fake servers on loopback (a TcpListener in the same
// runtime answering with scripted bytes): garbage, a hostile bulk length, replies split into
// single bytes, a close mid-reply, a connection reset. Clear errors, and correct results for the
// split replies.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <weft/redis/client.hpp>
#include <weft/redis/manager.hpp>
#include <weft/redis/resp_parser.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

// ASSERT_* cannot be used in a coroutine (it returns): this expects, then leaves the Task<void>.
namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::test::caught;
using weft::net::Accepted;
using weft::net::TcpListener;
using weft::net::TcpStream;
using weft::redis::Client;
using weft::redis::Errc;
using weft::redis::IoError;
using weft::redis::Manager;
using weft::redis::ProtocolError;
using weft::redis::ServerError;
using weft::redis::SpawnedManager;
using weft::redis::Value;

// What the fake server does: for the i-th command it receives, it sends replies[i] (one byte at a
// time if `byte_by_byte`); once every reply is sent, it sends `last_bytes` and then ends the
// connection as `ending` says.
struct Script {
    enum class Ending {
        close,                  // close at once
        reset,                  // close with SO_LINGER 0: the client gets ECONNRESET
        count_until_eof,        // keep reading (and counting commands) until the client closes
    };
    std::vector<std::string> replies;
    std::string last_bytes;
    bool byte_by_byte = false;
    Ending ending = Ending::close;
};

// Accepts one connection and plays `script`. Yields how many commands it received in all.
Task<std::size_t> fake_server(TcpListener& listener, Script script) {
    Accepted accepted = co_await listener.accept();
    TcpStream& s = accepted.stream;
    weft::redis::RespParser commands;  // a command is an array of bulk strings: RESP parses it
    std::size_t received = 0;
    std::size_t replied = 0;
    std::vector<char> buf(4096);
    bool eof = false;
    while (replied < script.replies.size() || script.ending == Script::Ending::count_until_eof) {
        const std::optional<Value> command = commands.next();
        if (!command) {
            if (eof) break;
            const std::size_t n = co_await s.read(std::span<char>(buf));
            if (n == 0) {
                eof = true;
                continue;
            }
            commands.feed(std::span<const char>(buf.data(), n));
            continue;
        }
        ++received;
        if (replied == script.replies.size()) continue;  // counting only
        const std::string& reply = script.replies[replied++];
        if (script.byte_by_byte) {
            for (char c : reply) {
                co_await s.write_all(std::string_view(&c, 1));
                co_await weft::sleep(1ms);  // so each byte arrives on its own
            }
        } else {
            co_await s.write_all(reply);
        }
        if (replied == script.replies.size() && !script.last_bytes.empty()) co_await s.write_all(script.last_bytes);
    }
    if (script.replies.empty() && !script.last_bytes.empty()) co_await s.write_all(script.last_bytes);
    if (script.ending == Script::Ending::reset) {
        const linger abort_on_close{1, 0};
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
    co_return received;  // `accepted` is destroyed here: the socket closes (or resets)
}

struct FakeServer {
    TcpListener listener = TcpListener::bind("127.0.0.1", 0);
    std::uint16_t port() const { return listener.local_addr().port(); }
};

class RedisFaultTest : public weft::test::AllRuntimes {};

TEST_P(RedisFaultTest, GarbageIsAProtocolErrorAndLaterCallsFailFastWithoutSending) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        FakeServer fake;
        Script script;
        script.replies = {"hello, I am not redis\r\n"};
        script.ending = Script::Ending::count_until_eof;
        JoinHandle<std::size_t> server = weft::spawn(fake_server(fake.listener, script));
        Client c = co_await Client::connect("127.0.0.1", fake.port());
        const std::optional<ProtocolError> first = co_await caught<ProtocolError>(c.ping());
        CO_ASSERT_TRUE(first.has_value());
        EXPECT_EQ(first->code(), Errc::protocol_error);
        EXPECT_TRUE(c.is_broken());
        const std::optional<ProtocolError> again = co_await caught<ProtocolError>(c.get("k"));
        CO_ASSERT_TRUE(again.has_value());
        EXPECT_STREQ(again->what(), first->what());  // the same error, at once
        const std::size_t commands = co_await server;  // it read until we closed
        EXPECT_EQ(commands, 1u);                      // the second call never reached it
    }());
}

TEST_P(RedisFaultTest, AHostileBulkLengthIsAProtocolErrorNotAnAllocation) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        FakeServer fake;
        Script script;
        script.replies = {"$9999999999\r\n"};
        script.ending = Script::Ending::count_until_eof;
        JoinHandle<std::size_t> server = weft::spawn(fake_server(fake.listener, script));
        Client c = co_await Client::connect("127.0.0.1", fake.port());
        const std::optional<ProtocolError> e = co_await caught<ProtocolError>(c.get("k"));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_NE(std::string(e->what()).find("length"), std::string::npos) << e->what();
        (void)co_await server;
    }());
}

TEST_P(RedisFaultTest, RepliesSplitIntoSingleBytesGiveTheRightResults) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        FakeServer fake;
        Script script;
        script.replies = {"$5\r\nhe\r\no\r\n", ":-42\r\n", "*3\r\n$1\r\na\r\n$-1\r\n*1\r\n:7\r\n", "-WRONGTYPE split\r\n",
                          "+PONG\r\n"};
        script.byte_by_byte = true;
        JoinHandle<std::size_t> server = weft::spawn(fake_server(fake.listener, script));
        Client c = co_await Client::connect("127.0.0.1", fake.port());
        const std::optional<std::string> bulk = co_await c.get("k");
        EXPECT_EQ(bulk, std::optional<std::string>(std::string("he\r\no")));
        const std::int64_t n = co_await c.incr("k");
        EXPECT_EQ(n, -42);
        const Value array = co_await c.command("MGET", "a", "b");
        EXPECT_EQ(array, Value::array({Value::bulk_string("a"), Value(), Value::array({Value::integer(7)})}));
        const std::optional<ServerError> error = co_await caught<ServerError>(c.get("k"));
        CO_ASSERT_TRUE(error.has_value());
        EXPECT_EQ(error->text(), "WRONGTYPE split");
        const std::string pong = co_await c.ping();
        EXPECT_EQ(pong, "PONG");
        EXPECT_FALSE(c.is_broken());
        const std::size_t commands = co_await server;
        EXPECT_EQ(commands, 5u);
    }());
}

TEST_P(RedisFaultTest, TheServerClosingMidReplyIsConnectionClosed) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        FakeServer fake;
        Script script;
        script.replies = {"$10\r\nabc"};
        JoinHandle<std::size_t> server = weft::spawn(fake_server(fake.listener, script));
        Client c = co_await Client::connect("127.0.0.1", fake.port());
        const std::optional<IoError> e = co_await caught<IoError>(c.get("k"));
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->code(), Errc::connection_closed);
        const std::optional<IoError> again = co_await caught<IoError>(c.ping());
        EXPECT_TRUE(again.has_value());
        (void)co_await server;
    }());
}

TEST_P(RedisFaultTest, TheServerClosingBeforeReplyingIsConnectionClosed) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        FakeServer fake;
        JoinHandle<std::size_t> server = weft::spawn([](TcpListener& l) -> Task<std::size_t> {
            Accepted a = co_await l.accept();
            char buf[64];
            const std::size_t n = co_await a.stream.read(std::span<char>(buf, sizeof buf));
            co_return n;  // closes without a word
        }(fake.listener));
        Client c = co_await Client::connect("127.0.0.1", fake.port());
        const std::optional<IoError> e = co_await caught<IoError>(c.ping());
        CO_ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->code(), Errc::connection_closed);
        EXPECT_NE(std::string(e->what()).find("closed the connection"), std::string::npos) << e->what();
        (void)co_await server;
    }());
}

TEST_P(RedisFaultTest, AResetConnectionIsAnIoErrorCarryingTheErrno) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        FakeServer fake;
        Script script;
        script.replies = {"+OK\r\n"};
        script.ending = Script::Ending::reset;
        JoinHandle<std::size_t> server = weft::spawn(fake_server(fake.listener, script));
        Client c = co_await Client::connect("127.0.0.1", fake.port());
        co_await c.set("k", "v");
        (void)co_await server;  // it has reset the connection
        const std::optional<IoError> e = co_await caught<IoError>(c.get("k"));
        CO_ASSERT_TRUE(e.has_value());
        // The reset surfaces on the write (EPIPE) or on the read (ECONNRESET), as the kernel has it.
        EXPECT_TRUE(e->code() == std::errc::connection_reset || e->code() == std::errc::broken_pipe)
            << e->code().message();
        EXPECT_EQ(e->code().category(), std::system_category());
    }());
}

// Through the manager: the first replies arrive, then garbage. Callers answered before it keep
// their replies; every other caller, in flight or queued, gets the ProtocolError; later calls
// fail at once; the manager task ends.
TEST_P(RedisFaultTest, TheManagerAnswersEveryPendingCallerWithTheProtocolError) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        FakeServer fake;
        Script script;
        script.replies = {"+PONG\r\n", "+PONG\r\n", "?garbage\r\n"};
        JoinHandle<std::size_t> server = weft::spawn(fake_server(fake.listener, script));
        Client client = co_await Client::connect("127.0.0.1", fake.port());
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 4);
        constexpr int kCallers = 20;
        std::vector<JoinHandle<int>> callers;  // 0: PONG, 1: ProtocolError, 2: anything else
        for (int i = 0; i < kCallers; ++i) {
            callers.push_back(weft::spawn([](Manager redis) -> Task<int> {
                try {
                    Task<std::string> ping = redis.ping();
                    const std::string pong = co_await ping;
                    co_return pong == "PONG" ? 0 : 2;
                } catch (const ProtocolError&) {
                    co_return 1;
                } catch (...) {
                    co_return 2;
                }
            }(spawned.manager)));
        }
        int pongs = 0, protocol_errors = 0, others = 0;
        for (auto& c : callers) {
            auto r = co_await weft::timeout(60s, c);
            if (r.timed_out()) ++others;
            else if (*r == 0) ++pongs;
            else if (*r == 1) ++protocol_errors;
            else ++others;
        }
        EXPECT_EQ(pongs, 2);
        EXPECT_EQ(protocol_errors, kCallers - 2);
        EXPECT_EQ(others, 0);
        auto ended = co_await weft::timeout(60s, spawned.task);
        EXPECT_FALSE(ended.timed_out());
        const std::optional<ProtocolError> later = co_await caught<ProtocolError>(spawned.manager.get("k"));
        EXPECT_TRUE(later.has_value());
        (void)co_await server;
    }());
}

// The server closes in the middle of the third reply: the first two callers get PONG, all the
// others an IoError (connection closed).
TEST_P(RedisFaultTest, TheManagerAnswersEveryPendingCallerWhenTheServerClosesMidReply) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        FakeServer fake;
        Script script;
        script.replies = {"+PONG\r\n", "+PONG\r\n", "+PO"};
        JoinHandle<std::size_t> server = weft::spawn(fake_server(fake.listener, script));
        Client client = co_await Client::connect("127.0.0.1", fake.port());
        weft::redis::ManagerOptions sequential;
        sequential.mode = weft::redis::ManagerOptions::Mode::sequential;
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 2, sequential);
        constexpr int kCallers = 12;
        std::vector<JoinHandle<int>> callers;
        for (int i = 0; i < kCallers; ++i) {
            callers.push_back(weft::spawn([](Manager redis) -> Task<int> {
                try {
                    Task<std::string> ping = redis.ping();
                    const std::string pong = co_await ping;
                    co_return pong == "PONG" ? 0 : 2;
                } catch (const IoError& e) {
                    co_return e.code() == Errc::connection_closed ? 1 : 2;
                } catch (...) {
                    co_return 2;
                }
            }(spawned.manager)));
        }
        int pongs = 0, closed = 0, others = 0;
        for (auto& c : callers) {
            auto r = co_await weft::timeout(60s, c);
            if (r.timed_out()) ++others;
            else if (*r == 0) ++pongs;
            else if (*r == 1) ++closed;
            else ++others;
        }
        EXPECT_EQ(pongs, 2);
        EXPECT_EQ(closed, kCallers - 2);
        EXPECT_EQ(others, 0);
        auto ended = co_await weft::timeout(60s, spawned.task);
        EXPECT_FALSE(ended.timed_out());
        EXPECT_TRUE(spawned.manager.is_failed());
        (void)co_await server;
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(RedisFaultTest);

}  // namespace
