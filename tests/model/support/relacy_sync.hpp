// Relacy-backed stand-ins for weft::detail::{atomic, mutex, condition_variable} (see
// runtime/detail/sync.hpp), plus what every model shares: the iteration knob and the seeded-fault
// switch. Include this first in a model, before any weft or standard header that a weft header
// might pull in: Relacy's header defines macros (new, delete, assert, memory_order_*), so it is
// included here once, after the standard headers, and those macros are removed again.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <source_location>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <relacy/relacy.hpp>

#undef memory_order_relaxed
#undef memory_order_consume
#undef memory_order_acquire
#undef memory_order_release
#undef memory_order_acq_rel
#undef memory_order_seq_cst
#undef new
#undef delete
#undef malloc
#undef calloc
#undef realloc
#undef free
#undef errno
#undef assert
// Relacy's pthread and Win32 emulation (stdlib/pthread.hpp, stdlib/windows.hpp), which would rename
// the C library's own names (EINVAL, pthread_t, Sleep...) in anything included after this.
#undef AcquireSRWLockExclusive
#undef AcquireSRWLockShared
#undef CONDITION_VARIABLE
#undef CONDITION_VARIABLE_LOCKMODE_SHARED
#undef CRITICAL_SECTION
#undef CloseHandle
#undef CreateEvent
#undef CreateEventA
#undef CreateEventW
#undef CreateMutex
#undef CreateMutexA
#undef CreateMutexW
#undef CreateSemaphore
#undef CreateSemaphoreA
#undef CreateSemaphoreW
#undef CreateThread
#undef DeleteConditionVariable
#undef DeleteCriticalSection
#undef DeleteSRWLock
#undef EAGAIN
#undef EBUSY
#undef EINTR
#undef EINVAL
#undef ETIMEDOUT
#undef EWOULDBLOCK
#undef EnterCriticalSection
#undef FUTEX_WAIT
#undef FUTEX_WAKE
#undef FlushProcessWriteBuffers
#undef HANDLE
#undef INFINITE
#undef InitializeConditionVariable
#undef InitializeCriticalSection
#undef InitializeCriticalSectionAndSpinCount
#undef InitializeCriticalSectionEx
#undef InitializeSRWLock
#undef LeaveCriticalSection
#undef MAXIMUM_WAIT_OBJECTS
#undef PTHREAD_MUTEX_DEFAULT
#undef PTHREAD_MUTEX_ERRORCHECK
#undef PTHREAD_MUTEX_NORMAL
#undef PTHREAD_MUTEX_RECURSIVE
#undef PulseEvent
#undef ReleaseMutex
#undef ReleaseSRWLockExclusive
#undef ReleaseSRWLockShared
#undef ReleaseSemaphore
#undef ResetEvent
#undef ResumeThread
#undef SRWLOCK
#undef SetEvent
#undef SetThreadAffinityMask
#undef SignalObjectAndWait
#undef Sleep
#undef SleepConditionVariableCS
#undef SleepConditionVariableSRW
#undef SuspendThread
#undef SwitchToThread
#undef TryEnterCriticalSection
#undef WAIT_FAILED
#undef WAIT_IO_COMPLETION
#undef WAIT_OBJECT_0
#undef WAIT_TIMEOUT
#undef WaitForMultipleObjects
#undef WaitForMultipleObjectsEx
#undef WaitForSingleObject
#undef WakeAllConditionVariable
#undef WakeConditionVariable
#undef _beginthreadex
#undef futex
#undef pthread_attr_t
#undef pthread_cond_broadcast
#undef pthread_cond_destroy
#undef pthread_cond_init
#undef pthread_cond_signal
#undef pthread_cond_t
#undef pthread_cond_timedwait
#undef pthread_cond_wait
#undef pthread_condattr_t
#undef pthread_create
#undef pthread_join
#undef pthread_mutex_destroy
#undef pthread_mutex_init
#undef pthread_mutex_lock
#undef pthread_mutex_t
#undef pthread_mutex_timedlock
#undef pthread_mutex_try_lock
#undef pthread_mutex_unlock
#undef pthread_mutexattr_destroy
#undef pthread_mutexattr_init
#undef pthread_mutexattr_settype
#undef pthread_mutexattr_t
#undef pthread_rwlock_destroy
#undef pthread_rwlock_init
#undef pthread_rwlock_rdlock
#undef pthread_rwlock_t
#undef pthread_rwlock_tryrdlock
#undef pthread_rwlock_trywrlock
#undef pthread_rwlock_unlock
#undef pthread_rwlock_wrlock
#undef pthread_t
#undef pthread_yield
#undef rl_CreateEvent
#undef rl_CreateMutex
#undef rl_CreateSemaphore
#undef sched_yield
#undef sem_destroy
#undef sem_getvalue
#undef sem_init
#undef sem_post
#undef sem_t
#undef sem_trywait
#undef sem_wait
#include <cassert>  // the standard assert again: weft's headers use it for their invariants
#include <cerrno>

#define WEFT_MODEL_CHECK 1
#define WEFT_MODEL_SYNC_TYPES 1

namespace weft::model {

// ---- seeded faults -------------------------------------------------------------------------
//
// A model proves it can fail by running once more with one atomic operation of the real header
// weakened: every operation written on line `line` of a file whose path ends with `file` uses
// `order` instead of what the source says. The line is found by text (line_of), so the switch
// follows the header as it is edited, and the header itself carries no test code.
struct SeededFault {
    const char* file = nullptr;
    unsigned line = 0;
    std::memory_order order = std::memory_order_relaxed;
    unsigned long hits = 0;  // how many operations it weakened: a fault that never fires proves nothing
};
inline SeededFault seeded_fault;

// Operations whose order is changed for a whole run besides the seeded fault (matched the same
// way): a model can run the header with a candidate fix for an open finding applied, and still
// seed a bug on top. Set with ScopedOrderOverrides.
struct OrderOverride {
    const char* file = nullptr;
    unsigned line = 0;
    std::memory_order order = std::memory_order_seq_cst;
};
inline std::array<OrderOverride, 4> order_overrides{};

inline bool ends_with(const char* s, const char* suffix) {
    const std::size_t n = std::strlen(s), m = std::strlen(suffix);
    return n >= m && std::strcmp(s + n - m, suffix) == 0;
}

inline rl::memory_order to_rl(std::memory_order mo) {
    switch (mo) {
        case std::memory_order_relaxed: return rl::mo_relaxed;
        case std::memory_order_consume: return rl::mo_consume;
        case std::memory_order_acquire: return rl::mo_acquire;
        case std::memory_order_release: return rl::mo_release;
        case std::memory_order_acq_rel: return rl::mo_acq_rel;
        default: return rl::mo_seq_cst;
    }
}

inline bool faulted(const std::source_location& loc) {
    SeededFault& f = seeded_fault;
    if (!f.file || loc.line() != f.line || !ends_with(loc.file_name(), f.file)) return false;
    ++f.hits;
    return true;
}

inline const OrderOverride* overridden(const std::source_location& loc) {
    for (const OrderOverride& o : order_overrides)
        if (o.file && loc.line() == o.line && ends_with(loc.file_name(), o.file)) return &o;
    return nullptr;
}

inline rl::memory_order order(std::memory_order mo, const std::source_location& loc) {
    if (faulted(loc)) return to_rl(seeded_fault.order);
    if (const OrderOverride* o = overridden(loc)) return to_rl(o->order);
    return to_rl(mo);
}

// A CAS's failure order may not be stronger than its success order.
inline rl::memory_order failure_order(std::memory_order success, std::memory_order failure,
                                      const std::source_location& loc) {
    if (!faulted(loc)) return overridden(loc) ? rl::mo_relaxed : to_rl(failure);
    const std::memory_order s = seeded_fault.order;
    const bool success_acquires = s == std::memory_order_acquire || s == std::memory_order_acq_rel ||
                                  s == std::memory_order_seq_cst;
    (void)success;
    return success_acquires ? to_rl(failure) : rl::mo_relaxed;
}

inline rl::debug_info info(const std::source_location& loc) {
    return rl::debug_info(loc.function_name(), loc.file_name(), loc.line());
}

// ---- the stand-ins -------------------------------------------------------------------------

// std::atomic's interface over rl::atomic. Relacy reports the header's own line for each step
// of a failing history.
template <class T>
class atomic {
    using here = std::source_location;

public:
    static constexpr bool is_always_lock_free = true;

    atomic() = default;  // like std::atomic: a load before the first store is reported
    atomic(T v, here loc = here::current()) { a_.store(v, rl::mo_relaxed, info(loc)); }
    atomic(const atomic&) = delete;
    atomic& operator=(const atomic&) = delete;

    T load(std::memory_order mo = std::memory_order_seq_cst, here loc = here::current()) const {
        return a_.load(order(mo, loc), info(loc));
    }
    // std::atomic's implicit seq_cst load (once_waiters.hpp reads a Waiter's state so, under its
    // lock). Reported at this line: a seeded fault cannot point at it.
    operator T() const { return load(); }
    void store(T v, std::memory_order mo = std::memory_order_seq_cst, here loc = here::current()) {
        a_.store(v, order(mo, loc), info(loc));
    }
    T exchange(T v, std::memory_order mo = std::memory_order_seq_cst, here loc = here::current()) {
        return a_.exchange(v, order(mo, loc), info(loc));
    }
    bool compare_exchange_weak(T& expected, T desired, std::memory_order success, std::memory_order failure,
                               here loc = here::current()) {
        const rl::memory_order f = failure_order(success, failure, loc);
        return a_.compare_exchange_weak(expected, desired, order(success, loc), info(loc), f, info(loc));
    }
    bool compare_exchange_strong(T& expected, T desired, std::memory_order success, std::memory_order failure,
                                 here loc = here::current()) {
        const rl::memory_order f = failure_order(success, failure, loc);
        return a_.compare_exchange_strong(expected, desired, order(success, loc), info(loc), f, info(loc));
    }
    // The one-order forms: the failure order is derived from it as the standard says.
    bool compare_exchange_weak(T& expected, T desired, std::memory_order mo = std::memory_order_seq_cst,
                               here loc = here::current()) {
        return compare_exchange_weak(expected, desired, mo, derived_failure(mo), loc);
    }
    bool compare_exchange_strong(T& expected, T desired, std::memory_order mo = std::memory_order_seq_cst,
                                 here loc = here::current()) {
        return compare_exchange_strong(expected, desired, mo, derived_failure(mo), loc);
    }
    template <class U = T>
    T fetch_add(U v, std::memory_order mo = std::memory_order_seq_cst, here loc = here::current()) {
        return a_.fetch_add(v, order(mo, loc), info(loc));
    }
    template <class U = T>
    T fetch_sub(U v, std::memory_order mo = std::memory_order_seq_cst, here loc = here::current()) {
        return a_.fetch_sub(v, order(mo, loc), info(loc));
    }
    T fetch_and(T v, std::memory_order mo = std::memory_order_seq_cst, here loc = here::current()) {
        return a_.fetch_and(v, order(mo, loc), info(loc));
    }
    T fetch_or(T v, std::memory_order mo = std::memory_order_seq_cst, here loc = here::current()) {
        return a_.fetch_or(v, order(mo, loc), info(loc));
    }
    T fetch_xor(T v, std::memory_order mo = std::memory_order_seq_cst, here loc = here::current()) {
        return a_.fetch_xor(v, order(mo, loc), info(loc));
    }

private:
    static std::memory_order derived_failure(std::memory_order mo) {
        if (mo == std::memory_order_acq_rel) return std::memory_order_acquire;
        if (mo == std::memory_order_release) return std::memory_order_relaxed;
        return mo;
    }
    mutable rl::atomic<T> a_;
};

// std::mutex's interface over Relacy's (BasicLockable for std::lock_guard and std::unique_lock).
class mutex {
    using here = std::source_location;

public:
    void lock(here loc = here::current()) { m_.lock(info(loc)); }
    bool try_lock(here loc = here::current()) { return m_.try_lock(info(loc)); }
    void unlock(here loc = here::current()) { m_.unlock(info(loc)); }
    // What Relacy's condition variable calls to release and retake the mutex around a wait.
    void lock(rl::debug_info_param i) { m_.lock(i); }
    void unlock(rl::debug_info_param i) { m_.unlock(i); }

private:
    rl::mutex m_;
};

// std::condition_variable's interface over Relacy's, which also delivers spurious wakeups. A
// timed wait may time out at any point (Relacy has no clock).
class condition_variable {
    using here = std::source_location;

public:
    void notify_one(here loc = here::current()) { cv_.notify_one(info(loc)); }
    void notify_all(here loc = here::current()) { cv_.notify_all(info(loc)); }
    void wait(std::unique_lock<mutex>& lock, here loc = here::current()) { cv_.wait(*lock.mutex(), info(loc)); }
    template <class Clock, class Duration>
    std::cv_status wait_until(std::unique_lock<mutex>& lock, const std::chrono::time_point<Clock, Duration>& tp,
                              here loc = here::current()) {
        return cv_.wait_for(*lock.mutex(), tp.time_since_epoch(), info(loc)) ? std::cv_status::no_timeout
                                                                              : std::cv_status::timeout;
    }

private:
    rl::condition_variable cv_;
};

// ---- running a model -------------------------------------------------------------------------

// `base` iterations scaled by WEFT_MODEL_SCALE (default 1; e.g. 10 for a longer search, 0.1 for a
// quick one), at least 1.
inline int iterations(int base) {
    double scale = 1.0;
    if (const char* s = std::getenv("WEFT_MODEL_SCALE")) scale = std::atof(s);
    return std::max(1, static_cast<int>(base * scale));
}

// The line of `header` (a path from the repository root) that contains `text`, which must occur
// on exactly one line. For pointing a SeededFault at an operation.
inline unsigned line_of(const char* header, const char* text) {
    std::ifstream in(std::string(WEFT_SOURCE_ROOT) + "/" + header);
    if (!in) throw std::runtime_error(std::string("cannot read ") + header);
    std::string line;
    unsigned n = 0, found = 0, count = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find(text) != std::string::npos) {
            found = n;
            ++count;
        }
    }
    if (count != 1)
        throw std::runtime_error(std::string(header) + ": '" + text + "' is on " + std::to_string(count) +
                                 " lines, expected one");
    return found;
}

// Applies `overrides` (file, line, order) for its lifetime.
class ScopedOrderOverrides {
public:
    explicit ScopedOrderOverrides(std::initializer_list<OrderOverride> overrides) {
        if (overrides.size() > order_overrides.size()) throw std::runtime_error("too many order overrides");
        std::copy(overrides.begin(), overrides.end(), order_overrides.begin());
    }
    ~ScopedOrderOverrides() { order_overrides.fill(OrderOverride{}); }
    ScopedOrderOverrides(const ScopedOrderOverrides&) = delete;
    ScopedOrderOverrides& operator=(const ScopedOrderOverrides&) = delete;
};

struct Outcome {
    bool passed = false;
    std::string report;  // Relacy's output: the failure and, when it failed, the history
};

// A stream into a buffer reserved up front. Relacy writes its report while a simulation is
// current, when operator new is Relacy's; a growing std::ostringstream would free memory from one
// allocator into the other. The report is cut at the buffer's size.
class ReportStream {
public:
    ReportStream() : buf_(1 << 20), out_(&sb_) { sb_.reset(buf_.data(), buf_.size()); }
    std::ostream& stream() { return out_; }
    std::string str() const { return std::string(buf_.data(), sb_.written()); }

private:
    struct Buf : std::streambuf {
        void reset(char* p, std::size_t n) { setp(p, p + n); }
        std::size_t written() const { return static_cast<std::size_t>(pptr() - pbase()); }
        int_type overflow(int_type) override { return traits_type::eof(); }  // full: drop the rest
    };
    std::vector<char> buf_;
    Buf sb_;
    std::ostream out_;
};

// Runs Test under Relacy's random scheduler for `iters` iterations.
template <class Test>
Outcome simulate(int iters) {
    ReportStream out, progress;
    rl::test_params p;
    p.iteration_count = iters;
    p.output_stream = &out.stream();
    p.progress_stream = &progress.stream();
    p.execution_depth_limit = 20000;
    Outcome o;
    o.passed = rl::simulate<Test>(p);
    o.report = out.str();
    return o;
}

// The failure Relacy reported (the line after the test's name), e.g. "DEADLOCK" or "DATA RACE".
inline std::string headline(const std::string& report) {
    const std::size_t start = report.find('\n');
    if (start == std::string::npos) return report;
    return report.substr(start + 1, report.find('\n', start + 1) - start - 1);
}

// Runs Test with one operation weakened: line `line` of `header` uses `order`. Returns the outcome
// and the number of operations the fault hit.
template <class Test>
std::pair<Outcome, unsigned long> simulate_with_fault(int iters, const char* header, unsigned line,
                                                      std::memory_order order) {
    seeded_fault = SeededFault{header, line, order, 0};
    Outcome o = simulate<Test>(iters);
    const unsigned long hits = seeded_fault.hits;
    seeded_fault = SeededFault{};
    if (!o.passed) std::cout << "seeded bug (" << header << ":" << line << ") caught: " << headline(o.report) << '\n';
    return {o, hits};
}

}  // namespace weft::model
