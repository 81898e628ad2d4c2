// Counts the process's heap allocations, for benchmarks that must show a path allocates nothing.
// Linking this target replaces malloc and friends for the whole process (the executable's
// definitions come first in the dynamic linker's search); each forwards to glibc's own.
#pragma once
#include <stdint.h>

/// Allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) since the start.
uint64_t malloccount_allocations(void);

/// While on, each allocation also prints its call stack to stderr (to find where a path allocates).
void malloccount_trace(int on);
