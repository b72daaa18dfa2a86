// The runtime's error types: what a caller can catch to tell failures apart.
#pragma once

#include "detail/language_check.hpp"

#include <stdexcept>
#include <string>

namespace weft {

/// Thrown by `co_await handle` (and `block_on`) when the task was aborted or its runtime shut down
/// before it finished. A task's own exception is rethrown as itself, not wrapped.
class JoinError : public std::runtime_error {
public:
    /// Builds the error; its what() says the task was cancelled.
    JoinError() : std::runtime_error("weft: task was cancelled before it completed") {}
    /// Always true: cancellation is the only way a join fails (kept for Tokio's `JoinError::is_cancelled`).
    bool is_cancelled() const noexcept { return true; }
};

/// Thrown by TimeoutResult::value() when the operation timed out.
class TimeoutError : public std::runtime_error {
public:
    /// Builds the error; its what() says the operation timed out.
    TimeoutError() : std::runtime_error("weft: the operation timed out") {}
};

/// Thrown when a runtime that has shut down (or is shutting down) is asked to spawn or block_on,
/// and by timer and socket operations after their runtime shut down.
class RuntimeShutdownError : public std::runtime_error {
public:
    /// Builds the error; its what() says the runtime has shut down.
    RuntimeShutdownError() : std::runtime_error("weft: the runtime has shut down") {}
};

}  // namespace weft
