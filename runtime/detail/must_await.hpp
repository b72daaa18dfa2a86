// WEFT_MUST_AWAIT marks Task and every awaitable type weft hands out: a forgotten co_await then
// warns (-Wunused-result, on with -Wall in g++ and clang) instead of silently doing nothing, as
// `tx.send(v);` would, destroying v. The test build makes the warning an error
// (tests/meson.build), and checks that each kind of forgotten await is caught.
#pragma once

#define WEFT_MUST_AWAIT [[nodiscard("weft: this does nothing until it is co_awaited")]]
