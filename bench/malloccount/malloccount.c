#include "malloccount.h"
#include <stddef.h>
#include <execinfo.h>
#include <unistd.h>

// glibc's entry points under their internal names (exported by libc.so.6).
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t allocations;

static int tracing;
static __thread int inTrace;

static inline void count(void) {
    __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
    if (tracing && !inTrace) {
        inTrace = 1; // backtrace may allocate itself
        void *frames[16];
        int n = backtrace(frames, 16);
        backtrace_symbols_fd(frames, n, 2);
        static const char sep[] = "----\n";
        (void)!write(2, sep, sizeof sep - 1);
        inTrace = 0;
    }
}

void malloccount_trace(int on) { tracing = on; }

uint64_t malloccount_allocations(void) { return __atomic_load_n(&allocations, __ATOMIC_RELAXED); }

void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { count(); return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    count();
    void *p = __libc_memalign(a, n);
    if (!p) return 12; // ENOMEM
    *out = p;
    return 0;
}
