// Interest and Ready: which readiness an I/O wait is for, and what the reactor reported
// (tokio::io::Interest and tokio::io::Ready).
#pragma once

#include "detail/language_check.hpp"

#include <cstdint>

#include "detail/scheduled_io.hpp"

namespace weft {

/// The readiness a wait is for: `Interest::readable`, `Interest::writable`, or both
/// (`Interest::readable | Interest::writable`). A wait for either also ends on a hang-up, an
/// error, or the source being closed, as Tokio's does.
class Interest {
public:
    static const Interest readable;  ///< Data to read, a connection to accept, or end of stream.
    static const Interest writable;  ///< Room to write.

    /// Both interests.
    constexpr Interest operator|(Interest other) const noexcept { return Interest(mask_ | other.mask_); }
    /// True if this includes readable.
    constexpr bool is_readable() const noexcept { return mask_ & detail::ready::kReadable; }
    /// True if this includes writable.
    constexpr bool is_writable() const noexcept { return mask_ & detail::ready::kWritable; }
    /// Same directions.
    constexpr bool operator==(const Interest&) const noexcept = default;

    /// The reactor's form (internal).
    constexpr detail::Interest to_detail() const noexcept { return static_cast<detail::Interest>(mask_); }

private:
    constexpr explicit Interest(std::uint32_t mask) noexcept : mask_(mask) {}
    std::uint32_t mask_;
};
inline constexpr Interest Interest::readable{static_cast<std::uint32_t>(detail::Interest::read)};
inline constexpr Interest Interest::writable{static_cast<std::uint32_t>(detail::Interest::write)};

/// What the reactor reported for a source when a readiness wait ended.
class Ready {
public:
    constexpr Ready() noexcept = default;
    /// From the reactor's bits (internal).
    constexpr explicit Ready(std::uint32_t bits) noexcept : bits_(bits) {}

    /// Nothing is ready.
    constexpr bool is_empty() const noexcept { return bits_ == 0; }
    /// A read (or accept) may make progress: data, end of stream, or an error to report.
    constexpr bool is_readable() const noexcept { return bits_ & detail::ready::kReadable; }
    /// A write may make progress.
    constexpr bool is_writable() const noexcept { return bits_ & detail::ready::kWritable; }
    /// The peer shut down its writing side (reads reach end of stream); final.
    constexpr bool is_read_closed() const noexcept { return bits_ & detail::ready::kReadClosed; }
    /// The writing side is closed (writes fail); final.
    constexpr bool is_write_closed() const noexcept { return bits_ & detail::ready::kWriteClosed; }
    /// An error is pending: the next call reports it.
    constexpr bool is_error() const noexcept { return bits_ & detail::ready::kError; }
    /// Same readiness bits.
    constexpr bool operator==(const Ready&) const noexcept = default;

private:
    std::uint32_t bits_ = 0;
};

}  // namespace weft
