// The blocking receive of the mpsc receivers, for threads outside the runtime: it parks the thread
// (not a task) until a value or the close arrives. Separate from recv_awaiters.hpp because it is the
// other mechanism (a thread notifier instead of a task waker) over the same front contract
// (recv_port.hpp): a move that throws leaves the message in the channel.
#pragma once

#include <optional>

#include <weft/runtime/detail/thread_waker.hpp>
#include <weft/runtime/waker.hpp>
#include "ensure_not_worker.hpp"
#include "recv_port.hpp"
#include "recv_status.hpp"

namespace weft::detail {

template <class T, class Chan>
std::optional<T> blocking_recv(Chan& ch) {
    ensure_not_worker("blocking_recv");
    RecvPort<Chan, T> port(&ch);
    RecvStatus status = port.poll();
    if (status == RecvStatus::kEmpty) {
        ScopedThreadNotifier notifier;
        const Waker waker = notifier->waker();
        while ((status = port.register_receiver(waker)) == RecvStatus::kEmpty) notifier->park();
    }
    if (status != RecvStatus::kValue) return std::nullopt;
    return take_front<T>(port);
}

}  // namespace weft::detail
