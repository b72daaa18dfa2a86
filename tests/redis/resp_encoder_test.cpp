// encode_command: the exact bytes of commands, binary-safe arguments, numbers, and many commands
// appended to one buffer.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <weft/redis/resp_encoder.hpp>
#include <weft/redis/resp_parser.hpp>

namespace {

using weft::redis::encode_command;
using weft::redis::RespParser;
using weft::redis::Value;
using namespace std::string_literals;

template <class... Args>
std::string encoded(const Args&... args) {
    std::string out;
    encode_command(out, args...);
    return out;
}

TEST(RespEncoder, CommandIsAnArrayOfBulkStrings) {
    EXPECT_EQ(encoded("SET", "foo", "bar"), "*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n");
    EXPECT_EQ(encoded("PING"), "*1\r\n$4\r\nPING\r\n");
}

TEST(RespEncoder, TextArgumentsOfEveryStringTypeEncodeAlike) {
    const std::string key = "key";
    const std::string_view value = "value";
    const char* name = "SET";
    EXPECT_EQ(encoded(name, key, value), encoded("SET", "key", "value"));
}

TEST(RespEncoder, ArgumentsAreBinarySafe) {
    const std::string with_crlf = "a\r\nb";
    const std::string with_nul = "x\0y\0"s;
    EXPECT_EQ(encoded("SET", with_crlf, with_nul),
              "*3\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n$4\r\nx\0y\0\r\n"s);
}

TEST(RespEncoder, EmptyArgumentIsAnEmptyBulkString) {
    EXPECT_EQ(encoded("SET", "k", ""), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    EXPECT_EQ(encoded("ECHO", std::string_view()), "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
}

TEST(RespEncoder, IntegersAreSentAsDecimalText) {
    EXPECT_EQ(encoded("EXPIRE", "k", 60), "*3\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$2\r\n60\r\n");
    EXPECT_EQ(encoded("INCRBY", "k", -7), "*3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$2\r\n-7\r\n");
    EXPECT_EQ(encoded("X", std::numeric_limits<std::int64_t>::min()),
              "*2\r\n$1\r\nX\r\n$20\r\n-9223372036854775808\r\n");
    EXPECT_EQ(encoded("X", std::numeric_limits<std::uint64_t>::max()),
              "*2\r\n$1\r\nX\r\n$20\r\n18446744073709551615\r\n");
    EXPECT_EQ(encoded("X", std::size_t{0}), "*2\r\n$1\r\nX\r\n$1\r\n0\r\n");
}

TEST(RespEncoder, FloatingPointIsSentAsItsShortestRoundTripText) {
    EXPECT_EQ(encoded("X", 1.5), "*2\r\n$1\r\nX\r\n$3\r\n1.5\r\n");
    EXPECT_EQ(encoded("X", 0.1), "*2\r\n$1\r\nX\r\n$3\r\n0.1\r\n");
    EXPECT_EQ(encoded("X", -2.0), "*2\r\n$1\r\nX\r\n$2\r\n-2\r\n");
    EXPECT_EQ(encoded("X", std::numeric_limits<double>::infinity()),
              "*2\r\n$1\r\nX\r\n$3\r\ninf\r\n");
    EXPECT_EQ(encoded("X", -std::numeric_limits<double>::infinity()),
              "*2\r\n$1\r\nX\r\n$4\r\n-inf\r\n");
}

TEST(RespEncoder, BracedListsAndRangesEncodeLikeTheVariadicForm) {
    const std::string expected = encoded("MGET", "a", "bb", "ccc");
    std::string from_list;
    encode_command(from_list, {"MGET", "a", "bb", "ccc"});
    EXPECT_EQ(from_list, expected);

    const std::vector<std::string> strings{"MGET", "a", "bb", "ccc"};
    std::string from_vector;
    encode_command(from_vector, strings);
    EXPECT_EQ(from_vector, expected);

    const std::vector<std::string_view> views{"MGET", "a", "bb", "ccc"};
    std::string from_span;
    encode_command(from_span, std::span<const std::string_view>(views));
    EXPECT_EQ(from_span, expected);

    const std::vector<std::int64_t> numbers{1, -20, 300};
    std::string from_numbers;
    encode_command(from_numbers, numbers);
    EXPECT_EQ(from_numbers, encoded(1, -20, 300));
}

TEST(RespEncoder, EmptyCommandIsRejectedAndLeavesTheBufferUnchanged) {
    std::string out = "*1\r\n$4\r\nPING\r\n";
    const std::string before = out;
    EXPECT_THROW(encode_command(out, std::vector<std::string>{}), std::invalid_argument);
    EXPECT_THROW(encode_command(out, {}), std::invalid_argument);
    EXPECT_EQ(out, before);
}

TEST(RespEncoder, CommandsAppendToOneBufferInOrder) {
    std::string out = "prefix";
    encode_command(out, "SET", "k", "v");
    encode_command(out, "GET", "k");
    encode_command(out, "INCR", "n");
    EXPECT_EQ(out,
              "prefix"
              "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
              "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
              "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
}

TEST(RespEncoder, ManyCommandsInOneBufferParseBackToTheirArguments) {
    // A command is valid RESP: the reply parser reads it back as an array of bulk strings.
    constexpr int kCommands = 5000;
    std::string out;
    std::size_t capacity_changes = 0;
    std::size_t capacity = out.capacity();
    for (int i = 0; i < kCommands; ++i) {
        encode_command(out, "SET", "key:" + std::to_string(i), i, "v\r\n"s + std::to_string(i));
        if (out.capacity() != capacity) {
            ++capacity_changes;
            capacity = out.capacity();
        }
    }
    // Geometric growth: a reallocation per doubling, not one per command.
    EXPECT_LT(capacity_changes, 40u);

    RespParser parser;
    parser.feed(out);
    for (int i = 0; i < kCommands; ++i) {
        const std::optional<Value> command = parser.next();
        ASSERT_TRUE(command);
        ASSERT_EQ(*command, Value::array({Value::bulk_string("SET"),
                                          Value::bulk_string("key:" + std::to_string(i)),
                                          Value::bulk_string(std::to_string(i)),
                                          Value::bulk_string("v\r\n" + std::to_string(i))}));
    }
    EXPECT_EQ(parser.next(), std::nullopt);
}

TEST(RespEncoder, LargeArgumentIsCopiedVerbatim) {
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 251);
    const std::string out = encoded("SET", "k", big);
    const std::string head = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n";
    ASSERT_EQ(out.size(), head.size() + big.size() + 2);
    EXPECT_EQ(out.substr(0, head.size()), head);
    EXPECT_TRUE(out.compare(head.size(), big.size(), big) == 0);
    EXPECT_EQ(out.substr(out.size() - 2), "\r\n");
}

}  // namespace
