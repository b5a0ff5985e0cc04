/*
 * fuzz.h - what every fuzz target shares: a quiet lib (records to
 * /dev/null, rejects to /dev/null), etl_die() turned into a longjmp for
 * the statuses a target declares normal, inputs as file descriptors,
 * and the "nothing is lost" check.
 */
#ifndef ETL_FUZZ_H
#define ETL_FUZZ_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "etl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Once per process: silences the lib; idempotent. */
void	fuzz_setup(const char *tool);

/*
 * Set by a target around a loader that dies on bad configuration: an
 * etl_die() with one of the statuses in fuzz_die_ok (a bit per status
 * minus 64) jumps back here.  Any other etl_die() is a bug: abort().
 */
extern jmp_buf	*fuzz_jmp;
extern unsigned	 fuzz_die_ok;
#define FUZZ_OK(st)	(1u << ((st) - 64))

/* A memfd holding the bytes, at offset 0; its /dev/fd path in path. */
int	fuzz_memfd(const void *, size_t, char path[32]);

/* The counters, to check in = out + rejected over one input. */
struct fuzz_counts {
	unsigned long long in, out, rej;
};
void	fuzz_counts_start(struct fuzz_counts *);
/* Aborts unless what came in since start left on stdout or the rejects. */
void	fuzz_counts_check(const struct fuzz_counts *, const char *what);

/*
 * Calls fn for each line of the bytes as a record of the file "fuzz",
 * as the record loop would (without its parsing); returns the count.
 */
unsigned long fuzz_lines(const char *, size_t, etl_rec_fn *fn, void *arg);

/* Output and rejects flushed (they go to /dev/null). */
void	fuzz_flush(void);

/* Aborts with a message: a property does not hold. */
void	fuzz_fail(const char *, ...) ETL_PRINTF(1, 2) ETL_NORETURN;

#endif
