/* Counting wrappers for the C allocator, linked with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,
 *       --wrap=posix_memalign,--wrap=aligned_alloc,--wrap=memalign
 * With --wrap, every reference to `malloc` (etc.) from the objects linked into the test binary,
 * including the objects pulled from librtm_listen.a, resolves to __wrap_malloc, which counts
 * and forwards to the real allocator (libc's, or the sanitizer's interceptor). The test reads
 * the counter around a full session: any allocation by the library would show up.
 * (libc's own internal allocations, e.g. stdio buffers, are not wrapped and not counted.)
 * newlib (the bare-metal build, RTM_TEST_BAREMETAL) has no posix_memalign, and its
 * aligned_alloc needs one: those two wrappers are left out there, and so are their --wrap. */
#include <stddef.h>

#include "alloc_count.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
#ifndef RTM_TEST_BAREMETAL
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
#endif
void *__real_memalign(size_t a, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
#ifndef RTM_TEST_BAREMETAL
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
#endif
void *__wrap_memalign(size_t a, size_t n);

static unsigned long calls;

unsigned long alloc_calls(void) { return calls; }

void *__wrap_malloc(size_t n) {
    calls++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m) {
    calls++;
    return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n) {
    calls++;
    return __real_realloc(p, n);
}
void __wrap_free(void *p) {
    calls++;
    __real_free(p);
}
#ifndef RTM_TEST_BAREMETAL
int __wrap_posix_memalign(void **p, size_t a, size_t n) {
    calls++;
    return __real_posix_memalign(p, a, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n) {
    calls++;
    return __real_aligned_alloc(a, n);
}
#endif
void *__wrap_memalign(size_t a, size_t n) {
    calls++;
    return __real_memalign(a, n);
}
