// The awaiters behind `co_await rx.recv()` and `co_await rx.recv_many(...)` on the bounded and
// unbounded mpsc receivers, over the `Chan` contract in recv_status.hpp. Separate from
// blocking_recv.hpp: these suspend the task, the blocking path parks the thread.
//
// A receive takes a value only when it completes, so a cancelled receive loses nothing; a spent
// cooperative budget makes it yield before trying.
#pragma once

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/coop.hpp>
#include <weft/runtime/detail/scheduler.hpp>
#include "recv_status.hpp"

namespace weft::detail {

// Receives into `out_`; a spent budget makes it yield before trying (so the value stays in the
// channel if the task is cancelled during the yield).
template <class Chan, class T>
class WEFT_MUST_AWAIT RecvAwaiter final : public Pollable {
public:
    explicit RecvAwaiter(Chan* ch) noexcept : ch_(ch) {}
    bool await_ready() {
        if (!coop::try_consume()) {
            must_yield_ = true;
            return false;
        }
        return ch_->try_recv(out_) != RecvStatus::kEmpty;
    }
    bool await_suspend(std::coroutine_handle<>) {
        if (must_yield_) coop::request_yield();
        else if (ch_->register_receiver(current_task_waker(), out_) != RecvStatus::kEmpty)
            return false;
        set_pending_poll(this);
        return true;
    }
    bool poll_ready() noexcept override {
        must_yield_ = false;
        if (ch_->try_recv(out_) != RecvStatus::kEmpty) return true;
        try {
            return ch_->register_receiver(current_task_waker(), out_) != RecvStatus::kEmpty;
        } catch (...) {
            return false;
        }
    }
    std::optional<T> await_resume() { return std::move(out_); }

private:
    Chan* ch_;
    std::optional<T> out_;
    bool must_yield_ = false;
};

template <class Chan, class T>
class WEFT_MUST_AWAIT RecvManyAwaiter final : public Pollable {
public:
    template <class Container>
    RecvManyAwaiter(Chan* ch, Container& buffer, std::size_t limit)
        : ch_(ch), limit_(limit), sink_(&buffer), push_([](void* c, T&& v) { static_cast<Container*>(c)->push_back(std::move(v)); }) {}

    bool await_ready() {
        if (limit_ == 0) return true;
        if (!coop::try_consume()) {
            must_yield_ = true;
            return false;
        }
        return drain() != RecvStatus::kEmpty || count_ > 0;
    }
    bool await_suspend(std::coroutine_handle<>) {
        if (must_yield_) {
            coop::request_yield();
        } else {
            std::optional<T> first;
            if (ch_->register_receiver(current_task_waker(), first) != RecvStatus::kEmpty) {
                take(std::move(first));
                drain();
                return false;
            }
        }
        set_pending_poll(this);
        return true;
    }
    bool poll_ready() noexcept override {
        must_yield_ = false;
        try {
            if (drain() != RecvStatus::kEmpty || count_ > 0) return true;
            std::optional<T> first;
            if (ch_->register_receiver(current_task_waker(), first) == RecvStatus::kEmpty) return false;
            take(std::move(first));
            drain();
            return true;
        } catch (...) {
            return false;
        }
    }
    std::size_t await_resume() const noexcept { return count_; }

private:
    // Takes values until the limit or an empty channel. Returns the last status.
    RecvStatus drain() {
        RecvStatus status = RecvStatus::kEmpty;
        std::optional<T> v;
        while (count_ < limit_ && (status = ch_->try_recv(v)) == RecvStatus::kValue) take(std::move(v));
        return status;
    }
    void take(std::optional<T>&& v) {
        if (!v) return;
        push_(sink_, std::move(*v));
        v.reset();
        ++count_;
    }

    Chan* ch_;
    std::size_t limit_;
    std::size_t count_ = 0;
    void* sink_;
    void (*push_)(void*, T&&);
    bool must_yield_ = false;
};

}  // namespace weft::detail
