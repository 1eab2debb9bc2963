/* See alloc_count.c: calls to malloc/calloc/realloc/free/posix_memalign/aligned_alloc/memalign
 * made by the objects linked into the test binary (the test and librtm_listen.a). */
#ifndef RTM_FFI_TESTS_ALLOC_COUNT_H
#define RTM_FFI_TESTS_ALLOC_COUNT_H

#ifdef __cplusplus
extern "C" {
#endif

unsigned long alloc_calls(void);

#ifdef __cplusplus
}
#endif

#endif
