/* Minimal test harness shared by the C99 and C++17 test programs.
 *
 * CHECK* macros count passed and failed checks; each failure prints where and why.
 * check_summary() prints the final line "N passed, M failed" and returns the exit code. */
#ifndef RTM_FFI_TESTS_CHECK_H
#define RTM_FFI_TESTS_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rtm_listen.h"

struct check_counts {
    long passed;
    long failed;
    const char *group;
};

static inline struct check_counts *check_counts(void) {
    static struct check_counts c = {0, 0, "-"};
    return &c;
}

/* Names the group of checks that follow (printed with failures). */
static inline void check_group(const char *name) { check_counts()->group = name; }

static inline int check_true(int ok, const char *what, const char *file, int line) {
    struct check_counts *c = check_counts();
    if (ok) {
        c->passed++;
    } else {
        c->failed++;
        fprintf(stderr, "FAIL [%s] %s:%d: %s\n", c->group, file, line, what);
    }
    return ok;
}

static inline int check_i64(int64_t got, int64_t want, const char *what, const char *file, int line) {
    if (got != want) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s: got %" PRId64 ", want %" PRId64, what, got, want);
        return check_true(0, buf, file, line);
    }
    return check_true(1, what, file, line);
}

static inline int check_status(rtm_status got, rtm_status want, const char *what, const char *file, int line) {
    if (got != want) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s: got %d (%s), want %d (%s)", what, (int)got, rtm_status_str(got), (int)want,
                 rtm_status_str(want));
        return check_true(0, buf, file, line);
    }
    return check_true(1, what, file, line);
}

static inline int check_bytes(const void *got, size_t got_len, const void *want, size_t want_len, const char *what,
                              const char *file, int line) {
    if (got_len != want_len || (want_len && memcmp(got, want, want_len) != 0)) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s: got %zu bytes \"%.*s\", want %zu bytes \"%.*s\"", what, got_len,
                 (int)(got_len > 120 ? 120 : got_len), (const char *)got, want_len,
                 (int)(want_len > 120 ? 120 : want_len), (const char *)want);
        return check_true(0, buf, file, line);
    }
    return check_true(1, what, file, line);
}

#define CHECK(cond) check_true(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(got, want) check_i64((int64_t)(got), (int64_t)(want), #got " == " #want, __FILE__, __LINE__)
#define CHECK_ST(got, want) check_status((got), (want), #got, __FILE__, __LINE__)
/* An rtm_str (or anything with .ptr/.len) equal to a NUL-terminated string. */
#define CHECK_STR(s, want) \
    check_bytes((s).ptr, (s).len, (want), strlen(want), #s " == " #want, __FILE__, __LINE__)
#define CHECK_MEM(p, n, q, m) check_bytes((p), (n), (q), (m), #p " == " #q, __FILE__, __LINE__)

static inline int check_summary(void) {
    struct check_counts *c = check_counts();
    printf("%ld passed, %ld failed\n", c->passed, c->failed);
    fflush(stdout);
    return c->failed > 0 ? 1 : 0;
}

#endif
