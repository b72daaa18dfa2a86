// RespParser: an incremental parser of Redis replies (RESP2, and RESP3 after HELLO 3).
//
// How it works. Bytes go into one buffer, [begin_, end_) not yet consumed. next() reads one
// element at a time from the front: a line (type byte, text, CRLF), or a bulk string's payload.
// Aggregates (arrays, maps, sets, pushes) are not parsed by recursion: opening one pushes a frame
// on an explicit stack, each finished element is appended to the frame on top, and a frame that
// has all its elements becomes an element of the frame below. So no input, however deep, grows
// the C stack; depth is bounded by max_depth, checked when a frame is opened.
//
// Invariants:
//   - Nothing is consumed from the buffer until the element it belongs to is accepted: a line
//     stays in the buffer until its CRLF has arrived. A bulk string's payload is the exception: it
//     moves into the string being built as it arrives, so the buffer never holds more than one
//     line plus what the caller fed in one go (a 100 MB value read in 64 KB chunks keeps the
//     buffer at 64 KB).
//   - Memory follows the bytes that arrived, never the lengths the peer claims: a length or count
//     is checked against its limit before anything is reserved, and a reservation is capped (a
//     bulk string reserves at most what has arrived plus 64 KB; a top-level aggregate at most 16
//     elements plus one per 3 bytes that have arrived, a nested one at most 16).
//   - The scan for a line's CRLF resumes where the previous call stopped, so a long line fed a
//     byte at a time costs linear time, not quadratic.
//   - Errors are detected at the same byte whatever the chunking: the same bytes fed at once or a
//     byte at a time give the same replies followed by the same error.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "errors.hpp"
#include "value.hpp"

namespace weft::redis {

/// The protocol version a connection speaks.
enum class RespVersion : std::uint8_t {
    resp2 = 2,  ///< What a connection speaks until HELLO 3 succeeds.
    resp3 = 3,  ///< Adds maps, sets, doubles, booleans, null, big numbers, verbatim, push, attributes.
};

/// Limits on what one reply may contain. Breaking one is a ProtocolError.
struct RespParserOptions {
    /// Longest bulk string, blob error or verbatim string (Redis's own proto-max-bulk-len default).
    std::size_t max_bulk_length = std::size_t{512} * 1024 * 1024;
    /// Deepest nesting of aggregates: a top-level array is depth 1, an array in it depth 2.
    std::size_t max_depth = 1000;
    /// Most elements of one array, set or push, or pairs of one map (Redis's own limit on the size
    /// of a list, set or hash is 2^32 - 1).
    std::size_t max_elements = 4'294'967'295;
    /// Longest line: a simple string, error, integer, double, big number or length header, its
    /// type byte included, its CRLF not.
    std::size_t max_line_length = 64 * 1024;
    /// The version to start with; RESP3 type bytes are a ProtocolError while it is resp2.
    RespVersion version = RespVersion::resp2;
};

/// An incremental parser of Redis replies (RESP2, and RESP3 after HELLO 3). No I/O: the caller
/// feeds it bytes.
///
///     RespParser parser;
///     for (;;) {
///         std::span<char> room = parser.prepare(64 * 1024);   // read straight into its buffer
///         std::size_t n = read(fd, room.data(), room.size());
///         if (n == 0) { parser.check_end_of_stream(); break; }  // throws if closed mid-reply
///         parser.commit(n);
///         while (std::optional<Value> reply = parser.next()) handle(std::move(*reply));
///     }
///
/// Bytes may arrive split anywhere, down to one byte at a time: the parser keeps its state between
/// calls and yields each reply once it is complete, in the order the replies were sent. Memory
/// follows the bytes that arrived, never the lengths the peer claims, and no input, however deep,
/// grows the C stack.
///
/// After a ProtocolError the parser is failed: next() throws the same error again, and bytes
/// fed to it are dropped, until reset().
///
/// RESP3 attributes (`|`) are parsed (limits apply) and dropped: they are metadata Redis only
/// sends when asked for. RESP3 streamed strings and aggregates (`$?`, `*?`) are a ProtocolError:
/// Redis does not send them.
///
/// Not thread-safe: one parser belongs to one connection's reader. Members that grow the buffer
/// or build a reply may throw std::bad_alloc.
class RespParser {
public:
    /// An empty parser with these limits; allocates nothing yet.
    explicit RespParser(RespParserOptions options = {});
    /// Takes `other`'s buffer and state.
    RespParser(RespParser&&) noexcept;
    /// Takes `other`'s buffer and state.
    RespParser& operator=(RespParser&&) noexcept;
    RespParser(const RespParser&) = delete;
    RespParser& operator=(const RespParser&) = delete;
    /// Frees the buffer and any partial reply.
    ~RespParser();

    /// Appends bytes received from the server (copies them). Dropped if the parser has failed.
    void feed(std::span<const char> bytes);
    /// Text (a std::string, a literal...): its characters, without a literal's terminating NUL.
    template <class Text>
        requires std::convertible_to<const Text&, std::string_view>
    void feed(const Text& text) {
        const std::string_view bytes = text;
        feed(std::span<const char>(bytes.data(), bytes.size()));
    }

    /// Zero-copy feeding: returns writable space in the buffer, at least `min_size` bytes (the
    /// buffer grows if needed); read into it, then commit() how many bytes were written. The span
    /// is valid until the next call of any other member.
    std::span<char> prepare(std::size_t min_size);
    /// Marks `n` bytes of the space prepare() returned as received (dropped if the parser has failed).
    /// @throws std::logic_error if `n` is more than that space.
    void commit(std::size_t n);

    /// The next complete reply, or std::nullopt if the bytes so far do not complete one (feed more).
    /// An error reply (-ERR ...) is a Value of kind error, not an exception: a reply like any
    /// other, in order.
    /// @throws ProtocolError if the bytes are not valid RESP or break a limit; the parser then
    /// stays failed (every later call throws the same error).
    std::optional<Value> next();

    /// Switches to RESP3 when HELLO 3 is sent (the server answers it in RESP3 already), or back.
    void set_version(RespVersion version) noexcept { options_.version = version; }
    /// The version replies are parsed as.
    RespVersion version() const noexcept { return options_.version; }

    /// Whether bytes are waiting: part of a reply received but not the whole reply, or (if next()
    /// was not called until it returned nullopt) bytes of complete replies not yet taken.
    bool has_partial_reply() const noexcept;
    /// True after a ProtocolError, until reset().
    bool is_failed() const noexcept { return failure_.has_value(); }

    /// Call when the connection reached end of stream, after next() returned nullopt.
    /// @throws IoError (Errc::connection_closed) if the server closed the connection in the middle
    /// of a reply.
    /// @throws ProtocolError (the one it failed with) if the parser has failed.
    void check_end_of_stream() const;

    /// Forgets everything (buffered bytes, a partial reply, a failure) but keeps the options and
    /// the version: for a new connection.
    void reset() noexcept;

    /// Bytes received and not yet consumed (excludes a partial bulk string's payload, which
    /// has moved into the string being built).
    std::size_t buffered_bytes() const noexcept { return end_ - begin_; }
    /// Size of the receive buffer: for tests and metrics.
    std::size_t buffer_capacity() const noexcept { return capacity_; }
    /// The limits it was built with, and the current version (as version()).
    const RespParserOptions& options() const noexcept { return options_; }

private:
    // An aggregate being filled.
    struct Frame {
        Kind kind;               // array, set, push or map
        bool is_attribute;       // a RESP3 attribute map: dropped when complete
        std::uint64_t remaining;  // elements still to come (a map's keys and values each count)
        Value::Array items;      // array, set, push
        Value::Map entries;      // map
    };

    std::optional<Value> parse();
    // Returns the end of the line starting at begin_ (pointing at its CR), or nullptr if its CRLF
    // has not arrived. Fails on a line too long or a stray CR or LF.
    const char* find_line_end();
    // Parses one line; returns true if it produced `out`, false if it opened an aggregate (or
    // started a bulk string that has not completely arrived, or read an attribute header).
    bool parse_line(const char* line_end, Value& out);
    void start_bulk(Kind kind, std::int64_t length, std::uint64_t at);
    // Moves payload bytes into the bulk string; true once it and its CRLF are complete.
    bool continue_bulk();
    Value finish_bulk();
    void open_frame(Kind kind, bool is_attribute, std::int64_t count, std::uint64_t at);
    // Adds a finished element to the top frame. Returns the reply if that completed it.
    std::optional<Value> deliver(Value value);

    std::uint64_t offset(std::size_t index) const noexcept { return stream_offset_ + index; }
    void make_room(std::size_t min_size);
    [[noreturn]] void fail(std::uint64_t at, std::string_view what);

    RespParserOptions options_;

    std::unique_ptr<char[]> data_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;          // first unconsumed byte
    std::size_t end_ = 0;            // one past the last received byte
    std::size_t scanned_ = 0;        // bytes of the line at begin_ already searched for its CRLF
    std::uint64_t stream_offset_ = 0;  // stream position of data_[0], for error messages

    std::vector<Frame> frames_;
    bool after_attribute_ = false;   // an attribute was read; the value it describes has not

    bool in_bulk_ = false;           // a bulk string (or blob error, verbatim) is being received
    Kind bulk_kind_ = Kind::bulk_string;
    std::size_t bulk_remaining_ = 0;  // payload bytes still to come (its CRLF not counted)
    std::uint64_t bulk_start_ = 0;   // stream offset of its header, for error messages
    std::string bulk_;

    std::optional<ProtocolError> failure_;
};

}  // namespace weft::redis
