#ifndef YUQING_WAL_H
#define YUQING_WAL_H

/// Registers, as SQLite's default, a VFS that wraps the system's and gathers each write-ahead
/// log's appended frames into one write (see yuqing_wal.c). Safe to call more than once and from
/// several threads; returns SQLITE_OK, or SQLite's error if the VFS could not be registered.
int yuqing_wal_install(void);

/// Writes made to write-ahead logs through this VFS, and the system writes they became.
void yuqing_wal_counts(long long *writes, long long *flushes);

#endif
