// A private Redis Cluster for tests: three masters on free loopback ports, made into a cluster
// with `redis-cli --cluster create`.
//
//   weft::test::RedisCluster cluster;                   // throws if it cannot be started
//   ClusterClient c = co_await ClusterClient::connect(cluster.seeds());
//   cluster.node(0).kill_now();                         // SIGKILL one master
//
// Each node is a weft::test::RedisServer started with `--cluster-enabled yes` and a cluster config
// file of its own (/tmp/weft-cluster-PID-N.conf, removed with the cluster). The constructor
// returns once CLUSTER INFO says cluster_state:ok on every node, within a bounded wait.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"

namespace weft::test {

class RedisCluster {
public:
    // redis-cli next to redis-server ($WEFT_REDIS_SERVER's directory), else on PATH; empty if none.
    static std::string find_cli() {
        const std::string server = RedisServer::find_binary();
        if (server.empty()) return {};
        const std::string beside = server.substr(0, server.rfind('/') + 1) + "redis-cli";
        if (::access(beside.c_str(), X_OK) == 0) return beside;
        for (const char* dir : {"/usr/local/bin/", "/usr/bin/", "/bin/"}) {
            const std::string candidate = std::string(dir) + "redis-cli";
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        return {};
    }
    static bool is_installed() { return RedisServer::is_installed() && !find_cli().empty(); }

    // `extra_args` go to every node (e.g. {"--cluster-require-full-coverage", "no"}).
    explicit RedisCluster(std::vector<std::string> extra_args = {}, int masters = 3) : cli_(find_cli()) {
        if (cli_.empty()) throw std::runtime_error("redis-cli is not installed (apt-get install redis-tools)");
        static std::atomic<int> counter{0};
        for (int i = 0; i < masters; ++i) {
            const std::string conf = "/tmp/weft-cluster-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(counter.fetch_add(1)) + ".conf";
            ::unlink(conf.c_str());
            configs_.push_back(conf);
            RedisServer::Options options;
            options.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", conf};
            for (const std::string& a : extra_args) options.extra_args.push_back(a);
            nodes_.push_back(std::make_unique<RedisServer>(options));
        }
        std::string create = cli_ + " --cluster create";
        for (const auto& n : nodes_) create += " 127.0.0.1:" + std::to_string(n->port());
        const std::string log = configs_.front() + ".create.log";
        create += " --cluster-yes > " + log + " 2>&1";
        if (std::system(create.c_str()) != 0) {
            const std::string out = read_command("cat " + log);
            ::unlink(log.c_str());
            throw std::runtime_error("redis-cli --cluster create failed:\n" + out);
        }
        ::unlink(log.c_str());
        // Bounded: generous, since sanitizer builds on a loaded machine are slow.
        for (int i = 0; i < 600; ++i) {
            if (all_ok()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("the cluster did not reach cluster_state:ok within 30 s");
    }
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;
    ~RedisCluster() {
        nodes_.clear();  // stops every server
        for (const std::string& conf : configs_) ::unlink(conf.c_str());
    }

    std::size_t size() const noexcept { return nodes_.size(); }
    RedisServer& node(std::size_t i) const { return *nodes_.at(i); }
    std::vector<std::string> seeds() const {
        std::vector<std::string> out;
        for (const auto& n : nodes_) out.push_back("127.0.0.1:" + std::to_string(n->port()));
        return out;
    }

private:
    bool all_ok() const {
        for (const auto& n : nodes_) {
            const std::string info = read_command(cli_ + " -p " + std::to_string(n->port()) + " cluster info 2>&1");
            if (info.find("cluster_state:ok") == std::string::npos) return false;
        }
        return true;
    }

    static std::string read_command(const std::string& command) {
        std::string out;
        FILE* pipe = ::popen(command.c_str(), "r");
        if (!pipe) return out;
        char buf[512];
        std::size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
        ::pclose(pipe);
        return out;
    }

    std::string cli_;
    std::vector<std::string> configs_;
    std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace weft::test
