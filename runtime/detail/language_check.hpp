// Every public weft header includes this first, so that compiling weft without C++20 coroutines
// stops at one clear message instead of hundreds of lines about <coroutine>.
#pragma once

#if __cplusplus < 202002L || !defined(__cpp_impl_coroutine)
#error "weft needs C++20 with coroutines: compile with -std=c++20 (pkg-config --cflags weft and the CMake target weft::weft add it)"
// #error alone lets the compiler go on; a missing include is fatal in g++ and clang, so the message
// above is the last thing the user reads.
#include <weft-stops-here-compile-with-std-cxx20>
#endif
