// Runs one test body against every runtime flavour, as Tokio's suite does:
//   class MySuite : public weft::test::AllRuntimes {};
//   TEST_P(MySuite, Behaviour) { auto rt = make_runtime(); ... }
//   WEFT_INSTANTIATE_ALL_RUNTIMES(MySuite);
// WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(MySuite) runs it only on the flavours with one thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <weft/runtime/runtime.hpp>

namespace weft::test {

struct RuntimeKind {
    Flavor flavor;
    std::size_t workers;
    std::string name;
};

inline std::ostream& operator<<(std::ostream& os, const RuntimeKind& k) { return os << k.name; }

class AllRuntimes : public ::testing::TestWithParam<RuntimeKind> {
protected:
    std::unique_ptr<Runtime> make_runtime(RuntimeOptions options = {}) const {
        options.flavor = GetParam().flavor;
        options.worker_threads = GetParam().workers;
        return std::make_unique<Runtime>(std::move(options));
    }
    // For tests where a timer decides the outcome: on the current-thread flavour the clock starts
    // paused (time::pause), so timers fire in deadline order whatever the machine's load; the
    // multi-thread flavours cannot pause and run on real time, as make_runtime.
    std::unique_ptr<Runtime> make_paused_runtime(RuntimeOptions options = {}) const {
        options.start_paused = GetParam().flavor == Flavor::current_thread;
        return make_runtime(std::move(options));
    }
};

inline auto all_runtime_kinds() {
    return ::testing::Values(RuntimeKind{Flavor::current_thread, 1, "CurrentThread"},
                             RuntimeKind{Flavor::multi_thread, 1, "OneWorker"},
                             RuntimeKind{Flavor::multi_thread, 2, "TwoWorkers"});
}

// The flavours where one thread runs every task, so "yield until the others have run" is exact: for
// tests that depend on which task reached its wait first.
inline auto single_threaded_runtime_kinds() {
    return ::testing::Values(RuntimeKind{Flavor::current_thread, 1, "CurrentThread"},
                             RuntimeKind{Flavor::multi_thread, 1, "OneWorker"});
}

// Sanitizers slow everything down several times: stress sizes shrink under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// `full` normally, `full / divisor` under a sanitizer.
constexpr long scaled(long full, long divisor = 10) { return kSanitized ? full / divisor : full; }

}  // namespace weft::test

#define WEFT_INSTANTIATE_ALL_RUNTIMES(suite)                                  \
    INSTANTIATE_TEST_SUITE_P(AllRuntimes, suite, ::weft::test::all_runtime_kinds(), \
                             [](const auto& info) { return info.param.name; })
#define WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(suite)                                      \
    INSTANTIATE_TEST_SUITE_P(SingleThreaded, suite, ::weft::test::single_threaded_runtime_kinds(), \
                             [](const auto& info) { return info.param.name; })
