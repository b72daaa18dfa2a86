// DuplexIo: the manager's way into a Client to write and read at once (full duplex).
//
// A Client's own calls run one exchange at a time: write a command, read its reply. The manager
// instead races the stream's write and read leaves in one weft::select (the reactor keeps a waiter
// per direction), so it can send the next batch while the previous one's replies are still due.
// This hands it those leaves and turns what they yield into replies, and breaks the Client (as its
// own calls do) when either direction fails. The Client must have no call of its own in flight.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

#include <weft/runtime/net/detail/stream_socket.hpp>
#include "../client.hpp"
#include "../value.hpp"

namespace weft::redis::detail {

class DuplexIo {
public:
    explicit DuplexIo(Client& client) noexcept : client_(&client) {}

    // A read into the Client's parser, for select; yields the byte count for take_replies().
    // Cancellation-safe: no byte moves unless it completes.
    net::detail::StreamSocket::ReadAwaiter read() {
        client_->throw_if_broken();
        return client_->stream_.read(client_->receive_space());
    }
    // A write of some of `bytes`, for select; yields how many went. Cancellation-safe.
    net::detail::StreamSocket::WriteAwaiter write(std::string_view bytes) {
        client_->throw_if_broken();
        return client_->stream_.write(bytes);
    }
    // Writes what fits now without waiting: the count, 0 if the socket has no room (then race
    // write() in a select). Throws (breaking the Client) if the write fails.
    std::size_t try_write(std::string_view bytes) {
        client_->throw_if_broken();
        try {
            return client_->stream_.try_write(bytes).value_or(0);
        } catch (...) {
            client_->fail(std::current_exception(), "writing to");
        }
    }
    // Takes `n` bytes read() yielded: every complete reply goes to `on_reply(Value&&)`, in order,
    // push messages to on_push. Throws (breaking the Client) at end of stream, for bytes that are
    // not RESP, or what `on_reply` throws (a reply nobody waits for).
    template <class OnReply>
    void take_replies(std::size_t n, OnReply&& on_reply) {
        try {
            client_->received(n);
            while (std::optional<Value> reply = client_->next_reply()) on_reply(std::move(*reply));
        } catch (...) {
            client_->fail(std::current_exception(), "reading from");
        }
    }
    // Breaks the Client with what a read or a write threw, and throws it (an I/O error becomes an
    // IoError naming the server).
    [[noreturn]] void fail(std::exception_ptr error) { client_->fail(std::move(error), "writing to or reading from"); }

private:
    Client* client_;
};

}  // namespace weft::redis::detail
