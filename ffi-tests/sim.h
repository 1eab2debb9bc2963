/* POSIX helpers for running against the gate simulator: clocks, starting `gate-sim` and
 * reading its `PORT n` line, a loopback TCP connection, and collecting the script's result.
 * C99 (with _POSIX_C_SOURCE 200809L defined before any include) and C++17. */
#ifndef RTM_FFI_TESTS_SIM_H
#define RTM_FFI_TESTS_SIM_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static inline int64_t unix_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + (int64_t)t.tv_nsec / 1000000;
}

static inline void sleep_ms(uint64_t ms) {
    struct timespec t;
    t.tv_sec = (time_t)(ms / 1000);
    t.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

typedef struct sim_proc {
    pid_t pid;
    int out;      /* read end of the child's stdout */
    int port;
    int exited;   /* 1 once reaped */
    int status;   /* exit code (or 128 + signal) once reaped */
    char line[256]; /* the last stdout line after PORT (SCRIPT OK ... / SCRIPT FAIL ...) */
} sim_proc;

/* Reads one '\n'-terminated line from fd within timeout_ms; returns its length or -1. */
static inline int sim_read_line(int fd, char *buf, size_t cap, int timeout_ms) {
    size_t n = 0;
    uint64_t end = mono_ms() + (uint64_t)timeout_ms;
    while (n + 1 < cap) {
        struct pollfd p;
        uint64_t now = mono_ms();
        ssize_t r;
        char c;
        if (now >= end) return -1;
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, (int)(end - now)) <= 0) continue;
        r = read(fd, &c, 1);
        if (r <= 0) return n ? (int)n : -1;
        if (c == '\n') break;
        buf[n++] = c;
    }
    buf[n] = 0;
    return (int)n;
}

/* Starts `path --script script` followed by `extra` (NULL-terminated, at most 12; NULL for
 * none) and reads its port. Returns 0 on success. The child's stderr goes to /dev/null unless
 * RTM_SIM_LOG is set. Lines the simulator prints before PORT (PUBLIC_KEY ...) are skipped. */
static inline int sim_start_args(sim_proc *s, const char *path, const char *script, const char *const *extra) {
    int fds[2];
    char line[256];
    char *argv[16];
    size_t n = 0;
    memset(s, 0, sizeof *s);
    argv[n++] = (char *)(uintptr_t)path;
    argv[n++] = (char *)(uintptr_t)"--script";
    argv[n++] = (char *)(uintptr_t)script;
    while (extra && *extra && n < 15) argv[n++] = (char *)(uintptr_t)*extra++;
    argv[n] = NULL;
    if (pipe(fds) != 0) return -1;
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (!getenv("RTM_SIM_LOG")) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) dup2(null, 2);
        }
        execv(path, argv);
        _exit(127);
    }
    close(fds[1]);
    s->out = fds[0];
    do {
        if (sim_read_line(s->out, line, sizeof line, 15000) < 0) return -1;
    } while (strncmp(line, "PORT ", 5) != 0);
    s->port = atoi(line + 5);
    return s->port > 0 ? 0 : -1;
}

/* Starts `path --script script` and reads its port. Returns 0 on success. */
static inline int sim_start(sim_proc *s, const char *path, const char *script) {
    return sim_start_args(s, path, script, NULL);
}

/* Whether the child has exited (reaps it and records its status). */
static inline int sim_exited(sim_proc *s) {
    int st = 0;
    if (s->exited) return 1;
    if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
        s->exited = 1;
        s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        return 1;
    }
    return 0;
}

/* Waits for the child (killing it after timeout_ms) and reads its last stdout line. */
static inline int sim_finish(sim_proc *s, int timeout_ms) {
    uint64_t end = mono_ms() + (uint64_t)timeout_ms;
    while (!sim_exited(s)) {
        if (mono_ms() >= end) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->exited = 1;
            s->status = 128 + SIGKILL;
            break;
        }
        sleep_ms(10);
    }
    s->line[0] = 0;
    for (;;) {
        char buf[256];
        if (sim_read_line(s->out, buf, sizeof buf, 1000) < 0) break;
        memcpy(s->line, buf, sizeof buf);
    }
    close(s->out);
    return s->status;
}

/* A non-blocking TCP connection to 127.0.0.1:port (blocking connect; loopback is immediate).
 * Returns the fd or -1. */
static inline int tcp_connect(int port) {
    struct sockaddr_in a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Reads the whole file at `path` into buf[0..cap]; returns its length, or 0 (empty, missing,
 * or larger than cap). open/read, not stdio: no heap (test_c counts every allocation). */
static inline size_t read_file(const char *path, uint8_t *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    size_t n = 0;
    ssize_t r = 1;
    if (fd < 0) return 0;
    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0) n += (size_t)r;
    if (r < 0 || (n == cap && read(fd, buf, 1) != 0)) n = 0;
    close(fd);
    return n;
}

/* Fills buf with n bytes from the system's generator (/dev/urandom); returns 0 on success. */
static inline int os_entropy(uint8_t *buf, size_t n) {
    int fd = open("/dev/urandom", O_RDONLY);
    size_t got = 0;
    ssize_t r = 1;
    if (fd < 0) return -1;
    while (got < n && (r = read(fd, buf + got, n - got)) > 0) got += (size_t)r;
    close(fd);
    return got == n ? 0 : -1;
}

#endif
