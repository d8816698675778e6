// How long this machine's disk takes to make a hub commit durable, and how often it stalls: a
// push of 1,000 changes to scattered cases commits about 1,700 WAL frames (7 MB), written in
// calls of 120 KiB as Sources/CSQLiteWAL writes them, then fdatasync, as the hub's commit does.
//
//     cc -O2 -o /tmp/sync-stalls bench/machine/sync-stalls.c && /tmp/sync-stalls [ROUNDS] [FRAMES] [GAP_MS] [DIRECTORY]
//
// ROUNDS: 500 by default; FRAMES: 1700; GAP_MS: the pause between commits, 30 (about a
// `yuqing-bench reconnect` sync's pace); DIRECTORY: where the file goes (the current one). Prints
// the write and the sync times' percentiles and how many commits took over 20 and 50 ms: a
// reconnect's p99 over 50 syncs is about its slowest sync, so a stall of the disk alone that comes
// once in a few hundred commits decides some runs (docs/benchmarks.md §6).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"


static void report(const char *what, double *v, int n) {
    qsort(v, n, sizeof *v, compare_times);
    int over20 = 0, over50 = 0;
    for (int i = 0; i < n; i++) { over20 += v[i] > 20; over50 += v[i] > 50; }
    printf("%-14s p50 %6.2f  p90 %6.2f  p99 %6.2f  max %7.2f ms; over 20 ms: %d, over 50 ms: %d of %d\n",
           what, v[n / 2], v[n * 9 / 10], v[n * 99 / 100], v[n - 1], over20, over50, n);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 500;
    int frames = argc > 2 ? atoi(argv[2]) : 1700;
    int gap = argc > 3 ? atoi(argv[3]) : 30;
    const char *dir = argc > 4 ? argv[4] : ".";
    if (rounds <= 0 || frames <= 0 || gap < 0) { fprintf(stderr, "usage: sync-stalls [ROUNDS] [FRAMES] [GAP_MS] [DIRECTORY]\n"); return 2; }
    char path[4096];
    snprintf(path, sizeof path, "%s/sync-stalls-%d.wal", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(path); return 1; }
    long total = (long)frames * 4120, chunk = 120 * 1024;
    char *all = malloc(total);
    double *writes = malloc(rounds * sizeof(double)), *syncs = malloc(rounds * sizeof(double)), *both = malloc(rounds * sizeof(double));
    if (!all || !writes || !syncs || !both) { fprintf(stderr, "out of memory\n"); return 1; }
    memset(all, 5, total);
    // The file exists at its full length first, as a WAL that is being reused does.
    if (pwrite(fd, all, total, 32) != total || fsync(fd) != 0) { perror("pwrite"); return 1; }
    printf("%d commits of %d frames (%.1f MB), %d ms apart:\n", rounds, frames, total / 1e6, gap);
    for (int r = 0; r < rounds; r++) {
        all[r % total]++;
        double t0 = now_ms();
        for (long off = 0; off < total; off += chunk) {
            long n = total - off < chunk ? total - off : chunk;
            if (pwrite(fd, all + off, n, 32 + off) != n) { perror("pwrite"); return 1; }
        }
        double t1 = now_ms();
        if (fdatasync(fd) != 0) { perror("fdatasync"); return 1; }
        double t2 = now_ms();
        writes[r] = t1 - t0; syncs[r] = t2 - t1; both[r] = t2 - t0;
        if (gap) usleep(gap * 1000);
    }
    report("write", writes, rounds);
    report("fdatasync", syncs, rounds);
    report("write + sync", both, rounds);
    close(fd);
    unlink(path);
    return 0;
}
