// The blocking receive of the mpsc receivers, for threads outside the runtime: it parks the thread
// (not a task) until a value or the close arrives. Separate from recv_awaiters.hpp because it is the
// other mechanism (a thread notifier instead of a task waker) over the same `Chan` contract.
#pragma once

#include <optional>

#include <weft/runtime/detail/thread_waker.hpp>
#include <weft/runtime/waker.hpp>
#include "ensure_not_worker.hpp"
#include "recv_status.hpp"

namespace weft::detail {

template <class T, class Chan>
std::optional<T> blocking_recv(Chan& ch) {
    ensure_not_worker("blocking_recv");
    std::optional<T> out;
    if (ch.try_recv(out) != RecvStatus::kEmpty) return out;
    ScopedThreadNotifier notifier;
    const Waker waker = notifier->waker();
    while (ch.register_receiver(waker, out) == RecvStatus::kEmpty) notifier->park();
    return out;
}

}  // namespace weft::detail
