// weft::redis::Batch: several commands submitted to the manager as one unit.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <cstddef>
#include <ranges>
#include <string>
#include <string_view>

#include "detail/replies.hpp"
#include "resp_encoder.hpp"

namespace weft::redis {

/// Commands that go to Redis together: Manager::pipeline sends them back to back with no other
/// caller's command between them and returns their replies together; Manager::transaction wraps
/// them in MULTI/EXEC so they also run atomically on the server.
///
///     Batch batch;
///     batch.add("SET", "a", 1).add("INCR", "a").add("GET", "a");
///     std::vector<Value> replies = co_await redis.pipeline(batch);     // OK, 2, "2"
///
/// Each command is encoded (copied) by add(), so its arguments need not outlive it. A batch can
/// be submitted many times. Commands without exactly one reply (SUBSCRIBE, MONITOR...) are
/// refused by add() with std::invalid_argument, as Client::command refuses them.
class Batch {
public:
    /// Appends one command: `add("HSET", "h", "f", 42)`.
    /// @throws std::invalid_argument for a command without exactly one reply.
    template <CommandArg... Args>
        requires(sizeof...(Args) > 0)
    Batch& add(const Args&... args) {
        const std::size_t start = encoded_.size();
        encode_command(encoded_, args...);
        check_last(start);
        return *this;
    }
    /// Appends one command given as a range of arguments, its name first.
    /// @throws std::invalid_argument for an empty range or a command without exactly one reply.
    template <std::ranges::forward_range R>
        requires CommandArg<std::ranges::range_value_t<R>> && (!CommandArg<R>)
    Batch& add(const R& args) {
        const std::size_t start = encoded_.size();
        encode_command(encoded_, args);
        check_last(start);
        return *this;
    }

    /// How many commands it holds.
    std::size_t size() const noexcept { return count_; }
    /// True if it holds none.
    bool empty() const noexcept { return count_ == 0; }
    /// The commands, RESP-encoded back to back.
    std::string_view encoded() const noexcept { return encoded_; }
    /// Removes every command.
    void clear() noexcept {
        encoded_.clear();
        count_ = 0;
    }

private:
    void check_last(std::size_t start) {
        try {
            detail::refuse_unpaired_command(std::string_view(encoded_).substr(start));
        } catch (...) {
            encoded_.resize(start);
            throw;
        }
        ++count_;
    }

    std::string encoded_;
    std::size_t count_ = 0;
};

}  // namespace weft::redis
