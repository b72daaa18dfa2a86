// Spinning politely while another thread finishes a short step (a producer between claiming a
// slot and publishing it, say).
#pragma once

#include <thread>

namespace weft::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Pause briefly for the first spins, then give the core away: the thread we wait for may have been
// preempted, and on a 2-core machine spinning would only delay it.
inline void backoff(unsigned spins) noexcept {
    if (spins < 16) cpu_relax();
    else std::this_thread::yield();
}

}  // namespace weft::detail
