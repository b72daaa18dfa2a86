// The memory under every Task<T> coroutine frame (and a spawned task's header, which lives in a
// prefix of its root frame: see task_cell.hpp).
//
// Frames come from operator new, so they come from whatever allocator the program uses: a library
// must not choose its user's allocator. weft used to link mimalloc for them, and Debian's mimalloc
// replaces malloc and operator new for the whole program that links it. Measured again before that
// changed (W3 spawn_many, interleaved processes in one run; README, "Memory"), glibc's allocator is
// not slower here: the W3 figure does not depend on mimalloc. A program that wants mimalloc for
// everything, frames included, links it itself (pkg-config `weft-mimalloc`, CMake `weft::mimalloc`).
//
// These two functions stay the one place frames are allocated, so that a different allocator for
// them is a change to one file.
#pragma once

#include <cstddef>

namespace weft::detail {

void* allocate_frame_memory(std::size_t size);
void free_frame_memory(void* p) noexcept;

}  // namespace weft::detail
