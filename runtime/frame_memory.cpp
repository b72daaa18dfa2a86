#include "detail/frame_memory.hpp"

#include <new>

#if WEFT_FRAME_ALLOCATOR_MIMALLOC
#include <dlfcn.h>
#endif

namespace weft::detail {

#if WEFT_FRAME_ALLOCATOR_MIMALLOC
// mi_malloc aligns to 16 bytes on 64-bit targets, as operator new does (__STDCPP_DEFAULT_NEW_ALIGNMENT__).
static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ <= 2 * sizeof(void*));

namespace {

struct FrameHeap {
    void* (*allocate)(std::size_t) = nullptr;  // null: operator new
    void (*free)(void*) = nullptr;
};

// Opened once, never closed (RTLD_NODELETE): frames may be freed by threads that outlive any
// runtime. RTLD_LOCAL keeps mimalloc's malloc and operator new out of the program's symbol scope.
FrameHeap open_frame_heap() noexcept {
    void* library = ::dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!library) return {};
    FrameHeap heap;
    heap.allocate = reinterpret_cast<void* (*)(std::size_t)>(::dlsym(library, "mi_malloc"));
    heap.free = reinterpret_cast<void (*)(void*)>(::dlsym(library, "mi_free"));
    if (!heap.allocate || !heap.free) return {};
    return heap;
}

const FrameHeap& frame_heap() noexcept {
    static const FrameHeap heap = open_frame_heap();
    return heap;
}

}  // namespace

void* allocate_frame_memory(std::size_t size) {
    const FrameHeap& heap = frame_heap();
    if (!heap.allocate) return ::operator new(size);
    void* p = heap.allocate(size);
    if (!p) throw std::bad_alloc();
    return p;
}

void free_frame_memory(void* p) noexcept {
    const FrameHeap& heap = frame_heap();
    if (heap.free) {
        heap.free(p);
    } else {
        ::operator delete(p);
    }
}

const char* frame_allocator_name() noexcept { return frame_heap().allocate ? "mimalloc" : "operator new"; }
#else
void* allocate_frame_memory(std::size_t size) { return ::operator new(size); }
void free_frame_memory(void* p) noexcept { ::operator delete(p); }
const char* frame_allocator_name() noexcept { return "operator new"; }
#endif

}  // namespace weft::detail
