// broadcast::channel: many senders, many receivers; every receiver sees every value sent after it
// subscribed, in order.
//
//   auto [tx, rx] = weft::broadcast::channel<Event>(64);
//   auto rx2 = tx.subscribe();                       // another receiver, from now on
//   tx.send(event);                                  // -> SendResult: receivers reached, or none
//   auto r = co_await rx.recv();                     // a value, lagged(n), or closed
//   if (r) use(*r); else if (r.is_lagged()) skip(r.lagged_by()); else /* closed */ break;
//
// Semantics follow Tokio's broadcast. The channel keeps the last `capacity` values. Senders never
// wait: a receiver that falls more than `capacity` values behind loses the oldest ones; its next
// recv reports exactly how many it missed (RecvError::lagged, lagged_by() == n) and the one after
// continues from the oldest value still kept. recv reports closed once every sender is gone and
// the receiver has seen everything. A value is destroyed once every receiver that was subscribed
// when it was sent has read it, skipped it (lagged past it), or gone away. Each receiver gets its
// own copy, so T must be copyable. `send` fails, handing the value back, while there are no
// receivers.
//
// Lock-free: recv and try_recv of a value that is there (a shared-side spin of one slot's
// reader/writer lock, an atomic decrement; no mutex, no system call, no allocation), len,
// receiver_count. Not lock-free, and why:
//  - send takes the channel's SpinLock ("tail lock") to write one slot. Senders must fill positions
//    in order and a slot may not be overwritten while a receiver copies out of it, and the count of
//    receivers a value is due to must agree exactly with the position subscribe() starts a new
//    receiver at, or values would be destroyed early or never. One short lock makes those three
//    facts hold together; with a single sender it is never contended.
//  - The slot a sender overwrites is write-locked for the overwrite: the sender waits (spinning)
//    for receivers copying the old value out. Copies are short; that is why T's copy should be.
//  - subscribe, resubscribe and dropping a receiver take the tail lock (rare operations).
//  - a receiver with nothing to read queues under a second SpinLock (detail/event_waiters.hpp);
//    a send looks at an atomic waiter count and takes that lock only if someone waits.
//
// Cancellation: a recv takes a value only when it completes, so destroying a pending recv (its
// task aborted, a timeout won) loses nothing and leaves no waiter behind.
//
// Handles are not synchronised objects: one Sender or Receiver is used by one task at a time
// (copy a Sender, subscribe for another Receiver).
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "detail/budgeted_wait.hpp"
#include "detail/event_waiters.hpp"
#include <weft/runtime/detail/rw_spin_lock.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include "errors.hpp"

namespace weft::broadcast {

// Why a recv yielded no value.
enum class RecvError {
    closed,  // every sender is gone and this receiver has seen every value
    lagged,  // this receiver fell behind: lagged_by() values were dropped before it read them
};
// Why a try_recv yielded no value.
enum class TryRecvError {
    empty,   // nothing new now, but senders remain
    closed,  // as RecvError::closed
    lagged,  // as RecvError::lagged
};

// The outcome of a recv or try_recv: a value, or why there is none. After `lagged`, the receiver
// has moved on to the oldest value kept: the next recv yields it.
template <class T, class E>
class [[nodiscard]] RecvOutcome {
public:
    RecvOutcome(T value) : value_(std::move(value)) {}
    RecvOutcome(E error, std::uint64_t lagged_by = 0) noexcept : error_(error), lagged_by_(lagged_by) {}

    bool has_value() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    T& operator*() & { return *value_; }
    T&& operator*() && { return std::move(*value_); }
    T* operator->() { return &*value_; }

    bool is_closed() const noexcept { return !has_value() && error_ == E::closed; }
    bool is_lagged() const noexcept { return !has_value() && error_ == E::lagged; }
    bool is_empty() const noexcept
        requires(std::is_same_v<E, TryRecvError>)
    {
        return !has_value() && error_ == E::empty;
    }
    // How many values this receiver missed (exact); 0 unless is_lagged().
    std::uint64_t lagged_by() const noexcept { return is_lagged() ? lagged_by_ : 0; }
    // The reason; only meaningful when !has_value().
    E error() const noexcept { return error_; }

private:
    std::optional<T> value_;
    E error_{};
    std::uint64_t lagged_by_ = 0;
};

template <class T>
using RecvResult = RecvOutcome<T, RecvError>;
template <class T>
using TryRecvResult = RecvOutcome<T, TryRecvError>;

// The outcome of a send: how many receivers it reached, or (no receivers) the value handed back.
template <class T>
class [[nodiscard]] SendResult {
public:
    bool ok() const noexcept { return !value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    // No receiver was subscribed: nobody would ever see the value.
    bool is_closed() const noexcept { return !ok(); }
    // The reason (SendError::closed: no receivers); only meaningful when !ok().
    SendError error() const noexcept { return SendError::closed; }
    // How many receivers will see the value; 0 on failure.
    std::size_t receivers() const noexcept { return receivers_; }
    // The value that was not sent (moved out: call it once). Throws std::logic_error after a
    // successful send.
    T take_value() {
        if (ok()) throw std::logic_error("weft: take_value on a successful broadcast send");
        return std::move(*value_);
    }

private:
    template <class U>
    friend class Sender;
    struct Delivered {};
    struct Refused {};
    SendResult(Delivered, std::size_t receivers) noexcept : receivers_(receivers) {}
    SendResult(Refused, T value) : value_(std::move(value)) {}

    std::optional<T> value_;
    std::size_t receivers_ = 0;
};

template <class T>
class Sender;
template <class T>
class Receiver;

template <class T>
struct Channel {
    Sender<T> sender;
    Receiver<T> receiver;
};

// Creates a channel keeping the last `capacity` values, with one sender and one receiver. Throws
// std::invalid_argument if capacity is 0 (or absurdly large).
template <class T>
Channel<T> channel(std::size_t capacity);

namespace detail {

template <class T>
inline constexpr bool kCopyable = std::is_copy_constructible_v<T>;

// The state every handle shares.
//
// Layout: `capacity` slots, each with its own reader/writer spin lock, the position it holds
// (`pos`), the value, and `rem`: how many receivers have yet to read it. Position p lives in slot
// p % capacity. `tail_` is the next position to write, written only under `tail_lock_` (by a send)
// and read by anyone; `rx_count_` changes only under the tail lock too. Every receiver keeps its
// own next position.
//
// Invariants:
//  - tail_ is stored (p + 1) only after slot p % capacity holds p's value and `pos == p`.
//  - A value sent at position p has rem == the receivers subscribed at that moment, each of which
//    starts at a position <= p (subscribe reads tail_ under the same lock): exactly the receivers
//    that may read it. The last one to read it (rem reaches 0) destroys it; a receiver going away
//    counts as reading what it had not read yet; an overwrite destroys what is left.
//
// A receiver at position `next` looks at slot next % capacity under the shared lock:
//  - pos == next: its value (copy it out, decrement rem).
//  - pos >  next: overwritten; the receiver lagged. The oldest value kept is tail - capacity (tail
//    at least pos + 1): it missed exactly that minus `next`, and continues from there.
//  - pos <  next (or never written): not sent yet; empty, or closed if every sender is gone and
//    tail_ says nothing is left.
//  (pos == next with no value happens only if T's move constructor threw during a send into that
//  slot after the old value was destroyed: the receivers due for it are told they lagged by 1.)
//
// Orders: a slot's contents are published by its lock (writer's release unlock, reader's acquire
// lock_shared). `rem` is acq_rel so the last reader's destroy comes after every other reader's copy.
// tail_'s store is seq_cst: release for receivers that then read the slot, and seq_cst for the
// Dekker pair with waiting receivers (see detail/event_waiters.hpp); `closed_` likewise.
template <class T>
class Shared {
    static_assert(kCopyable<T>,
                  "weft::broadcast::channel<T> needs a copyable T: every receiver gets its own copy of each value");

public:
    enum class Status { kValue, kLagged, kEmpty, kClosed };

    explicit Shared(std::size_t capacity) : capacity_(capacity), slots_(new Slot[capacity]) {}

    // ---- handles -------------------------------------------------------------------------------

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }  // a holder exists
    void drop_ref() noexcept {
        // acq_rel: the last owner sees every other owner's use before deleting.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    void add_sender() noexcept { tx_count_.fetch_add(1, std::memory_order_relaxed); }  // a holder exists
    void drop_sender() noexcept {
        // acq_rel: the last sender's release of closed_ then covers every sender's sends.
        if (tx_count_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        closed_.store(true, std::memory_order_seq_cst);  // seq_cst: Dekker pair with waiting receivers
        rx_waiters_.wake_all();
    }

    // A new receiver: it will see every value sent from now on. Returns its first position.
    std::uint64_t subscribe() noexcept {
        std::lock_guard lock(tail_lock_);
        rx_count_.fetch_add(1, std::memory_order_relaxed);  // under the lock: sends read it there
        add_ref();
        return tail_.load(std::memory_order_relaxed);  // written only under this lock
    }
    // A receiver at `next` goes away: counts as reading every value it was due and had not read.
    void unsubscribe(std::uint64_t next) noexcept {
        std::uint64_t until;
        {
            std::lock_guard lock(tail_lock_);
            rx_count_.fetch_sub(1, std::memory_order_relaxed);
            until = tail_.load(std::memory_order_relaxed);
        }
        if (until > capacity_) next = std::max(next, until - capacity_);  // older ones are overwritten
        for (; next < until; ++next) {
            Slot& slot = slot_of(next);
            weft::detail::SharedSpinGuard guard(slot.lock);
            // acq_rel on rem: as in try_recv.
            if (slot.pos == next && slot.value && slot.rem.fetch_sub(1, std::memory_order_acq_rel) == 1)
                slot.value.reset();
        }
        drop_ref();
    }

    // ---- sending -------------------------------------------------------------------------------

    // Writes `value` at the tail. Returns the receivers it is due to, or 0 (nothing written, the
    // value left in place) if there are none. If T's move constructor throws, so does this (the
    // value at the overwritten position is gone; see the class comment).
    std::size_t send(T& value) {
        std::size_t receivers;
        {
            std::lock_guard lock(tail_lock_);
            receivers = rx_count_.load(std::memory_order_relaxed);
            if (receivers == 0) return 0;
            const std::uint64_t pos = tail_.load(std::memory_order_relaxed);
            Slot& slot = slot_of(pos);
            slot.lock.lock();  // waits for receivers copying the value at pos - capacity
            slot.value.reset();
            try {
                slot.value.emplace(std::move(value));
            } catch (...) {
                slot.lock.unlock();
                throw;
            }
            slot.pos = pos;
            slot.rem.store(receivers, std::memory_order_relaxed);  // published by the unlock
            slot.lock.unlock();
            tail_.store(pos + 1, std::memory_order_seq_cst);  // see the class comment
        }
        rx_waiters_.wake_all();
        return receivers;
    }

    // ---- receiving -----------------------------------------------------------------------------

    // Tries to read position `next`. kValue: `out` holds a copy and `next` advanced. kLagged:
    // `missed` values are gone and `next` moved to the oldest kept. A throwing copy propagates and
    // changes nothing (the receiver may try again).
    Status try_recv(std::uint64_t& next, std::optional<T>& out, std::uint64_t& missed) {
        for (;;) {
            Slot& slot = slot_of(next);
            std::uint64_t pos;
            {
                weft::detail::SharedSpinGuard guard(slot.lock);
                pos = slot.pos;
                if (pos == next) {
                    if (!slot.value) {  // its send threw after destroying it (see above)
                        ++next;
                        missed = 1;
                        return Status::kLagged;
                    }
                    out.emplace(*slot.value);
                    // acq_rel: acquire orders every other reader's copy before the last one's
                    // destroy; release publishes ours to it.
                    if (slot.rem.fetch_sub(1, std::memory_order_acq_rel) == 1) slot.value.reset();
                    ++next;
                    return Status::kValue;
                }
            }
            if (pos != kNever && pos > next) {
                // acquire: pairs with the tail store, though pos + 1 is a lower bound regardless.
                const std::uint64_t tail = std::max(tail_.load(std::memory_order_acquire), pos + 1);
                const std::uint64_t oldest = tail - capacity_;
                missed = oldest - next;
                next = oldest;
                return Status::kLagged;
            }
            // `next` not sent yet.
            // acquire: pairs with drop_sender's store; every send happened before it.
            if (!closed_.load(std::memory_order_acquire)) return Status::kEmpty;
            if (tail_.load(std::memory_order_acquire) <= next) return Status::kClosed;
            // A value was sent before the close after all (we read the slot too early): read it.
        }
    }

    // Queues `w` to be woken by the next send or the close, unless one already happened since
    // `next` (returns false then: try again).
    bool wait(weft::detail::Waiter& w, const Waker& waker, std::uint64_t next) {
        return rx_waiters_.wait(w, waker, [&] {
            // seq_cst: Dekker pair with send's tail store and drop_sender's closed store.
            return tail_.load(std::memory_order_seq_cst) > next || closed_.load(std::memory_order_seq_cst);
        });
    }
    weft::detail::EventWaiters& rx_waiters() noexcept { return rx_waiters_; }

    // ---- queries -------------------------------------------------------------------------------

    std::uint64_t tail() const noexcept { return tail_.load(std::memory_order_acquire); }  // pairs with send
    std::size_t receiver_count() const noexcept { return rx_count_.load(std::memory_order_relaxed); }
    bool is_closed() const noexcept { return closed_.load(std::memory_order_acquire); }  // pairs with drop_sender

private:
    static constexpr std::uint64_t kNever = ~std::uint64_t{0};

    // Own cache line each: receivers on different slots do not disturb each other.
    struct alignas(64) Slot {
        weft::detail::RwSpinLock lock;
        std::uint64_t pos = kNever;      // the position whose value this slot holds (or last held)
        std::atomic<std::size_t> rem{0};  // receivers still due to read it
        std::optional<T> value;
    };

    Slot& slot_of(std::uint64_t pos) const noexcept { return slots_[pos % capacity_]; }

    const std::size_t capacity_;
    std::unique_ptr<Slot[]> slots_;

    alignas(64) weft::detail::SpinLock tail_lock_;
    std::atomic<std::uint64_t> tail_{0};
    std::atomic<std::size_t> rx_count_{1};  // the first receiver, made with the channel

    alignas(64) std::atomic<std::size_t> tx_count_{1};
    std::atomic<std::size_t> refs_{2};  // the first sender and receiver
    std::atomic<bool> closed_{false};

    weft::detail::EventWaiters rx_waiters_;
};

}  // namespace detail

// The sending end. Copy it for more senders; the channel closes when the last copy is gone.
template <class T>
class Sender {
public:
    Sender(const Sender& other) noexcept : shared_(other.shared_) {
        if (shared_) {
            shared_->add_sender();
            shared_->add_ref();
        }
    }
    Sender(Sender&& other) noexcept : shared_(std::exchange(other.shared_, nullptr)) {}
    Sender& operator=(Sender other) noexcept {
        std::swap(shared_, other.shared_);
        return *this;
    }
    ~Sender() {
        if (shared_) {
            shared_->drop_sender();
            shared_->drop_ref();
        }
    }

    // Sends `value` to every receiver subscribed now. Never waits (a receiver too far behind loses
    // the oldest values instead). Ok with the number of receivers that will see it; or, with no
    // receivers, fails and hands the value back. Throws what T's move constructor throws.
    SendResult<T> send(T value) {
        if (const std::size_t n = shared()->send(value))
            return SendResult<T>(typename SendResult<T>::Delivered{}, n);
        return SendResult<T>(typename SendResult<T>::Refused{}, std::move(value));
    }

    // A new receiver that will see every value sent from now on.
    Receiver<T> subscribe() const { return Receiver<T>(shared(), shared()->subscribe()); }

    std::size_t receiver_count() const { return shared()->receiver_count(); }
    bool same_channel(const Sender& other) const noexcept { return shared_ == other.shared_; }

private:
    template <class U>
    friend Channel<U> channel(std::size_t);
    explicit Sender(detail::Shared<T>* shared) noexcept : shared_(shared) {}
    detail::Shared<T>* shared() const {
        if (!shared_) throw std::logic_error("weft: use of a moved-from broadcast::Sender");
        return shared_;
    }

    detail::Shared<T>* shared_;
};

// A receiving end: its own position in the stream. Move-only (resubscribe for another).
template <class T>
class Receiver {
public:
    Receiver(Receiver&& other) noexcept
        : shared_(std::exchange(other.shared_, nullptr)), next_(other.next_) {}
    Receiver& operator=(Receiver&& other) noexcept {
        if (this != &other) {
            release();
            shared_ = std::exchange(other.shared_, nullptr);
            next_ = other.next_;
        }
        return *this;
    }
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;
    // Values this receiver was still due count as read (the last receiver due destroys them).
    ~Receiver() { release(); }

    class RecvAwaiter;

    // `co_await rx.recv()`: the next value; or RecvError::lagged with lagged_by() == how many values
    // were dropped before this receiver read them (the next recv continues from the oldest kept);
    // or RecvError::closed once every sender is gone and everything was read. Suspends while there
    // is nothing new (or yields first, when the task's cooperative budget is spent).
    RecvAwaiter recv();

    // Like recv without waiting: a value, TryRecvError::empty (senders remain), lagged, or closed.
    TryRecvResult<T> try_recv() {
        std::optional<T> out;
        std::uint64_t missed = 0;
        switch (shared()->try_recv(next_, out, missed)) {
            case Status::kValue: return TryRecvResult<T>(std::move(*out));
            case Status::kLagged: return TryRecvResult<T>(TryRecvError::lagged, missed);
            case Status::kClosed: return TryRecvResult<T>(TryRecvError::closed);
            case Status::kEmpty: break;
        }
        return TryRecvResult<T>(TryRecvError::empty);
    }

    // A new receiver on the same channel that sees values sent from now on (not this one's backlog).
    Receiver resubscribe() const { return Receiver(shared(), shared()->subscribe()); }

    // Values sent that this receiver has not read yet. More than the capacity means the next recv
    // reports lagged.
    std::size_t len() const { return static_cast<std::size_t>(shared()->tail() - next_); }
    bool is_empty() const { return len() == 0; }
    std::size_t receiver_count() const { return shared()->receiver_count(); }
    // True once every sender is gone (values not read yet can still be received).
    bool is_closed() const { return shared()->is_closed(); }

private:
    using Status = typename detail::Shared<T>::Status;
    friend class Sender<T>;
    template <class U>
    friend Channel<U> channel(std::size_t);

    Receiver(detail::Shared<T>* shared, std::uint64_t next) noexcept : shared_(shared), next_(next) {}
    detail::Shared<T>* shared() const {
        if (!shared_) throw std::logic_error("weft: use of a moved-from broadcast::Receiver");
        return shared_;
    }
    void release() noexcept {
        if (detail::Shared<T>* s = std::exchange(shared_, nullptr)) s->unsubscribe(next_);
    }

    detail::Shared<T>* shared_;
    std::uint64_t next_;  // the next position to read
};

// The awaitable behind `co_await rx.recv()`. Not movable: it may sit in the waiter list.
template <class T>
class Receiver<T>::RecvAwaiter final : public weft::detail::BudgetedWait<RecvAwaiter> {
public:
    explicit RecvAwaiter(Receiver* rx) : rx_(rx), shared_(rx->shared()) {}
    ~RecvAwaiter() { shared_->rx_waiters().remove(node_); }

    RecvResult<T> await_resume() {
        if (error_) std::rethrow_exception(error_);
        return std::move(*result_);
    }

private:
    friend weft::detail::BudgetedWait<RecvAwaiter>;

    bool try_now() {
        std::optional<T> out;
        std::uint64_t missed = 0;
        switch (shared_->try_recv(rx_->next_, out, missed)) {
            case Status::kValue: result_.emplace(std::move(*out)); return true;
            case Status::kLagged: result_.emplace(RecvError::lagged, missed); return true;
            case Status::kClosed: result_.emplace(RecvError::closed); return true;
            case Status::kEmpty: break;
        }
        return false;
    }
    // Called after try_now found nothing. Returns true if the task must suspend (queued); false
    // once there is a result.
    bool wait(const Waker& waker) {
        while (!shared_->wait(node_, waker, rx_->next_)) {
            // Something arrived (or the channel closed) while we queued: take it.
            if (try_now()) return false;
        }
        return true;
    }
    bool poll_failed() noexcept {
        error_ = std::current_exception();  // T's copy threw: rethrown by await_resume
        return true;
    }

    Receiver* rx_;
    detail::Shared<T>* shared_;
    weft::detail::Waiter node_;
    std::optional<RecvResult<T>> result_;
    std::exception_ptr error_;
};

template <class T>
typename Receiver<T>::RecvAwaiter Receiver<T>::recv() {
    return RecvAwaiter(this);
}

template <class T>
Channel<T> channel(std::size_t capacity) {
    static_assert(detail::kCopyable<T>,
                  "weft::broadcast::channel<T> needs a copyable T: every receiver gets its own copy of each value");
    if (capacity == 0) throw std::invalid_argument("weft: broadcast channel capacity must be at least 1");
    if (capacity > (std::size_t{1} << 32))
        throw std::invalid_argument("weft: broadcast channel capacity is absurdly large (the limit is 2^32)");
    auto* shared = new detail::Shared<T>(capacity);
    return Channel<T>{Sender<T>(shared), Receiver<T>(shared, 0)};
}

}  // namespace weft::broadcast
