/* ks_error.c - error context. */
#include "ks_error.h"

#include <string.h>

void ks_ctx_init(ks_ctx *ctx, MPI_Comm comm)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->comm = comm;
    ctx->rank = 0;
    ctx->nranks = 1;
    ctx->verbose = 1;
    if (comm != MPI_COMM_NULL) {
        MPI_Comm_rank(comm, &ctx->rank);
        MPI_Comm_size(comm, &ctx->nranks);
    }
}

int ks_fail(ks_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
    va_end(ap);
    ctx->code = code;
    return code;
}

int ks_fail_context(ks_ctx *ctx, const char *fmt, ...)
{
    char prefix[KS_MSG_MAX];
    char old[KS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, ctx->msg, sizeof old);
    /* prefix, ": ", then as much of the old message as fits */
    {
        size_t n = strlen(prefix);
        size_t room = sizeof ctx->msg - 1;
        if (n > room)
            n = room;
        memcpy(ctx->msg, prefix, n);
        if (n + 2 <= room) {
            size_t rest = strnlen(old, sizeof old);
            memcpy(ctx->msg + n, ": ", 2);
            n += 2;
            if (rest > room - n)
                rest = room - n;
            memcpy(ctx->msg + n, old, rest);
            n += rest;
        }
        ctx->msg[n] = '\0';
    }
    if (ctx->code == KS_OK)
        ctx->code = KS_EINTERNAL;
    return ctx->code;
}

void ks_clear_error(ks_ctx *ctx)
{
    ctx->code = KS_OK;
    ctx->msg[0] = '\0';
}

int ks_exit_status(int code)
{
    if (code == KS_OK)
        return 0;
    if (code == KS_EINTERRUPTED)
        return KS_EXIT_INTERRUPTED;
    return code == KS_EUSAGE ? 2 : 1;
}

const char *ks_status_name(int code)
{
    switch (code) {
    case KS_OK: return "ok";
    case KS_EUSAGE: return "usage error";
    case KS_EINTERRUPTED: return "interrupted";
    case KS_EINPUT: return "input error";
    case KS_EIO: return "I/O error";
    case KS_ENOMEM: return "out of memory";
    case KS_EHDF5: return "HDF5 error";
    case KS_EMPI: return "MPI error";
    case KS_ETHRESHOLD: return "too many rejected rows";
    case KS_EINTERNAL: return "internal error";
    case KS_EREMOTE: return "error on another rank";
    default: return "unknown error";
    }
}
