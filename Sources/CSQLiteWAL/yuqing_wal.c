// A VFS that wraps the system's and writes each write-ahead log's appended frames together.
//
// SQLite writes a WAL frame as two writes, its 24-byte header and its page, so a commit of 1,700
// pages is 3,400 pwrite(2) calls. On a virtual machine each call costs microseconds of its own
// (12.1 ms for 1,700 frames in bench/machine/pwrite.c, against 2.9 ms for the same bytes in
// writes of 120 KiB). Here the writes to a WAL that continue one another are gathered in memory
// and written together:
//
// - when the commit frame is complete (SQLite writes a frame's header, then its page: a header
//   whose "database size" field is not zero marks the commit frame), inside the write that
//   completes it, so a failure fails the commit before SQLite publishes it, and a commit is in
//   the file when it returns, with any `synchronous` and any locking mode; what SQLite writes
//   after the commit frame (checksums it rewrites, padding frames) is not gathered;
// - before the WAL is synced, read, sized, truncated, given a file control or closed, and before
//   a write that does not continue the gathered ones (so writes reach the file in their order);
// - when the connection releases the WAL's write lock (after a rollback: frames a large
//   transaction spilled before it rolled back, which another writer will overwrite next);
// - before a memory barrier on the connection's shared-memory index (xShmBarrier), which SQLite
//   calls between the two copies of the index header it writes to publish a commit (by then
//   nothing is gathered; this is a second guard);
// - when the gathered bytes would pass LIMIT.
//
// They are written in calls of CHUNK bytes (the system VFS writes less than 128 KiB in a call).
// A failed write fails every later call on that WAL until the write lock is released, so a
// transaction whose frames were lost cannot commit (in exclusive locking mode, which Yuqing does
// not use and where SQLite never releases that lock, until the connection closes).
//
// What is written and synced, and when a commit is durable or visible, is as without it: only
// the number of system calls changes. A process that dies holding gathered bytes had not
// committed them. Database files and journals pass through untouched. (Gathering a checkpoint's
// pages into the database file too, between SQLITE_FCNTL_CKPT_START and _DONE, was tried: the
// pages it copies are scattered, few are neighbours, and `yuqing-bench reconnect` was no faster.)
#include "yuqing_wal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT (8 * 1024 * 1024)
#define CHUNK (120 * 1024)
#define STATEMENT_JOURNAL (32 * 1024 * 1024)

typedef struct File File;
struct File {
    sqlite3_file base;
    sqlite3_file *real;
    int isWAL;
    // The name SQLite opened the file by. A connection's database file and its WAL are named
    // from one buffer of SQLite's: `walName` (of a database file, sqlite3_filename_wal) is the
    // very pointer its WAL is opened with, which ties the two.
    const char *name, *walName;
    // The WAL's gathered writes: `length` bytes that belong at `start` (guarded by `mutex`).
    pthread_mutex_t mutex;
    unsigned char *buffer;
    sqlite3_int64 start;
    int length, capacity;
    // The last write was a commit frame's header: the next (its page) completes the commit.
    int commitHeader;
    // The commit frame is written: what SQLite writes after it in the same transaction (the
    // checksums it rewrites, padding frames) goes straight to the file, until the write lock is
    // released (in exclusive locking mode, where it never is, nothing more is gathered).
    int committed;
    // The error of a failed write: returned by every call until the write lock is released.
    int failed;
    File *next, *previous;
};

static sqlite3_vfs vfs;
static sqlite3_vfs *root;
static pthread_mutex_t filesMutex = PTHREAD_MUTEX_INITIALIZER;
static File *files;                  // open WALs (guarded by filesMutex)
static atomic_int holding;           // WALs with gathered bytes
static atomic_llong writeCount, flushCount;  // WAL writes asked for; system writes made of them
static atomic_llong spillCount;              // statement journals that spilled into a file

#define REAL(f) (((File *)(f))->real)
#define ROUNDED(n) (((n) + 7) & ~7)

// Writes the gathered bytes; call with the file's mutex held.
static int flushLocked(File *f) {
    if (f->length == 0) return SQLITE_OK;
    int rc = SQLITE_OK;
    // The system VFS writes at most 128 KiB less one byte in a call (it masks the length).
    for (int done = 0; done < f->length && rc == SQLITE_OK; done += CHUNK) {
        int n = f->length - done < CHUNK ? f->length - done : CHUNK;
        rc = REAL(f)->pMethods->xWrite(REAL(f), f->buffer + done, n, f->start + done);
        atomic_fetch_add(&flushCount, 1);
    }
    f->length = 0;
    atomic_fetch_sub(&holding, 1);
    if (rc != SQLITE_OK && !f->failed) f->failed = rc;
    return rc;
}

// Writes `data` straight to the file, after what is gathered; call with the file's mutex held.
static int writeThroughLocked(File *f, const void *data, int amount, sqlite3_int64 offset) {
    int rc = flushLocked(f);
    if (rc == SQLITE_OK) rc = REAL(f)->pMethods->xWrite(REAL(f), data, amount, offset);
    if (rc != SQLITE_OK && !f->failed) f->failed = rc;
    return rc;
}

static int flush(File *f) {
    if (!f->isWAL) return SQLITE_OK;
    pthread_mutex_lock(&f->mutex);
    int rc = f->failed ? f->failed : flushLocked(f);
    pthread_mutex_unlock(&f->mutex);
    return rc;
}

// The connection's own WAL (`walName`, of its database file; none for a temporary database):
// flushes its gathered bytes and, when `ending` (the write lock released), forgets an earlier
// failure, whose transaction did not commit. Returns the first error of a flush.
static int flushWAL(const char *walName, int ending) {
    if (!walName || (atomic_load(&holding) == 0 && !ending)) return SQLITE_OK;
    int first = SQLITE_OK;
    pthread_mutex_lock(&filesMutex);
    for (File *f = files; f; f = f->next) {
        if (f->name != walName) continue;
        pthread_mutex_lock(&f->mutex);
        int rc = SQLITE_OK;
        if (!f->failed) {
            rc = flushLocked(f);
        } else if (ending && f->length > 0) {
            // What a failed transaction gathered after its failure: never to be written.
            f->length = 0;
            atomic_fetch_sub(&holding, 1);
        }
        if (ending) {
            f->failed = SQLITE_OK;
            f->commitHeader = 0;
            f->committed = 0;
        }
        pthread_mutex_unlock(&f->mutex);
        if (first == SQLITE_OK) first = rc;
    }
    pthread_mutex_unlock(&filesMutex);
    return first;
}

static int xClose(sqlite3_file *p) {
    File *f = (File *)p;
    int rc = flush(f);
    if (f->isWAL) {
        pthread_mutex_lock(&filesMutex);
        if (f->previous) f->previous->next = f->next; else files = f->next;
        if (f->next) f->next->previous = f->previous;
        pthread_mutex_unlock(&filesMutex);
        pthread_mutex_destroy(&f->mutex);
        free(f->buffer);
        f->buffer = NULL;
    }
    int closed = REAL(f)->pMethods->xClose(REAL(f));
    return rc != SQLITE_OK ? rc : closed;
}

static int xRead(sqlite3_file *p, void *out, int amount, sqlite3_int64 offset) {
    int rc = flush((File *)p);
    if (rc != SQLITE_OK) return rc;
    return REAL(p)->pMethods->xRead(REAL(p), out, amount, offset);
}

static int xWrite(sqlite3_file *p, const void *data, int amount, sqlite3_int64 offset) {
    File *f = (File *)p;
    if (!f->isWAL) return REAL(p)->pMethods->xWrite(REAL(p), data, amount, offset);
    atomic_fetch_add(&writeCount, 1);
    pthread_mutex_lock(&f->mutex);
    int rc = f->failed;
    if (rc == SQLITE_OK && f->committed) {
        rc = writeThroughLocked(f, data, amount, offset);
        pthread_mutex_unlock(&f->mutex);
        return rc;
    }
    // A 24-byte write is a frame's header (the WAL's own header is 32 bytes, a page at least
    // 512); bytes 4-7 hold the database's size after a commit, and are zero in other frames.
    const unsigned char *bytes = data;
    int completesCommit = f->commitHeader;
    f->commitHeader = amount == 24 && (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
    if (rc == SQLITE_OK) {
        int continues = amount <= CHUNK && f->length > 0 && offset == f->start + f->length && f->length + amount <= LIMIT;
        if (!continues) rc = flushLocked(f);
        if (rc == SQLITE_OK && amount > CHUNK) {
            // Larger than a gathering call (SQLite's pages are at most 64 KiB: never, in practice).
            rc = writeThroughLocked(f, data, amount, offset);
        } else if (rc == SQLITE_OK) {
            if (f->length + amount > f->capacity) {
                int capacity = f->capacity ? f->capacity : 64 * 1024;
                while (capacity < f->length + amount) capacity *= 2;
                if (capacity > LIMIT) capacity = LIMIT;
                unsigned char *grown = realloc(f->buffer, capacity);
                if (!grown) {
                    // No memory to gather into: write through.
                    rc = writeThroughLocked(f, data, amount, offset);
                    pthread_mutex_unlock(&f->mutex);
                    return rc;
                }
                f->buffer = grown;
                f->capacity = capacity;
            }
            if (f->length == 0) {
                f->start = offset;
                atomic_fetch_add(&holding, 1);
            }
            memcpy(f->buffer + f->length, data, amount);
            f->length += amount;
        }
        // The commit frame is whole: it goes to the file now, and its error is the commit's.
        if (rc == SQLITE_OK && completesCommit) {
            rc = flushLocked(f);
            f->committed = 1;
        }
    }
    pthread_mutex_unlock(&f->mutex);
    return rc;
}

static int xTruncate(sqlite3_file *p, sqlite3_int64 size) {
    int rc = flush((File *)p);
    return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xTruncate(REAL(p), size);
}

static int xSync(sqlite3_file *p, int flags) {
    int rc = flush((File *)p);
    return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xSync(REAL(p), flags);
}

static int xFileSize(sqlite3_file *p, sqlite3_int64 *size) {
    int rc = flush((File *)p);
    return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xFileSize(REAL(p), size);
}

static int xLock(sqlite3_file *p, int level) { return REAL(p)->pMethods->xLock(REAL(p), level); }
static int xUnlock(sqlite3_file *p, int level) { return REAL(p)->pMethods->xUnlock(REAL(p), level); }
static int xCheckReservedLock(sqlite3_file *p, int *out) { return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out); }

static int xFileControl(sqlite3_file *p, int op, void *arg) {
    int rc = flush((File *)p);
    if (rc != SQLITE_OK) return rc;
    if (op == SQLITE_FCNTL_VFSNAME && arg) {
        // As the VFS names itself to `PRAGMA vfs_list`-style reports: this one, over the real one.
        char *below = REAL(p)->pMethods->xFileControl(REAL(p), op, arg) == SQLITE_OK ? *(char **)arg : NULL;
        *(char **)arg = below ? sqlite3_mprintf("%s/%z", vfs.zName, below) : sqlite3_mprintf("%s", vfs.zName);
        return SQLITE_OK;
    }
    return REAL(p)->pMethods->xFileControl(REAL(p), op, arg);
}

static int xSectorSize(sqlite3_file *p) { return REAL(p)->pMethods->xSectorSize(REAL(p)); }
static int xDeviceCharacteristics(sqlite3_file *p) { return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p)); }

static int xShmMap(sqlite3_file *p, int region, int size, int extend, void volatile **out) {
    if (REAL(p)->pMethods->iVersion < 2 || !REAL(p)->pMethods->xShmMap) return SQLITE_IOERR_SHMMAP;
    return REAL(p)->pMethods->xShmMap(REAL(p), region, size, extend, out);
}

static int xShmLock(sqlite3_file *p, int offset, int n, int flags) {
    if (REAL(p)->pMethods->iVersion < 2 || !REAL(p)->pMethods->xShmLock) return SQLITE_IOERR_SHMLOCK;
    // Releasing the WAL's write lock (slot 0): nothing of this connection's stays gathered for
    // another writer to find overwritten later.
    if ((flags & SQLITE_SHM_UNLOCK) && (flags & SQLITE_SHM_EXCLUSIVE) && offset == 0) flushWAL(((File *)p)->walName, 1);
    return REAL(p)->pMethods->xShmLock(REAL(p), offset, n, flags);
}

static void xShmBarrier(sqlite3_file *p) {
    // The commit's frames reach the file before the index header that publishes them (already
    // written with the commit frame; this guards any other path).
    if (flushWAL(((File *)p)->walName, 0) != SQLITE_OK) {
        sqlite3_log(SQLITE_IOERR_WRITE, "yuqing-wal: a write-ahead log's frames could not be written before a barrier");
    }
    if (REAL(p)->pMethods->iVersion >= 2 && REAL(p)->pMethods->xShmBarrier) REAL(p)->pMethods->xShmBarrier(REAL(p));
}

static int xShmUnmap(sqlite3_file *p, int deleteFlag) {
    if (REAL(p)->pMethods->iVersion < 2 || !REAL(p)->pMethods->xShmUnmap) return SQLITE_OK;
    return REAL(p)->pMethods->xShmUnmap(REAL(p), deleteFlag);
}

static int xFetch(sqlite3_file *p, sqlite3_int64 offset, int amount, void **out) {
    *out = NULL;
    int rc = flush((File *)p);
    if (rc != SQLITE_OK || REAL(p)->pMethods->iVersion < 3) return rc;
    return REAL(p)->pMethods->xFetch(REAL(p), offset, amount, out);
}

static int xUnfetch(sqlite3_file *p, sqlite3_int64 offset, void *page) {
    if (REAL(p)->pMethods->iVersion < 3) return SQLITE_OK;
    return REAL(p)->pMethods->xUnfetch(REAL(p), offset, page);
}

static const sqlite3_io_methods methods = {
    3, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock, xFileControl,
    xSectorSize, xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier, xShmUnmap, xFetch, xUnfetch,
};

static int xOpen(sqlite3_vfs *v, const char *name, sqlite3_file *p, int flags, int *outFlags) {
    (void)v;
    File *f = (File *)p;
    memset(f, 0, sizeof(File));
    f->real = (sqlite3_file *)((char *)f + ROUNDED(sizeof(File)));
    int rc = root->xOpen(root, name, f->real, flags, outFlags);
    if (rc != SQLITE_OK) {
        if (f->real->pMethods) f->real->pMethods->xClose(f->real);
        p->pMethods = NULL;
        return rc;
    }
    if (flags & SQLITE_OPEN_SUBJOURNAL) atomic_fetch_add(&spillCount, 1);
    f->name = name;
    if ((flags & SQLITE_OPEN_MAIN_DB) && name) f->walName = sqlite3_filename_wal(name);
    if (flags & SQLITE_OPEN_WAL) {
        f->isWAL = 1;
        pthread_mutex_init(&f->mutex, NULL);
        pthread_mutex_lock(&filesMutex);
        f->next = files;
        if (files) files->previous = f;
        files = f;
        pthread_mutex_unlock(&filesMutex);
    }
    p->pMethods = &methods;
    return SQLITE_OK;
}

// The rest of the VFS is the system's.
static int xDelete(sqlite3_vfs *v, const char *name, int syncDir) { (void)v; return root->xDelete(root, name, syncDir); }
static int xAccess(sqlite3_vfs *v, const char *name, int flags, int *out) { (void)v; return root->xAccess(root, name, flags, out); }
static int xFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) { (void)v; return root->xFullPathname(root, name, n, out); }
static void *xDlOpen(sqlite3_vfs *v, const char *name) { (void)v; return root->xDlOpen(root, name); }
static void xDlError(sqlite3_vfs *v, int n, char *out) { (void)v; root->xDlError(root, n, out); }
static void (*xDlSym(sqlite3_vfs *v, void *h, const char *name))(void) { (void)v; return root->xDlSym(root, h, name); }
static void xDlClose(sqlite3_vfs *v, void *h) { (void)v; root->xDlClose(root, h); }
static int xRandomness(sqlite3_vfs *v, int n, char *out) { (void)v; return root->xRandomness(root, n, out); }
static int xSleep(sqlite3_vfs *v, int micros) { (void)v; return root->xSleep(root, micros); }
static int xCurrentTime(sqlite3_vfs *v, double *out) { (void)v; return root->xCurrentTime(root, out); }
static int xGetLastError(sqlite3_vfs *v, int n, char *out) { (void)v; return root->xGetLastError ? root->xGetLastError(root, n, out) : 0; }
static int xCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return root->xCurrentTimeInt64(root, out); }
static int xSetSystemCall(sqlite3_vfs *v, const char *name, sqlite3_syscall_ptr call) { (void)v; return root->xSetSystemCall(root, name, call); }
static sqlite3_syscall_ptr xGetSystemCall(sqlite3_vfs *v, const char *name) { (void)v; return root->xGetSystemCall(root, name); }
static const char *xNextSystemCall(sqlite3_vfs *v, const char *name) { (void)v; return root->xNextSystemCall(root, name); }

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int journalLimit = 64 * 1024;  // SQLite's default, until configured
static int installed = SQLITE_ERROR;

static void install(void) {
    // YUQING_WAL_WRITES=system leaves SQLite's own VFS in place (to compare, or to rule this out).
    const char *choice = getenv("YUQING_WAL_WRITES");
    if (choice && strcmp(choice, "system") == 0) {
        installed = SQLITE_OK;
        return;
    }
    // A savepoint's journal (the pages as they were when it began) stays in memory up to
    // STATEMENT_JOURNAL bytes; SQLite's default spills it into a temporary file past 64 KiB. At a
    // hub a group of pushes with one refused is merged again, each push in a savepoint of its own,
    // and a push of 1,000 changes to scattered cases touches 1,700 pages: they went to a file, two
    // writes a page, to be deleted at the commit. Only possible before SQLite is first used in the process (else SQLITE_MISUSE, and
    // the default stays).
    if (sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STATEMENT_JOURNAL) == SQLITE_OK) journalLimit = STATEMENT_JOURNAL;
    if (sqlite3_initialize() != SQLITE_OK) return;
    root = sqlite3_vfs_find(NULL);
    if (!root) return;
    vfs.iVersion = root->iVersion < 3 ? root->iVersion : 3;
    vfs.szOsFile = ROUNDED((int)sizeof(File)) + root->szOsFile;
    vfs.mxPathname = root->mxPathname;
    vfs.zName = "yuqing-wal";
    vfs.pAppData = NULL;
    vfs.xOpen = xOpen;
    vfs.xDelete = xDelete;
    vfs.xAccess = xAccess;
    vfs.xFullPathname = xFullPathname;
    vfs.xDlOpen = root->xDlOpen ? xDlOpen : NULL;
    vfs.xDlError = root->xDlError ? xDlError : NULL;
    vfs.xDlSym = root->xDlSym ? xDlSym : NULL;
    vfs.xDlClose = root->xDlClose ? xDlClose : NULL;
    vfs.xRandomness = xRandomness;
    vfs.xSleep = xSleep;
    vfs.xCurrentTime = xCurrentTime;
    vfs.xGetLastError = xGetLastError;
    if (vfs.iVersion >= 2) vfs.xCurrentTimeInt64 = xCurrentTimeInt64;
    if (vfs.iVersion >= 3) {
        vfs.xSetSystemCall = xSetSystemCall;
        vfs.xGetSystemCall = xGetSystemCall;
        vfs.xNextSystemCall = xNextSystemCall;
    }
    installed = sqlite3_vfs_register(&vfs, 1);
}

int yuqing_wal_install(void) {
    pthread_once(&once, install);
    return installed;
}

int yuqing_wal_statement_journal_limit(void) {
    pthread_once(&once, install);
    return journalLimit;
}

void yuqing_wal_counts(long long *writes, long long *flushes, long long *spills) {
    *writes = atomic_load(&writeCount);
    *flushes = atomic_load(&flushCount);
    *spills = atomic_load(&spillCount);
}
