// OwnedReadHalf and OwnedWriteHalf: a stream split in two owned halves, one per task, as Tokio's
// `into_split()` does for TcpStream and UnixStream.
#pragma once

#include "../detail/language_check.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "../task.hpp"
#include "detail/stream_socket.hpp"

namespace weft::net {

/// Thrown by OwnedReadHalf::reunite() given halves of two different streams; neither half was
/// consumed, so the caller still owns both.
class ReuniteError : public std::logic_error {
public:
    ReuniteError() : std::logic_error("weft: reunite: the halves are not from the same stream") {}
};

template <class Stream>
class OwnedWriteHalf;

/// The reading half of `Stream` (TcpStream, UnixStream), from `std::move(stream).into_split()`.
///
///     auto [reader, writer] = std::move(stream).into_split();
///     weft::spawn(read_loop(std::move(reader)));    // one task reads...
///     co_await writer.write_all("hello");           // ...while another writes
///
/// Owns a share of the stream: the socket closes when both halves are gone. The halves may be used
/// by two tasks at once, on any threads (the reactor keeps a waiter per direction). Move-only.
/// Operations and errors are the stream's (see TcpStream).
template <class Stream>
class OwnedReadHalf {
public:
    /// Reads what is available (0: end of stream). Cancellation-safe. See TcpStream::read.
    auto read(std::span<char> buffer) { return stream_->read(buffer); }
    /// As read(std::span<char>).
    auto read(std::span<std::byte> buffer) { return stream_->read(buffer); }
    /// Reads exactly buffer.size() bytes. See TcpStream::read_exact.
    Task<void> read_exact(std::span<char> buffer) { return stream_->read_exact(buffer); }
    /// As read_exact(std::span<char>).
    Task<void> read_exact(std::span<std::byte> buffer) { return stream_->read_exact(buffer); }
    /// The peer's address. See the stream's peer_addr.
    auto peer_addr() const { return stream_->peer_addr(); }
    /// This end's address. See the stream's local_addr.
    auto local_addr() const { return stream_->local_addr(); }

    /// Puts the stream back together (no write shutdown happens).
    /// @throws ReuniteError if `writer` belongs to another stream; then neither half is consumed.
    Stream reunite(OwnedWriteHalf<Stream>&& writer) &&;
    /// True if `writer` is this stream's other half.
    bool is_pair_of(const OwnedWriteHalf<Stream>& writer) const noexcept { return stream_ == writer.stream_; }

private:
    template <class S>
    friend std::pair<OwnedReadHalf<S>, OwnedWriteHalf<S>> split_owned(S&& stream);
    explicit OwnedReadHalf(std::shared_ptr<Stream> s) noexcept : stream_(std::move(s)) {}
    std::shared_ptr<Stream> stream_;
};

/// The writing half of `Stream`, from `std::move(stream).into_split()`.
///
/// Destroying it shuts the write side down (the peer reads end of stream), as Tokio's does,
/// unless forget() was called or it was reunited. Move-only; usable while another task reads
/// through the OwnedReadHalf.
template <class Stream>
class OwnedWriteHalf {
public:
    /// Takes over `other`'s half (`other` then shuts nothing down).
    OwnedWriteHalf(OwnedWriteHalf&&) noexcept = default;
    /// Shuts down this half's write side (as the destructor does) and takes over `other`'s.
    OwnedWriteHalf& operator=(OwnedWriteHalf&& other) noexcept {
        if (this != &other) {
            shutdown_on_drop();
            stream_ = std::move(other.stream_);
            forgotten_ = other.forgotten_;
        }
        return *this;
    }
    ~OwnedWriteHalf() { shutdown_on_drop(); }

    /// Writes some of `data` (yields the count). Cancellation-safe. See TcpStream::write.
    auto write(std::string_view data) { return stream_->write(data); }
    /// As write(std::string_view).
    auto write(std::span<const std::byte> data) { return stream_->write(data); }
    /// Writes all of `data`. See TcpStream::write_all.
    Task<void> write_all(std::string_view data) { return stream_->write_all(data); }
    /// As write_all(std::string_view).
    Task<void> write_all(std::span<const std::byte> data) { return stream_->write_all(data); }
    /// Shuts the write side down now (the peer reads end of stream); the read half reads on.
    /// @throws std::system_error (ECANCELED after close()), or RuntimeShutdownError.
    void shutdown() { stream_->shutdown(Shutdown::write); }
    /// Destroying this half will not shut the write side down (Tokio's `forget`).
    void forget() noexcept { forgotten_ = true; }
    /// The peer's address. See the stream's peer_addr.
    auto peer_addr() const { return stream_->peer_addr(); }
    /// This end's address. See the stream's local_addr.
    auto local_addr() const { return stream_->local_addr(); }

private:
    template <class S>
    friend std::pair<OwnedReadHalf<S>, OwnedWriteHalf<S>> split_owned(S&& stream);
    friend class OwnedReadHalf<Stream>;
    explicit OwnedWriteHalf(std::shared_ptr<Stream> s) noexcept : stream_(std::move(s)) {}

    void shutdown_on_drop() noexcept {
        if (stream_ && !forgotten_ && stream_->is_open()) ::shutdown(stream_->native_handle(), SHUT_WR);
        stream_.reset();
    }

    std::shared_ptr<Stream> stream_;
    bool forgotten_ = false;
};

template <class Stream>
Stream OwnedReadHalf<Stream>::reunite(OwnedWriteHalf<Stream>&& writer) && {
    if (!is_pair_of(writer)) throw ReuniteError();
    writer.stream_.reset();  // no shutdown: the stream lives on whole
    Stream whole = std::move(*stream_);
    stream_.reset();
    return whole;
}

/// What TcpStream::into_split and UnixStream::into_split do: moves `stream` into a share both
/// halves hold.
template <class S>
std::pair<OwnedReadHalf<S>, OwnedWriteHalf<S>> split_owned(S&& stream) {
    auto shared = std::make_shared<S>(std::move(stream));
    return {OwnedReadHalf<S>(shared), OwnedWriteHalf<S>(shared)};
}

}  // namespace weft::net
