// weft::redis::Value: one reply from a Redis server, any RESP2 or RESP3 kind.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "errors.hpp"

namespace weft::redis {

/// The kind of a RESP reply.
enum class Kind : std::uint8_t {
    nil,              ///< RESP2 null bulk string (`$-1`) and null array (`*-1`); RESP3 null (`_`).
    simple_string,    ///< `+OK`
    error,            ///< `-ERR ...`, and RESP3 blob errors (`!<len>`).
    integer,          ///< `:42`
    bulk_string,      ///< `$<len>`: binary-safe bytes.
    array,            ///< `*<n>`
    map,              ///< RESP3 `%<n>`: key/value pairs, in the order the server sent them.
    set,              ///< RESP3 `~<n>`: elements in the order the server sent them.
    double_number,    ///< RESP3 `,3.25` (also inf, -inf, nan).
    boolean,          ///< RESP3 `#t` / `#f`
    big_number,       ///< RESP3 `(<digits>`: kept as its decimal text.
    verbatim_string,  ///< RESP3 `=<len>`: a three-letter format ("txt", "mkd") and the text.
    push,             ///< RESP3 `><n>`: out-of-band data (pub/sub messages, tracking invalidations).
};

/// "bulk string", "array", ...: for messages.
std::string_view kind_name(Kind kind) noexcept;

/// One reply from a Redis server, any RESP2 or RESP3 kind.
///
///     Value v = ...;                          // from RespParser::next()
///     if (v.is_nil()) ...                     // GET on a missing key
///     const std::string& s = v.as_string();   // throws ServerError if v is an error reply
///     for (const Value& e : v.as_array()) ...
///
/// Accessors check the kind. On an error reply every accessor but error_text() throws the reply as
/// a ServerError, so `reply.as_integer()` reports "WRONGTYPE ..." as the server said it; on any
/// other mismatch they throw UnexpectedReplyError naming the kind expected and the reply received.
///
/// Nesting: destruction, equality and to_string() use an explicit stack, so a value nested
/// arbitrarily deep (a parser configured with a huge max_depth) cannot overflow the C stack.
/// Copying is recursive: its depth is the value's nesting, bounded by the parser's max_depth.
///
/// A plain value: const members may be used from several threads at once, as with std::vector.
/// What allocates may throw std::bad_alloc.
class Value {
public:
    using Array = std::vector<Value>;                  ///< The elements of an array, set or push.
    using Map = std::vector<std::pair<Value, Value>>;  ///< A map's entries, in the server's order.

    /// Nil.
    Value() noexcept = default;

    /// Nil.
    static Value nil() noexcept { return Value(); }
    /// A simple string (+text); `text` should hold no CR or LF.
    static Value simple_string(std::string text) {
        return Value(Kind::simple_string, std::move(text));
    }
    /// An error reply; `text` without the leading '-', e.g. "ERR unknown command".
    static Value error(std::string text) { return Value(Kind::error, std::move(text)); }
    /// An integer reply.
    static Value integer(std::int64_t v) noexcept { return Value(Kind::integer, v); }
    /// A bulk string: any bytes.
    static Value bulk_string(std::string bytes) {
        return Value(Kind::bulk_string, std::move(bytes));
    }
    /// An array of `elements`.
    static Value array(Array elements) { return Value(Kind::array, std::move(elements)); }
    /// A RESP3 set of `elements`, kept in the given order.
    static Value set(Array elements) { return Value(Kind::set, std::move(elements)); }
    /// A RESP3 push of `elements`.
    static Value push(Array elements) { return Value(Kind::push, std::move(elements)); }
    /// A RESP3 map of `entries`, kept in the given order.
    static Value map(Map entries) { return Value(Kind::map, std::move(entries)); }
    /// A RESP3 double.
    static Value double_number(double v) noexcept { return Value(Kind::double_number, v); }
    /// A RESP3 boolean.
    static Value boolean(bool v) noexcept { return Value(Kind::boolean, v); }
    /// A RESP3 big number. `digits`: an optional '-' and decimal digits (not checked here; the
    /// parser checks).
    static Value big_number(std::string digits) {
        return Value(Kind::big_number, std::move(digits));
    }
    /// A RESP3 verbatim string.
    /// @throws std::invalid_argument unless `format` is exactly three characters ("txt", "mkd").
    static Value verbatim_string(std::string_view format, std::string text);

    /// A deep copy (recursive; see the class). @throws std::bad_alloc.
    Value(const Value&) = default;
    /// A deep copy (recursive; see the class). @throws std::bad_alloc.
    Value& operator=(const Value&) = default;
    /// Takes `other`'s contents; no allocation.
    Value(Value&&) noexcept = default;
    /// Takes `other`'s contents; no allocation.
    Value& operator=(Value&&) noexcept = default;
    /// Frees the value and its descendants without recursion.
    ~Value() {
        if (has_children()) destroy_children_iteratively();
    }

    /// The reply's kind.
    Kind kind() const noexcept { return kind_; }
    /// True for nil.
    bool is_nil() const noexcept { return kind_ == Kind::nil; }
    /// True for an error reply.
    bool is_error() const noexcept { return kind_ == Kind::error; }
    /// True for an array, set, push or map.
    bool is_aggregate() const noexcept {
        return is_list_kind() || kind_ == Kind::map;
    }

    /// The text of a simple string, the bytes of a bulk string, or the text of a verbatim string
    /// (without its format).
    /// @throws ServerError for an error reply; UnexpectedReplyError for any other kind.
    const std::string& as_string() const& {
        if (!is_string_kind()) throw_wrong_kind("a string");
        return std::get<std::string>(data_);
    }
    /// As as_string() const&, moving the string out.
    std::string as_string() && {
        if (!is_string_kind()) throw_wrong_kind("a string");
        return std::move(std::get<std::string>(data_));
    }
    /// An integer reply's value.
    /// @throws ServerError for an error reply; UnexpectedReplyError for any other kind.
    std::int64_t as_integer() const {
        if (kind_ != Kind::integer) throw_wrong_kind("an integer");
        return std::get<std::int64_t>(data_);
    }
    /// A double's value.
    /// @throws ServerError for an error reply; UnexpectedReplyError for any other kind.
    double as_double() const {
        if (kind_ != Kind::double_number) throw_wrong_kind("a double");
        return std::get<double>(data_);
    }
    /// A boolean's value.
    /// @throws ServerError for an error reply; UnexpectedReplyError for any other kind.
    bool as_boolean() const {
        if (kind_ != Kind::boolean) throw_wrong_kind("a boolean");
        return std::get<bool>(data_);
    }
    /// A big number's decimal text.
    /// @throws ServerError for an error reply; UnexpectedReplyError for any other kind.
    const std::string& as_big_number() const {
        if (kind_ != Kind::big_number) throw_wrong_kind("a big number");
        return std::get<std::string>(data_);
    }
    /// A verbatim string's format, e.g. "txt".
    /// @throws ServerError for an error reply; UnexpectedReplyError for any other kind.
    std::string_view verbatim_format() const {
        if (kind_ != Kind::verbatim_string) throw_wrong_kind("a verbatim string");
        return {format_.data(), format_.size()};
    }
    /// The elements of an array, set or push.
    /// @throws ServerError for an error reply; UnexpectedReplyError for any other kind.
    const Array& as_array() const& {
        if (!is_list_kind()) throw_wrong_kind("an array");
        return std::get<Array>(data_);
    }
    /// As as_array() const&, moving the elements out.
    Array as_array() && {
        if (!is_list_kind()) throw_wrong_kind("an array");
        return std::move(std::get<Array>(data_));
    }
    /// The entries of a map.
    /// @throws ServerError for an error reply; UnexpectedReplyError for any other kind.
    const Map& as_map() const& {
        if (kind_ != Kind::map) throw_wrong_kind("a map");
        return std::get<Map>(data_);
    }
    /// As as_map() const&, moving the entries out.
    Map as_map() && {
        if (kind_ != Kind::map) throw_wrong_kind("a map");
        return std::move(std::get<Map>(data_));
    }
    /// An error reply's text.
    /// @throws UnexpectedReplyError if this is not an error reply.
    const std::string& error_text() const;
    /// Throws this error reply as a ServerError; does nothing for any other kind.
    void throw_if_error() const {
        if (kind_ == Kind::error) throw ServerError(std::get<std::string>(data_));
    }

    /// Same kind and same contents (maps and sets compared in order; a NaN double equals a NaN).
    friend bool operator==(const Value& a, const Value& b);

    /// One line for diagnostics, RESP's type markers on scalars: `nil`, `+OK`, `-ERR text`, `:42`,
    /// `"bulk"` (escaped; long strings cut, with their length), `,3.25`, `#t`, `(123`, `=txt:"text"`,
    /// `[a, b]` for arrays, `~[a, b]` sets, `>[a, b]` pushes, `{k: v, k2: v2}` maps.
    std::string to_string() const;

private:
    using Data = std::variant<std::monostate, std::string, std::int64_t, double, bool, Array, Map>;

    template <class T>
    Value(Kind kind, T&& data) : data_(std::forward<T>(data)), kind_(kind) {}

    bool is_string_kind() const noexcept {
        return kind_ == Kind::simple_string || kind_ == Kind::bulk_string ||
               kind_ == Kind::verbatim_string;
    }
    bool is_list_kind() const noexcept {
        return kind_ == Kind::array || kind_ == Kind::set || kind_ == Kind::push;
    }
    bool has_children() const noexcept {
        if (const Array* a = std::get_if<Array>(&data_)) return !a->empty();
        if (const Map* m = std::get_if<Map>(&data_)) return !m->empty();
        return false;
    }
    // Moves out every descendant and destroys them one at a time (see the header comment).
    void destroy_children_iteratively() noexcept;
    [[noreturn]] void throw_wrong_kind(std::string_view expected) const;

    Data data_;
    Kind kind_ = Kind::nil;
    std::array<char, 3> format_{};  // verbatim strings only
};

/// Writes `v.to_string()` to `os`.
std::ostream& operator<<(std::ostream& os, const Value& v);

}  // namespace weft::redis
