/* ks_mpi.h - MPI helpers at the stage level.
 *
 * When one rank fails, every rank must learn it before anyone leaves a
 * collective section, or the others hang.  ks_mpi_agree() is that meeting
 * point: all ranks call it with their local status; all return the same
 * status, and the message of the lowest failing rank is copied to all. */
#ifndef KS_MPI_H
#define KS_MPI_H

#include <stdint.h>

#include "ks_error.h"

int ks_mpi_agree(ks_ctx *ctx, int local_rc);
/* ks_mpi_agree after work that one rank does alone (the report's page and
 * its gnuplot processes): the others wait asleep, polling every 0.2 ms,
 * instead of spinning in MPI on a core the lone rank's child processes
 * need (Open MPI busy-polls while it waits). */
int ks_mpi_agree_idle(ks_ctx *ctx, int local_rc);

/* Collective: has any rank been asked to stop (ctx->stop, set by a signal)?
 * *stop = 1 on every rank when one was; a signal arrives at the ranks at
 * different moments, so they meet here, at a safe point, and stop together. */
int ks_mpi_stop_requested(ks_ctx *ctx, int *stop);

/* Sum/max/min of int64 arrays across ranks (in place).  Integer reductions
 * are exact, so their result does not depend on the number of ranks. */
int ks_mpi_sum_i64(ks_ctx *ctx, int64_t *values, int n);
int ks_mpi_max_i64(ks_ctx *ctx, int64_t *values, int n);
int ks_mpi_min_i64(ks_ctx *ctx, int64_t *values, int n);
/* Exclusive prefix sum of one int64 across ranks (0 on rank 0). */
int ks_mpi_exscan_i64(ks_ctx *ctx, int64_t value, int64_t *prefix);
/* Broadcast a buffer from rank 0. */
int ks_mpi_bcast(ks_ctx *ctx, void *data, size_t bytes);

#endif
