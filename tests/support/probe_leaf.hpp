// A leaf awaitable for the tests of select and join that start several leaves in one await: it
// never completes in await_ready; in await_suspend it either completes at once (a message that
// arrived from another worker between the two calls) or waits as a leaf does, naming itself the
// pending poll. It counts the polls it gets, and a poll completes it, so a poll it should never
// have had shows in the count instead of hanging the test.
#pragma once

#include <coroutine>
#include <stdexcept>

#include <weft/runtime/leaf_awaitable.hpp>

namespace weft::test {

class ProbeLeaf final : public weft::Pollable {
public:
    enum class Mode { waits, completes, throws };
    explicit ProbeLeaf(Mode mode) noexcept : mode_(mode) {}
    ProbeLeaf(const ProbeLeaf&) = delete;

    bool await_ready() noexcept { return false; }
    bool await_suspend(std::coroutine_handle<>) noexcept {
        if (mode_ != Mode::waits) return false;
        weft::set_pending_poll(*this);
        return true;
    }
    bool poll_ready() noexcept override {
        ++polls;
        return true;
    }
    int await_resume() {
        if (mode_ == Mode::throws) throw std::runtime_error("probe");
        return 1;
    }

    int polls = 0;

private:
    Mode mode_;
};

}  // namespace weft::test
