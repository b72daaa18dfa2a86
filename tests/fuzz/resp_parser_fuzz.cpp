// libFuzzer target for redis::RespParser (build: meson -Dfuzz=true with clang; see
// tests/fuzz/meson.build). For each input, as RESP2 and as RESP3:
//   - with small limits, parses it at once, one byte at a time, and in chunks of sizes drawn from
//     the input: all three must give the same replies, then the same error (or none), and the
//     same "partial reply left" verdict; every reply must respect the limits;
//   - with the default limits (512 MiB bulk strings, 2^32 - 1 elements), parses it in chunks
//     while watching allocations: no single allocation may follow a length the input claims
//     rather than the bytes it holds.
// And it encodes the input, cut into arguments, as a command, which must parse back to exactly
// those arguments. Any other exception than ProtocolError, a sanitizer report or a failed check
// is a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/redis/resp_encoder.hpp>
#include <weft/redis/resp_parser.hpp>

namespace {

using weft::redis::Kind;
using weft::redis::ProtocolError;
using weft::redis::RespParser;
using weft::redis::RespParserOptions;
using weft::redis::RespVersion;
using weft::redis::Value;

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                             \
        }                                                                             \
    } while (0)

// Largest allocation while tracking, seen through the sanitizer's malloc hook (this target is
// always built with AddressSanitizer). One fuzzing thread: no synchronisation needed.
std::size_t g_largest_allocation = 0;
bool g_tracking = false;

using MallocHook = void (*)(const volatile void*, std::size_t);
using FreeHook = void (*)(const volatile void*);
extern "C" int __sanitizer_install_malloc_and_free_hooks(MallocHook, FreeHook);

void on_malloc(const volatile void*, std::size_t size) {
    if (g_tracking && size > g_largest_allocation) g_largest_allocation = size;
}
void on_free(const volatile void*) {}

struct Outcome {
    std::vector<Value> replies;
    std::optional<std::string> error;
    bool partial = false;

    bool operator==(const Outcome&) const = default;
};

RespParserOptions small_limits(RespVersion version) {
    RespParserOptions o;
    o.max_bulk_length = 64;
    o.max_depth = 8;
    o.max_elements = 16;
    o.max_line_length = 48;
    o.version = version;
    return o;
}

// Every string within its limit, every aggregate within max_elements, nesting within max_depth.
void check_within_limits(const Value& reply, const RespParserOptions& o) {
    std::vector<std::pair<const Value*, std::size_t>> pending{{&reply, 0}};
    while (!pending.empty()) {
        const auto [v, depth] = pending.back();
        pending.pop_back();
        switch (v->kind()) {
            case Kind::simple_string:
                FUZZ_CHECK(v->as_string().size() < o.max_line_length);
                break;
            case Kind::bulk_string:
            case Kind::verbatim_string:
                FUZZ_CHECK(v->as_string().size() <= o.max_bulk_length);
                break;
            case Kind::error:
                FUZZ_CHECK(v->error_text().size() <= std::max(o.max_bulk_length, o.max_line_length));
                break;
            case Kind::big_number:
                FUZZ_CHECK(v->as_big_number().size() < o.max_line_length);
                break;
            case Kind::array:
            case Kind::set:
            case Kind::push:
                FUZZ_CHECK(depth < o.max_depth);
                FUZZ_CHECK(v->as_array().size() <= o.max_elements);
                for (const Value& e : v->as_array()) pending.emplace_back(&e, depth + 1);
                break;
            case Kind::map:
                FUZZ_CHECK(depth < o.max_depth);
                FUZZ_CHECK(v->as_map().size() <= o.max_elements);
                for (const auto& [k, e] : v->as_map()) {
                    pending.emplace_back(&k, depth + 1);
                    pending.emplace_back(&e, depth + 1);
                }
                break;
            default: break;
        }
    }
}

// Feeds `input` in chunks of the sizes `next_chunk` returns, parsing after each.
template <class NextChunk>
Outcome parse(std::string_view input, const RespParserOptions& options, NextChunk next_chunk) {
    RespParser parser(options);
    Outcome out;
    auto drain = [&] {
        if (out.error) return;
        try {
            while (std::optional<Value> v = parser.next()) out.replies.push_back(std::move(*v));
        } catch (const ProtocolError& e) {
            out.error = e.what();
            FUZZ_CHECK(parser.is_failed());
        }
    };
    std::size_t pos = 0;
    while (pos < input.size()) {
        const std::size_t n = std::min(next_chunk(), input.size() - pos);
        parser.feed(input.substr(pos, n));
        pos += n;
        drain();
        // The buffer holds what arrived and is not consumed: never more than twice the input
        // plus its initial size, whatever lengths the input claims.
        FUZZ_CHECK(parser.buffer_capacity() <= 2 * input.size() + 64 * 1024);
    }
    drain();
    out.partial = !out.error && parser.has_partial_reply();
    if (out.error) {  // stays failed
        bool threw = false;
        try {
            (void)parser.next();
        } catch (const ProtocolError& e) {
            threw = *out.error == e.what();
        }
        FUZZ_CHECK(threw);
    }
    return out;
}

// Chunk sizes 1..64 drawn from a generator seeded by the input itself.
std::minstd_rand chunk_generator(std::string_view input) {
    std::uint32_t seed = 2166136261u;  // FNV-1a
    for (const char c : input) seed = (seed ^ static_cast<unsigned char>(c)) * 16777619u;
    return std::minstd_rand(seed);
}

void check_parser(std::string_view input, RespVersion version) {
    const RespParserOptions options = small_limits(version);
    const Outcome at_once = parse(input, options, [&] { return input.size(); });
    const Outcome bytewise = parse(input, options, [] { return std::size_t{1}; });
    std::minstd_rand rng = chunk_generator(input);
    const Outcome chunked = parse(input, options, [&] { return std::size_t{rng() % 64 + 1}; });
    FUZZ_CHECK(at_once == bytewise);
    FUZZ_CHECK(at_once == chunked);
    for (const Value& reply : at_once.replies) check_within_limits(reply, options);

    RespParserOptions defaults;
    defaults.version = version;
    std::minstd_rand rng2 = chunk_generator(input);
    g_largest_allocation = 0;
    g_tracking = true;
    const Outcome unlimited = parse(input, defaults, [&] { return std::size_t{rng2() % 256 + 1}; });
    g_tracking = false;
    // Proportional to the input (a reply's values take a few dozen bytes per input byte at
    // most), never to a claimed length or count.
    FUZZ_CHECK(g_largest_allocation <= 256 * 1024 + 64 * input.size());
    (void)unlimited;
}

// The input cut at every '\n' into at most 16 arguments, encoded as a command, parses back to
// an array of exactly those bulk strings.
void check_encoder(std::string_view input) {
    std::vector<std::string_view> args;
    std::size_t start = 0;
    while (args.size() < 16) {
        const std::size_t end = input.find('\n', start);
        args.push_back(input.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    std::string wire;
    weft::redis::encode_command(wire, args);
    RespParser parser;
    parser.feed(wire);
    const std::optional<Value> command = parser.next();
    FUZZ_CHECK(command.has_value());
    FUZZ_CHECK(command->kind() == Kind::array);
    FUZZ_CHECK(command->as_array().size() == args.size());
    for (std::size_t i = 0; i < args.size(); ++i) {
        FUZZ_CHECK(command->as_array()[i] == Value::bulk_string(std::string(args[i])));
    }
    FUZZ_CHECK(!parser.next().has_value());
    FUZZ_CHECK(!parser.has_partial_reply());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    __sanitizer_install_malloc_and_free_hooks(&on_malloc, &on_free);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_parser(input, RespVersion::resp2);
    check_parser(input, RespVersion::resp3);
    check_encoder(input);
    return 0;
}
