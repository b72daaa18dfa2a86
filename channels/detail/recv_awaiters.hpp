// The awaiters behind `co_await rx.recv()` and `co_await rx.recv_many(...)` on the bounded and
// unbounded mpsc receivers, over the channel's front contract (recv_port.hpp). Separate from
// blocking_recv.hpp: these suspend the task, the blocking path parks the thread.
//
// Waiting only looks at the channel (BudgetedWait: spend the budget, look, register the waker);
// await_resume is what moves messages out. So a receive cancelled at any point takes nothing, and
// a move or push_back that throws reaches the awaiting task with the message still in the channel
// (recv_many keeps what it appended before the throw in the caller's container).
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <utility>

#include <weft/runtime/waker.hpp>
#include "budgeted_wait.hpp"
#include "recv_port.hpp"
#include "recv_status.hpp"

namespace weft::detail {

// Waits until the channel has a message or is closed and drained (the shared part of both
// awaiters). Derived reads the outcome in await_resume.
template <class Derived, class Chan, class T>
class RecvWait : public BudgetedWait<Derived> {
protected:
    explicit RecvWait(Chan* ch) noexcept : port_(ch) {}

    // Rethrows what looking at the channel threw while the task was suspended (only the
    // transitional take contract can throw there).
    void rethrow_if_failed() {
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

    // BudgetedWait's hooks (it is a friend).
    bool try_now() { return (status_ = port_.poll()) != RecvStatus::kEmpty; }
    bool wait(const Waker& waker) { return (status_ = port_.register_receiver(waker)) == RecvStatus::kEmpty; }
    bool poll_failed() noexcept {
        error_ = std::current_exception();
        return true;
    }

    RecvPort<Chan, T> port_;
    RecvStatus status_ = RecvStatus::kEmpty;

private:
    friend BudgetedWait<Derived>;

    std::exception_ptr error_;
};

// `co_await rx.recv()`: the next message, or an empty optional once closed and drained.
template <class Chan, class T>
class WEFT_MUST_AWAIT RecvAwaiter final : public RecvWait<RecvAwaiter<Chan, T>, Chan, T> {
    using Base = RecvWait<RecvAwaiter<Chan, T>, Chan, T>;

public:
    explicit RecvAwaiter(Chan* ch) noexcept : Base(ch) {}
    // Throws what T's move constructor throws; the message then stays in the channel.
    std::optional<T> await_resume() {
        this->rethrow_if_failed();
        if (this->status_ != RecvStatus::kValue) return std::nullopt;
        return take_front<T>(this->port_);
    }
};

// `co_await rx.recv_many(buffer, limit)`: appends up to `limit` messages, at least one unless
// closed and drained (or limit == 0); yields how many.
template <class Chan, class T>
class WEFT_MUST_AWAIT RecvManyAwaiter final : public RecvWait<RecvManyAwaiter<Chan, T>, Chan, T> {
    using Base = RecvWait<RecvManyAwaiter<Chan, T>, Chan, T>;
    friend BudgetedWait<RecvManyAwaiter>;

public:
    template <class Container>
    RecvManyAwaiter(Chan* ch, Container& buffer, std::size_t limit) noexcept
        : Base(ch),
          limit_(limit),
          sink_(&buffer),
          push_([](void* c, T&& v) { static_cast<Container*>(c)->push_back(std::move(v)); }) {}

    // Throws what the container's push_back throws; that message and those after it stay in the
    // channel, those appended before it stay in the container.
    std::size_t await_resume() {
        this->rethrow_if_failed();
        std::size_t count = 0;
        while (count < limit_ && this->status_ == RecvStatus::kValue) {
            push_(sink_, std::move(this->port_.front()));  // if it throws, the message stays
            this->port_.pop_front();
            ++count;
            if (count < limit_) this->status_ = this->port_.poll();
        }
        return count;
    }

private:
    // limit == 0 completes at once with nothing, as Tokio's recv_many.
    bool try_now() { return limit_ == 0 || Base::try_now(); }

    std::size_t limit_;
    void* sink_;
    void (*push_)(void*, T&&);
};

}  // namespace weft::detail
