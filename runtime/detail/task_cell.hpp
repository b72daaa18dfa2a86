// Where a spawned task's header lives: in a prefix of its root coroutine frame's allocation.
//
// Every `Task<T>` frame is allocated as  [tag | cell storage | coroutine frame]:
//   tag    one pointer, null until the task is spawned, then the cell;
//   cell   raw storage for a TaskCell<T> (header + output), constructed only by spawn.
// The promise's operator delete reads the tag: an unspawned frame frees the allocation at once; a
// spawned one only drops the frame's reference, and the last reference frees it. Spawning thus
// needs no allocation of its own, and the header can outlive the frame (wakers and the JoinHandle
// may still point at it after the frame is destroyed at completion).
#pragma once

#include <cstddef>
#include <new>

#include "frame_memory.hpp"
#include "task_header.hpp"
#include "task_output.hpp"

namespace weft::detail {

template <class T>
struct TaskCell final : TaskHeader {
    using TaskHeader::TaskHeader;
    TaskOutput<T> output;
};

inline constexpr std::size_t kFrameAlign = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
inline constexpr std::size_t kTagSize = kFrameAlign;

constexpr std::size_t round_up(std::size_t n, std::size_t align) { return (n + align - 1) / align * align; }

template <class T>
inline constexpr std::size_t kFramePrefix = kTagSize + round_up(sizeof(TaskCell<T>), kFrameAlign);

template <class T>
std::byte* allocation_base(void* frame) noexcept {
    return static_cast<std::byte*>(frame) - kFramePrefix<T>;
}

template <class T>
void* allocate_task_frame(std::size_t frame_size) {
    static_assert(alignof(TaskCell<T>) <= kFrameAlign, "over-aligned task results are not supported");
    auto* base = static_cast<std::byte*>(allocate_frame_memory(kFramePrefix<T> + frame_size));
    ::new (base) TaskHeader*(nullptr);
    return base + kFramePrefix<T>;
}

template <class T>
TaskHeader*& frame_tag(void* frame) noexcept {
    return *std::launder(reinterpret_cast<TaskHeader**>(allocation_base<T>(frame)));
}

template <class T>
void free_task_frame(void* frame) noexcept {
    if (TaskHeader* header = frame_tag<T>(frame)) {
        header->drop_ref();  // the frame's reference; the last one frees the allocation
    } else {
        free_frame_memory(allocation_base<T>(frame));
    }
}

template <class T>
void* cell_storage(void* frame) noexcept {
    return allocation_base<T>(frame) + kTagSize;
}

// The inverse of cell_storage, for the deallocation of a cell.
template <class T>
void destroy_cell_and_free(TaskCell<T>* cell) noexcept {
    std::byte* base = reinterpret_cast<std::byte*>(cell) - kTagSize;
    cell->~TaskCell<T>();
    free_frame_memory(base);
}

}  // namespace weft::detail
