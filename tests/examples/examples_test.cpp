// The examples, run as a user would: each binary is started (examples/ built with the
// release configuration; WEFT_EXAMPLES_DIR says where), talked to over loopback with plain
// blocking sockets, then stopped with a signal; it must answer correctly and exit 0. Every wait is
// bounded, so a broken example fails the test instead of hanging it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// A running example: its stdout read line by line, stopped (and reaped) by the destructor.
class Example {
public:
    explicit Example(const std::string& name, std::vector<std::string> args = {}) {
        const char* dir = std::getenv("WEFT_EXAMPLES_DIR");
        const std::string path = std::string(dir ? dir : "examples") + "/" + name;
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        args.insert(args.begin(), path);
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::execv(path.c_str(), argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        out_ = out[0];
    }
    ~Example() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        ::close(out_);
    }

    // The next line of its output, or nullopt after `limit` (or at its end).
    std::optional<std::string> line(std::chrono::milliseconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            if (const std::size_t nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string l = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return l;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
            char buf[4096];
            const ssize_t n = ::read(out_, buf, sizeof buf);
            if (n <= 0) return std::nullopt;
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
    }
    // The port from its "listening on 127.0.0.1:PORT" line.
    std::uint16_t port() {
        const std::optional<std::string> l = line();
        std::smatch m;
        static const std::regex listening(R"(listening on 127\.0\.0\.1:([0-9]+))");
        if (!l || !std::regex_search(*l, m, listening)) throw std::runtime_error("no 'listening on' line");
        return static_cast<std::uint16_t>(std::stoi(m[1].str()));
    }
    // Sends `sig` and waits (bounded) for it to exit; its exit status, or -1 if it did not exit.
    int stop(int sig = SIGTERM, std::chrono::milliseconds limit = 10s) {
        ::kill(pid_, sig);
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(10ms);
        }
        return -1;
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buffer_;
};

// A blocking loopback client whose reads give up after 10 s.
class Client {
public:
    explicit Client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
    }
    ~Client() { close(); }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    void send(const std::string& s) {
        for (std::size_t done = 0; done < s.size();) {
            const ssize_t n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send");
            done += static_cast<std::size_t>(n);
        }
    }
    // Exactly n bytes, or fewer if the server closed or 10 s passed.
    std::string read(std::size_t n) {
        std::string out;
        char buf[16384];
        while (out.size() < n) {
            const ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
            if (got <= 0) break;
            out.append(buf, static_cast<std::size_t>(got));
        }
        return out;
    }
    // The next line without its "\n"; nullopt at end of stream or after 10 s.
    std::optional<std::string> line() {
        for (;;) {
            if (const std::size_t nl = pending_.find('\n'); nl != std::string::npos) {
                std::string l = pending_.substr(0, nl);
                pending_.erase(0, nl + 1);
                return l;
            }
            char buf[4096];
            const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
            if (got <= 0) return std::nullopt;
            pending_.append(buf, static_cast<std::size_t>(got));
        }
    }
    // Sends a line and returns the answer line.
    std::optional<std::string> ask(const std::string& request) {
        send(request + "\n");
        return line();
    }

private:
    int fd_;
    std::string pending_;
};

TEST(Examples, EchoServerEchoesEveryClientAndStopsGracefullyOnSigterm) {
    Example server("echo_server");
    const std::uint16_t port = server.port();
    Client a(port), b(port), c(port);
    for (int i = 0; i < 10; ++i) {
        const std::string hello = "hello " + std::to_string(i) + "\n";
        a.send(hello);
        EXPECT_EQ(a.read(hello.size()), hello);
        b.send(hello);
        EXPECT_EQ(b.read(hello.size()), hello);
    }
    std::string big(1 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
    std::thread sender([&] { c.send(big); });
    EXPECT_EQ(c.read(big.size()), big);  // 1 MiB, read while it is still being sent
    sender.join();
    b.close();  // a client leaving does not disturb the others
    a.send("still here\n");
    EXPECT_EQ(a.read(11), "still here\n");
    EXPECT_EQ(server.stop(SIGTERM), 0);  // with a and c still connected: they are told to stop
}

TEST(Examples, KvServerSharesOneStoreBetweenClientsThroughItsManagerTask) {
    Example server("kv_server");
    const std::uint16_t port = server.port();
    Client a(port), b(port);
    EXPECT_EQ(a.ask("SET greeting hello world"), "OK");
    EXPECT_EQ(b.ask("GET greeting"), "hello world");
    EXPECT_EQ(b.ask("GET missing"), "(nil)");
    EXPECT_EQ(a.ask("DEL greeting"), "1");
    EXPECT_EQ(b.ask("DEL greeting"), "0");
    EXPECT_EQ(a.ask("GET greeting"), "(nil)");
    const std::optional<std::string> bad = a.ask("FLY away");
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->rfind("ERR usage", 0), 0u) << *bad;
    for (int i = 0; i < 100; ++i) EXPECT_EQ(a.ask("SET k" + std::to_string(i) + " " + std::to_string(i * i)), "OK");
    for (int i = 0; i < 100; ++i) EXPECT_EQ(b.ask("GET k" + std::to_string(i)), std::to_string(i * i));
    EXPECT_EQ(server.stop(SIGINT), 0);
}

TEST(Examples, ChatServerRelaysLinesAndAnnouncesAClientLeavingMidway) {
    Example server("chat_server");
    const std::uint16_t port = server.port();
    Client ann(port), bob(port), cat(port);
    EXPECT_EQ(ann.ask("ann"), "welcome ann");  // welcomed once subscribed: joins are ordered
    EXPECT_EQ(bob.ask("bob"), "welcome bob");
    EXPECT_EQ(ann.line(), "bob joined");
    EXPECT_EQ(cat.ask("cat"), "welcome cat");
    EXPECT_EQ(ann.line(), "cat joined");
    EXPECT_EQ(bob.line(), "cat joined");
    ann.send("hi all\n");
    EXPECT_EQ(bob.line(), "ann: hi all");
    EXPECT_EQ(cat.line(), "ann: hi all");
    cat.send("half a li");  // leaves in the middle of a line: what it sent is relayed, then it left
    cat.close();
    EXPECT_EQ(ann.line(), "cat: half a li");
    EXPECT_EQ(ann.line(), "cat left");
    EXPECT_EQ(bob.line(), "cat: half a li");
    EXPECT_EQ(bob.line(), "cat left");
    bob.send("bye cat\n");
    EXPECT_EQ(ann.line(), "bob: bye cat");
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

TEST(Examples, WorkerPoolFinishesEveryQueuedJobOnSigtermAndAccountsForEach) {
    Example pool("worker_pool", {"40"});
    EXPECT_EQ(pool.line(), "running");
    int done = 0, timed_out = 0;
    while (done < 10 || timed_out < 2) {  // jobs take 5-64 ms against a 40 ms limit: both happen
        const std::optional<std::string> l = pool.line();
        ASSERT_TRUE(l.has_value()) << "the pool stopped reporting";
        if (l->find(" done") != std::string::npos) ++done;
        if (l->find(" timed out") != std::string::npos) ++timed_out;
    }
    ASSERT_EQ(pool.stop(SIGTERM, 0ms), -1);  // signal only; its output is read below
    std::optional<std::string> last;
    for (;;) {
        std::optional<std::string> l = pool.line();
        ASSERT_TRUE(l.has_value()) << "no summary after SIGTERM";
        if (l->rfind("stopped:", 0) == 0) {
            last = l;
            break;
        }
        if (l->find(" done") != std::string::npos) ++done;
        if (l->find(" timed out") != std::string::npos) ++timed_out;
    }
    int submitted = 0, reported_done = 0, reported_timed_out = 0;
    ASSERT_EQ(std::sscanf(last->c_str(), "stopped: %d submitted, %d done, %d timed out", &submitted, &reported_done,
                          &reported_timed_out),
              3)
        << *last;
    EXPECT_EQ(reported_done, done);
    EXPECT_EQ(reported_timed_out, timed_out);
    EXPECT_EQ(submitted, done + timed_out) << "every queued job ran to completion or its timeout";
    EXPECT_EQ(pool.stop(SIGTERM), 0);
}

TEST(Examples, CustomAwaitableWakesTasksFromAPlainThreadAndTimesOutThroughWeft) {
    Example program("custom_awaitable");
    EXPECT_EQ(program.line(), "never: timed out");
    EXPECT_EQ(program.line(), "latch: open, 3 tasks resumed");
    EXPECT_EQ(program.line(), "sum of ids: 3");
    EXPECT_EQ(program.stop(0), 0);  // signal 0: only waits for it to exit
}

}  // namespace
