// The outcome of one receive attempt on an mpsc channel. Separate so the channels can implement
// the receive contract (recv_port.hpp) without pulling in the awaiters or the blocking path that
// use it.
#pragma once

namespace weft::detail {

enum class RecvStatus { kValue, kEmpty, kClosed };

}  // namespace weft::detail
