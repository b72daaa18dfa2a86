#include "detail/context.hpp"

#include "detail/scheduler_impl.hpp"

namespace weft::detail {

constinit thread_local ThreadContext tls_context{};

ThreadContext& this_thread_context() noexcept { return tls_context; }

}  // namespace weft::detail
