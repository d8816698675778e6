#ifndef YUQING_WAL_H
#define YUQING_WAL_H

/// Registers, as SQLite's default, a VFS that wraps the system's and gathers each write-ahead
/// log's appended frames into one write, and keeps savepoints' journals in memory up to 32 MiB
/// when called before SQLite is first used (see yuqing_wal.c). Safe to call more than once and
/// from several threads; returns SQLITE_OK, or SQLite's error if the VFS could not be registered.
int yuqing_wal_install(void);

/// Writes made to write-ahead logs through this VFS, the system writes they became, and the
/// statement journals (savepoints') that outgrew memory and were opened as files.
void yuqing_wal_counts(long long *writes, long long *flushes, long long *spills);

/// The bytes of a savepoint's journal SQLite keeps in memory in this process before it spills to
/// a file: 32 MiB once configured, SQLite's 64 KiB if SQLite was used before the first install.
int yuqing_wal_statement_journal_limit(void);

#endif
