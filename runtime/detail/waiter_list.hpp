// An intrusive FIFO of waiters. Not synchronised: its owner guards it with a mutex.
#pragma once

#include <atomic>
#include <cstddef>

#include "../waker.hpp"
#include "sync.hpp"

namespace weft::detail {

struct Waiter {
    enum class State { kIdle, kQueued, kNotified, kClosed };
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
    Waker waker;
    // Written only under the owning list's lock; atomic so the waiter can read it without one.
    atomic<State> state{State::kIdle};
};

class WaiterList {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    Waiter* front() const noexcept { return head_; }
    Waiter* back() const noexcept { return tail_; }

    void push_back(Waiter& w) noexcept {
        w.next = nullptr;
        w.prev = tail_;
        if (tail_) tail_->next = &w;
        else head_ = &w;
        tail_ = &w;
    }
    void push_front(Waiter& w) noexcept {
        w.prev = nullptr;
        w.next = head_;
        if (head_) head_->prev = &w;
        else tail_ = &w;
        head_ = &w;
    }
    void remove(Waiter& w) noexcept {
        if (w.prev) w.prev->next = w.next;
        else head_ = w.next;
        if (w.next) w.next->prev = w.prev;
        else tail_ = w.prev;
        w.prev = w.next = nullptr;
    }
    // Empties the list, marking every waiter `state`, and returns their wakers' owners in order.
    Waiter* take_all(Waiter::State state) noexcept {
        Waiter* list = head_;
        for (Waiter* w = list; w; w = w->next) w->state.store(state, std::memory_order_release);
        head_ = tail_ = nullptr;
        return list;
    }

private:
    Waiter* head_ = nullptr;
    Waiter* tail_ = nullptr;
};

}  // namespace weft::detail
