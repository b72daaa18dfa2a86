/// @file
/// oneshot::channel: one value, sent once, from one task (or thread) to another.
///
/// @code
/// auto [tx, rx] = weft::oneshot::channel<Reply>();
/// tx.send(reply);                  // fails (value handed back) if the receiver is gone
/// Reply r = co_await rx;           // throws oneshot::RecvError if the sender was dropped unsent
/// @endcode
///
/// Cancellation: `co_await rx` takes the value only when it completes, so an abandoned await
/// (task aborted, timeout or select lost) leaves it for the next await or try_recv.
///
/// Threads: send, try_recv and close from any thread; `co_await` only inside a task run by a weft
/// runtime; blocking_recv only on a thread that is not a runtime worker. Each handle is used by one
/// task (or thread) at a time.
//
// Lock-free throughout: one atomic state word (below) and two waker slots.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/scheduler.hpp>
#include <weft/runtime/detail/sync.hpp>
#include <weft/runtime/detail/thread_waker.hpp>
#include <weft/runtime/waker.hpp>
#include <weft/runtime/detail/coop.hpp>
#include "detail/ensure_not_worker.hpp"
#include "errors.hpp"

namespace weft::oneshot {

/// Thrown by `co_await rx` and blocking_recv when the sender was dropped without sending.
class RecvError : public std::runtime_error {
public:
    /// Builds the error; its what() says the sender was dropped without sending a value.
    RecvError() : std::runtime_error("weft: oneshot sender dropped without sending a value") {}
};

template <class T>
class Sender;
template <class T>
class Receiver;

/// The two ends channel() returns; bind them with `auto [tx, rx] = channel<T>();`.
template <class T>
struct Channel {
    Sender<T> sender;      ///< Sends the value, once.
    Receiver<T> receiver;  ///< Receives it.
};

/// Creates a oneshot channel. From any thread.
/// @throws std::bad_alloc if the shared state cannot be allocated.
template <class T>
Channel<T> channel();

namespace detail {

// State bits:
//   kValueSent  the value is written (never set once kRxClosed is: the sender keeps its value)
//   kTxDropped  the sender went away without sending
//   kRxClosed   the receiver closed or went away
//   kRxWaker    rx_waker_ holds the receiver's waker; kTxWaker likewise for Sender::closed()
// A waker slot is written only while its bit is clear, by its owner (receiver / sender), and read
// by the other side only after an RMW that saw the bit set together with the event it wakes for;
// once that event bit is set, the owner no longer rewrites the slot.
//
// Orders: every transition is an acq_rel RMW: the value written before kValueSent is released
// with it and acquired by the receiver's load of the state.
template <class T>
class OneshotState {
public:
    static constexpr std::uint32_t kValueSent = 1;
    static constexpr std::uint32_t kTxDropped = 2;
    static constexpr std::uint32_t kRxClosed = 4;
    static constexpr std::uint32_t kRxWaker = 8;
    static constexpr std::uint32_t kTxWaker = 16;

    std::uint32_t load() const noexcept { return state_.load(std::memory_order_acquire); }

    // Sender: stores the value and publishes it. Returns false if the receiver closed first; the
    // value then stays in value() for the sender to take back (no assignment needed of T). If T's
    // move constructor throws, nothing is published (value() stays empty) and the exception
    // propagates: the caller then drops the sender as unsent.
    bool send(T&& value) {
        value_.emplace(std::move(value));
        std::uint32_t prev = state_.load(std::memory_order_relaxed);
        do {
            if (prev & kRxClosed) return false;
        } while (!state_.compare_exchange_weak(prev, prev | kValueSent, std::memory_order_acq_rel,
                                               std::memory_order_relaxed));
        if (prev & kRxWaker) rx_waker_.wake_by_ref();
        return true;
    }
    void drop_sender_unsent() noexcept {
        const std::uint32_t prev = state_.fetch_or(kTxDropped, std::memory_order_acq_rel);
        if (prev & kRxWaker) rx_waker_.wake_by_ref();
    }
    // Also wakes a receive waiting on the same receiver (close() from another task or thread): with
    // no value, nothing can arrive now, and the receive completes with RecvError.
    void close_receiver() noexcept {
        const std::uint32_t prev = state_.fetch_or(kRxClosed, std::memory_order_acq_rel);
        if (prev & (kValueSent | kTxDropped | kRxClosed)) return;
        if (prev & kTxWaker) tx_waker_.wake_by_ref();
        if (prev & kRxWaker) rx_waker_.wake_by_ref();
    }

    // Installs the waker for `event_bits` under the protocol above. Returns false if one of the
    // events already happened (do not suspend).
    bool set_waker(Waker waker, std::uint32_t waker_bit, std::uint32_t event_bits) {
        Waker& slot = waker_bit == kRxWaker ? rx_waker_ : tx_waker_;
        std::uint32_t prev = load();
        if (prev & event_bits) return false;
        if (prev & waker_bit) {
            if (slot.will_wake(waker)) return true;
            while (!state_.compare_exchange_weak(prev, prev & ~waker_bit, std::memory_order_acq_rel,
                                                 std::memory_order_acquire))
                if (prev & event_bits) return false;
            prev &= ~waker_bit;
        }
        slot = std::move(waker);
        while (!state_.compare_exchange_weak(prev, prev | waker_bit, std::memory_order_acq_rel,
                                             std::memory_order_acquire))
            if (prev & event_bits) return false;
        return true;
    }

    std::optional<T>& value() noexcept { return value_; }

    void drop_ref() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

private:
    weft::detail::atomic<std::uint32_t> state_{0};
    weft::detail::atomic<std::uint32_t> refs_{2};
    std::optional<T> value_;
    Waker rx_waker_;
    Waker tx_waker_;
};

// The awaiters' skeleton: as channels/detail/budgeted_wait.hpp (one unit of the cooperative budget
// per await; with none left, a yield before trying), but movable, because timeout() and select()
// move the receiver's awaiter out of its operator co_await. That is safe here: a waker slot in the
// shared state is all a wait registers, so nothing points at the awaiter.
// Derived provides try_now() (true if complete) and wait(const Waker&) (true if it must suspend).
template <class Derived>
class BudgetedLeaf : public weft::detail::Pollable {
public:
    bool await_ready() noexcept {
        if (!weft::detail::coop::try_consume()) {
            must_yield_ = true;
            return false;
        }
        return self().try_now();
    }
    bool await_suspend(std::coroutine_handle<>) {
        if (must_yield_) weft::detail::coop::request_yield();
        else if (!self().wait(weft::detail::current_task_waker())) return false;
        weft::detail::set_pending_poll(this);
        return true;
    }
    // After a yield: what was skipped (try, then install the waker). After a wake: the waker is
    // installed already; only an event wakes it, so a look at the state is enough.
    bool poll_ready() noexcept final {
        if (std::exchange(must_yield_, false))
            return self().try_now() || !self().wait(weft::detail::current_task_waker());
        return self().try_now();
    }

protected:
    BudgetedLeaf() = default;
    ~BudgetedLeaf() = default;

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
    bool must_yield_ = false;
};

}  // namespace detail

/// The sending end: sends one value. Move-only. Its members may be called from any thread
/// (closed() is awaited inside a task).
template <class T>
class Sender {
    using State = detail::OneshotState<T>;

public:
    /// Takes `other`'s place; `other` becomes used.
    Sender(Sender&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    /// Drops this sender (as the destructor does) and takes `other`'s place.
    Sender& operator=(Sender&& other) noexcept {
        if (this != &other) {
            release_unsent();
            state_ = std::exchange(other.state_, nullptr);
        }
        return *this;
    }
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;
    /// Dropping an unused sender tells the receiver (its await throws RecvError).
    ~Sender() { release_unsent(); }

    /// Sends the value and wakes the receiver; the sender is used up either way. Fails, handing
    /// the value back, if the receiver is gone or closed. Never waits.
    /// Throws whatever T's move constructor throws; the sender is then used up as if dropped
    /// unsent (the receiver's await throws RecvError, try_recv reports disconnected).
    /// @throws std::logic_error on a used (or moved-from) sender.
    SendResult<T> send(T value) {
        if (!state_) throw std::logic_error("weft: oneshot::Sender used twice");
        State* state = std::exchange(state_, nullptr);
        // Whatever happens below, this sender is used up: if T's move throws, the receiver sees
        // the sender dropped unsent (RecvError) rather than waiting for ever.
        struct DropUnsent {
            State* state;
            ~DropUnsent() {
                if (state) {
                    state->value().reset();
                    state->drop_sender_unsent();
                    state->drop_ref();
                }
            }
        } unsent{state};
        if (state->send(std::move(value))) {
            unsent.state = nullptr;
            state->drop_ref();
            return {};
        }
        return SendResult<T>(SendError::closed, std::move(*state->value()));  // then DropUnsent
    }

    /// True once the receiver is gone or closed: the value would not be delivered. False on a
    /// used sender.
    bool is_closed() const noexcept { return state_ && (state_->load() & State::kRxClosed); }

    /// The awaitable closed() returns. A leaf awaitable: select() and timeout() accept it.
    ///
    /// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative
    /// budget and check the receiver, else install the task's waker: a loop on closed() of a
    /// closed channel yields to the other tasks once the budget is spent.
    class WEFT_MUST_AWAIT ClosedAwaiter final : public detail::BudgetedLeaf<ClosedAwaiter> {
    public:
        /// Made by Sender::closed().
        /// @throws std::logic_error on a used sender.
        explicit ClosedAwaiter(State* state) : state_(state) {
            if (!state_) throw std::logic_error("weft: closed() on a used oneshot::Sender");
        }
        /// Yields nothing.
        void await_resume() const noexcept {}

    private:
        /// @cond
        friend detail::BudgetedLeaf<ClosedAwaiter>;
        /// @endcond
        bool try_now() const noexcept { return state_->load() & State::kRxClosed; }
        // True if the task must suspend (the waker is installed before the receiver closed).
        bool wait(const Waker& waker) noexcept {
            return state_->set_waker(waker, State::kTxWaker, State::kRxClosed);
        }

        State* state_;
    };
    /// `co_await tx.closed()`: completes when the receiver is gone or closed (at once if it
    /// already is). Lets a task stop work nobody is waiting for. Cancellation-safe (it takes
    /// nothing). Await inside a task run by a weft runtime; the sender must not send or go away
    /// while it waits.
    /// @throws std::logic_error on a used sender.
    ClosedAwaiter closed() { return ClosedAwaiter(state_); }

private:
    /// @cond
    template <class U>
    friend Channel<U> channel();
    /// @endcond
    explicit Sender(State* state) noexcept : state_(state) {}
    void release_unsent() noexcept {
        if (State* state = std::exchange(state_, nullptr)) {
            state->drop_sender_unsent();
            state->drop_ref();
        }
    }

    State* state_;
};

/// The receiving end: `co_await rx` for the value. Move-only. Using a moved-from receiver
/// throws std::logic_error.
template <class T>
class Receiver {
    using State = detail::OneshotState<T>;

public:
    /// Takes `other`'s place; `other` becomes moved-from.
    Receiver(Receiver&& other) noexcept
        : state_(std::exchange(other.state_, nullptr)), terminated_(other.terminated_) {}
    /// Drops this receiver (as the destructor does) and takes `other`'s place.
    Receiver& operator=(Receiver&& other) noexcept {
        if (this != &other) {
            release();
            state_ = std::exchange(other.state_, nullptr);
            terminated_ = other.terminated_;
        }
        return *this;
    }
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;
    /// Closes the channel (a later send fails) and destroys a value sent but not taken.
    ~Receiver() { release(); }

    /// The awaitable `co_await rx` uses. A leaf awaitable: select() and timeout() accept the
    /// Receiver itself.
    ///
    /// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative
    /// budget and check for the value (or the drop, or the close), else install the task's waker.
    class WEFT_MUST_AWAIT Awaiter final : public detail::BudgetedLeaf<Awaiter> {
    public:
        /// Refers to `rx`, which must outlive the await.
        /// @throws std::logic_error on a moved-from receiver.
        explicit Awaiter(Receiver& rx) : rx_(rx) { (void)rx.state(); }
        /// Takes the value.
        /// @throws RecvError if the sender was dropped unsent, or the receiver closed first.
        /// @throws std::logic_error if the value was already taken.
        T await_resume() { return rx_.take(); }

    private:
        /// @cond
        friend detail::BudgetedLeaf<Awaiter>;
        /// @endcond
        bool try_now() const noexcept { return rx_.state_->load() & kFinal; }
        // True if the task must suspend (the waker is installed before anything final happened).
        bool wait(const Waker& waker) noexcept { return rx_.state_->set_waker(waker, State::kRxWaker, kFinal); }

        Receiver& rx_;
    };
    /// `co_await rx`: the value, once sent (suspends until then).
    ///
    /// Cancellation-safe: the value is taken only when the await completes; an abandoned await
    /// leaves it for the next one. Await inside a task run by a weft runtime.
    /// @throws RecvError if the sender was dropped unsent, or close() came before a value (at once:
    ///         nothing can arrive after a close).
    /// @throws std::logic_error if the value was already taken, or on a moved-from receiver.
    Awaiter operator co_await() & { return Awaiter(*this); }
    /// As above, on a receiver that is a temporary (it lives until the end of the full expression).
    Awaiter operator co_await() && { return Awaiter(*this); }

    /// The value if it was sent (taking it); otherwise empty (the sender may still send) or
    /// disconnected (dropped unsent, closed before a value, or the value already taken: nothing
    /// more will come, as Tokio's TryRecvError::Closed). Never waits; from any thread.
    /// Throws whatever T's move constructor throws.
    /// @throws std::logic_error on a moved-from receiver.
    TryRecvResult<T> try_recv() {
        const std::uint32_t s = state()->load();
        if ((s & State::kValueSent) && state_->value().has_value()) return TryRecvResult<T>(take());
        if (s & kFinal) {
            terminated_ = true;
            return TryRecvResult<T>(TryRecvError::disconnected);
        }
        return TryRecvResult<T>(TryRecvError::empty);
    }

    /// True once a receive has completed: the value was taken, or `co_await`, blocking_recv() or
    /// try_recv() reported the sender dropped or the channel closed. Nothing more can be received
    /// then (as Tokio's is_terminated). From any thread.
    /// @throws std::logic_error on a moved-from receiver.
    bool is_terminated() const {
        (void)state();
        return terminated_;
    }

    /// True if there is no value waiting to be taken: none sent yet, the sender dropped unsent,
    /// the channel closed before a value, or the value already taken (as Tokio's is_empty). A
    /// false is final until the value is taken. From any thread.
    /// @throws std::logic_error on a moved-from receiver.
    bool is_empty() const {
        // The value is the receiver's alone once kValueSent is set (acquire: pairs with the send).
        return !(state()->load() & State::kValueSent) || !state_->value().has_value();
    }

    /// Blocks this thread until the value is sent, and takes it. For threads that are not runtime
    /// workers.
    /// @throws RecvError if the sender was dropped unsent, or close() came before a value.
    /// @throws std::logic_error on a runtime worker thread, if the value was already taken, or on
    ///         a moved-from receiver.
    T blocking_recv() {
        weft::detail::ensure_not_worker("oneshot blocking_recv");
        State* s = state();
        if (!(s->load() & kFinal)) {
            weft::detail::ScopedThreadNotifier notifier;
            if (s->set_waker(notifier->waker(), State::kRxWaker, kFinal))
                while (!(s->load() & kFinal)) notifier->park();
        }
        return take();
    }

    /// Refuses the value from now on: a later send fails and hands it back. A value sent before
    /// the close can still be taken (try_recv, or `co_await`); with none, `co_await`,
    /// blocking_recv() and try_recv() report the channel closed at once. From any thread.
    /// @throws std::logic_error on a moved-from receiver.
    void close() { state()->close_receiver(); }

private:
    // Once one of these is set nothing more can arrive: a receive completes now, with the value or
    // RecvError (kValueSent is never set after kRxClosed: a send after a close fails).
    static constexpr std::uint32_t kFinal = State::kValueSent | State::kTxDropped | State::kRxClosed;

    /// @cond
    template <class U>
    friend Channel<U> channel();
    /// @endcond
    explicit Receiver(State* state) noexcept : state_(state) {}
    State* state() const {
        if (!state_) throw std::logic_error("weft: use of a moved-from oneshot::Receiver");
        return state_;
    }
    T take() {
        const std::uint32_t s = state()->load();
        if (s & State::kValueSent) {
            std::optional<T>& v = state_->value();
            if (!v) throw std::logic_error("weft: oneshot value already taken");
            T out = std::move(*v);
            v.reset();
            terminated_ = true;
            return out;
        }
        terminated_ = true;
        throw RecvError();
    }
    void release() noexcept {
        if (State* state = std::exchange(state_, nullptr)) {
            state->close_receiver();
            state->drop_ref();  // a value still inside is destroyed with the state
        }
    }

    State* state_;
    bool terminated_ = false;  // a receive completed (is_terminated)
};

template <class T>
Channel<T> channel() {
    auto* state = new detail::OneshotState<T>();
    return Channel<T>{Sender<T>(state), Receiver<T>(state)};
}

}  // namespace weft::oneshot
