// RespParser: every RESP2 and RESP3 reply kind, replies split anywhere, and hostile input (huge
// lengths and counts, deep nesting, garbage, broken line endings) rejected as ProtocolError
// without allocating what the peer claims or recursing on its depth.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <weft/redis/errors.hpp>
#include <weft/redis/resp_parser.hpp>
#include <weft/redis/value.hpp>

#include "support/runtimes.hpp"

// Allocation accounting for the tests below: the largest single allocation and the number of
// allocations made by this thread while `t_tracking` is on. Thread-local, so the counts are this
// test's own and need no synchronisation.
//
// Plain builds count in a replacement operator new. Sanitizer builds cannot replace it (clang
// links its runtime's operator new whole-archive), so they count in the sanitizer's malloc hook,
// which sees every allocation, operator new's included.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TEST_SANITIZER_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_TEST_SANITIZER_HOOKS 1
#endif
#endif

namespace {
thread_local bool t_tracking = false;
thread_local std::size_t t_largest_allocation = 0;
thread_local std::size_t t_allocations = 0;

void count_allocation(std::size_t size) noexcept {
    if (!t_tracking) return;
    ++t_allocations;
    if (size > t_largest_allocation) t_largest_allocation = size;
}
}  // namespace

#ifdef WEFT_TEST_SANITIZER_HOOKS
using MallocHook = void (*)(const volatile void*, std::size_t);
using FreeHook = void (*)(const volatile void*);
extern "C" int __sanitizer_install_malloc_and_free_hooks(MallocHook, FreeHook);
namespace {
void on_malloc(const volatile void*, std::size_t size) { count_allocation(size); }
void on_free(const volatile void*) {}
const int kHooksInstalled = __sanitizer_install_malloc_and_free_hooks(&on_malloc, &on_free);
}  // namespace
#else
void* operator new(std::size_t size) {
    count_allocation(size);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
// g++ sees the free() of memory from operator new once these are inlined: here they are the pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

namespace {

using weft::redis::Errc;
using weft::redis::IoError;
using weft::redis::Kind;
using weft::redis::ProtocolError;
using weft::redis::RespParser;
using weft::redis::RespParserOptions;
using weft::redis::RespVersion;
using weft::redis::ServerError;
using weft::redis::Value;
using Array = Value::Array;
using Map = Value::Map;

// Counts allocations made by this thread in its scope.
class AllocationTracker {
public:
    AllocationTracker() {
#ifdef WEFT_TEST_SANITIZER_HOOKS
        if (kHooksInstalled == 0) ADD_FAILURE() << "the sanitizer's malloc hooks are not installed";
#endif
        t_largest_allocation = 0;
        t_allocations = 0;
        t_tracking = true;
    }
    ~AllocationTracker() { t_tracking = false; }
    AllocationTracker(const AllocationTracker&) = delete;
    AllocationTracker& operator=(const AllocationTracker&) = delete;

    std::size_t largest() const { return t_largest_allocation; }
    std::size_t count() const { return t_allocations; }
};

RespParserOptions resp3() {
    RespParserOptions o;
    o.version = RespVersion::resp3;
    return o;
}

// What a stream of bytes parses to: the replies, then the error that stopped it (if any).
struct Outcome {
    std::vector<Value> replies;
    std::optional<std::string> error;
    bool partial = false;  // bytes of an incomplete reply left over
};

void drain(RespParser& parser, Outcome& out) {
    if (out.error) return;
    try {
        while (std::optional<Value> v = parser.next()) out.replies.push_back(std::move(*v));
    } catch (const ProtocolError& e) {
        out.error = e.what();
    }
}

// Feeds `bytes` in chunks of the sizes `chunk` returns, parsing after each.
template <class ChunkSize>
Outcome parse_in_chunks(std::string_view bytes, RespParserOptions options, ChunkSize chunk) {
    RespParser parser(options);
    Outcome out;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const std::size_t n = std::min(chunk(), bytes.size() - pos);
        parser.feed(bytes.substr(pos, n));
        pos += n;
        drain(parser, out);
    }
    drain(parser, out);
    out.partial = parser.has_partial_reply();
    return out;
}

Outcome parse_at_once(std::string_view bytes, RespParserOptions options = {}) {
    return parse_in_chunks(bytes, options, [&] { return bytes.size(); });
}

Outcome parse_bytewise(std::string_view bytes, RespParserOptions options = {}) {
    return parse_in_chunks(bytes, options, [] { return std::size_t{1}; });
}

// The one reply `bytes` holds; fails the test if there is not exactly one.
Value parse_one(std::string_view bytes, RespParserOptions options = {}) {
    Outcome out = parse_at_once(bytes, options);
    EXPECT_FALSE(out.error) << *out.error;
    EXPECT_FALSE(out.partial);
    EXPECT_EQ(out.replies.size(), 1u);
    return out.replies.empty() ? Value() : std::move(out.replies.front());
}

// The ProtocolError message `bytes` leads to (empty if none), checked to be the same whether
// the bytes come at once or one at a time.
std::string protocol_error(std::string_view bytes, RespParserOptions options = {}) {
    const Outcome at_once = parse_at_once(bytes, options);
    const Outcome bytewise = parse_bytewise(bytes, options);
    EXPECT_EQ(at_once.error, bytewise.error);
    EXPECT_EQ(at_once.replies, bytewise.replies);
    return at_once.error.value_or("");
}

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

// Replies of every kind, RESP2 and RESP3, nested and not: the input of the split tests.
using namespace std::string_literals;
const std::string kEveryKind =
    "+OK\r\n"
    "-ERR unknown command 'FOO'\r\n"
    ":-9223372036854775808\r\n"
    "$5\r\nhello\r\n"
    "$0\r\n\r\n"
    "$-1\r\n"
    "*-1\r\n"
    "*0\r\n"
    "*3\r\n:1\r\n*2\r\n$3\r\nfoo\r\n$-1\r\n-WRONGTYPE nested\r\n"
    "$7\r\na\r\n\0b\r\n\r\n"
    "%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n*1\r\n#t\r\n"
    "~2\r\n:1\r\n:2\r\n"
    ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
    ",3.25\r\n,-inf\r\n,nan\r\n"
    "#f\r\n"
    "_\r\n"
    "(3492890328409238509324850943850943825024385\r\n"
    "=15\r\ntxt:Some string\r\n"
    "!21\r\nSYNTAX invalid syntax\r\n"
    "|1\r\n+ttl\r\n:3600\r\n$3\r\nbar\r\n"
    "*2\r\n|1\r\n+a\r\n+b\r\n:7\r\n:8\r\n"s;

// ---------------------------------------------------------------------------------------------
// RESP2 kinds

TEST(RespParser, SimpleStringYieldsItsText) {
    EXPECT_EQ(parse_one("+OK\r\n"), Value::simple_string("OK"));
    EXPECT_EQ(parse_one("+\r\n"), Value::simple_string(""));
}

TEST(RespParser, ErrorReplyIsAValueThatKeepsTheServersText) {
    const Value v = parse_one("-WRONGTYPE Operation against a key holding the wrong kind\r\n");
    ASSERT_EQ(v.kind(), Kind::error);
    EXPECT_EQ(v.error_text(), "WRONGTYPE Operation against a key holding the wrong kind");
    try {
        (void)v.as_string();
        ADD_FAILURE() << "as_string on an error reply did not throw";
    } catch (const ServerError& e) {
        EXPECT_EQ(e.prefix(), "WRONGTYPE");
        EXPECT_EQ(e.detail(), "Operation against a key holding the wrong kind");
    }
}

TEST(RespParser, IntegersParseAcrossTheWholeInt64Range) {
    EXPECT_EQ(parse_one(":0\r\n").as_integer(), 0);
    EXPECT_EQ(parse_one(":-42\r\n").as_integer(), -42);
    EXPECT_EQ(parse_one(":9223372036854775807\r\n").as_integer(),
              std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(parse_one(":-9223372036854775808\r\n").as_integer(),
              std::numeric_limits<std::int64_t>::min());
}

TEST(RespParser, BulkStringIsBinarySafe) {
    const std::string payload("a\r\n\0b\r\n", 7);
    EXPECT_EQ(parse_one("$7\r\n" + payload + "\r\n"), Value::bulk_string(payload));
    EXPECT_EQ(parse_one("$0\r\n\r\n"), Value::bulk_string(""));
}

TEST(RespParser, NullBulkStringAndNullArrayAreNil) {
    EXPECT_TRUE(parse_one("$-1\r\n").is_nil());
    EXPECT_TRUE(parse_one("*-1\r\n").is_nil());
}

TEST(RespParser, ArrayHoldsElementsOfEveryKindInOrder) {
    EXPECT_EQ(parse_one("*6\r\n:1\r\n$3\r\nfoo\r\n+OK\r\n-ERR no\r\n$-1\r\n*-1\r\n"),
              Value::array({Value::integer(1), Value::bulk_string("foo"),
                            Value::simple_string("OK"), Value::error("ERR no"), Value(),
                            Value()}));
    EXPECT_EQ(parse_one("*0\r\n"), Value::array({}));
}

TEST(RespParser, NestedArraysKeepTheirShape) {
    EXPECT_EQ(parse_one("*3\r\n*2\r\n:1\r\n:2\r\n*1\r\n*0\r\n$1\r\nx\r\n"),
              Value::array({Value::array({Value::integer(1), Value::integer(2)}),
                            Value::array({Value::array({})}), Value::bulk_string("x")}));
}

TEST(RespParser, ManyRepliesInOneFeedComeOutInOrder) {
    std::string bytes;
    std::vector<Value> expected;
    for (int i = 0; i < 3000; ++i) {
        const std::string n = std::to_string(i);
        switch (i % 3) {
            case 0:
                bytes += ":" + n + "\r\n";
                expected.push_back(Value::integer(i));
                break;
            case 1:
                bytes += "$" + std::to_string(n.size()) + "\r\n" + n + "\r\n";
                expected.push_back(Value::bulk_string(n));
                break;
            default:
                bytes += "*1\r\n+" + n + "\r\n";
                expected.push_back(Value::array({Value::simple_string(n)}));
        }
    }
    const Outcome out = parse_at_once(bytes);
    EXPECT_FALSE(out.error);
    EXPECT_FALSE(out.partial);
    EXPECT_EQ(out.replies, expected);
}

// ---------------------------------------------------------------------------------------------
// RESP3 kinds

TEST(RespParser, Resp3TypeBytesAreAProtocolErrorBeforeHello3) {
    const std::string error = protocol_error("%1\r\n+a\r\n:1\r\n");
    EXPECT_NE(error.find("RESP3 type byte '%'"), std::string::npos) << error;
}

TEST(RespParser, SetVersionSwitchesToResp3BetweenReplies) {
    RespParser parser;
    parser.feed("+OK\r\n%1\r\n+proto\r\n:3\r\n");
    EXPECT_EQ(parser.next(), Value::simple_string("OK"));
    parser.set_version(RespVersion::resp3);  // as the client does when it sends HELLO 3
    EXPECT_EQ(parser.next(), Value::map({{Value::simple_string("proto"), Value::integer(3)}}));
    EXPECT_EQ(parser.next(), std::nullopt);
}

TEST(RespParser, Resp3MapKeepsItsPairsInOrder) {
    const Value v = parse_one("%3\r\n+b\r\n:2\r\n+a\r\n:1\r\n$1\r\nc\r\n*1\r\n:3\r\n", resp3());
    EXPECT_EQ(v, Value::map({{Value::simple_string("b"), Value::integer(2)},
                             {Value::simple_string("a"), Value::integer(1)},
                             {Value::bulk_string("c"), Value::array({Value::integer(3)})}}));
    EXPECT_EQ(parse_one("%0\r\n", resp3()), Value::map({}));
}

TEST(RespParser, Resp3SetAndPushAreListsOfTheirOwnKind) {
    EXPECT_EQ(parse_one("~2\r\n:1\r\n+x\r\n", resp3()),
              Value::set({Value::integer(1), Value::simple_string("x")}));
    const Value push = parse_one(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", resp3());
    EXPECT_EQ(push.kind(), Kind::push);
    ASSERT_EQ(push.as_array().size(), 3u);
    EXPECT_EQ(push.as_array()[2].as_string(), "hi");
}

TEST(RespParser, Resp3DoublesIncludeInfinitiesAndNan) {
    EXPECT_EQ(parse_one(",3.25\r\n", resp3()).as_double(), 3.25);
    EXPECT_EQ(parse_one(",-1e-3\r\n", resp3()).as_double(), -0.001);
    EXPECT_EQ(parse_one(",10\r\n", resp3()).as_double(), 10.0);
    EXPECT_EQ(parse_one(",inf\r\n", resp3()).as_double(), std::numeric_limits<double>::infinity());
    EXPECT_EQ(parse_one(",-inf\r\n", resp3()).as_double(),
              -std::numeric_limits<double>::infinity());
    EXPECT_TRUE(std::isnan(parse_one(",nan\r\n", resp3()).as_double()));
}

TEST(RespParser, Resp3BooleansAndNull) {
    EXPECT_TRUE(parse_one("#t\r\n", resp3()).as_boolean());
    EXPECT_FALSE(parse_one("#f\r\n", resp3()).as_boolean());
    EXPECT_TRUE(parse_one("_\r\n", resp3()).is_nil());
}

TEST(RespParser, Resp3BigNumberKeepsItsDigits) {
    const std::string digits = "3492890328409238509324850943850943825024385";
    EXPECT_EQ(parse_one("(" + digits + "\r\n", resp3()).as_big_number(), digits);
    EXPECT_EQ(parse_one("(-12\r\n", resp3()).as_big_number(), "-12");
}

TEST(RespParser, Resp3VerbatimStringSeparatesFormatAndText) {
    const Value v = parse_one("=15\r\ntxt:Some string\r\n", resp3());
    EXPECT_EQ(v.verbatim_format(), "txt");
    EXPECT_EQ(v.as_string(), "Some string");
    EXPECT_EQ(parse_one("=4\r\nmkd:\r\n", resp3()).as_string(), "");
}

TEST(RespParser, Resp3BlobErrorIsAnErrorReply) {
    const Value v = parse_one("!21\r\nSYNTAX invalid syntax\r\n", resp3());
    EXPECT_EQ(v, Value::error("SYNTAX invalid syntax"));
}

TEST(RespParser, Resp3AttributeIsDroppedAndTheValueItDescribesReturned) {
    EXPECT_EQ(parse_one("|1\r\n+key-popularity\r\n"
                        "%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
                        "*2\r\n:2039123\r\n:9543892\r\n",
                        resp3()),
              Value::array({Value::integer(2039123), Value::integer(9543892)}));
    // Inside an aggregate an attribute is not an element.
    EXPECT_EQ(parse_one("*2\r\n|1\r\n+a\r\n+b\r\n:7\r\n:8\r\n", resp3()),
              Value::array({Value::integer(7), Value::integer(8)}));
}

TEST(RespParser, AttributeWithoutItsValueIsAPartialReply) {
    RespParser parser(resp3());
    parser.feed("|1\r\n+a\r\n+b\r\n");
    EXPECT_EQ(parser.next(), std::nullopt);
    EXPECT_TRUE(parser.has_partial_reply());
    EXPECT_THROW(parser.check_end_of_stream(), IoError);
}

// ---------------------------------------------------------------------------------------------
// Replies split anywhere

TEST(RespParser, EveryKindParsesTheSameSplitAtEveryByteBoundary) {
    const Outcome whole = parse_at_once(kEveryKind, resp3());
    ASSERT_FALSE(whole.error) << *whole.error;
    ASSERT_EQ(whole.replies.size(), 23u);
    EXPECT_EQ(whole.replies[9], Value::bulk_string(std::string("a\r\n\0b\r\n", 7)));
    EXPECT_EQ(whole.replies[21], Value::bulk_string("bar"));  // its attribute dropped

    for (std::size_t split = 1; split < kEveryKind.size(); ++split) {
        RespParser parser(resp3());
        Outcome out;
        parser.feed(std::string_view(kEveryKind).substr(0, split));
        drain(parser, out);
        parser.feed(std::string_view(kEveryKind).substr(split));
        drain(parser, out);
        ASSERT_FALSE(out.error) << "split at " << split << ": " << *out.error;
        ASSERT_EQ(out.replies, whole.replies) << "split at " << split;
        ASSERT_FALSE(parser.has_partial_reply());
    }
}

TEST(RespParser, EveryKindParsesTheSameFedOneByteAtATime) {
    const Outcome whole = parse_at_once(kEveryKind, resp3());
    const Outcome bytewise = parse_bytewise(kEveryKind, resp3());
    EXPECT_FALSE(bytewise.error);
    EXPECT_FALSE(bytewise.partial);
    EXPECT_EQ(bytewise.replies, whole.replies);
}

TEST(RespParser, EveryKindParsesTheSameInRandomChunks) {
    const Outcome whole = parse_at_once(kEveryKind, resp3());
    std::mt19937 rng(12345);
    std::uniform_int_distribution<std::size_t> size(1, 17);
    for (int round = 0; round < 200; ++round) {
        const Outcome chunked = parse_in_chunks(kEveryKind, resp3(), [&] { return size(rng); });
        ASSERT_FALSE(chunked.error);
        ASSERT_EQ(chunked.replies, whole.replies) << "round " << round;
    }
}

TEST(RespParser, PartialReplyYieldsNothingUntilItsLastByte) {
    RespParser parser;
    parser.feed("*2\r\n$5\r\nhel");
    EXPECT_EQ(parser.next(), std::nullopt);
    EXPECT_TRUE(parser.has_partial_reply());
    parser.feed("lo\r\n:1\r");
    EXPECT_EQ(parser.next(), std::nullopt);
    parser.feed("\n");
    EXPECT_EQ(parser.next(), Value::array({Value::bulk_string("hello"), Value::integer(1)}));
    EXPECT_FALSE(parser.has_partial_reply());
}

TEST(RespParser, PrepareAndCommitFeedTheBufferWithoutACopy) {
    RespParser parser;
    const std::string_view bytes = "$3\r\nfoo\r\n:5\r\n";
    const std::span<char> room = parser.prepare(bytes.size());
    ASSERT_GE(room.size(), bytes.size());
    std::memcpy(room.data(), bytes.data(), bytes.size());
    parser.commit(bytes.size());
    EXPECT_EQ(parser.next(), Value::bulk_string("foo"));
    EXPECT_EQ(parser.next(), Value::integer(5));
    EXPECT_EQ(parser.next(), std::nullopt);
}

TEST(RespParser, CommitBeyondThePreparedSpaceIsALogicError) {
    RespParser parser;
    const std::size_t room = parser.prepare(16).size();
    EXPECT_THROW(parser.commit(room + 1), std::logic_error);
}

TEST(RespParser, LargeBulkStringReadInChunksKeepsTheBufferAtTheChunkSize) {
    const std::size_t size = static_cast<std::size_t>(weft::test::scaled(32 << 20, 8));
    constexpr std::size_t kChunk = 64 * 1024;
    std::string payload(size, '\0');
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 7 + i / 4096);
    const std::string bytes = "$" + std::to_string(size) + "\r\n" + payload + "\r\n";

    RespParser parser;
    std::optional<Value> reply;
    std::size_t largest_buffer = 0;
    for (std::size_t pos = 0; pos < bytes.size() && !reply; pos += kChunk) {
        const std::size_t n = std::min(kChunk, bytes.size() - pos);
        const std::span<char> room = parser.prepare(kChunk);
        std::memcpy(room.data(), bytes.data() + pos, n);
        parser.commit(n);
        reply = parser.next();
        largest_buffer = std::max(largest_buffer, parser.buffer_capacity());
    }
    ASSERT_TRUE(reply);
    EXPECT_TRUE(reply->as_string() == payload);
    EXPECT_LE(largest_buffer, 2 * kChunk);
}

// ---------------------------------------------------------------------------------------------
// Allocation

TEST(RespParser, HostileBulkLengthIsAProtocolErrorWithoutAllocatingIt) {
    RespParser parser;
    AllocationTracker allocations;
    parser.feed("$9999999999\r\n");
    EXPECT_THROW((void)parser.next(), ProtocolError);
    EXPECT_LT(allocations.largest(), std::size_t{1} << 20);
}

TEST(RespParser, BulkLengthWithinTheLimitReservesOnlyWhatArrived) {
    RespParser parser;  // 512 MiB is allowed: claim it, send 10 bytes
    AllocationTracker allocations;
    parser.feed("$536870912\r\n0123456789");
    EXPECT_EQ(parser.next(), std::nullopt);
    EXPECT_TRUE(parser.has_partial_reply());
    EXPECT_LT(allocations.largest(), std::size_t{1} << 20);
}

TEST(RespParser, HostileElementCountReservesOnlyWhatArrived) {
    RespParser parser;
    AllocationTracker allocations;
    parser.feed("*4294967295\r\n:1\r\n:2\r\n");
    EXPECT_EQ(parser.next(), std::nullopt);
    parser.feed("*9999999999999\r\n");  // nested; over max_elements
    EXPECT_THROW((void)parser.next(), ProtocolError);
    EXPECT_LT(allocations.largest(), std::size_t{1} << 16);
}

TEST(RespParser, IntegerRepliesAllocateNothingOnceWarm) {
    const std::string bytes = repeat(":123456\r\n", 1000);
    RespParser parser;
    parser.feed(bytes);  // the buffer's one allocation happens here
    AllocationTracker allocations;
    std::size_t replies = 0;
    while (std::optional<Value> v = parser.next()) replies += v->as_integer() == 123456;
    EXPECT_EQ(replies, 1000u);
    EXPECT_EQ(allocations.count(), 0u);
}

TEST(RespParser, BulkStringReplyAllocatesOnlyItsOwnString) {
    const std::string bytes = repeat("$40\r\n0123456789012345678901234567890123456789\r\n", 1000);
    RespParser parser;
    parser.feed(bytes);
    AllocationTracker allocations;
    std::size_t replies = 0;
    while (std::optional<Value> v = parser.next()) replies += v->as_string().size() == 40;
    EXPECT_EQ(replies, 1000u);
    EXPECT_EQ(allocations.count(), 1000u);
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(RespParser, BulkLengthOverTheLimitIsAProtocolError) {
    RespParserOptions o;
    o.max_bulk_length = 10;
    EXPECT_EQ(parse_one("$10\r\n0123456789\r\n", o).as_string(), "0123456789");
    const std::string error = protocol_error("$11\r\n01234567890\r\n", o);
    EXPECT_NE(error.find("exceeds max_bulk_length (10)"), std::string::npos) << error;
    EXPECT_NE(protocol_error("!11\r\n01234567890\r\n", [] {
                  RespParserOptions r = resp3();
                  r.max_bulk_length = 10;
                  return r;
              }()),
              "");
}

TEST(RespParser, ElementCountOverTheLimitIsAProtocolError) {
    RespParserOptions o = resp3();
    o.max_elements = 2;
    EXPECT_EQ(parse_one("*2\r\n:1\r\n:2\r\n", o).as_array().size(), 2u);
    EXPECT_EQ(parse_one("%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", o).as_map().size(), 2u);
    EXPECT_NE(protocol_error("*3\r\n:1\r\n:2\r\n:3\r\n", o).find("exceeds max_elements (2)"),
              std::string::npos);
    EXPECT_NE(protocol_error("~3\r\n", o), "");
    EXPECT_NE(protocol_error("%3\r\n", o), "");
}

TEST(RespParser, NestingAtTheDepthLimitParsesAndOneDeeperIsAProtocolError) {
    const std::size_t limit = RespParserOptions{}.max_depth;
    Value v = parse_one(repeat("*1\r\n", limit) + ":1\r\n");
    std::size_t depth = 0;
    for (const Value* p = &v; p->kind() == Kind::array; p = &p->as_array().front()) ++depth;
    EXPECT_EQ(depth, limit);

    const std::string error = protocol_error(repeat("*1\r\n", limit + 1) + ":1\r\n");
    EXPECT_NE(error.find("deeper than max_depth (1000)"), std::string::npos) << error;
    // An empty aggregate one level too deep counts too.
    EXPECT_NE(protocol_error(repeat("*1\r\n", limit) + "*0\r\n"), "");
}

TEST(RespParser, MillionDeepNestingIsRejectedAtTheLimitWithoutCrashing) {
    const std::string bytes = repeat("*1\r\n", 1'000'000) + ":1\r\n";
    const Outcome out = parse_at_once(bytes);
    ASSERT_TRUE(out.error);
    EXPECT_NE(out.error->find("at byte 4000:"), std::string::npos) << *out.error;
    EXPECT_TRUE(out.replies.empty());
}

TEST(RespParser, DeepNestingParsesWithoutRecursionWhenTheLimitAllowsIt) {
    // Deep enough that recursive parsing, destruction, comparison or printing would overflow
    // the stack (8 MiB at ~100 bytes a level is ~80,000 levels).
    const auto depth = static_cast<std::size_t>(weft::test::scaled(1'000'000, 5));
    RespParserOptions o;
    o.max_depth = depth;
    const std::string bytes = repeat("*1\r\n", depth) + ":7\r\n";
    std::optional<Value> a, b;
    {
        RespParser parser(o);
        parser.feed(bytes);
        a = parser.next();
    }
    {
        RespParser parser(o);
        parser.feed(bytes);
        b = parser.next();
    }
    ASSERT_TRUE(a && b);
    std::size_t levels = 0;
    const Value* p = &*a;
    for (; p->kind() == Kind::array; p = &p->as_array().front()) ++levels;
    EXPECT_EQ(levels, depth);
    EXPECT_EQ(p->as_integer(), 7);
    EXPECT_TRUE(*a == *b);
    EXPECT_EQ(a->to_string().size(), 2 * depth + 2);  // [[[...:7...]]]
    a.reset();  // destroyed here; no stack overflow
}

TEST(RespParser, LineAtTheLengthLimitParsesAndOneLongerIsAProtocolError) {
    RespParserOptions o;
    o.max_line_length = 16;  // the type byte included
    EXPECT_EQ(parse_one("+" + std::string(15, 'a') + "\r\n", o).as_string(), std::string(15, 'a'));
    const std::string error = protocol_error("+" + std::string(16, 'a') + "\r\n", o);
    EXPECT_NE(error.find("longer than max_line_length (16 bytes)"), std::string::npos) << error;
}

TEST(RespParser, EndlessLineIsAProtocolErrorBeforeItGrowsTheBuffer) {
    RespParser parser;
    parser.feed("+");
    const std::string chunk(4096, 'a');
    bool failed = false;
    std::size_t fed = 0;
    while (!failed && fed < (std::size_t{1} << 24)) {
        parser.feed(chunk);
        fed += chunk.size();
        try {
            EXPECT_EQ(parser.next(), std::nullopt);
        } catch (const ProtocolError&) {
            failed = true;
        }
        EXPECT_LE(parser.buffer_capacity(), 2 * RespParserOptions{}.max_line_length);
    }
    EXPECT_TRUE(failed);
    EXPECT_LE(fed, RespParserOptions{}.max_line_length + chunk.size());
}

// ---------------------------------------------------------------------------------------------
// Garbage

TEST(RespParser, UnknownTypeByteIsAProtocolErrorAsSoonAsItArrives) {
    RespParser parser;
    parser.feed("h");  // no CRLF needed to know "hello" is not RESP
    try {
        (void)parser.next();
        ADD_FAILURE() << "no error";
    } catch (const ProtocolError& e) {
        EXPECT_NE(std::string(e.what()).find("unexpected type byte 'h'"), std::string::npos)
            << e.what();
    }
    EXPECT_NE(protocol_error(std::string("\x01\r\n", 3)).find("0x01"), std::string::npos);
    EXPECT_NE(protocol_error("\r\n"), "");
    EXPECT_NE(protocol_error(";4\r\nabcd\r\n", resp3()), "");  // streamed strings: unsupported
}

TEST(RespParser, MalformedIntegersAreProtocolErrors) {
    for (const char* bad : {":\r\n", ":12a\r\n", ": 5\r\n", ":+5\r\n", ":-\r\n", ":1.5\r\n",
                            ":9223372036854775808\r\n", ":-9223372036854775809\r\n",
                            ":99999999999999999999999\r\n"}) {
        EXPECT_NE(protocol_error(bad).find("invalid integer"), std::string::npos) << bad;
    }
}

TEST(RespParser, MalformedLengthsAndCountsAreProtocolErrors) {
    for (const char* bad : {"$\r\n", "$-2\r\n", "$abc\r\n", "$3x\r\nfoo\r\n", "$?\r\n",
                            "$99999999999999999999\r\n", "*\r\n", "*-2\r\n", "*1a\r\n", "*?\r\n"}) {
        EXPECT_NE(protocol_error(bad), "") << bad;
    }
    for (const char* bad : {"%-1\r\n", "~-1\r\n", ">-1\r\n", "!-1\r\n", "=-1\r\n"}) {
        EXPECT_NE(protocol_error(bad, resp3()), "") << bad;  // only $ and * have a null form
    }
}

TEST(RespParser, MalformedResp3ScalarsAreProtocolErrors) {
    for (const char* bad : {"_x\r\n", "#\r\n", "#true\r\n", ",\r\n", ",1.5x\r\n", ",abc\r\n",
                            "(\r\n", "(-\r\n", "(12a\r\n", "=3\r\ntxt\r\n", "=5\r\ntxt-x\r\n"}) {
        EXPECT_NE(protocol_error(bad, resp3()), "") << bad;
    }
}

TEST(RespParser, MissingCarriageReturnOrLineFeedIsAProtocolError) {
    EXPECT_NE(protocol_error("+OK\n").find("line feed without a carriage return"),
              std::string::npos);
    EXPECT_NE(protocol_error("+OK\rX").find("carriage return not followed by a line feed"),
              std::string::npos);
    EXPECT_NE(protocol_error("$3\r\nfooXY").find("not followed by CRLF"), std::string::npos);
    EXPECT_NE(protocol_error("$3\r\nfoo\rX"), "");
    EXPECT_NE(protocol_error("$3\r\nfoo\n\r"), "");
    EXPECT_NE(protocol_error("$3\r\nfoobar\r\n"), "");  // longer than announced
}

TEST(RespParser, RepliesBeforeAnErrorAreStillReturned) {
    const Outcome out = parse_bytewise("+OK\r\n:1\r\n?x\r\n+never\r\n");
    EXPECT_EQ(out.replies, (std::vector<Value>{Value::simple_string("OK"), Value::integer(1)}));
    ASSERT_TRUE(out.error);
    EXPECT_NE(out.error->find("at byte 9:"), std::string::npos) << *out.error;
}

TEST(RespParser, ParserStaysFailedAfterAProtocolErrorUntilReset) {
    RespParser parser;
    parser.feed("*2\r\n:1\r\n$-5\r\n");
    std::string first;
    try {
        (void)parser.next();
    } catch (const ProtocolError& e) {
        first = e.what();
    }
    ASSERT_NE(first, "");
    EXPECT_TRUE(parser.is_failed());
    parser.feed("+OK\r\n");  // dropped
    EXPECT_EQ(parser.buffered_bytes(), 0u);
    try {
        (void)parser.next();
        ADD_FAILURE() << "a failed parser returned";
    } catch (const ProtocolError& e) {
        EXPECT_EQ(e.what(), first);
    }
    EXPECT_THROW(parser.check_end_of_stream(), ProtocolError);

    parser.reset();
    EXPECT_FALSE(parser.is_failed());
    parser.feed("+OK\r\n");
    EXPECT_EQ(parser.next(), Value::simple_string("OK"));
}

// ---------------------------------------------------------------------------------------------
// End of stream

TEST(RespParser, ConnectionClosedMidReplyIsAnIoError) {
    for (const char* partial : {"*2\r\n:1\r\n", "$5\r\nhel", "$5\r\nhello\r", "+OK", ":1\r"}) {
        RespParser parser;
        parser.feed(partial);
        EXPECT_EQ(parser.next(), std::nullopt);
        try {
            parser.check_end_of_stream();
            ADD_FAILURE() << "no error for " << partial;
        } catch (const IoError& e) {
            EXPECT_EQ(e.code(), Errc::connection_closed);
        }
    }
}

TEST(RespParser, ConnectionClosedBetweenRepliesIsNotAnError) {
    RespParser parser;
    parser.feed("+OK\r\n");
    EXPECT_EQ(parser.next(), Value::simple_string("OK"));
    EXPECT_FALSE(parser.has_partial_reply());
    EXPECT_NO_THROW(parser.check_end_of_stream());
}

}  // namespace
