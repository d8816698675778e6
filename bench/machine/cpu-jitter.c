// How much this machine stretches a fixed piece of CPU work from one run to the next
// (docs/benchmarks.md §6): the same work, about as long as a reconnect's push, timed N times with
// a pause between, on one thread or on both cores at once, as the hub's merge and its neighbours
// run. What the work does is fixed (a pseudo-random walk over a 32 MiB table, as a B-tree's pages
// are visited), so any spread in its time is the machine's, not the program's.
//
//   cc -O2 -pthread -o /tmp/cpu-jitter bench/machine/cpu-jitter.c && /tmp/cpu-jitter [RUNS] [STEPS] [PAUSE_MS] [THREADS] [TABLE_KIB]
//   /tmp/cpu-jitter 300 1500000 20 1          # one thread: p50, p99 and max of each run's time
//   /tmp/cpu-jitter 300 1500000 20 2          # two threads at once (both cores), each timed
//   /tmp/cpu-jitter 300 30000000 20 1 256     # a table that fits the core's cache: the CPU alone
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

static long runs = 300, steps = 1500000, pause_ms = 20;
static int threads = 1;
static size_t TABLE = 32 << 20;


struct job { double *times; uint64_t sink; };

static void *work(void *arg) {
    struct job *j = arg;
    uint32_t *table = malloc(TABLE);
    for (size_t i = 0; i < TABLE / 4; i++) table[i] = (uint32_t)(i * 2654435761u);
    uint64_t x = 88172645463325252ull, sum = 0;
    for (long r = 0; r < runs; r++) {
        double t0 = now_ms();
        for (long s = 0; s < steps; s++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            size_t i = (size_t)(x % (TABLE / 4));
            sum += table[i];
            table[i] = (uint32_t)sum;
        }
        j->times[r] = now_ms() - t0;
        usleep((useconds_t)pause_ms * 1000);
    }
    j->sink = sum;
    free(table);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: %s [RUNS=300] [STEPS=1500000] [PAUSE_MS=20] [THREADS=1] [TABLE_KIB=32768]\n", argv[0]);
        return 0;
    }
    if (argc > 1) runs = atol(argv[1]);
    if (argc > 2) steps = atol(argv[2]);
    if (argc > 3) pause_ms = atol(argv[3]);
    if (argc > 4) threads = atoi(argv[4]);
    if (argc > 5) TABLE = (size_t)atol(argv[5]) << 10;
    if (runs < 10 || steps < 1 || pause_ms < 0 || threads < 1 || threads > 64 || TABLE < 4096) {
        fprintf(stderr, "give at least 10 runs, 1 step, a pause of 0 ms or more, 1-64 threads and a table of 4 KiB or more (see --help)\n");
        return 2;
    }
    pthread_t t[64];
    struct job jobs[64];
    for (int i = 0; i < threads; i++) {
        jobs[i].times = calloc((size_t)runs, sizeof(double));
        pthread_create(&t[i], NULL, work, &jobs[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < threads; i++) {
        double *v = jobs[i].times;
        qsort(v, (size_t)runs, sizeof(double), compare_times);
        double p50 = v[runs / 2], p99 = v[(long)(runs * 0.99) - 1], max = v[runs - 1];
        printf("thread %d: %ld runs of %ld steps over %zu KiB: p50 %.1f ms, p90 %.1f, p99 %.1f (%.2fx p50), max %.1f (%.2fx)\n",
               i, runs, steps, TABLE >> 10, p50, v[(long)(runs * 0.9) - 1], p99, p99 / p50, max, max / p50);
    }
    return 0;
}
