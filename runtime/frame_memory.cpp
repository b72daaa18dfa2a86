#include "detail/frame_memory.hpp"

#include <new>

#if WEFT_FRAME_ALLOCATOR_MIMALLOC
#include <mimalloc.h>
#endif

namespace weft::detail {

#if WEFT_FRAME_ALLOCATOR_MIMALLOC
// mi_malloc aligns to 16 bytes on 64-bit targets, as operator new does (__STDCPP_DEFAULT_NEW_ALIGNMENT__).
static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ <= 2 * sizeof(void*));

void* allocate_frame_memory(std::size_t size) {
    void* p = mi_malloc(size);
    if (!p) throw std::bad_alloc();
    return p;
}
void free_frame_memory(void* p) noexcept { mi_free(p); }
#else
void* allocate_frame_memory(std::size_t size) { return ::operator new(size); }
void free_frame_memory(void* p) noexcept { ::operator delete(p); }
#endif

}  // namespace weft::detail
