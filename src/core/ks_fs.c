/* ks_fs.c - files and folders. */
#include "ks_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_job.h"
#include "ks_mpi.h"

int ks_fs_mkdirs(ks_ctx *ctx, const char *path)
{
    char tmp[KS_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return ks_fail(ctx, KS_EUSAGE, "folder name '%s' is empty or too long", path);
    memcpy(tmp, path, n + 1);
    for (size_t k = 1; k <= n; k++) {
        if (tmp[k] != '/' && tmp[k] != '\0')
            continue;
        tmp[k] = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return ks_fail(ctx, KS_EIO, "cannot create folder %s: %s", tmp, strerror(errno));
        tmp[k] = path[k];
    }
    return KS_OK;
}

int ks_fs_mkdirs_collective(ks_ctx *ctx, const char *path)
{
    int rc = ctx->rank == 0 ? ks_fs_mkdirs(ctx, path) : KS_OK;
    return ks_mpi_agree(ctx, rc);
}

int ks_fs_partial_name(ks_ctx *ctx, const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    int len = slash ? snprintf(out, n, "%.*s/.%s.partial", (int)(slash - path), path, slash + 1)
                    : snprintf(out, n, ".%s.partial", path);
    if (len < 0 || (size_t)len >= n)
        return ks_fail(ctx, KS_EUSAGE, "output path %s is too long", path);
    return KS_OK;
}

int ks_fs_copy(ks_ctx *ctx, const char *from, const char *to)
{
    char buf[1 << 16];
    int in = open(from, O_RDONLY), out = -1, rc = KS_OK;
    ssize_t got;
    if (in < 0)
        return ks_fail(ctx, KS_EIO, "cannot open %s: %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0)
        rc = ks_fail(ctx, KS_EIO, "cannot create %s: %s", to, strerror(errno));
    while (rc == KS_OK && (got = read(in, buf, sizeof buf)) != 0) {
        if (got < 0) {
            if (errno != EINTR)
                rc = ks_fail(ctx, KS_EIO, "cannot read %s: %s", from, strerror(errno));
            continue;
        }
        for (ssize_t done = 0, w; rc == KS_OK && done < got; done += w > 0 ? w : 0)
            if ((w = write(out, buf + done, (size_t)(got - done))) < 0 && errno != EINTR)
                rc = ks_fail(ctx, KS_EIO, "cannot write %s: %s", to, strerror(errno));
    }
    close(in);
    if (out >= 0 && close(out) != 0 && rc == KS_OK)
        rc = ks_fail(ctx, KS_EIO, "cannot write %s: %s", to, strerror(errno));
    return rc;
}
