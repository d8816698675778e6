// What a write(2) call costs on this machine, apart from the bytes it writes: a commit's
// write-ahead log as SQLite writes it (a 24-byte header and a 4,096-byte page per frame, two
// calls each), against the same bytes in calls of 120 KiB as Sources/CSQLiteWAL writes them.
//
//     cc -O2 -o /tmp/pwrite bench/machine/pwrite.c && /tmp/pwrite [FRAMES] [DIRECTORY]
//
// FRAMES: 1700 by default (a hub taking a push of 1,000 changes to scattered cases); DIRECTORY:
// where the file goes (the current one by default). Each of five rounds writes and syncs both ways.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

int main(int argc, char **argv) {
    int frames = argc > 1 ? atoi(argv[1]) : 1700;
    const char *dir = argc > 2 ? argv[2] : ".";
    if (frames <= 0) { fprintf(stderr, "usage: pwrite [FRAMES] [DIRECTORY]\n"); return 2; }
    char path[4096];
    snprintf(path, sizeof path, "%s/pwrite-test-%d.wal", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(path); return 1; }
    long total = (long)frames * 4120;
    char *all = malloc(total), header[24], page[4096];
    memset(all, 5, total); memset(header, 3, sizeof header); memset(page, 7, sizeof page);
    // The file exists at its full length first, as a WAL that is being reused does.
    if (pwrite(fd, all, total, 32) != total || fsync(fd) != 0) { perror("pwrite"); return 1; }
    printf("%d frames (%.1f MB), five rounds, milliseconds:\n", frames, total / 1e6);
    for (int round = 0; round < 5; round++) {
        double t0 = now_ms();
        long offset = 32;
        for (int i = 0; i < frames; i++, offset += 4120) {
            if (pwrite(fd, header, 24, offset) != 24 || pwrite(fd, page, 4096, offset + 24) != 4096) { perror("pwrite"); return 1; }
        }
        double t1 = now_ms();
        fdatasync(fd);
        double t2 = now_ms();
        for (long done = 0; done < total; done += 120 * 1024) {
            long n = total - done < 120 * 1024 ? total - done : 120 * 1024;
            if (pwrite(fd, all + done, n, 32 + done) != n) { perror("pwrite"); return 1; }
        }
        double t3 = now_ms();
        fdatasync(fd);
        double t4 = now_ms();
        printf("  two calls a frame (%d calls): %.2f, sync %.2f | calls of 120 KiB (%ld calls): %.2f, sync %.2f\n",
               frames * 2, t1 - t0, t2 - t1, (total + 120 * 1024 - 1) / (120 * 1024), t3 - t2, t4 - t3);
    }
    unlink(path);
    return 0;
}
