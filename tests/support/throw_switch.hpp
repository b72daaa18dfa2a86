// A value whose copy or move constructor throws while a switch is on, to test that a throwing
// send or receive leaves a channel working:
//   weft::test::ThrowSwitch::Scope on(weft::test::ThrowSwitch::kMove);  // moves throw until `on` goes
//   EXPECT_THROW(tx.send(weft::test::Throwing(1)), weft::test::MoveFailed);
// The switch is process-wide (tests run one at a time); assignments never throw.
#pragma once

#include <atomic>
#include <stdexcept>

namespace weft::test {

struct CopyFailed : std::runtime_error {
    CopyFailed() : std::runtime_error("test: copy failed") {}
};
struct MoveFailed : std::runtime_error {
    MoveFailed() : std::runtime_error("test: move failed") {}
};

struct ThrowSwitch {
    enum Which : unsigned { kNone = 0, kCopy = 1, kMove = 2 };
    static inline std::atomic<unsigned> on{kNone};

    // Turns `which` on for its lifetime.
    class Scope {
    public:
        explicit Scope(unsigned which) noexcept { on.store(which); }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        ~Scope() { on.store(kNone); }
    };
};

struct Throwing {
    int value = 0;

    Throwing() = default;
    explicit Throwing(int v) noexcept : value(v) {}
    Throwing(const Throwing& other) : value(other.value) {
        if (ThrowSwitch::on.load() & ThrowSwitch::kCopy) throw CopyFailed();
    }
    Throwing(Throwing&& other) : value(other.value) {
        if (ThrowSwitch::on.load() & ThrowSwitch::kMove) throw MoveFailed();
    }
    Throwing& operator=(const Throwing&) = default;
    Throwing& operator=(Throwing&&) = default;
    bool operator==(const Throwing&) const = default;
};

}  // namespace weft::test
