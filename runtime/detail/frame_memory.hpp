// The memory under every Task<T> coroutine frame (and a spawned task's header, which lives in a
// prefix of its root frame: see task_cell.hpp).
//
// Why it matters: a runtime allocates a frame on one worker and often frees it on another, in
// bursts (a task spawning a million). glibc gives each thread an arena of 64 MB heaps that it
// grows a page at a time with mprotect and hands back to the kernel as they empty, so a burst of a
// million spawns page-faults its way through 160 MB every time. mimalloc's per-thread heaps keep
// freed pages for reuse and take cross-thread frees without a lock (W3 spawn_many with 2 workers:
// about 2.5x). When weft is built with it (meson option `allocator`, Debian's libmimalloc-dev),
// frames come from mi_malloc; Debian's mimalloc also replaces malloc and operator new for the whole
// program, which the README says. Sanitizer builds use operator new, so AddressSanitizer still
// sees every frame.
#pragma once

#include <cstddef>

namespace weft::detail {

// Throws std::bad_alloc when memory is exhausted. Aligned to __STDCPP_DEFAULT_NEW_ALIGNMENT__.
void* allocate_frame_memory(std::size_t size);
void free_frame_memory(void* p) noexcept;

}  // namespace weft::detail
