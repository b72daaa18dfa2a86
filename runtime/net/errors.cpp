#include "errors.hpp"

#include <netdb.h>

#include <string>

namespace weft::net {

namespace {
class StreamCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.stream"; }
    std::string message(int c) const override {
        return c == static_cast<int>(StreamError::unexpected_eof) ? "unexpected end of stream" : "unknown stream error";
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
