/* ks_error.h - the error discipline of kspill.
 *
 * Every function that can fail returns int: KS_OK (0) or a KS_E* code, and
 * leaves a message in the context with ks_fail().  Callers check every call
 * (KS_CHECK) and may add what they were doing with ks_fail_context().  Nothing
 * below main() calls exit() or prints an error itself.
 */
#ifndef KS_ERROR_H
#define KS_ERROR_H

#include <mpi.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

enum ks_status {
    KS_OK = 0,
    KS_EUSAGE = 1,     /* bad command line or job file: exit 2 */
    KS_EINPUT = 2,     /* bad input data (file content, reference tables) */
    KS_EIO = 3,        /* cannot open, read, write or rename a file */
    KS_ENOMEM = 4,     /* allocation failed or would not fit */
    KS_EHDF5 = 5,      /* an HDF5 call failed */
    KS_EMPI = 6,       /* an MPI call failed */
    KS_ETHRESHOLD = 7, /* too many rejected rows */
    KS_EINTERNAL = 8,  /* a bug: an invariant did not hold */
    KS_EREMOTE = 9,    /* another rank failed; its message was copied here */
    KS_EINTERRUPTED = 10 /* stopped by a signal at a safe point, state saved: exit 75,
                          * run the same command again to resume */
};

/* The exit status of an interrupted run (sysexits' EX_TEMPFAIL): "resubmit me". */
#define KS_EXIT_INTERRUPTED 75

#define KS_MSG_MAX 2048

/* The per-process context: which rank we are, and the last error. */
typedef struct ks_ctx {
    MPI_Comm comm;   /* MPI_COMM_NULL when running without MPI (unit tests) */
    int rank;
    int nranks;
    int verbose;     /* 0 quiet, 1 normal (default), 2 debug */
    int code;        /* last error code, KS_OK when none */
    char msg[KS_MSG_MAX];
    /* set (to nonzero) by main's handler of SIGTERM, SIGUSR1 and SIGINT;
     * NULL when nothing can interrupt (unit tests).  Read it only through
     * ks_mpi_stop_requested, which makes every rank agree. */
    volatile sig_atomic_t *stop;
} ks_ctx;

/* Set up a context on a communicator (MPI_COMM_NULL: one process, no MPI). */
void ks_ctx_init(ks_ctx *ctx, MPI_Comm comm);

/* Record an error and return its code: `return ks_fail(ctx, KS_EIO, ...)`. */
int ks_fail(ks_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the current message with what the caller was doing; returns the
 * current code so that `return ks_fail_context(ctx, "reading %s", p)` works. */
int ks_fail_context(ks_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget the last error (after it has been handled). */
void ks_clear_error(ks_ctx *ctx);

/* The process exit status for an error code (0, 2 for usage, 75 when
 * interrupted, 1 otherwise). */
int ks_exit_status(int code);

/* Human name of a code, e.g. "input error". */
const char *ks_status_name(int code);

/* Evaluate a call that returns a ks status and return it on failure. */
#define KS_CHECK(call)                  \
    do {                                \
        int ks_check_rc_ = (call);      \
        if (ks_check_rc_ != KS_OK)      \
            return ks_check_rc_;        \
    } while (0)

/* Same, but jump to a cleanup label with rc set. */
#define KS_TRY(rc, call, label)         \
    do {                                \
        (rc) = (call);                  \
        if ((rc) != KS_OK)              \
            goto label;                 \
    } while (0)

#endif
