// The result slot shared by a Task's promise and a spawned task's cell.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "../errors.hpp"

namespace weft::detail {

struct VoidValue {};
struct CancelledOutput {};

template <class T>
class TaskOutput {
public:
    using Value = std::conditional_t<std::is_void_v<T>, VoidValue, T>;

    template <class U>
    void set_value(U&& value) {
        storage_.template emplace<1>(std::forward<U>(value));
    }
    void set_void() { storage_.template emplace<1>(); }
    void set_exception(std::exception_ptr e) noexcept { storage_.template emplace<2>(std::move(e)); }
    void set_cancelled() noexcept { storage_.template emplace<3>(); }

    bool has_exception() const noexcept { return storage_.index() == 2; }
    std::exception_ptr exception() const noexcept {
        return has_exception() ? std::get<2>(storage_) : nullptr;
    }
    void reset() noexcept { storage_.template emplace<0>(); }

    // Returns the value, rethrows the exception, or throws JoinError for a cancelled task.
    T take() {
        switch (storage_.index()) {
            case 1:
                if constexpr (std::is_void_v<T>) {
                    return;
                } else {
                    T value = std::move(std::get<1>(storage_));
                    reset();
                    return value;
                }
            case 2: {
                std::exception_ptr e = std::move(std::get<2>(storage_));
                reset();
                std::rethrow_exception(std::move(e));
            }
            case 3:
                throw JoinError();
            default:
                throw std::logic_error("weft: task result read before it was set, or read twice");
        }
    }

private:
    std::variant<std::monostate, Value, std::exception_ptr, CancelledOutput> storage_;
};

}  // namespace weft::detail
