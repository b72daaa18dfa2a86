// The check at the top of every blocking channel call (blocking_recv, blocking_send): such a call
// would stall a runtime worker and every task queued behind it. Separate because the senders, the mpsc
// receivers and oneshot all use it, and none of them needs the rest of the receive code.
#pragma once

#include <stdexcept>
#include <string>

#include <weft/runtime/detail/scheduler.hpp>

namespace weft::detail {

inline void ensure_not_worker(const char* what) {
    if (is_worker_thread())
        throw std::logic_error(std::string("weft: ") + what + " called on a runtime worker thread; use co_await");
}

}  // namespace weft::detail
