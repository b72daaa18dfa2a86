#include "errors.hpp"

#include <netdb.h>

#include <string>

namespace weft::net {

namespace {
class StreamCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.stream"; }
    std::string message(int c) const override {
        switch (static_cast<StreamError>(c)) {
        case StreamError::unexpected_eof: return "unexpected end of stream";
        case StreamError::frame_too_large: return "frame longer than the limit";
        }
        return "unknown stream error";
    }
};
class ResolverCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.resolver"; }
    std::string message(int c) const override { return ::gai_strerror(c); }
};
}  // namespace

const std::error_category& stream_category() noexcept {
    static const StreamCategory c;
    return c;
}
const std::error_category& resolver_category() noexcept {
    static const ResolverCategory c;
    return c;
}

}  // namespace weft::net
