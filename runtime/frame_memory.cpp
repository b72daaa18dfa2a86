#include "detail/frame_memory.hpp"

#include <new>

namespace weft::detail {

void* allocate_frame_memory(std::size_t size) { return ::operator new(size); }
void free_frame_memory(void* p) noexcept { ::operator delete(p); }

}  // namespace weft::detail
