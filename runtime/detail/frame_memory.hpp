// The memory under every Task<T> coroutine frame (and a spawned task's header, which lives in a
// prefix of its root frame: see task_cell.hpp).
//
// Why it matters: a runtime allocates a frame on one worker and often frees it on another, in
// bursts (a task spawning a million). glibc gives each thread an arena of 64 MB heaps that it
// grows a page at a time with mprotect and hands back to the kernel as they empty, so a burst of a
// million spawns page-faults its way through 160 MB every time. mimalloc's per-thread heaps keep
// freed pages for reuse and take cross-thread frees without a lock (W3 spawn_many with 2 workers:
// about 2.5x; README, "Memory").
//
// Why mimalloc is loaded, not linked: Debian ships it only as a shared library that exports
// malloc, free and operator new, so linking it would make it the allocator of the whole program
// that links weft. A library must not change its user's allocator. So frames come from
// mi_malloc/mi_free looked up in a copy of libmimalloc.so.2 opened with RTLD_LOCAL: its symbols
// stay out of the global scope and the program's malloc stays the C library's. Where the library
// is missing at run time, or weft was built with `-Dallocator=system` or a sanitizer (which must
// see every frame), frames come from operator new. A program that wants mimalloc for everything
// links it itself (pkg-config `weft-mimalloc`, CMake `weft::mimalloc`); opening it again then
// returns the same, already loaded copy, so frames and the rest share one heap.
#pragma once

#include <cstddef>

namespace weft::detail {

// Throws std::bad_alloc when memory is exhausted. Aligned to __STDCPP_DEFAULT_NEW_ALIGNMENT__.
void* allocate_frame_memory(std::size_t size);
void free_frame_memory(void* p) noexcept;

// Which allocator serves frames in this process: "mimalloc" or "operator new". For the
// benchmarks' headers and the tests; the first call decides, and it never changes after.
const char* frame_allocator_name() noexcept;

}  // namespace weft::detail
