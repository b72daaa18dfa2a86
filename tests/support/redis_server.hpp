// A private redis-server for tests and benchmarks: started on a free loopback port, stopped by its
// pid.
//
//   weft::test::RedisServer server;                       // throws if it cannot be started
//   Client c = co_await Client::connect("127.0.0.1", server.port());
//   server.kill_now();                                    // SIGKILL, for fault tests
//
//   RedisServer unix_server(RedisServer::Options{.unix_socket = true});   // also on a Unix socket
//   Client u = co_await Client::connect_unix(unix_server.socket_path());
//
// The server runs `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no` (plus
// `--requirepass` if asked; with `unix_socket`, `--unixsocket DIR/redis.sock --unixsocketperm 700`
// besides the TCP port, DIR a fresh directory from mkdtemp removed with the server), its output in a log file quoted when it fails to start. The
// constructor returns once it answers PING (or NOAUTH, with a password), within bounded retries;
// a port taken between finding it free and the server binding it is retried with another. The
// destructor stops it (SIGTERM, then SIGKILL if it lingers) and reaps it with waitpid; if the
// test process dies first, the kernel kills the server (PR_SET_PDEATHSIG), so none is left
// running.
//
// With GoogleTest included first, this header also gives the fixture `RedisServerTest`: every
// runtime flavour (weft::test::AllRuntimes), one server shared by the whole test binary, and
// GTEST_SKIP with a message when redis-server is not installed.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace weft::test {

class RedisServer {
public:
    struct Options {
        std::string password;  // non-empty: --requirepass
        std::vector<std::string> extra_args;
        bool unix_socket = false;  // also listen on socket_path()
    };

    // The redis-server binary: $WEFT_REDIS_SERVER if set, else the first on PATH; empty if none.
    static std::string find_binary() {
        if (const char* env = std::getenv("WEFT_REDIS_SERVER"); env && *env) return env;
        const char* path = std::getenv("PATH");
        std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
        while (!dirs.empty()) {
            const std::size_t colon = dirs.find(':');
            const std::string dir(dirs.substr(0, colon));
            dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
            const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/redis-server";
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        return {};
    }
    static bool is_installed() { return !find_binary().empty(); }

    RedisServer() : RedisServer(Options{}) {}
    explicit RedisServer(Options options) : options_(std::move(options)), binary_(find_binary()) {
        if (binary_.empty()) throw std::runtime_error("redis-server is not installed (apt-get install redis-server)");
        if (options_.unix_socket) {
            char dir[] = "/tmp/weft-redis-XXXXXX";
            if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
            socket_dir_ = dir;
            socket_path_ = socket_dir_ + "/redis.sock";
        }
        std::string last_error;
        for (int attempt = 0; attempt < 5; ++attempt) {
            if (try_start(last_error)) return;
        }
        throw std::runtime_error("could not start redis-server: " + last_error);
    }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;
    ~RedisServer() {
        stop();
        if (!log_path_.empty()) ::unlink(log_path_.c_str());
        if (!socket_dir_.empty()) {
            ::unlink(socket_path_.c_str());  // redis-server removes it on SIGTERM, not on SIGKILL
            ::rmdir(socket_dir_.c_str());
        }
    }

    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return pid_; }
    const std::string& password() const noexcept { return options_.password; }
    // The Unix socket the server also listens on (Options::unix_socket); empty without one.
    const std::string& socket_path() const noexcept { return socket_path_; }
    bool is_running() const noexcept { return pid_ > 0; }

    // SIGKILL now (connections reset, nothing answered), and reap it.
    void kill_now() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        reap();
    }

    // SIGTERM, up to 5 s to exit, then SIGKILL; reaped either way. Idempotent.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 500; ++i) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        kill_now();
    }

    // Stops the server (SIGTERM) and starts a new one on the same port: clients see their
    // connection closed, and a reconnect finds an empty server. Throws if it cannot start again.
    void restart() {
        stop();
        std::string last_error;
        for (int attempt = 0; attempt < 20; ++attempt) {
            if (try_start(last_error, port_)) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("could not restart redis-server on port " + std::to_string(port_) + ": " + last_error);
    }

    // The server's log so far (for failure messages).
    std::string log() const {
        std::ifstream in(log_path_);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    // A free loopback TCP port right now (the kernel's choice for port 0).
    static std::uint16_t free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        socklen_t len = sizeof addr;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
            const int err = errno;
            ::close(fd);
            throw std::runtime_error("finding a free port: " + std::string(std::strerror(err)));
        }
        ::close(fd);
        return ntohs(addr.sin_port);
    }

private:
    void reap() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

    bool try_start(std::string& error, std::uint16_t port = 0) {
        port_ = port != 0 ? port : free_port();
        log_path_ = "/tmp/weft-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_) + ".log";
        std::vector<std::string> args{binary_,     "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                      "--save",    "",       "--appendonly",        "no",     "--daemonize",
                                      "no",        "--logfile", ""};
        if (!options_.password.empty()) {
            args.push_back("--requirepass");
            args.push_back(options_.password);
        }
        if (!socket_path_.empty()) {
            for (const char* a : {"--unixsocket", socket_path_.c_str(), "--unixsocketperm", "700"}) args.emplace_back(a);
        }
        for (const std::string& a : options_.extra_args) args.push_back(a);
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);

        const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            error = "cannot create " + log_path_ + ": " + std::strerror(errno);
            return false;
        }
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            error = std::string("fork: ") + std::strerror(errno);
            ::close(log_fd);
            return false;
        }
        if (pid == 0) {
            // The child: only async-signal-safe calls until exec.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test process
            if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
            ::dup2(log_fd, STDOUT_FILENO);
            ::dup2(log_fd, STDERR_FILENO);
            const int null_fd = ::open("/dev/null", O_RDONLY);
            if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(log_fd);
        pid_ = pid;
        // Bounded wait for PING: generous, since sanitizer builds on a loaded machine are slow.
        for (int i = 0; i < 1000; ++i) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                error = "redis-server exited at start (port " + std::to_string(port_) + " taken?); its log:\n" + log();
                return false;
            }
            if (answers_ping()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        error = "redis-server did not answer PING within 10 s; its log:\n" + log();
        kill_now();
        return false;
    }

    // A blocking PING on a fresh connection: true on +PONG, or -NOAUTH (alive, wants a password).
    bool answers_ping() const {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        timeval tv{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port_);
        bool alive = false;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            static constexpr char kPing[] = "*1\r\n$4\r\nPING\r\n";
            if (::send(fd, kPing, sizeof kPing - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof kPing - 1)) {
                char buf[64];
                const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
                const std::string_view reply(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
                alive = reply.starts_with("+PONG") || reply.starts_with("-NOAUTH");
            }
        }
        ::close(fd);
        return alive;
    }

    Options options_;
    std::string binary_;
    std::string log_path_;
    std::string socket_dir_;   // mkdtemp's directory holding socket_path_
    std::string socket_path_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace weft::test

#ifdef GTEST_SKIP
#include "runtimes.hpp"

namespace weft::test {

// One redis-server for the whole test binary, started by the first test that needs it and
// stopped at exit. Null if redis-server is not installed.
inline RedisServer* shared_redis_server() {
    static const std::unique_ptr<RedisServer> server =
        RedisServer::is_installed() ? std::make_unique<RedisServer>() : nullptr;
    return server.get();
}

// Fixture: every runtime flavour, against the shared server; skipped without redis-server.
// Every runtime flavour against a server of the suite's own started with --requirepass
// "s3cret:p@ss" (':' and '@' to exercise percent-encoding in URLs: "s3cret%3Ap%40ss").
class RedisPasswordTest : public AllRuntimes {
protected:
    static void SetUpTestSuite() {
        if (RedisServer::is_installed()) server_ = new RedisServer(RedisServer::Options{"s3cret:p@ss", {}});
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override {
        if (!server_) GTEST_SKIP() << "redis-server is not installed";
    }
    static inline RedisServer* server_ = nullptr;
};

class RedisServerTest : public AllRuntimes {
protected:
    void SetUp() override {
        if (!RedisServer::is_installed())
            GTEST_SKIP() << "redis-server is not installed (apt-get install redis-server, or set WEFT_REDIS_SERVER)";
        server_ = shared_redis_server();
    }
    std::uint16_t port() const { return server_->port(); }
    RedisServer& server() const { return *server_; }

private:
    RedisServer* server_ = nullptr;
};

}  // namespace weft::test
#endif
