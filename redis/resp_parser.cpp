#include "resp_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>

namespace weft::redis {

namespace {

constexpr std::size_t kInitialCapacity = 16 * 1024;
// An empty buffer larger than this is released, so one huge burst does not pin its memory.
constexpr std::size_t kShrinkAbove = 1024 * 1024;
// A bulk string reserves at most what has arrived plus this much.
constexpr std::size_t kBulkReserveSlack = 64 * 1024;
// A nested aggregate reserves at most this many elements; a top-level one at most one per
// kMinElementBytes received (every RESP element takes at least 3 bytes: "_\r\n").
constexpr std::size_t kNestedReserve = 16;
constexpr std::size_t kMinElementBytes = 3;

std::string quoted_byte(char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) return std::string{'\'', c, '\''};
    return std::string{'0', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
}

// A line's text shown in an error message: cut, escaped.
std::string shown(std::string_view text) {
    constexpr std::size_t kMaxShown = 40;
    std::string out = "\"";
    for (const char c : text.substr(0, kMaxShown)) {
        const auto byte = static_cast<unsigned char>(c);
        out += byte >= 0x20 && byte < 0x7f && c != '"' ? std::string(1, c) : quoted_byte(c);
    }
    out += text.size() > kMaxShown ? "\"..." : "\"";
    return out;
}

// A decimal integer: an optional '-' and digits, nothing else, within int64.
std::optional<std::int64_t> parse_integer(std::string_view text) {
    std::int64_t v = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return v;
}

bool is_resp2_type(char c) { return c == '+' || c == '-' || c == ':' || c == '$' || c == '*'; }

bool is_resp3_type(char c) {
    switch (c) {
        case '_':
        case ',':
        case '#':
        case '(':
        case '!':
        case '=':
        case '%':
        case '~':
        case '>':
        case '|': return true;
        default: return false;
    }
}

}  // namespace

RespParser::RespParser(RespParserOptions options) : options_(options) {}
RespParser::RespParser(RespParser&&) noexcept = default;
RespParser& RespParser::operator=(RespParser&&) noexcept = default;
RespParser::~RespParser() = default;

void RespParser::feed(std::span<const char> bytes) {
    if (failure_ || bytes.empty()) return;
    const std::span<char> room = prepare(bytes.size());
    std::memcpy(room.data(), bytes.data(), bytes.size());
    end_ += bytes.size();
}

std::span<char> RespParser::prepare(std::size_t min_size) {
    if (data_ == nullptr || capacity_ - end_ < min_size) {
        make_room(std::max<std::size_t>(min_size, 1));
    }
    return {data_.get() + end_, capacity_ - end_};
}

void RespParser::commit(std::size_t n) {
    if (n > capacity_ - end_) {
        throw std::logic_error("weft::redis: RespParser::commit of more bytes than prepare() gave");
    }
    end_ += n;
    if (failure_) begin_ = end_ = 0;  // a failed parser drops what it is fed
}

void RespParser::make_room(std::size_t min_size) {
    const std::size_t pending = end_ - begin_;
    if (begin_ > 0) {  // slide the unconsumed bytes (at most about one line) to the front
        std::memmove(data_.get(), data_.get() + begin_, pending);
        stream_offset_ += begin_;
        begin_ = 0;
        end_ = pending;
    }
    if (data_ != nullptr && capacity_ - end_ >= min_size) return;
    const std::size_t capacity =
        std::max({kInitialCapacity, 2 * capacity_, pending + min_size});
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (pending > 0) std::memcpy(data.get(), data_.get(), pending);
    data_ = std::move(data);
    capacity_ = capacity;
}

bool RespParser::has_partial_reply() const noexcept {
    return end_ > begin_ || in_bulk_ || !frames_.empty() || after_attribute_;
}

void RespParser::check_end_of_stream() const {
    if (failure_) throw *failure_;
    if (has_partial_reply()) {
        throw IoError(make_error_code(Errc::connection_closed),
                      "weft::redis: the server closed the connection in the middle of a reply");
    }
}

void RespParser::reset() noexcept {
    begin_ = end_ = scanned_ = 0;
    stream_offset_ = 0;
    frames_.clear();
    after_attribute_ = false;
    in_bulk_ = false;
    bulk_.clear();
    failure_.reset();
}

void RespParser::fail(std::uint64_t at, std::string_view what) {
    std::string message = "at byte " + std::to_string(at) + ": ";
    message += what;
    failure_.emplace(message);
    // Release what the broken reply holds; keep the buffer's memory only if it is small.
    frames_.clear();
    frames_.shrink_to_fit();
    in_bulk_ = false;
    bulk_ = std::string();
    after_attribute_ = false;
    begin_ = end_ = scanned_ = 0;
    if (capacity_ > kInitialCapacity) {
        data_.reset();
        capacity_ = 0;
    }
    throw *failure_;
}

std::optional<Value> RespParser::next() {
    if (failure_) throw *failure_;
    std::optional<Value> reply = parse();
    if (begin_ == end_ && !reply) {  // drained: start the buffer over, release a huge one
        stream_offset_ += begin_;
        begin_ = end_ = 0;
        if (capacity_ > kShrinkAbove) {
            data_.reset();
            capacity_ = 0;
        }
    }
    return reply;
}

std::optional<Value> RespParser::parse() {
    for (;;) {
        Value value;
        if (in_bulk_) {
            if (!continue_bulk()) return std::nullopt;
            value = finish_bulk();
        } else {
            const char* line_end = find_line_end();
            if (line_end == nullptr) return std::nullopt;
            if (!parse_line(line_end, value)) continue;
        }
        if (std::optional<Value> reply = deliver(std::move(value))) return reply;
    }
}

const char* RespParser::find_line_end() {
    if (begin_ == end_) return nullptr;
    const char* const start = data_.get() + begin_;
    const char* const end = data_.get() + end_;
    if (scanned_ == 0) {  // judge the type byte as soon as it arrives, not at the CRLF
        const char type = *start;
        if (!is_resp2_type(type)) {
            if (!is_resp3_type(type)) {
                fail(offset(begin_), "unexpected type byte " + quoted_byte(type));
            }
            if (options_.version == RespVersion::resp2) {
                fail(offset(begin_), "RESP3 type byte " + quoted_byte(type) +
                                         " on a RESP2 connection (HELLO 3 not sent)");
            }
        }
    }
    // The CR may sit at most max_line_length bytes after the line's start; search no further,
    // so the error for an overlong line comes at the same byte however the input is split.
    const std::size_t limit = options_.max_line_length;
    const char* const window_end =
        static_cast<std::size_t>(end - start) > limit ? start + limit + 1 : end;
    const char* const from = start + scanned_;
    const auto* cr = static_cast<const char*>(std::memchr(from, '\r', window_end - from));
    const char* const lf_search_end = cr != nullptr ? cr : window_end;
    if (const auto* lf = static_cast<const char*>(std::memchr(from, '\n', lf_search_end - from))) {
        fail(offset(static_cast<std::size_t>(lf - data_.get())),
             "line feed without a carriage return before it");
    }
    if (cr == nullptr) {
        if (window_end != end) {
            fail(offset(begin_), "line longer than max_line_length (" + std::to_string(limit) +
                                     " bytes) or missing its CRLF");
        }
        scanned_ = end - start;
        return nullptr;
    }
    if (cr + 1 == end) {  // the LF has not arrived: look at this CR again next time
        scanned_ = cr - start;
        return nullptr;
    }
    if (cr[1] != '\n') {
        fail(offset(static_cast<std::size_t>(cr - data_.get())),
             "carriage return not followed by a line feed");
    }
    if (cr == start) fail(offset(begin_), "empty line where a reply was expected");
    return cr;
}

bool RespParser::parse_line(const char* line_end, Value& out) {
    const std::uint64_t at = offset(begin_);
    const char* const start = data_.get() + begin_;
    const char type = *start;
    const std::string_view text(start + 1, static_cast<std::size_t>(line_end - start - 1));
    // The line is accepted: consume it and its CRLF before building anything.
    begin_ = static_cast<std::size_t>(line_end - data_.get()) + 2;
    scanned_ = 0;

    auto length_or_count = [&](std::string_view what) -> std::int64_t {
        const std::optional<std::int64_t> n = parse_integer(text);
        if (!n) fail(at, "invalid " + std::string(what) + " " + shown(text));
        return *n;
    };

    switch (type) {
        case '+': out = Value::simple_string(std::string(text)); return true;
        case '-': out = Value::error(std::string(text)); return true;
        case ':': {
            const std::optional<std::int64_t> n = parse_integer(text);
            if (!n) fail(at, "invalid integer " + shown(text));
            out = Value::integer(*n);
            return true;
        }
        case '$':
        case '!':
        case '=': {
            const std::int64_t length = length_or_count("bulk length");
            if (length == -1 && type == '$') {  // RESP2's null bulk string
                out = Value::nil();
                return true;
            }
            const Kind kind = type == '$'   ? Kind::bulk_string
                              : type == '!' ? Kind::error
                                            : Kind::verbatim_string;
            start_bulk(kind, length, at);
            if (!continue_bulk()) return false;
            out = finish_bulk();
            return true;
        }
        case '*':
        case '%':
        case '~':
        case '>':
        case '|': {
            const std::int64_t count = length_or_count("element count");
            if (count == -1 && type == '*') {  // RESP2's null array
                out = Value::nil();
                return true;
            }
            const Kind kind = type == '%' || type == '|' ? Kind::map
                              : type == '~'              ? Kind::set
                              : type == '>'              ? Kind::push
                                                         : Kind::array;
            open_frame(kind, type == '|', count, at);
            if (count > 0) return false;
            if (type == '|') {  // an empty attribute: nothing to keep
                after_attribute_ = frames_.empty();
                return false;
            }
            switch (kind) {
                case Kind::map: out = Value::map({}); break;
                case Kind::set: out = Value::set({}); break;
                case Kind::push: out = Value::push({}); break;
                default: out = Value::array({}); break;
            }
            return true;
        }
        case '_':
            if (!text.empty()) fail(at, "null with text " + shown(text));
            out = Value::nil();
            return true;
        case '#':
            if (text != "t" && text != "f") fail(at, "invalid boolean " + shown(text));
            out = Value::boolean(text == "t");
            return true;
        case ',': {
            double v = 0;
            const char* const end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, v);
            if (text.empty() || ec != std::errc{} || ptr != end) {
                fail(at, "invalid double " + shown(text));
            }
            out = Value::double_number(v);
            return true;
        }
        case '(': {
            const std::string_view digits = text.substr(!text.empty() && text[0] == '-' ? 1 : 0);
            auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
            if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
                fail(at, "invalid big number " + shown(text));
            }
            out = Value::big_number(std::string(text));
            return true;
        }
        default:  // find_line_end() judged the type byte already
            fail(at, "unexpected type byte " + quoted_byte(type));
    }
}

void RespParser::start_bulk(Kind kind, std::int64_t length, std::uint64_t at) {
    if (length < 0) fail(at, "negative bulk length " + std::to_string(length));
    if (static_cast<std::uint64_t>(length) > options_.max_bulk_length) {
        fail(at, "bulk length " + std::to_string(length) + " exceeds max_bulk_length (" +
                     std::to_string(options_.max_bulk_length) + ")");
    }
    const auto n = static_cast<std::size_t>(length);
    in_bulk_ = true;
    bulk_kind_ = kind;
    bulk_remaining_ = n;
    bulk_start_ = at;
    bulk_.clear();
    // Everything arrived: one exact allocation. Otherwise no more than has arrived plus a slack.
    bulk_.reserve(std::min(n, buffered_bytes() + kBulkReserveSlack));
}

bool RespParser::continue_bulk() {
    if (bulk_remaining_ > 0) {
        const std::size_t take = std::min(bulk_remaining_, end_ - begin_);
        bulk_.append(data_.get() + begin_, take);
        begin_ += take;
        bulk_remaining_ -= take;
        if (bulk_remaining_ > 0) return false;
    }
    const std::size_t available = end_ - begin_;
    const char* const p = data_.get() + begin_;
    if ((available >= 1 && p[0] != '\r') || (available >= 2 && p[1] != '\n')) {
        fail(offset(begin_), "bulk string of " + std::to_string(bulk_.size()) +
                                 " bytes not followed by CRLF");
    }
    if (available < 2) return false;
    begin_ += 2;
    in_bulk_ = false;
    return true;
}

Value RespParser::finish_bulk() {
    switch (bulk_kind_) {
        case Kind::error: return Value::error(std::move(bulk_));
        case Kind::verbatim_string: {
            if (bulk_.size() < 4 || bulk_[3] != ':') {
                fail(bulk_start_, "verbatim string without its \"fmt:\" prefix: " + shown(bulk_));
            }
            char format[3];
            bulk_.copy(format, 3);
            bulk_.erase(0, 4);
            return Value::verbatim_string(std::string_view(format, 3), std::move(bulk_));
        }
        default: return Value::bulk_string(std::move(bulk_));
    }
}

void RespParser::open_frame(Kind kind, bool is_attribute, std::int64_t count, std::uint64_t at) {
    if (count < 0) fail(at, "negative element count " + std::to_string(count));
    if (static_cast<std::uint64_t>(count) > options_.max_elements) {
        fail(at, "element count " + std::to_string(count) + " exceeds max_elements (" +
                     std::to_string(options_.max_elements) + ")");
    }
    if (frames_.size() >= options_.max_depth) {
        fail(at, "aggregates nested deeper than max_depth (" + std::to_string(options_.max_depth) +
                     ")");
    }
    if (count == 0) return;
    const auto n = static_cast<std::size_t>(count);
    const std::size_t reserve =
        std::min(n, frames_.empty() ? buffered_bytes() / kMinElementBytes + kNestedReserve
                                    : kNestedReserve);
    Frame& frame = frames_.emplace_back(Frame{kind, is_attribute, 0, {}, {}});
    if (kind == Kind::map) {
        frame.remaining = 2 * static_cast<std::uint64_t>(n);
        frame.entries.reserve(reserve);
    } else {
        frame.remaining = n;
        frame.items.reserve(reserve);
    }
}

std::optional<Value> RespParser::deliver(Value value) {
    for (;;) {
        if (frames_.empty()) {
            after_attribute_ = false;
            return value;
        }
        Frame& top = frames_.back();
        if (top.kind == Kind::map) {
            if (top.remaining % 2 == 0) {
                top.entries.emplace_back(std::move(value), Value());
            } else {
                top.entries.back().second = std::move(value);
            }
        } else {
            top.items.push_back(std::move(value));
        }
        if (--top.remaining > 0) return std::nullopt;

        Frame done = std::move(top);
        frames_.pop_back();
        if (done.is_attribute) {  // metadata about the next value: dropped
            after_attribute_ = frames_.empty();
            return std::nullopt;
        }
        switch (done.kind) {
            case Kind::map: value = Value::map(std::move(done.entries)); break;
            case Kind::set: value = Value::set(std::move(done.items)); break;
            case Kind::push: value = Value::push(std::move(done.items)); break;
            default: value = Value::array(std::move(done.items)); break;
        }
    }
}

}  // namespace weft::redis
