// Waker: the one way anything resumes a task (or a thread blocked in a `blocking_` call).
#pragma once

#include "detail/language_check.hpp"

#include <utility>

namespace weft {

/// A reference-counted, type-erased handle to something that can be woken: a spawned task or a
/// thread parked in a blocking call. Copying a Waker takes another reference.
///
/// `wake()` is idempotent, safe from any thread, and safe after the task finished (it then does
/// nothing). A wake that races with the task suspending is neither lost nor doubled: the task's
/// state machine (detail::TaskHeader) turns a wake during a poll into one more poll afterwards.
///
/// Every member is noexcept. One Waker object is not itself synchronised: give each thread its
/// own copy. A default-constructed Waker wakes nothing.
class Waker {
public:
    /// How a kind of wakeable target is woken and reference-counted. Every entry is noexcept and
    /// must be callable from any thread.
    struct Vtable {
        void (*clone)(void* data) noexcept;        ///< Takes one more reference.
        void (*wake)(void* data) noexcept;         ///< Wakes and releases this reference.
        void (*wake_by_ref)(void* data) noexcept;  ///< Wakes, keeps the reference.
        void (*drop)(void* data) noexcept;         ///< Releases this reference.
    };

    /// An empty Waker: waking it does nothing.
    Waker() noexcept = default;
    /// Adopts one reference to `data`, to be woken and released through `vtable`.
    Waker(const Vtable* vtable, void* data) noexcept : vtable_(vtable), data_(data) {}

    /// Takes another reference to the same target.

    Waker(const Waker& other) noexcept : vtable_(other.vtable_), data_(other.data_) {
        if (vtable_) vtable_->clone(data_);
    }
    /// Takes `other`'s reference, leaving it empty.
    Waker(Waker&& other) noexcept
        : vtable_(std::exchange(other.vtable_, nullptr)), data_(std::exchange(other.data_, nullptr)) {}
    /// Replaces this Waker's target (releasing the old reference) with `other`'s.
    Waker& operator=(Waker other) noexcept {
        std::swap(vtable_, other.vtable_);
        std::swap(data_, other.data_);
        return *this;
    }
    /// Releases the reference without waking.
    ~Waker() { reset(); }

    /// Wakes the target and empties this Waker.
    void wake() noexcept {
        if (const Vtable* vt = std::exchange(vtable_, nullptr)) vt->wake(std::exchange(data_, nullptr));
    }
    /// Wakes the target; this Waker stays usable.
    void wake_by_ref() const noexcept {
        if (vtable_) vtable_->wake_by_ref(data_);
    }
    /// Releases the reference without waking; this Waker is then empty.
    void reset() noexcept {
        if (const Vtable* vt = std::exchange(vtable_, nullptr)) vt->drop(std::exchange(data_, nullptr));
    }

    /// True when both wake the same target: lets a waiter skip replacing an equivalent waker.
    bool will_wake(const Waker& other) const noexcept {
        return vtable_ == other.vtable_ && data_ == other.data_;
    }
    /// True unless empty (default-constructed, moved from, woken by wake(), or reset).
    explicit operator bool() const noexcept { return vtable_ != nullptr; }

private:
    const Vtable* vtable_ = nullptr;
    void* data_ = nullptr;
};

}  // namespace weft
