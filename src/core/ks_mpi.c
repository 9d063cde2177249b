/* ks_mpi.c - MPI helpers at the stage level. */
#include "ks_mpi.h"

#include <string.h>
#include <time.h>

#define MPI_TRY(ctx, call)                                                        \
    do {                                                                          \
        int mpi_rc_ = (call);                                                     \
        if (mpi_rc_ != MPI_SUCCESS) {                                             \
            char mpi_msg_[MPI_MAX_ERROR_STRING];                                  \
            int mpi_len_ = 0;                                                     \
            MPI_Error_string(mpi_rc_, mpi_msg_, &mpi_len_);                       \
            return ks_fail((ctx), KS_EMPI, "%s failed: %s", #call, mpi_msg_);    \
        }                                                                         \
    } while (0)

/* The lowest failing rank's code and message on every rank (out: the
 * MINLOC of ks_mpi_agree). */
static int agree_outcome(ks_ctx *ctx, int local_rc, const int out[2])
{
    if (out[0] == ctx->nranks)
        return KS_OK;
    {
        int root = out[0];
        int code = local_rc;
        char msg[KS_MSG_MAX];
        memcpy(msg, ctx->msg, sizeof msg);
        MPI_TRY(ctx, MPI_Bcast(&code, 1, MPI_INT, root, ctx->comm));
        MPI_TRY(ctx, MPI_Bcast(msg, KS_MSG_MAX, MPI_CHAR, root, ctx->comm));
        if (ctx->rank != root) {
            memcpy(ctx->msg, msg, sizeof msg);
            ctx->msg[KS_MSG_MAX - 1] = '\0';
        }
        ctx->code = code;
        return code;
    }
}

int ks_mpi_agree(ks_ctx *ctx, int local_rc)
{
    int in[2], out[2];
    if (ctx->comm == MPI_COMM_NULL || ctx->nranks == 1)
        return local_rc;
    /* MINLOC over (failed ? rank : nranks) finds the lowest failing rank. */
    in[0] = local_rc != KS_OK ? ctx->rank : ctx->nranks;
    in[1] = ctx->rank;
    MPI_TRY(ctx, MPI_Allreduce(in, out, 1, MPI_2INT, MPI_MINLOC, ctx->comm));
    return agree_outcome(ctx, local_rc, out);
}

int ks_mpi_agree_idle(ks_ctx *ctx, int local_rc)
{
    const struct timespec nap = {0, 200000}; /* 0.2 ms: next to a wait of 0.1 s or more */
    int in[2], out[2], done = 0;
    MPI_Request req;
    if (ctx->comm == MPI_COMM_NULL || ctx->nranks == 1)
        return local_rc;
    in[0] = local_rc != KS_OK ? ctx->rank : ctx->nranks;
    in[1] = ctx->rank;
    MPI_TRY(ctx, MPI_Iallreduce(in, out, 1, MPI_2INT, MPI_MINLOC, ctx->comm, &req));
    for (;;) {
        MPI_TRY(ctx, MPI_Test(&req, &done, MPI_STATUS_IGNORE));
        if (done)
            break;
        nanosleep(&nap, NULL);
    }
    return agree_outcome(ctx, local_rc, out);
}

int ks_mpi_stop_requested(ks_ctx *ctx, int *stop)
{
    int64_t flag = ctx->stop && *ctx->stop ? 1 : 0;
    KS_CHECK(ks_mpi_max_i64(ctx, &flag, 1));
    *stop = flag != 0;
    return KS_OK;
}

static int reduce_i64(ks_ctx *ctx, int64_t *values, int n, MPI_Op op)
{
    if (ctx->comm == MPI_COMM_NULL || ctx->nranks == 1 || n == 0)
        return KS_OK;
    MPI_TRY(ctx, MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_INT64_T, op, ctx->comm));
    return KS_OK;
}

int ks_mpi_sum_i64(ks_ctx *ctx, int64_t *values, int n) { return reduce_i64(ctx, values, n, MPI_SUM); }
int ks_mpi_max_i64(ks_ctx *ctx, int64_t *values, int n) { return reduce_i64(ctx, values, n, MPI_MAX); }
int ks_mpi_min_i64(ks_ctx *ctx, int64_t *values, int n) { return reduce_i64(ctx, values, n, MPI_MIN); }

int ks_mpi_exscan_i64(ks_ctx *ctx, int64_t value, int64_t *prefix)
{
    *prefix = 0;
    if (ctx->comm == MPI_COMM_NULL || ctx->nranks == 1)
        return KS_OK;
    MPI_TRY(ctx, MPI_Exscan(&value, prefix, 1, MPI_INT64_T, MPI_SUM, ctx->comm));
    if (ctx->rank == 0)
        *prefix = 0; /* MPI leaves rank 0's result undefined */
    return KS_OK;
}

int ks_mpi_bcast(ks_ctx *ctx, void *data, size_t bytes)
{
    if (ctx->comm == MPI_COMM_NULL || ctx->nranks == 1)
        return KS_OK;
    if (bytes > (size_t)INT32_MAX)
        return ks_fail(ctx, KS_EINTERNAL, "broadcast of %zu bytes is larger than MPI allows", bytes);
    MPI_TRY(ctx, MPI_Bcast(data, (int)bytes, MPI_BYTE, 0, ctx->comm));
    return KS_OK;
}
