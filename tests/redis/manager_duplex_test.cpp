// The manager's full duplex (redis/manager.hpp): it writes the next batch while earlier replies
// are still due. Against a real redis-server: many tasks with small batches, so batches overlap,
// each checking its own replies (single commands and pipelines); callers aborted while batches
// overlap. Against fake servers on loopback that read but answer when the test says: several
// batches written before any reply, then the connection reset (every caller gets the error; a
// reconnecting manager serves later calls); the bound on requests in flight, and sequential
// mode's one at a time.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <weft/redis/batch.hpp>
#include <weft/redis/client.hpp>
#include <weft/redis/manager.hpp>
#include <weft/redis/resp_parser.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/net_helpers.hpp"
#include "support/redis_server.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::net::Accepted;
using weft::net::TcpListener;
using weft::net::TcpStream;
using weft::redis::Batch;
using weft::redis::Client;
using weft::redis::ConnectionInfo;
using weft::redis::IoError;
using weft::redis::Manager;
using weft::redis::ManagerOptions;
using weft::redis::SpawnedManager;
using weft::redis::Value;
using weft::test::caught;
using weft::test::key;

// ---- against a real server ------------------------------------------------------------------

// INCRs its own counter and, every third step, sends a pipeline (SET, INCR, GET) as one unit;
// counts the replies that are not exactly this task's.
Task<long> own_counter(Manager redis, std::string prefix, long steps) {
    const std::string counter = prefix + ":n";
    const std::string k = prefix + ":k";
    long wrong = 0;
    std::int64_t expected = 0;
    for (long i = 0; i < steps; ++i) {
        if (i % 3 == 2) {
            const std::string v = prefix + ":" + std::to_string(i);
            Batch batch;
            batch.add("SET", k, v).add("INCR", counter).add("GET", k);
            const std::vector<Value> replies = co_await redis.pipeline(batch);
            ++expected;
            if (replies.size() != 3 || replies[0].as_string() != "OK" || replies[1].as_integer() != expected ||
                replies[2].as_string() != v)
                ++wrong;
        } else {
            const std::int64_t n = co_await redis.incr(counter);
            if (n != ++expected) ++wrong;
        }
    }
    co_return wrong;
}

class ManagerDuplexTest : public weft::test::RedisServerTest {};

// Small batches and a window of several: replies of one batch arrive while the next is written,
// and each still reaches its own caller, in order, pipelines whole.
TEST_P(ManagerDuplexTest, RepliesReachTheirCallersInOrderWhileBatchesOverlap) {
    auto rt = make_runtime();
    const long wrong = rt->block_on([](std::uint16_t port, std::string prefix, long steps) -> Task<long> {
        Client client = co_await Client::connect("127.0.0.1", port);
        ManagerOptions options;
        options.max_batch = 4;
        options.max_in_flight = 16;
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 32, options);
        std::vector<JoinHandle<long>> tasks;
        for (int t = 0; t < 48; ++t)
            tasks.push_back(weft::spawn(own_counter(spawned.manager, prefix + std::to_string(t), steps)));
        { auto ours = std::move(spawned.manager); }
        long wrong = 0;
        for (auto& h : tasks) {
            auto r = co_await weft::timeout(60s, h);
            wrong += r.timed_out() ? 1'000'000 : *r;
        }
        co_await spawned.task;
        co_return wrong;
    }(port(), key("t"), weft::test::scaled(600, 10)));
    EXPECT_EQ(wrong, 0);
}

// Half the callers are aborted mid-stream while batches overlap: the others still get their own
// replies (a counter that goes up by one each time), and the connection stays healthy.
TEST_P(ManagerDuplexTest, CallersAbortedWhileBatchesOverlapCostOnlyTheirReplies) {
    auto rt = make_runtime();
    rt->block_on([](std::uint16_t port, std::string prefix, long steps) -> Task<void> {
        Client client = co_await Client::connect("127.0.0.1", port);
        ManagerOptions options;
        options.max_batch = 3;
        options.max_in_flight = 12;
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 16, options);
        std::vector<JoinHandle<long>> tasks;
        for (int t = 0; t < 32; ++t)
            tasks.push_back(weft::spawn(own_counter(spawned.manager, prefix + std::to_string(t), steps)));
        // Once replies flow, abort every other task wherever it waits.
        for (;;) {
            const std::optional<std::string> n = co_await spawned.manager.get(prefix + "0:n");
            if (n && std::stol(*n) >= 3) break;
            co_await weft::sleep(1ms);
        }
        for (std::size_t t = 1; t < tasks.size(); t += 2) tasks[t].abort();
        long wrong = 0;
        for (std::size_t t = 0; t < tasks.size(); t += 2) {
            auto r = co_await weft::timeout(60s, tasks[t]);
            wrong += r.timed_out() ? 1'000'000 : *r;
        }
        EXPECT_EQ(wrong, 0);
        for (std::size_t t = 1; t < tasks.size(); t += 2) {
            const bool aborted = co_await weft::test::was_aborted(tasks[t]);
            (void)aborted;  // aborted, or done before the abort: either way its replies were its own
        }
        EXPECT_FALSE(spawned.manager.is_failed());
        for (std::size_t t = 0; t < tasks.size(); t += 2) {
            const std::optional<std::string> n = co_await spawned.manager.get(prefix + std::to_string(t) + ":n");
            EXPECT_EQ(n, std::optional<std::string>(std::to_string(steps)));
        }
    }(port(), key("c"), weft::test::scaled(300, 10)));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(ManagerDuplexTest);

// ---- against fake servers -------------------------------------------------------------------

// One accepted connection and the commands read from it so far.
class FakeConnection {
public:
    explicit FakeConnection(TcpStream stream) : stream_(std::move(stream)) {}

    // Reads until `count` commands have arrived in all; false if the peer closed first.
    Task<bool> read_until(std::size_t count) {
        while (received_ < count) {
            if (count_parsed()) continue;
            const std::size_t n = co_await stream_.read(std::span<char>(buf_));
            if (n == 0) co_return false;
            parser_.feed(std::span<const char>(buf_.data(), n));
        }
        co_return true;
    }
    // Waits `grace` for another command; true if none came (what the manager holds back).
    Task<bool> nothing_more_within(std::chrono::milliseconds grace) {
        const std::size_t before = received_;
        (void)co_await weft::timeout(grace, read_until(before + 1));
        co_return received_ == before;
    }
    // Answers `n` commands with +PONG.
    Task<void> pong(std::size_t n) {
        std::string out;
        for (std::size_t i = 0; i < n; ++i) out += "+PONG\r\n";
        co_await stream_.write_all(out);
        answered_ += n;
    }
    // Answers every command as it arrives, until the peer closes.
    Task<void> pong_until_closed() {
        for (;;) {
            if (answered_ < received_) {
                co_await pong(received_ - answered_);
                continue;
            }
            const bool more = co_await read_until(received_ + 1);
            if (!more) co_return;
        }
    }
    // Closes with a reset (SO_LINGER 0): the client's next read or write fails with ECONNRESET.
    void reset() {
        const linger abort_on_close{1, 0};
        ::setsockopt(stream_.native_handle(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
        stream_.close();
    }
    std::size_t received() const noexcept { return received_; }

private:
    bool count_parsed() {
        if (!parser_.next()) return false;
        ++received_;
        return true;
    }

    TcpStream stream_;
    weft::redis::RespParser parser_;  // a command is an array of bulk strings: RESP parses it
    std::vector<char> buf_ = std::vector<char>(4096);
    std::size_t received_ = 0;
    std::size_t answered_ = 0;
};

Task<FakeConnection> accept_one(TcpListener& listener) {
    Accepted accepted = co_await listener.accept();
    co_return FakeConnection(std::move(accepted.stream));
}

// How the callers fared: a PONG, an IoError, or something else (a bug).
struct Outcomes {
    long pongs = 0;
    long io_errors = 0;
    long other = 0;
};

Task<int> ping_once(Manager redis) {
    try {
        const std::string pong = co_await redis.ping();
        co_return pong == "PONG" ? 0 : 2;
    } catch (const IoError&) {
        co_return 1;
    } catch (...) {
        co_return 2;
    }
}

std::vector<JoinHandle<int>> spawn_pings(const Manager& redis, int callers) {
    std::vector<JoinHandle<int>> pings;
    for (int i = 0; i < callers; ++i) pings.push_back(weft::spawn(ping_once(redis)));
    return pings;
}

Task<Outcomes> outcomes_of(std::vector<JoinHandle<int>>& pings) {
    Outcomes out;
    for (auto& h : pings) {
        auto r = co_await weft::timeout(30s, h);
        if (r.timed_out()) ++out.other;
        else if (*r == 0) ++out.pongs;
        else if (*r == 1) ++out.io_errors;
        else ++out.other;
    }
    co_return out;
}

class ManagerDuplexFaultTest : public weft::test::AllRuntimes {};

// Several batches of two are written before any reply (lock-step would wait for the first
// batch's replies), then the server resets the connection: every caller, written or queued,
// gets an IoError; none hangs; later calls fail at once.
TEST_P(ManagerDuplexFaultTest, AConnectionResetWithSeveralBatchesInFlightFailsEveryCaller) {
    auto rt = make_runtime();
    rt->block_on(weft::test::bounded([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        Client client = co_await Client::connect("127.0.0.1", listener.local_addr().port());
        FakeConnection server = co_await accept_one(listener);
        ManagerOptions options;
        options.max_batch = 2;
        options.max_in_flight = 16;
        SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 4, options);
        std::vector<JoinHandle<int>> pings = spawn_pings(spawned.manager, 24);
        const bool got = co_await server.read_until(8);  // four batches or more, no reply yet
        EXPECT_TRUE(got);
        server.reset();
        const Outcomes out = co_await outcomes_of(pings);
        EXPECT_EQ(out.io_errors, 24);
        EXPECT_EQ(out.pongs + out.other, 0);
        co_await spawned.task;
        EXPECT_TRUE(spawned.manager.is_failed());
        const std::optional<IoError> later = co_await caught<IoError>(spawned.manager.ping());
        EXPECT_TRUE(later.has_value());
    }()));
}

// The same reset with reconnect on: the commands in flight get the error, and the manager
// connects again and answers the later calls there.
TEST_P(ManagerDuplexFaultTest, AReconnectingManagerServesLaterCallsAfterAResetWithBatchesInFlight) {
    auto rt = make_runtime();
    rt->block_on(weft::test::bounded([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        ConnectionInfo info;
        info.host = "127.0.0.1";
        info.port = listener.local_addr().port();
        ManagerOptions options;
        options.max_batch = 2;
        options.max_in_flight = 16;
        options.reconnect = true;
        options.min_backoff = 1ms;
        options.max_backoff = 10ms;
        Task<SpawnedManager> connecting = weft::redis::connect_manager(info, 4, options);
        JoinHandle<SpawnedManager> connected = weft::spawn(std::move(connecting));
        FakeConnection first = co_await accept_one(listener);
        SpawnedManager spawned = co_await connected;
        std::vector<JoinHandle<int>> pings = spawn_pings(spawned.manager, 24);
        const bool got = co_await first.read_until(8);
        EXPECT_TRUE(got);
        const std::size_t in_flight = first.received();
        first.reset();
        FakeConnection second = co_await accept_one(listener);
        JoinHandle<void> answering = weft::spawn(second.pong_until_closed());
        const Outcomes out = co_await outcomes_of(pings);
        EXPECT_GE(out.io_errors, static_cast<long>(in_flight));  // everything written got the error
        EXPECT_EQ(out.pongs + out.io_errors, 24);                // the rest went to the new connection
        EXPECT_EQ(out.other, 0);
        const std::string pong = co_await spawned.manager.ping();
        EXPECT_EQ(pong, "PONG");
        EXPECT_FALSE(spawned.manager.is_failed());
        spawned.task.abort();  // closes the second connection: its answering task ends
        co_await answering;
    }()));
}

// The server reads but holds its replies: the manager writes `window` requests and no more, then
// one more per reply; once the server answers everything, every caller gets its PONG.
Task<void> window_holds(ManagerOptions options, std::size_t window, int callers) {
    TcpListener listener = TcpListener::bind("127.0.0.1", 0);
    Client client = co_await Client::connect("127.0.0.1", listener.local_addr().port());
    FakeConnection server = co_await accept_one(listener);
    SpawnedManager spawned = weft::redis::spawn_manager(std::move(client), 2, options);
    std::vector<JoinHandle<int>> pings = spawn_pings(spawned.manager, callers);
    const bool got = co_await server.read_until(window);
    EXPECT_TRUE(got);
    const bool held = co_await server.nothing_more_within(100ms);
    EXPECT_TRUE(held) << "received " << server.received() << " with a window of " << window;
    co_await server.pong(1);  // room for one more
    const bool one_more = co_await server.read_until(window + 1);
    EXPECT_TRUE(one_more);
    const bool held_again = co_await server.nothing_more_within(100ms);
    EXPECT_TRUE(held_again) << "received " << server.received() << " with a window of " << window;
    JoinHandle<void> answering = weft::spawn(server.pong_until_closed());
    const Outcomes out = co_await outcomes_of(pings);
    EXPECT_EQ(out.pongs, callers);
    spawned.task.abort();
    co_await answering;
}

TEST_P(ManagerDuplexFaultTest, RequestsInFlightStayWithinMaxInFlight) {
    auto rt = make_runtime();
    ManagerOptions options;
    options.max_batch = 2;
    options.max_in_flight = 5;
    rt->block_on(weft::test::bounded(window_holds(options, 5, 20)));
}

TEST_P(ManagerDuplexFaultTest, SequentialModeHasOneCommandInFlight) {
    auto rt = make_runtime();
    ManagerOptions options;
    options.mode = ManagerOptions::Mode::sequential;
    rt->block_on(weft::test::bounded(window_holds(options, 1, 6)));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(ManagerDuplexFaultTest);

}  // namespace
