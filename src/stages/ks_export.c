/* ks_export.c - stage `export`: WORKDIR/panel.h5, or the rows of some years
 * and some of its columns, as CSV or Stata .dta (docs/export.md).
 *
 * The output is one sequential file, so rank 0 does all the work and the
 * other ranks wait to agree on the outcome.  The file is written as
 * .NAME.partial beside its final path and renamed only when complete, so a
 * file under the final name is always whole; on any error the partial file is
 * removed and an earlier export under the final name is left as it was. */
#include "ks_export.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_export_int.h"
#include "ks_log.h"
#include "ks_fs.h"
#include "ks_mpi.h"


/* Refuse to write over the panel itself (--file WORKDIR/panel.h5). */
static int check_not_input(ks_ctx *ctx, const char *in, const char *out)
{
    struct stat a, b;
    if (stat(in, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return ks_fail(ctx, KS_EUSAGE, "--file %s is the panel being exported", out);
    return KS_OK;
}

static int write_output(ks_ctx *ctx, const ks_job *job, ks_xpanel *p, const ks_export_options *opt,
                        const char *path, const char *tmp)
{
    char label[256];
    FILE *f = fopen(tmp, "wb");
    int rc;
    if (!f)
        return ks_fail(ctx, KS_EIO, "cannot create %s: %s (the folder must exist and be writable)",
                       tmp, strerror(errno));
    if (!strcmp(opt->format, "dta")) {
        snprintf(label, sizeof label, "kspill panel, job %s, %d-%d", job->name,
                 p->row_end > p->row_begin ? (opt->first_year ? opt->first_year : p->year_min) : 0,
                 p->row_end > p->row_begin ? (opt->first_year ? opt->last_year : p->year_max) : 0);
        rc = ks_export_write_dta(ctx, p, f, path, label);
    } else {
        rc = ks_export_write_csv(ctx, p, f, path);
    }
    if (fclose(f) != 0 && rc == KS_OK)
        rc = ks_fail(ctx, KS_EIO, "cannot write %s: %s", tmp, strerror(errno));
    if (rc == KS_OK && rename(tmp, path) != 0)
        rc = ks_fail(ctx, KS_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc != KS_OK)
        unlink(tmp);
    return rc;
}

static int export_rank0(ks_ctx *ctx, const ks_job *job, const ks_export_options *opt)
{
    char panel[KS_PATH_MAX], path[KS_PATH_MAX], tmp[KS_PATH_MAX];
    int is_dta = !strcmp(opt->format, "dta");
    double t0 = ks_now();
    ks_xpanel p;
    int rc;
    if (!is_dta && strcmp(opt->format, "csv"))
        return ks_fail(ctx, KS_EUSAGE, "export --format must be csv or dta, not '%s'", opt->format);
    KS_CHECK(ks_job_output(ctx, job, "panel.h5", panel, sizeof panel));
    if (opt->out[0])
        snprintf(path, sizeof path, "%s", opt->out);
    else
        KS_CHECK(ks_job_output(ctx, job, is_dta ? "panel.dta" : "panel.csv", path, sizeof path));
    KS_CHECK(ks_fs_partial_name(ctx, path, tmp, sizeof tmp));
    KS_CHECK(check_not_input(ctx, panel, path));
    rc = ks_xpanel_open(ctx, &p, panel, opt);
    if (rc == KS_OK && opt->first_year && p.row_end == p.row_begin)
        ks_warn(ctx, "export: %s has no rows in %d-%d; writing an empty file", panel, opt->first_year,
                opt->last_year);
    if (rc == KS_OK)
        rc = write_output(ctx, job, &p, opt, path, tmp);
    if (rc == KS_OK)
        ks_info(ctx, "export: wrote %s: %lld rows, %d columns, in %.1f s", path,
                (long long)(p.row_end - p.row_begin), p.ncols, ks_now() - t0);
    ks_xpanel_close(&p);
    return rc;
}

int ks_export_run(ks_ctx *ctx, const ks_job *job, const ks_export_options *opt)
{
    int rc = ctx->rank == 0 ? export_rank0(ctx, job, opt) : KS_OK;
    return ks_mpi_agree(ctx, rc);
}
