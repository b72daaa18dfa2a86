// redis::Value and the redis error types: accessors that check the kind, equality, to_string,
// and errors a caller can tell apart without reading their messages.
#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <weft/redis/errors.hpp>
#include <weft/redis/value.hpp>

namespace {

using weft::redis::Errc;
using weft::redis::IoError;
using weft::redis::Kind;
using weft::redis::ProtocolError;
using weft::redis::ServerError;
using weft::redis::UnexpectedReplyError;
using weft::redis::Value;

TEST(RedisValue, DefaultValueIsNil) {
    const Value v;
    EXPECT_TRUE(v.is_nil());
    EXPECT_EQ(v.kind(), Kind::nil);
    EXPECT_EQ(v, Value::nil());
}

TEST(RedisValue, AccessorsReturnTheirKindsContents) {
    EXPECT_EQ(Value::simple_string("OK").as_string(), "OK");
    EXPECT_EQ(Value::bulk_string("bytes").as_string(), "bytes");
    EXPECT_EQ(Value::integer(-5).as_integer(), -5);
    EXPECT_EQ(Value::double_number(2.5).as_double(), 2.5);
    EXPECT_TRUE(Value::boolean(true).as_boolean());
    EXPECT_EQ(Value::big_number("123456789012345678901234567890").as_big_number(),
              "123456789012345678901234567890");
    const Value verbatim = Value::verbatim_string("mkd", "# title");
    EXPECT_EQ(verbatim.verbatim_format(), "mkd");
    EXPECT_EQ(verbatim.as_string(), "# title");
    EXPECT_EQ(Value::array({Value::integer(1)}).as_array().size(), 1u);
    EXPECT_EQ(Value::set({Value::integer(1), Value::integer(2)}).as_array().size(), 2u);
    EXPECT_EQ(Value::push({}).as_array().size(), 0u);
    EXPECT_EQ(Value::map({{Value::bulk_string("k"), Value::integer(1)}}).as_map().size(), 1u);
    EXPECT_EQ(Value::error("ERR x").error_text(), "ERR x");
}

TEST(RedisValue, WrongKindAccessorThrowsUnexpectedReplyErrorNamingBothKinds) {
    try {
        (void)Value::bulk_string("42").as_integer();
        ADD_FAILURE() << "no exception";
    } catch (const UnexpectedReplyError& e) {
        EXPECT_EQ(e.code(), Errc::unexpected_reply);
        EXPECT_EQ(std::string(e.what()),
                  "weft::redis: expected an integer reply, got bulk string \"42\"");
    }
    EXPECT_THROW((void)Value().as_string(), UnexpectedReplyError);
    EXPECT_THROW((void)Value::integer(1).as_array(), UnexpectedReplyError);
    EXPECT_THROW((void)Value::array({}).as_map(), UnexpectedReplyError);
    EXPECT_THROW((void)Value::big_number("1").as_string(), UnexpectedReplyError);
    EXPECT_THROW((void)Value::bulk_string("x").verbatim_format(), UnexpectedReplyError);
    EXPECT_THROW((void)Value::integer(1).error_text(), UnexpectedReplyError);
}

TEST(RedisValue, AccessorOnAnErrorReplyThrowsTheServersError) {
    const Value v = Value::error("WRONGTYPE Operation against a key holding the wrong kind");
    for (auto access : {+[](const Value& x) { (void)x.as_integer(); },
                        +[](const Value& x) { (void)x.as_string(); },
                        +[](const Value& x) { (void)x.as_array(); },
                        +[](const Value& x) { x.throw_if_error(); }}) {
        try {
            access(v);
            ADD_FAILURE() << "no exception";
        } catch (const ServerError& e) {
            EXPECT_EQ(e.text(), v.error_text());
            EXPECT_EQ(e.prefix(), "WRONGTYPE");
        }
    }
    EXPECT_NO_THROW(Value::integer(1).throw_if_error());
}

TEST(RedisValue, RvalueAccessorsMoveTheContentsOut) {
    Value v = Value::bulk_string(std::string(1000, 'x'));
    const std::string s = std::move(v).as_string();
    EXPECT_EQ(s.size(), 1000u);
    Value a = Value::array({Value::integer(1), Value::integer(2)});
    const Value::Array elements = std::move(a).as_array();
    EXPECT_EQ(elements.size(), 2u);
}

TEST(RedisValue, EqualityComparesKindAndContents) {
    EXPECT_EQ(Value::bulk_string("a"), Value::bulk_string("a"));
    EXPECT_NE(Value::bulk_string("a"), Value::simple_string("a"));  // same text, other kind
    EXPECT_NE(Value::integer(1), Value::integer(2));
    EXPECT_NE(Value::array({Value::integer(1)}), Value::set({Value::integer(1)}));
    EXPECT_NE(Value::array({Value::integer(1)}), Value::array({Value::integer(1), Value()}));
    EXPECT_NE(Value::verbatim_string("txt", "a"), Value::verbatim_string("mkd", "a"));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(Value::double_number(nan), Value::double_number(nan));
    const Value nested = Value::map(
        {{Value::bulk_string("k"), Value::array({Value::array({Value::integer(1)})})}});
    Value copy = nested;
    EXPECT_EQ(copy, nested);
    copy = Value::map(
        {{Value::bulk_string("k"), Value::array({Value::array({Value::integer(2)})})}});
    EXPECT_NE(copy, nested);
}

TEST(RedisValue, ToStringShowsKindsWithRespMarkers) {
    EXPECT_EQ(Value().to_string(), "nil");
    EXPECT_EQ(Value::simple_string("OK").to_string(), "+OK");
    EXPECT_EQ(Value::error("ERR bad").to_string(), "-ERR bad");
    EXPECT_EQ(Value::integer(-3).to_string(), ":-3");
    EXPECT_EQ(Value::bulk_string(std::string("a\"\r\n\0", 5)).to_string(), "\"a\\\"\\r\\n\\x00\"");
    EXPECT_EQ(Value::double_number(3.25).to_string(), ",3.25");
    EXPECT_EQ(Value::boolean(false).to_string(), "#f");
    EXPECT_EQ(Value::big_number("-12").to_string(), "(-12");
    EXPECT_EQ(Value::verbatim_string("txt", "hi").to_string(), "=txt:\"hi\"");
    EXPECT_EQ(Value::array({Value::integer(1), Value::array({}), Value()}).to_string(),
              "[:1, [], nil]");
    EXPECT_EQ(Value::set({Value::integer(1)}).to_string(), "~[:1]");
    EXPECT_EQ(Value::push({Value::bulk_string("m")}).to_string(), ">[\"m\"]");
    EXPECT_EQ(Value::map({{Value::bulk_string("a"), Value::integer(1)},
                          {Value::bulk_string("b"), Value::map({})}})
                  .to_string(),
              "{\"a\": :1, \"b\": {}}");
}

TEST(RedisValue, ToStringCutsLongStringsAndGivesTheirLength) {
    EXPECT_EQ(Value::bulk_string(std::string(1000, 'x')).to_string(),
              "\"" + std::string(200, 'x') + "\"...(1000 bytes)");
}

TEST(RedisValue, VerbatimFormatMustBeThreeCharacters) {
    EXPECT_THROW((void)Value::verbatim_string("text", "x"), std::invalid_argument);
}

TEST(RedisValue, DeeplyNestedValueIsDestroyedWithoutRecursion) {
    Value v = Value::integer(1);
    for (int i = 0; i < 1'000'000; ++i) {
        Value::Array one;
        one.push_back(std::move(v));
        v = Value::array(std::move(one));
    }
    Value moved = std::move(v);
    EXPECT_EQ(moved.kind(), Kind::array);
    // `moved` is destroyed at the end of the test: a recursive destructor would overflow here.
}

TEST(RedisErrors, EveryErrorIsARedisErrorASystemErrorAndARuntimeError) {
    auto check = [](const weft::redis::Error& e, Errc code) {
        EXPECT_EQ(e.code(), code);
        const std::system_error& system = e;
        const std::runtime_error& runtime = e;
        EXPECT_STREQ(system.what(), runtime.what());
    };
    check(ServerError("ERR x"), Errc::server_error);
    check(ProtocolError("bad"), Errc::protocol_error);
    check(UnexpectedReplyError("odd"), Errc::unexpected_reply);
    check(IoError(weft::redis::make_error_code(Errc::connection_closed), "closed"),
          Errc::connection_closed);
}

TEST(RedisErrors, ServerErrorSplitsItsPrefixFromItsDetail) {
    const ServerError e("ERR unknown command 'FOO', with args beginning with: ");
    EXPECT_STREQ(e.what(), "ERR unknown command 'FOO', with args beginning with: ");
    EXPECT_EQ(e.prefix(), "ERR");
    EXPECT_EQ(e.detail(), "unknown command 'FOO', with args beginning with: ");
    const ServerError bare("NOAUTH");
    EXPECT_EQ(bare.prefix(), "NOAUTH");
    EXPECT_EQ(bare.detail(), "");
}

TEST(RedisErrors, ServerErrorTextKeepsEveryByte) {
    const std::string text("ERR a\0b", 7);  // a blob error (RESP3 `!`) may carry any bytes
    EXPECT_EQ(ServerError(text).text(), text);
}

TEST(RedisErrors, IoErrorKeepsTheErrnoOfTheFailedCall) {
    const std::system_error from_socket(ECONNRESET, std::generic_category(), "read");
    try {
        throw IoError(from_socket.code(), "weft::redis: reading a reply");
    } catch (const std::system_error& e) {  // still a plain system error to its catchers
        EXPECT_EQ(e.code(), std::errc::connection_reset);
        EXPECT_NE(std::string(e.what()).find("weft::redis: reading a reply: "), std::string::npos);
    }
}

TEST(RedisErrors, ProtocolErrorSaysSo) {
    const ProtocolError e("at byte 3: bad");
    EXPECT_STREQ(e.what(), "redis protocol error: at byte 3: bad");
    EXPECT_EQ(e.code().category().name(), std::string("weft.redis"));
}

}  // namespace
