/// @file
/// mpsc::channel: a bounded multi-producer, single-consumer channel with backpressure.
///
/// @code
/// auto [tx, rx] = weft::mpsc::channel<Command>(32);
/// co_await tx.send(cmd);                           // suspends while the channel is full
/// while (auto cmd = co_await rx.recv()) { ... }    // empty optional: every sender is gone
/// @endcode
///
/// Semantics follow Tokio's mpsc. Messages from one sender arrive in the order sent. Senders
/// waiting on a full channel get room in the order they started waiting. A send that fails hands
/// the value back. Destroying the receiver closes the channel and destroys buffered values.
///
/// Cancellation: destroying a pending recv (its task aborted, a timeout or select won) loses no
/// message: a recv takes a value only when it completes. A pending send either delivered its value
/// or, abandoned, did not send it: the value is destroyed with the awaiter (await reserve() instead
/// to keep it). Neither leaves a waiter behind.
///
/// Where weft differs from Tokio, on purpose: a send waiting on a full channel can complete while
/// its task is suspended. The receiver, freeing a slot, moves the first waiting send's value into
/// it and wakes that task with its send done (Go's channels do the same), instead of handing it
/// capacity and waiting for it to run and send. With more senders than capacity that is what
/// keeps the receiver busy: W1 with 16 producers and capacity 16 went from 4.0 to 22 M messages/s
/// on one worker. It applies to `co_await tx.send(v)` for a value whose move cannot throw. What
/// users can see of it:
///  - Aborting a task that waits in send after its value was handed over does not unsend it: the
///    task runs on to its next suspension (the code after the send sees it done) and the abort
///    takes effect there, as when an abort lands just after a send completed. In Tokio the
///    aborted send would not have sent. Shutting the runtime down likewise leaves such a message
///    sent.
///  - Under select, timeout or send_timeout, or inside a task run by timeout, a waiting send is
///    never completed this way (it is handed capacity and sends when it runs), so as in Tokio,
///    "another branch won" or "timed out" means the message was not sent.
///
/// Threads: awaiting (send, reserve, closed, recv, recv_many) only inside a task run by a weft
/// runtime; blocking_send and blocking_recv only on a thread that is not a runtime worker; the rest
/// from any thread. Handles are not synchronised objects: use one Sender from one task at a time
/// (copy it to share), and the Receiver from one task at a time.
//
// Lock-free: send with room, recv with a value, try_send, try_recv, capacity queries (no mutex, no
// system call, no allocation per message). A sender suspending on a full channel, its wakeup, and
// Sender::closed() take a mutex; see channels/detail/sender_wait_list.hpp for why.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/inline.hpp>
#include <weft/runtime/detail/scheduler.hpp>
#include <weft/runtime/detail/task_header.hpp>
#include <weft/runtime/detail/thread_waker.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include "detail/bounded_channel.hpp"
#include "detail/budgeted_wait.hpp"
#include "detail/ensure_not_worker.hpp"
#include "detail/receiver_base.hpp"
#include "detail/recv_status.hpp"
#include "errors.hpp"
#include "mpsc_permit.hpp"

namespace weft::mpsc {

template <class T>
class Sender;
template <class T>
class Receiver;
template <class T>
class WeakSender;

/// The two ends channel() returns; bind them with `auto [tx, rx] = channel<T>(n);`.
template <class T>
struct Channel {
    Sender<T> sender;      ///< The first sender (copy it for more).
    Receiver<T> receiver;  ///< The only receiver.
};

/// Creates a channel holding at most `capacity` messages, with one sender and the receiver.
/// From any thread.
/// @throws std::invalid_argument if capacity is 0 or more than 2^40.
/// @throws std::bad_alloc if the ring cannot be allocated.
template <class T>
Channel<T> channel(std::size_t capacity);

namespace detail {
using weft::detail::AcquireStatus;
using weft::detail::BoundedChannel;
using weft::detail::ensure_not_worker;
using weft::detail::RecvStatus;
}  // namespace detail

/// A sending end of a bounded mpsc channel. Copy it for more senders; the channel closes for the
/// receiver once every Sender (and permit) is gone. WeakSender refers to the channel without
/// keeping it open.
///
/// One Sender object is used by one task at a time. Using a moved-from Sender throws
/// std::logic_error.
template <class T>
class Sender {
public:
    /// Another sender on the same channel (a moved-from one copies as moved-from).
    Sender(const Sender& other) noexcept : ch_(other.ch_) {
        if (ch_) ch_->add_sender_handle();
    }
    /// Takes `other`'s place; `other` becomes moved-from.
    Sender(Sender&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)) {}
    /// Drops this sender (as the destructor does) and takes `other`'s channel.
    Sender& operator=(Sender other) noexcept {
        std::swap(ch_, other.ch_);
        return *this;
    }
    /// Drops this sender; the last sender or permit gone closes the channel for the receiver.
    ~Sender() {
        if (ch_) ch_->drop_sender_handle();
    }

    // ---- send -----------------------------------------------------------------------------

    class WEFT_MUST_AWAIT SendAwaiter;
    class WEFT_MUST_AWAIT ReserveAwaiter;
    class WEFT_MUST_AWAIT ReserveManyAwaiter;
    class WEFT_MUST_AWAIT ReserveOwnedAwaiter;
    class WEFT_MUST_AWAIT SendTimeoutAwaiter;

    /// `co_await tx.send(v)`: waits for room (in line with other waiting senders), then sends.
    /// Yields a SendResult<T>: ok, or closed (the receiver is gone or closed) with the value handed
    /// back. Suspends only while the channel is full (or to yield, when the task's cooperative
    /// budget is spent).
    ///
    /// Not cancellation-safe for the value: abandoned before it completes (task aborted, timeout or
    /// select lost), the value was not sent and is destroyed with the awaiter, and the place in line
    /// is lost (capacity just handed to it passes to the next sender). Await reserve(), or
    /// send_timeout(), to keep the value. Await inside a task run by a weft runtime.
    /// Throws whatever T's move constructor throws (from the co_await; the channel keeps working).
    /// @throws std::logic_error on a moved-from sender.
    SendAwaiter send(T value) const { return SendAwaiter(channel(), std::move(value)); }

    /// `co_await tx.send_timeout(v, d)`: send(), giving up after `d`. Yields a
    /// SendTimeoutResult<T>: ok, timeout or closed, with the value handed back on failure (Tokio's
    /// send_timeout). Await it in the expression that built it, inside a task run by a weft
    /// runtime.
    /// @throws std::logic_error on a moved-from sender.
    template <class Rep, class Period>
    SendTimeoutAwaiter send_timeout(T value, std::chrono::duration<Rep, Period> d) const {
        return SendTimeoutAwaiter(channel(), std::move(value), Clock::now() + std::chrono::duration_cast<Clock::duration>(d));
    }

    /// `co_await tx.reserve()`: waits for room and reserves it. Yields
    /// `std::optional<Permit<T>>`, empty if the receiver is gone or closed.
    ///
    /// Cancellation-safe: abandoned before it completes, it holds no capacity (it loses its place
    /// in line only). Await inside a task run by a weft runtime.
    /// @throws std::logic_error on a moved-from sender.
    ReserveAwaiter reserve() const { return ReserveAwaiter(channel()); }

    /// `co_await tx.reserve_many(n)`: waits until `n` units of capacity are free at once and
    /// reserves them. Yields `std::optional<PermitIterator<T>>`, empty if the receiver is gone or
    /// closed. Waiters are served in order: a large request holds back those behind it.
    /// Cancellation-safe, as reserve().
    /// @throws std::invalid_argument if n exceeds max_capacity() (it could never be served; Tokio
    /// reports this as a closed channel, weft as the caller's error).
    /// @throws std::logic_error on a moved-from sender.
    ReserveManyAwaiter reserve_many(std::size_t n) const { return ReserveManyAwaiter(channel(), checked_count(n)); }

    /// `co_await std::move(tx).reserve_owned()`: reserve(), with a permit that owns this Sender
    /// (moved into it). Yields `std::optional<OwnedPermit<T>>`, empty if the receiver is gone or
    /// closed (the sender is dropped then, as in Tokio). Cancellation-safe, as reserve().
    /// @throws std::logic_error on a moved-from sender.
    ReserveOwnedAwaiter reserve_owned() && {
        channel();
        return ReserveOwnedAwaiter(std::move(*this));
    }

    /// Sends without waiting: ok, full, or closed (the value handed back on failure). Reports
    /// full while other senders wait for room, so they keep their turn. From any thread.
    /// Throws whatever T's move constructor throws (the channel keeps working).
    /// @throws std::logic_error on a moved-from sender.
    TrySendResult<T> try_send(T value) const {
        std::uint64_t pos = 0;
        switch (channel()->try_claim(pos)) {
            case AcquireStatus::kClaimed:
                channel()->publish(pos, std::move(value));
                return {};
            case AcquireStatus::kClosed:
                return {TrySendError::closed, std::move(value)};
            default:
                break;
        }
        return {TrySendError::full, std::move(value)};
    }

    /// Like try_send, but reserves the capacity: a permit, or no permit and why: full (no room,
    /// or others wait for room) or closed. From any thread.
    /// @throws std::logic_error on a moved-from sender.
    TryReserveResult<T> try_reserve() const {
        switch (channel()->try_reserve(1)) {
            case AcquireStatus::kPermits: return TryReserveResult<T>(Permit<T>(channel()));
            case AcquireStatus::kClosed: return TryReserveResult<T>(TrySendError::closed);
            default: break;
        }
        return TryReserveResult<T>(TrySendError::full);
    }

    /// Reserves `n` units of capacity at once without waiting: the permits, or full (fewer than n
    /// free, or others wait) or closed. From any thread.
    /// @throws std::invalid_argument if n exceeds max_capacity().
    /// @throws std::logic_error on a moved-from sender.
    std::optional<PermitIterator<T>> try_reserve_many(std::size_t n, TrySendError* why = nullptr) const {
        checked_count(n);
        if (n == 0) return PermitIterator<T>(channel(), 0);
        const AcquireStatus status = channel()->try_reserve(n);
        if (status == AcquireStatus::kPermits) return PermitIterator<T>(channel(), n);
        if (why) *why = status == AcquireStatus::kClosed ? TrySendError::closed : TrySendError::full;
        return std::nullopt;
    }

    /// try_reserve(), with a permit that owns this Sender (moved into it); on failure the sender
    /// is handed back in the result. From any thread.
    /// @throws std::logic_error on a moved-from sender.
    TryReserveOwnedResult<T> try_reserve_owned() && {
        switch (channel()->try_reserve(1)) {
            case AcquireStatus::kPermits: return TryReserveOwnedResult<T>(OwnedPermit<T>(std::move(*this)));
            case AcquireStatus::kClosed: return TryReserveOwnedResult<T>(TrySendError::closed, std::move(*this));
            default: break;
        }
        return TryReserveOwnedResult<T>(TrySendError::full, std::move(*this));
    }

    /// Blocks this thread until there is room (in line with waiting senders), then sends: ok, or
    /// closed with the value handed back. For threads that are not runtime workers.
    /// Throws whatever T's move constructor throws (the channel keeps working).
    /// @throws std::logic_error on a runtime worker thread, or on a moved-from sender.
    SendResult<T> blocking_send(T value) const {
        detail::ensure_not_worker("blocking_send");
        std::uint64_t pos = 0;
        AcquireStatus status = channel()->try_claim(pos);
        if (status == AcquireStatus::kClaimed) {
            channel()->publish(pos, std::move(value));
            return {};
        }
        if (status == AcquireStatus::kWait) {
            weft::detail::ScopedThreadNotifier notifier;
            const Waker waker = notifier->waker();
            typename detail::BoundedChannel<T>::Acquirer acquirer(*channel(), 1);
            status = acquirer.wait_in_line(waker);
            while (status == AcquireStatus::kWait) {
                notifier->park();
                status = acquirer.poll();
            }
        }
        if (status == AcquireStatus::kClosed) return {SendError::closed, std::move(value)};
        channel()->send_with_permit(std::move(value));
        return {};
    }

    class WEFT_MUST_AWAIT ClosedAwaiter;
    /// `co_await tx.closed()`: completes once the receiver is gone or closed the channel (at once
    /// if it already is). Yields nothing. Cancellation-safe (it takes nothing). Await inside a task
    /// run by a weft runtime.
    /// @throws std::logic_error on a moved-from sender.
    ClosedAwaiter closed() const { return ClosedAwaiter(channel()); }

    /// True once the receiver is gone or closed the channel (sends fail).
    /// @throws std::logic_error on a moved-from sender.
    bool is_closed() const { return channel()->is_rx_closed(); }
    /// Capacity free now: the channel's capacity less the messages buffered and the permits
    /// reserved (approximate while others send and receive), as Tokio's.
    /// @throws std::logic_error on a moved-from sender.
    std::size_t capacity() const { return channel()->available(); }
    /// The channel's capacity, as created.
    /// @throws std::logic_error on a moved-from sender.
    std::size_t max_capacity() const { return channel()->capacity(); }
    /// True if both send into the same channel.
    bool same_channel(const Sender& other) const noexcept { return ch_ == other.ch_; }
    /// A WeakSender for this channel: it does not keep the channel open.
    /// @throws std::logic_error on a moved-from sender.
    WeakSender<T> downgrade() const { return WeakSender<T>(channel()); }
    /// Sender objects alive on this channel (not counting permits).
    /// @throws std::logic_error on a moved-from sender.
    std::size_t strong_count() const { return channel()->sender_strong_count(); }
    /// WeakSender objects alive on this channel.
    /// @throws std::logic_error on a moved-from sender.
    std::size_t weak_count() const { return channel()->sender_weak_count(); }

private:
    using AcquireStatus = detail::AcquireStatus;
    /// @cond
    template <class U>
    friend Channel<U> channel(std::size_t);
    friend class WeakSender<T>;
    friend class OwnedPermit<T>;
    /// @endcond
    template <class Derived>
    class AcquireAwaiterBase;

    explicit Sender(detail::BoundedChannel<T>* ch) noexcept : ch_(ch) {}
    detail::BoundedChannel<T>* channel() const {
        if (!ch_) throw std::logic_error("weft: use of a moved-from mpsc::Sender");
        return ch_;
    }
    std::size_t checked_count(std::size_t n) const {
        if (n > channel()->capacity())
            throw std::invalid_argument("weft: reserve_many(" + std::to_string(n) + ") on a channel of capacity " +
                                        std::to_string(channel()->capacity()));
        return n;
    }

    detail::BoundedChannel<T>* ch_;
};

/// A sender that does not keep the channel open (Tokio's WeakSender): once every Sender and
/// permit is gone the receiver sees the channel closed, and upgrade() fails from then on.
/// Copyable; usable from any thread.
template <class T>
class WeakSender {
public:
    /// Another weak sender on the same channel.
    WeakSender(const WeakSender& other) noexcept : ch_(other.ch_) {
        if (ch_) ch_->add_weak();
    }
    /// Takes `other`'s place; `other` becomes empty.
    WeakSender(WeakSender&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)) {}
    /// Drops this one and refers to `other`'s channel.
    WeakSender& operator=(WeakSender other) noexcept {
        std::swap(ch_, other.ch_);
        return *this;
    }
    ~WeakSender() {
        if (ch_) ch_->drop_weak();
    }

    /// A Sender, if any Sender or permit is still alive; empty once the channel closed for good.
    std::optional<Sender<T>> upgrade() const {
        if (!ch_ || !ch_->try_upgrade()) return std::nullopt;
        return Sender<T>(ch_);
    }
    /// Sender objects alive on this channel.
    std::size_t strong_count() const noexcept { return ch_ ? ch_->sender_strong_count() : 0; }
    /// WeakSender objects alive on this channel.
    std::size_t weak_count() const noexcept { return ch_ ? ch_->sender_weak_count() : 0; }

private:
    friend class Sender<T>;
    explicit WeakSender(detail::BoundedChannel<T>* ch) noexcept : ch_(ch) { ch_->add_weak(); }

    detail::BoundedChannel<T>* ch_;
};

/// What the acquiring awaiters share: get capacity, waiting in line if the channel is full (the
/// budget and yield handling are BudgetedWait's, which provides await_ready and await_suspend).
/// It only records the outcome; Derived acts on it in await_resume, in the task, where an
/// exception (a throwing move) reaches the caller. Destroyed holding capacity it was not asked
/// for, it gives it back; destroyed in line, it leaves the line.
template <class T>
template <class Derived>
class Sender<T>::AcquireAwaiterBase : public weft::detail::BudgetedWait<AcquireAwaiterBase<Derived>> {
public:
    /// Not yet in line. `n` units of capacity; `claim_slot`: try the send fast path first (a slot
    /// position rather than a permit).
    AcquireAwaiterBase(detail::BoundedChannel<T>* ch, std::size_t n, bool claim_slot) noexcept
        : ch_(ch), acquirer_(*ch, n), n_(n), claim_slot_(claim_slot) {}
    ~AcquireAwaiterBase() { abandon(); }

    /// Called by select and timeout (weft::detail::suspend_leaf) before they suspend on this
    /// awaiter: they may drop it after it completed, so it must never send on its own while it
    /// waits (no direct hand-off of its value).
    void enter_race() noexcept { raced_ = true; }

    /// The task was aborted while this waited: leaves the line. True if the value was delivered
    /// first (the send happened): the task then resumes once, with the send reported done.
    bool settle_for_abort() noexcept override {
        if (!acquirer_.cancel()) return false;
        finish(AcquireStatus::kSent);
        return true;
    }

protected:
    // What the wait produced and Derived has not used yet.
    AcquireStatus take_status() noexcept { return std::exchange(status_, AcquireStatus::kWait); }
    std::uint64_t position() const noexcept { return pos_; }
    // A send's value, offered for direct hand-off while the send waits in line (see may_deliver).
    void offer_value(T* value) noexcept { offered_ = value; }
    // Gives back an outcome not used (a claimed slot, reserved permits; a delivered send is done).
    void abandon() noexcept {
        if (status_ == AcquireStatus::kWait) [[likely]] return;  // used (or never got anything)
        switch (take_status()) {
            case AcquireStatus::kClaimed: ch_->abandon_claim(pos_); break;
            case AcquireStatus::kPermits: if (n_ > 0) ch_->release_permits(n_); break;
            default: break;
        }
    }

    detail::BoundedChannel<T>* ch_;

private:
    friend weft::detail::BudgetedWait<AcquireAwaiterBase>;

    WEFT_INLINE bool try_now() noexcept {
        if (n_ == 0) return finish(AcquireStatus::kPermits);
        const AcquireStatus status = claim_slot_ ? ch_->try_claim(pos_) : ch_->try_reserve(n_);
        if (status == AcquireStatus::kWait) return false;
        return finish(status);
    }
    // Returns true if the task must suspend.
    bool wait(const Waker& waker) noexcept {
        if constexpr (detail::BoundedChannel<T>::kDeliverable) acquirer_.offer(may_deliver() ? offered_ : nullptr);
        const AcquireStatus status = acquirer_.wait_in_line(waker);
        if (status == AcquireStatus::kWait) return true;
        finish(status);
        return false;
    }
    // In line: capacity handed to us, or the channel closed; else a spurious wake.
    bool poll_woken() noexcept {
        if (status_ == AcquireStatus::kSent) return true;  // settled by settle_for_abort
        const AcquireStatus status = acquirer_.poll();
        if (status == AcquireStatus::kWait) return false;
        return finish(status);
    }
    bool finish(AcquireStatus status) noexcept {
        status_ = status;
        return true;
    }
    // A delivered send cannot be taken back, so the value is offered only where nothing can drop
    // this awaiter after its send happened and report that it did not: not under select or
    // timeout (enter_race), not in a task with a cancel scope open (a timeout around a child
    // task destroys the child where it waits), not in a child task of select or join (a losing
    // child is destroyed where it waits), nor once the task was aborted. An abort that comes
    // after the hand-off lets the task run on to its next suspension (settle_for_abort), so the
    // code after the send sees it done, as when an abort lands just after a send completes.
    bool may_deliver() noexcept {
        if (!offered_ || raced_) return false;
        const weft::detail::ThreadContext& ctx = weft::detail::this_thread_context();
        return ctx.task != nullptr && ctx.inline_children == 0 && ctx.task->cancel_scopes().empty() &&
               !ctx.task->is_cancelled();
    }

    typename detail::BoundedChannel<T>::Acquirer acquirer_;
    std::uint64_t pos_ = 0;
    AcquireStatus status_ = AcquireStatus::kWait;
    const std::size_t n_;
    const bool claim_slot_;
    T* offered_ = nullptr;
    bool raced_ = false;
};

/// The awaitable Sender::send() returns: holds the value until it is sent. Not movable. A leaf
/// awaitable: select() and timeout() accept it.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::SendAwaiter final : public AcquireAwaiterBase<SendAwaiter> {
public:
    /// Made by Sender::send(). Throws what T's move constructor throws.
    SendAwaiter(detail::BoundedChannel<T>* ch, T value)
        : AcquireAwaiterBase<SendAwaiter>(ch, 1, /*claim_slot=*/true), value_(std::move(value)) {
        if constexpr (detail::BoundedChannel<T>::kDeliverable) this->offer_value(&value_);
    }
    /// Ok (sent now), or closed with the value handed back. Throws what T's move constructor
    /// throws; the channel keeps working.
    SendResult<T> await_resume() {
        const AcquireStatus status = this->take_status();
        if (status == AcquireStatus::kClaimed) [[likely]] {
            this->ch_->publish(this->position(), std::move(value_));
            return SendResult<T>();
        }
        return after_wait(status);
    }

private:
    // The outcomes a wait in line produces, kept out of the fast path above.
    WEFT_OUTLINE SendResult<T> after_wait(AcquireStatus status) {
        if (status == AcquireStatus::kSent) return SendResult<T>();  // delivered while we waited
        if (status != AcquireStatus::kPermits) return SendResult<T>(SendError::closed, std::move(value_));
        this->ch_->send_with_permit(std::move(value_));
        return SendResult<T>();
    }

    friend class SendTimeoutAwaiter;
    T value_;
};

/// The awaitable Sender::send_timeout() returns. Not movable.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::SendTimeoutAwaiter final : public weft::detail::NativeAwaiter {
public:
    /// Made by Sender::send_timeout(). Throws what T's move constructor throws.
    SendTimeoutAwaiter(detail::BoundedChannel<T>* ch, T value, Clock::time_point deadline)
        : send_(ch, std::move(value)), timed_(send_, deadline) {}
    /// Tries to send at once (spending budget, as send()).
    bool await_ready() { return timed_.await_ready(); }
    /// Waits for room or the deadline.
    bool await_suspend(std::coroutine_handle<> h) { return timed_.await_suspend(h); }
    /// Ok, timeout or closed; the value handed back unless ok. Throws what T's move constructor
    /// throws.
    SendTimeoutResult<T> await_resume() {
        auto r = timed_.await_resume();
        if (r.timed_out()) return SendTimeoutResult<T>(SendTimeoutError::timeout, std::move(send_.value_));
        SendResult<T> sent = std::move(*r);
        if (sent) return {};
        return SendTimeoutResult<T>(SendTimeoutError::closed, sent.take_value());
    }

private:
    SendAwaiter send_;
    weft::detail::LeafTimeout<SendAwaiter> timed_;
};

/// The awaitable Sender::reserve() returns. Not movable. A leaf awaitable: select() and timeout()
/// accept it. Destroyed holding capacity it did not hand out, it gives it back.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::ReserveAwaiter final : public AcquireAwaiterBase<ReserveAwaiter> {
public:
    /// Made by Sender::reserve().
    explicit ReserveAwaiter(detail::BoundedChannel<T>* ch) noexcept : AcquireAwaiterBase<ReserveAwaiter>(ch, 1, false) {}
    /// The permit, or empty if the channel is closed.
    std::optional<Permit<T>> await_resume() noexcept {
        if (this->take_status() == AcquireStatus::kPermits) return Permit<T>(this->ch_);
        return std::nullopt;
    }
};

/// The awaitable Sender::reserve_many() returns. Not movable. A leaf awaitable.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::ReserveManyAwaiter final : public AcquireAwaiterBase<ReserveManyAwaiter> {
public:
    /// Made by Sender::reserve_many().
    ReserveManyAwaiter(detail::BoundedChannel<T>* ch, std::size_t n) noexcept
        : AcquireAwaiterBase<ReserveManyAwaiter>(ch, n, false), n_(n) {}
    /// The permits, or empty if the channel is closed.
    std::optional<PermitIterator<T>> await_resume() noexcept {
        if (this->take_status() == AcquireStatus::kPermits) return PermitIterator<T>(this->ch_, n_);
        return std::nullopt;
    }

private:
    std::size_t n_;
};

/// The awaitable Sender::reserve_owned() returns: holds the sender until it completes. Not
/// movable. A leaf awaitable.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::ReserveOwnedAwaiter final : private Sender<T>,
                                                             public AcquireAwaiterBase<ReserveOwnedAwaiter> {
public:
    /// Made by Sender::reserve_owned().
    explicit ReserveOwnedAwaiter(Sender<T> sender) noexcept
        : Sender<T>(std::move(sender)), AcquireAwaiterBase<ReserveOwnedAwaiter>(Sender<T>::ch_, 1, false) {}
    /// The permit (owning the sender), or empty if the channel is closed (the sender is dropped).
    std::optional<OwnedPermit<T>> await_resume() noexcept {
        if (this->take_status() == AcquireStatus::kPermits)
            return OwnedPermit<T>(std::move(static_cast<Sender<T>&>(*this)));
        return std::nullopt;
    }
};

/// The awaitable Sender::closed() returns. Not movable. A leaf awaitable: select() and timeout()
/// accept it. Ready at once on a closed channel, it still spends the task's cooperative budget.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::ClosedAwaiter final : public weft::detail::BudgetedWait<ClosedAwaiter> {
public:
    /// Made by Sender::closed().
    explicit ClosedAwaiter(detail::BoundedChannel<T>* ch) noexcept : ch_(ch) {}
    /// Leaves the wait list if still queued.
    ~ClosedAwaiter() { ch_->closed_waiters().remove(node_); }
    /// Yields nothing.
    void await_resume() const noexcept {}

private:
    friend weft::detail::BudgetedWait<ClosedAwaiter>;
    bool try_now() const noexcept { return ch_->is_rx_closed(); }
    bool wait(const Waker& waker) { return ch_->closed_waiters().add(node_, waker); }

    detail::BoundedChannel<T>* ch_;
    weft::detail::Waiter node_;
};

/// The receiving end of a bounded mpsc channel: recv, recv_many, try_recv, blocking_recv, close,
/// len (inherited from weft::detail::ReceiverBase, shared with UnboundedReceiver), plus the
/// capacity queries of a bounded channel.
///
/// Move-only. One task (or thread) at a time. Using a moved-from Receiver throws std::logic_error.
template <class T>
class Receiver : public weft::detail::ReceiverBase<detail::BoundedChannel<T>, T> {
    using Base = weft::detail::ReceiverBase<detail::BoundedChannel<T>, T>;

public:
#ifdef WEFT_DOXYGEN
    // For the reference only (the compiler never sees these): the members Receiver inherits from
    // weft::detail::ReceiverBase (channels/detail/receiver_base.hpp), which the reference does not
    // show. Keep them in step with ReceiverBase.

    /// The awaitable recv() returns; `co_await` on it yields `std::optional<T>`. A leaf awaitable:
    /// select() and timeout() accept it.
    using RecvAwaiter = unspecified;
    /// The awaitable recv_many() returns; `co_await` on it yields `std::size_t`. A leaf awaitable.
    using RecvManyAwaiter = unspecified;

    /// Takes `other`'s place; `other` becomes moved-from.
    Receiver(Receiver&& other) noexcept;
    /// Closes this receiver's channel (as the destructor does) and takes `other`'s.
    Receiver& operator=(Receiver&& other) noexcept;
    /// Closes the channel (later sends fail, waiting senders wake with closed) and destroys the
    /// values still buffered.
    ~Receiver();

    /// `co_await rx.recv()`: the next message, or an empty optional once every sender is gone (or
    /// the channel was closed) and the buffer is drained. Suspends while the channel is empty (or
    /// yields first, when the task's cooperative budget is spent).
    ///
    /// Cancellation-safe: a message is taken only when the recv completes, so abandoning it (task
    /// aborted, timeout or select lost) loses nothing. Await inside a task run by a weft runtime.
    /// Throws whatever T's move constructor throws, from the co_await; T's move should not throw:
    /// thrown while the task is being resumed after a wait, it terminates.
    /// @throws std::logic_error on a moved-from receiver.
    RecvAwaiter recv();

    /// `co_await rx.recv_many(buffer, limit)`: appends up to `limit` messages to `buffer` with
    /// `push_back` (at least one, waiting while there are none) and yields how many; 0 means
    /// closed and drained (or limit == 0).
    ///
    /// Cancellation-safe: messages are appended only by the step that completes it, so abandoning
    /// it loses nothing. `buffer` must outlive the await. Await inside a task run by a weft runtime.
    /// Throws whatever `push_back` or T's move constructor throws, from the co_await when it
    /// completes without waiting. Thrown while the task is being resumed after a wait, the
    /// exception is swallowed and the message lost: use a buffer whose `push_back` cannot throw
    /// there (reserve `limit` first).
    /// @throws std::logic_error on a moved-from receiver.
    template <class Container>
    RecvManyAwaiter recv_many(Container& buffer, std::size_t limit);

    /// A message if one is ready; otherwise empty (senders remain) or disconnected (every sender
    /// gone, or the channel closed, and nothing buffered). Never waits; from any thread.
    /// Throws whatever T's move constructor throws.
    /// @throws std::logic_error on a moved-from receiver.
    TryRecvResult<T> try_recv();

    /// Blocks this thread until a message arrives (returned) or the channel is closed and drained
    /// (empty optional). For threads that are not runtime workers.
    /// Throws whatever T's move constructor throws.
    /// @throws std::logic_error on a runtime worker thread, or on a moved-from receiver.
    std::optional<T> blocking_recv();

    /// Stops new sends: they fail with closed, and senders waiting for room wake with closed.
    /// Messages already buffered can still be received; recv then yields empty. From any thread;
    /// closing twice does nothing.
    /// @throws std::logic_error on a moved-from receiver.
    void close();

    /// True once close() was called or every sender (and permit) is gone, as Tokio's. Messages
    /// may still be buffered: recv yields them first.
    /// @throws std::logic_error on a moved-from receiver.
    bool is_closed() const;
    /// Messages buffered now (approximate while senders are active).
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t len() const;
    /// True if len() is 0.
    /// @throws std::logic_error on a moved-from receiver.
    bool is_empty() const;
    /// Sender objects alive on this channel (weak senders and permits do not count).
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t sender_strong_count() const;
    /// WeakSender objects alive on this channel.
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t sender_weak_count() const;
#endif

    /// Free slots now (approximate while others send and receive).
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t capacity() const { return max_capacity() - std::min(max_capacity(), this->len()); }
    /// The channel's capacity, as created.
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t max_capacity() const { return this->channel()->capacity(); }

private:
    /// @cond
    template <class U>
    friend Channel<U> channel(std::size_t);
    /// @endcond
    explicit Receiver(detail::BoundedChannel<T>* ch) noexcept : Base(ch) {}
};

template <class T>
Channel<T> channel(std::size_t capacity) {
    auto* ch = new detail::BoundedChannel<T>(capacity);
    return Channel<T>{Sender<T>(ch), Receiver<T>(ch)};
}

}  // namespace weft::mpsc
