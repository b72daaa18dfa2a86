// The outcome of one receive attempt on an mpsc channel, and the contract a channel offers the
// receive paths. Separate so the channels can implement the contract without pulling in the
// awaiters or the blocking path that use it.
//
// `Chan` provides:
//   RecvStatus try_recv(std::optional<T>& out);                       // kValue, kEmpty, kClosed
//   RecvStatus register_receiver(const Waker&, std::optional<T>& out); // register, then re-check
#pragma once

namespace weft::detail {

enum class RecvStatus { kValue, kEmpty, kClosed };

}  // namespace weft::detail
