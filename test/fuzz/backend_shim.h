/*
 * backend_shim.h
 *		What the fuzz harness needs from backend_shim.c: the per-input memory
 *		arena, the error that ereport()/elog() raised, and the database
 *		encoding the parsers see.
 *
 * backend_shim.c stands in for the few PostgreSQL backend functions that
 * ptl's type input code calls (palloc, psprintf, ereport, pg_mblen, ...), so
 * that the very source files of the extension can be linked into a
 * libFuzzer binary without a server.
 */
#ifndef PTL_FUZZ_BACKEND_SHIM_H
#define PTL_FUZZ_BACKEND_SHIM_H

#include "postgres.h"

/* The error an ereport()/elog() call built before it longjmp'ed. */
typedef struct FuzzError
{
	int			elevel;
	int			sqlerrcode;
	const char *message;		/* arena memory: valid until the reset */
	const char *detail;
	const char *hint;
	const char *filename;
	int			lineno;
	const char *funcname;
} FuzzError;

/* Free everything palloc'd since the last reset (end of each input). */
extern void fuzz_arena_reset(void);

/* Number of live palloc chunks (the harness checks the reset frees all). */
extern size_t fuzz_arena_live(void);

/* Copy out, then forget, the error that the last errfinish() threw. */
extern void fuzz_take_error(FuzzError *err);

/* Set what GetDatabaseEncoding() returns (a PG_* encoding id). */
extern void fuzz_set_database_encoding(int encoding);

/* Print to stderr and abort(): a broken invariant, i.e. a bug. */
extern void fuzz_fail(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();

#endif							/* PTL_FUZZ_BACKEND_SHIM_H */
