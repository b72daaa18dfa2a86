// The synchronisation types of the lock-free core (atomic, mutex, condition_variable), named in
// one place so that a model checker can replace them.
//
// Normally these are the standard types. The Relacy models in tests/model compile the real
// structure headers with WEFT_MODEL_CHECK defined, after tests/model/support/relacy_sync.hpp, which
// defines weft::model::{atomic, mutex, condition_variable}: the same member functions (taking
// std::memory_order) over Relacy's simulated ones, so the checker explores the interleavings and
// the weak-memory outcomes of the shipped code, not of a copy. Structures that want to be model
// checked name `detail::atomic<T>` (and `detail::mutex`, `detail::condition_variable`) instead of
// the std types; nothing else changes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

#if defined(WEFT_MODEL_CHECK) && !defined(WEFT_MODEL_SYNC_TYPES)
#error "WEFT_MODEL_CHECK needs tests/model/support/relacy_sync.hpp included before any weft header"
#endif

namespace weft::detail {

#if defined(WEFT_MODEL_CHECK)
template <class T>
using atomic = ::weft::model::atomic<T>;
using mutex = ::weft::model::mutex;
using condition_variable = ::weft::model::condition_variable;
#else
template <class T>
using atomic = std::atomic<T>;
using mutex = std::mutex;
using condition_variable = std::condition_variable;
#endif

}  // namespace weft::detail
