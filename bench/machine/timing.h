// What the machine probes share: a monotonic clock in milliseconds, and the order to sort the
// times they measure. Included by the probes of this directory, each built with one `cc` command.
#ifndef YUQING_BENCH_MACHINE_TIMING_H
#define YUQING_BENCH_MACHINE_TIMING_H
#include <time.h>

static inline double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static inline int compare_times(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
#endif
