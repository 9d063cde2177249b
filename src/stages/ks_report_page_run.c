/* ks_report_page_run.c - running gnuplot: posix_spawn, no shell (paths and
 * job names never pass through one), in the report folder so that the
 * scripts' relative paths are those a person running `gnuplot figN.gp` there
 * gets too.  Its stderr goes to a file that the error message quotes. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ks_report_page_int.h"

extern char **environ;

/* The last `max` bytes of a file, trimmed, into `out` ("" when unreadable). */
static void tail_of(const char *path, char *out, size_t max)
{
    FILE *f = fopen(path, "rb");
    long size;
    size_t got;
    out[0] = '\0';
    if (!f)
        return;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0) {
        long from = size > (long)(max - 1) ? size - (long)(max - 1) : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            got = fread(out, 1, max - 1, f);
            out[got] = '\0';
        }
    }
    fclose(f);
    for (size_t n = strlen(out); n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '); n--)
        out[n - 1] = '\0';
}

static int spawn_actions(ks_ctx *ctx, posix_spawn_file_actions_t *fa, const char *dir,
                         const char *errpath)
{
    int e = posix_spawn_file_actions_init(fa);
    if (e == 0)
        e = posix_spawn_file_actions_addchdir_np(fa, dir);
    if (e == 0)
        e = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    if (e == 0)
        e = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
    if (e == 0)
        e = posix_spawn_file_actions_addopen(fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (e != 0)
        return ks_fail(ctx, KS_EIO, "cannot prepare to run gnuplot: %s", strerror(e));
    return KS_OK;
}

int ks_rp_gnuplot_start(ks_ctx *ctx, const char *dir, const char *script, const char *base,
                        ks_rp_gnuplot_run *run)
{
    char outvar[KS_PATH_MAX];
    char *argv[] = {"gnuplot", "-e", outvar, run->script, NULL};
    posix_spawn_file_actions_t fa;
    int e;
    memset(run, 0, sizeof *run);
    if ((size_t)snprintf(run->errpath, sizeof run->errpath, "%s/.%s.stderr", dir, base) >= sizeof run->errpath ||
        (size_t)snprintf(outvar, sizeof outvar, "out='%s'", base) >= sizeof outvar ||
        (size_t)snprintf(run->dir, sizeof run->dir, "%s", dir) >= sizeof run->dir ||
        (size_t)snprintf(run->script, sizeof run->script, "%s", script) >= sizeof run->script)
        return ks_fail(ctx, KS_EUSAGE, "report folder %s: path too long", dir);
    KS_CHECK(spawn_actions(ctx, &fa, dir, run->errpath));
    /* posix_spawnp: gnuplot from PATH (Debian's is /usr/bin/gnuplot) */
    e = posix_spawnp(&run->pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        run->pid = 0;
        return ks_fail(ctx, KS_EIO, "cannot run gnuplot for %s/%s: %s%s", dir, script, strerror(e),
                       e == ENOENT ? " (install Debian's gnuplot-nox: scripts/setup)" : "");
    }
    return KS_OK;
}

/* Wait for the run's process (through EINTR): 0, or the errno of waitpid.
 * The run is not started any more either way. */
static int wait_run(ks_rp_gnuplot_run *run, int *status)
{
    int e = 0;
    while (waitpid(run->pid, status, 0) < 0)
        if (errno != EINTR) {
            e = errno;
            break;
        }
    run->pid = 0;
    return e;
}

void ks_rp_gnuplot_reap(ks_rp_gnuplot_run *run)
{
    int status;
    if (run->pid <= 0)
        return;
    wait_run(run, &status);
    unlink(run->errpath);
}

int ks_rp_gnuplot_wait(ks_ctx *ctx, ks_rp_gnuplot_run *run)
{
    char err[1200];
    int status = 0, e;
    if (run->pid <= 0)
        return KS_OK;
    if ((e = wait_run(run, &status)) != 0)
        return ks_fail(ctx, KS_EIO, "waiting for gnuplot (%s): %s", run->script, strerror(e));
    tail_of(run->errpath, err, sizeof err);
    unlink(run->errpath);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return KS_OK;
    /* a missing chdir target or gnuplot binary shows as exit 127 */
    return ks_fail(ctx, KS_EIO, "gnuplot %s/%s failed (%s %d)%s%s", run->dir, run->script,
                   WIFEXITED(status) ? "exit status" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                   err[0] ? ": " : " and wrote nothing on stderr", err);
}
