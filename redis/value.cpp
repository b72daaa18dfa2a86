#include "value.hpp"

#include <charconv>
#include <cmath>
#include <ostream>
#include <stdexcept>

namespace weft::redis {

std::string_view kind_name(Kind kind) noexcept {
    switch (kind) {
        case Kind::nil: return "nil";
        case Kind::simple_string: return "simple string";
        case Kind::error: return "error";
        case Kind::integer: return "integer";
        case Kind::bulk_string: return "bulk string";
        case Kind::array: return "array";
        case Kind::map: return "map";
        case Kind::set: return "set";
        case Kind::double_number: return "double";
        case Kind::boolean: return "boolean";
        case Kind::big_number: return "big number";
        case Kind::verbatim_string: return "verbatim string";
        case Kind::push: return "push";
    }
    return "unknown";
}

Value Value::verbatim_string(std::string_view format, std::string text) {
    if (format.size() != 3) {
        throw std::invalid_argument("weft::redis: a verbatim string's format is three characters");
    }
    Value v(Kind::verbatim_string, std::move(text));
    format.copy(v.format_.data(), 3);
    return v;
}

namespace {
// A reply as shown in an error message: cut, since an aggregate may hold millions of elements.
std::string shown_in_message(const Value& v) {
    constexpr std::size_t kMaxShown = 200;
    std::string s = v.to_string();
    if (s.size() > kMaxShown) {
        s.resize(kMaxShown);
        s += "...";
    }
    return s;
}
}  // namespace

const std::string& Value::error_text() const {
    if (kind_ != Kind::error) {
        throw UnexpectedReplyError("weft::redis: expected an error reply, got " +
                                   shown_in_message(*this));
    }
    return std::get<std::string>(data_);
}

void Value::throw_wrong_kind(std::string_view expected) const {
    throw_if_error();
    std::string what = "weft::redis: expected ";
    what += expected;
    what += " reply, got ";
    what += kind_name(kind_);
    what += ' ';
    what += shown_in_message(*this);
    throw UnexpectedReplyError(std::move(what));
}

void Value::destroy_children_iteratively() noexcept {
    // Shallow values (no grandchildren) are the common case: let the containers destroy them.
    auto is_deep = [](const Value& v) { return v.has_children(); };
    bool deep = false;
    if (const Array* a = std::get_if<Array>(&data_)) {
        for (const Value& e : *a) deep = deep || is_deep(e);
    } else {
        for (const auto& [k, e] : std::get<Map>(data_)) deep = deep || is_deep(k) || is_deep(e);
    }
    if (!deep) return;

    // Each value taken off `pending` gives up its children to `pending` before it is destroyed,
    // so no destructor below this frame ever sees a grandchild: recursion depth stays 2. (The
    // worklist allocates: running out of memory here, in a noexcept destructor, terminates.)
    Array pending;
    auto adopt_children = [&pending](Value& v) {
        if (Array* a = std::get_if<Array>(&v.data_)) {
            for (Value& e : *a) pending.push_back(std::move(e));
            a->clear();
        } else if (Map* m = std::get_if<Map>(&v.data_)) {
            for (auto& [k, e] : *m) {
                pending.push_back(std::move(k));
                pending.push_back(std::move(e));
            }
            m->clear();
        }
    };
    adopt_children(*this);
    while (!pending.empty()) {
        Value v = std::move(pending.back());
        pending.pop_back();
        adopt_children(v);
    }
}

namespace {

// Shallow equality: kind, format, scalar contents, and the number of children.
bool same_node(const Value& a, const Value& b) {
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Kind::nil: return true;
        case Kind::simple_string:
        case Kind::bulk_string: return a.as_string() == b.as_string();
        case Kind::verbatim_string:
            return a.verbatim_format() == b.verbatim_format() && a.as_string() == b.as_string();
        case Kind::error: return a.error_text() == b.error_text();
        case Kind::big_number: return a.as_big_number() == b.as_big_number();
        case Kind::integer: return a.as_integer() == b.as_integer();
        case Kind::boolean: return a.as_boolean() == b.as_boolean();
        case Kind::double_number: {
            const double x = a.as_double(), y = b.as_double();
            return x == y || (std::isnan(x) && std::isnan(y));
        }
        case Kind::array:
        case Kind::set:
        case Kind::push: return a.as_array().size() == b.as_array().size();
        case Kind::map: return a.as_map().size() == b.as_map().size();
    }
    return false;
}

// How many children an aggregate shows: a map's keys and values alternate.
std::size_t child_count(const Value& v) {
    if (v.kind() == Kind::map) return 2 * v.as_map().size();
    return v.is_aggregate() ? v.as_array().size() : 0;
}

const Value& child(const Value& v, std::size_t i) {
    if (v.kind() == Kind::map) {
        const auto& entry = v.as_map()[i / 2];
        return i % 2 == 0 ? entry.first : entry.second;
    }
    return v.as_array()[i];
}

constexpr std::size_t kMaxShownBytes = 200;

void append_escaped(std::string& out, std::string_view s) {
    const std::string_view shown = s.substr(0, kMaxShownBytes);
    for (const char c : shown) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\r': out += "\\r"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c >= 0x20 && c < 0x7f) {
                    out += c;
                } else {
                    static constexpr char kHex[] = "0123456789abcdef";
                    const auto byte = static_cast<unsigned char>(c);
                    out += "\\x";
                    out += kHex[byte >> 4];
                    out += kHex[byte & 0xf];
                }
        }
    }
}

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    append_escaped(out, s);
    out += '"';
    if (s.size() > kMaxShownBytes) {
        out += "...(";
        out += std::to_string(s.size());
        out += " bytes)";
    }
}

void append_scalar(std::string& out, const Value& v) {
    switch (v.kind()) {
        case Kind::nil: out += "nil"; return;
        case Kind::simple_string:
            out += '+';
            append_escaped(out, v.as_string());
            return;
        case Kind::error:
            out += '-';
            append_escaped(out, v.error_text());
            return;
        case Kind::integer:
            out += ':';
            out += std::to_string(v.as_integer());
            return;
        case Kind::bulk_string: append_quoted(out, v.as_string()); return;
        case Kind::double_number: {
            char buf[64];
            const auto result = std::to_chars(buf, buf + sizeof buf, v.as_double());
            out += ',';
            out.append(buf, result.ptr);
            return;
        }
        case Kind::boolean: out += v.as_boolean() ? "#t" : "#f"; return;
        case Kind::big_number:
            out += '(';
            append_escaped(out, v.as_big_number());
            return;
        case Kind::verbatim_string:
            out += '=';
            out += v.verbatim_format();
            out += ':';
            append_quoted(out, v.as_string());
            return;
        case Kind::array:
        case Kind::set:
        case Kind::push:
        case Kind::map: return;  // aggregates: see to_string
    }
}

std::string_view opener(Kind kind) {
    switch (kind) {
        case Kind::set: return "~[";
        case Kind::push: return ">[";
        case Kind::map: return "{";
        default: return "[";
    }
}

}  // namespace

bool operator==(const Value& a, const Value& b) {
    if (!same_node(a, b)) return false;
    if (!a.is_aggregate()) return true;
    std::vector<std::pair<const Value*, const Value*>> pending{{&a, &b}};
    while (!pending.empty()) {
        const auto [x, y] = pending.back();
        pending.pop_back();
        for (std::size_t i = 0, n = child_count(*x); i < n; ++i) {
            const Value& cx = child(*x, i);
            const Value& cy = child(*y, i);
            if (!same_node(cx, cy)) return false;
            if (cx.is_aggregate()) pending.emplace_back(&cx, &cy);
        }
    }
    return true;
}

std::string Value::to_string() const {
    std::string out;
    if (!is_aggregate()) {
        append_scalar(out, *this);
        return out;
    }
    struct Frame {
        const Value* value;
        std::size_t next;  // index of the next child to print
    };
    std::vector<Frame> stack{{this, 0}};
    out += opener(kind_);
    while (!stack.empty()) {
        const Value& v = *stack.back().value;
        const std::size_t i = stack.back().next++;
        if (i == child_count(v)) {
            out += v.kind() == Kind::map ? "}" : "]";
            stack.pop_back();
            continue;
        }
        if (i > 0) out += v.kind() == Kind::map && i % 2 == 1 ? ": " : ", ";
        const Value& c = child(v, i);
        if (c.is_aggregate()) {
            out += opener(c.kind());
            stack.push_back({&c, 0});
        } else {
            append_scalar(out, c);
        }
    }
    return out;
}

std::ostream& operator<<(std::ostream& os, const Value& v) { return os << v.to_string(); }

}  // namespace weft::redis
