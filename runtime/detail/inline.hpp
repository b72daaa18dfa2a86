// Inlining hints for the few hot paths where g++'s own choice measurably costs (a send or receive
// with room: callgrind counts per message in W1). WEFT_INLINE forces a small fast path into its
// caller; WEFT_OUTLINE keeps the rest of that path (a wait, a wake, an empty channel) out of it,
// so the fast path stays small and needs no saved registers. Both compilers weft supports (g++,
// clang) understand the attributes.
#pragma once

#define WEFT_INLINE [[gnu::always_inline]] inline
#define WEFT_OUTLINE [[gnu::noinline]]
