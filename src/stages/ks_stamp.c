/* ks_stamp.c - the stamp a stage leaves in its output (ks_stamp.h). */
#include "ks_stamp.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "ks_fs.h"
#include "ks_job.h"
#include "ks_h5.h"
#include "ks_log.h"
#include "ks_mpi.h"

/* HDF5 keeps an attribute in the object header, whose messages hold at
 * most 64 KiB: a longer settings text (hundreds of models) is stored cut,
 * which only shortens what `kspill status` can name; the fingerprint is
 * always of the whole text. */
#define KS_STAMP_ATTR_MAX 32768

void ks_stamp_init(ks_stamp *s, const char *stage)
{
    memset(s, 0, sizeof *s);
    snprintf(s->stage, sizeof s->stage, "%s", stage);
    snprintf(s->version, sizeof s->version, "%s", KS_VERSION);
    s->t0 = ks_now();
    s->peak_rss_mb = -1;
}

void ks_stamp_free(ks_stamp *s)
{
    ks_buf_free(&s->settings);
    ks_buf_free(&s->inputs);
}

int ks_stamp_seal(ks_ctx *ctx, ks_stamp *s)
{
    ks_buf text = {0};
    int rc = ks_buf_printf(ctx, &text, "kspill fingerprint 1\nstage = %s\nversion = %s\n[settings]\n%s[inputs]\n%s",
                           s->stage, s->version, s->settings.data ? s->settings.data : "",
                           s->inputs.data ? s->inputs.data : "");
    if (rc == KS_OK)
        snprintf(s->fingerprint, sizeof s->fingerprint, "%016llx",
                 (unsigned long long)XXH64(text.data, text.len, 0));
    ks_buf_free(&text);
    return rc;
}

static int bcast_buf(ks_ctx *ctx, ks_buf *b)
{
    int64_t len = (int64_t)b->len;
    KS_CHECK(ks_mpi_bcast(ctx, &len, sizeof len));
    if (ctx->rank != 0) {
        b->len = 0;
        if (len > 0)
            KS_CHECK(ks_reserve(ctx, &b->data, &b->cap, (size_t)len + 1, 1, "stamp"));
    }
    if (len > 0) {
        KS_CHECK(ks_mpi_bcast(ctx, b->data, (size_t)len + 1));
        b->len = (size_t)len;
    }
    return KS_OK;
}

int ks_stamp_bcast(ks_ctx *ctx, ks_stamp *s)
{
    if (ctx->comm == MPI_COMM_NULL || ctx->nranks == 1)
        return KS_OK;
    KS_CHECK(ks_mpi_bcast(ctx, s->stage, sizeof s->stage));
    KS_CHECK(ks_mpi_bcast(ctx, s->fingerprint, sizeof s->fingerprint));
    KS_CHECK(ks_mpi_bcast(ctx, s->version, sizeof s->version));
    KS_CHECK(ks_mpi_bcast(ctx, &s->wall_seconds, sizeof s->wall_seconds));
    KS_CHECK(ks_mpi_bcast(ctx, &s->peak_rss_mb, sizeof s->peak_rss_mb));
    KS_CHECK(ks_mpi_bcast(ctx, &s->ranks, sizeof s->ranks));
    KS_CHECK(ks_mpi_bcast(ctx, &s->threads, sizeof s->threads));
    KS_CHECK(bcast_buf(ctx, &s->settings));
    return bcast_buf(ctx, &s->inputs);
}

/* ---- usage ---- */

/* This process's peak resident set in KiB since the stage began (VmHWM,
 * which stamp_begin resets; getrusage's ru_maxrss, the peak of the whole
 * process, when /proc cannot tell), 0 when neither can: the usage is a
 * report, not worth failing a stage. */
static int64_t peak_rss_kib(void)
{
    struct rusage ru;
    int64_t kib = ks_peak_memory_kb();
    if (kib > 0)
        return kib;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_maxrss : 0;
}

void ks_stamp_usage_local(const ks_ctx *ctx, const ks_stamp *s, ks_stamp_usage *u)
{
    u->wall_seconds = ks_now() - s->t0;
    u->peak_rss_mb = (double)peak_rss_kib() / 1024.0;
    u->ranks = ctx->nranks > 0 ? ctx->nranks : 1;
    u->threads = omp_get_max_threads();
}

int ks_stamp_measure(ks_ctx *ctx, const ks_stamp *s, ks_stamp_usage *u)
{
    int64_t kib = peak_rss_kib();
    ks_stamp_usage_local(ctx, s, u);
    /* rank 0's clock for the wall time, as the log reports it; the memory
     * limit a job must fit is that of its largest rank (an integer maximum,
     * exact whatever the order of the ranks) */
    KS_CHECK(ks_mpi_bcast(ctx, &u->wall_seconds, sizeof u->wall_seconds));
    KS_CHECK(ks_mpi_max_i64(ctx, &kib, 1));
    u->peak_rss_mb = (double)kib / 1024.0;
    return KS_OK;
}

/* ---- writing ---- */

static int attr_text(ks_ctx *ctx, hid_t file, const char *name, const ks_buf *b)
{
    char *cut = NULL;
    int rc;
    if (!b->data || b->len <= KS_STAMP_ATTR_MAX)
        return ks_h5_attr_string(ctx, file, name, b->data ? b->data : "");
    KS_CHECK(ks_calloc(ctx, &cut, KS_STAMP_ATTR_MAX + 32, 1, "stamp text"));
    memcpy(cut, b->data, KS_STAMP_ATTR_MAX);
    strcpy(cut + KS_STAMP_ATTR_MAX, "\n(cut)\n");
    rc = ks_h5_attr_string(ctx, file, name, cut);
    free(cut);
    return rc;
}

int ks_stamp_write_h5(ks_ctx *ctx, hid_t file, const ks_stamp *s)
{
    ks_stamp_usage u;
    if (!s)
        return KS_OK;
    /* attributes are collective: every rank writes the same measured usage */
    KS_CHECK(ks_stamp_measure(ctx, s, &u));
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_stage", s->stage));
    KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_fingerprint", s->fingerprint));
    if (H5Aexists(file, "kspill_version") <= 0) /* most stages write it with their header */
        KS_CHECK(ks_h5_attr_string(ctx, file, "kspill_version", s->version));
    KS_CHECK(ks_h5_attr_f64(ctx, file, "kspill_wall_seconds", u.wall_seconds));
    KS_CHECK(ks_h5_attr_f64(ctx, file, "kspill_peak_rss_mb", u.peak_rss_mb));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "kspill_ranks", u.ranks));
    KS_CHECK(ks_h5_attr_i64(ctx, file, "kspill_threads", u.threads));
    KS_CHECK(attr_text(ctx, file, "kspill_settings", &s->settings));
    return attr_text(ctx, file, "kspill_inputs", &s->inputs);
}

int ks_stamp_write_file(ks_ctx *ctx, const char *path, const ks_stamp *s,
                        const ks_stamp_usage *u)
{
    char tmp[KS_PATH_MAX + 16];
    FILE *f;
    int ok;
    KS_CHECK(ks_fs_partial_name(ctx, path, tmp, sizeof tmp));
    f = fopen(tmp, "w");
    if (!f)
        return ks_fail(ctx, KS_EIO, "cannot create %s: %s", tmp, strerror(errno));
    ok = fprintf(f, "# how the files of this folder were made (kspill run; docs/pipeline.md)\n"
                    "kspill_stage = %s\nkspill_fingerprint = %s\nkspill_version = %s\n"
                    "kspill_wall_seconds = %.3f\nkspill_peak_rss_mb = %.1f\nkspill_ranks = %d\n"
                    "kspill_threads = %d\n[settings]\n%s[inputs]\n%s",
                 s->stage, s->fingerprint, s->version, u->wall_seconds, u->peak_rss_mb, u->ranks,
                 u->threads,
                 s->settings.data ? s->settings.data : "", s->inputs.data ? s->inputs.data : "") > 0;
    ok = (fclose(f) == 0) && ok; /* a full disk often shows only here */
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ks_fail(ctx, KS_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return KS_OK;
}

/* ---- reading ---- */

/* A string attribute (fixed-length or variable), appended to `out`.  Returns
 * 0 when absent or unreadable. */
static int read_attr(ks_ctx *ctx, hid_t file, const char *name, ks_buf *out)
{
    hid_t a, t, mt;
    int ok = 0;
    if (H5Aexists(file, name) <= 0 || (a = H5Aopen(file, name, H5P_DEFAULT)) < 0)
        return 0;
    t = H5Aget_type(a);
    if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t)); /* HDF5 converts no string between character sets */
        if (H5Aread(a, mt, &v) >= 0 && v)
            ok = ks_buf_printf(ctx, out, "%s", v) == KS_OK;
        if (v)
            H5free_memory(v);
        H5Tclose(mt);
    } else if (H5Tget_class(t) == H5T_STRING) {
        size_t n = H5Tget_size(t);
        char *v = calloc(n + 1, 1);
        mt = H5Tcopy(t);
        if (v && H5Aread(a, mt, v) >= 0)
            ok = ks_buf_printf(ctx, out, "%s", v) == KS_OK;
        free(v);
        H5Tclose(mt);
    } else if (H5Tget_class(t) == H5T_INTEGER) {
        long long x = 0;
        if (H5Aread(a, H5T_NATIVE_LLONG, &x) >= 0)
            ok = ks_buf_printf(ctx, out, "%lld", x) == KS_OK;
    } else if (H5Tget_class(t) == H5T_FLOAT) {
        double x = 0;
        if (H5Aread(a, H5T_NATIVE_DOUBLE, &x) >= 0)
            ok = ks_buf_printf(ctx, out, "%.17g", x) == KS_OK;
    }
    H5Tclose(t);
    H5Aclose(a);
    return ok;
}

static void copy_field(char *dst, size_t n, ks_buf *b)
{
    snprintf(dst, n, "%s", b->data ? b->data : "");
    b->len = 0;
}

/* The stamp on `object` ("/" or a group) of the HDF5 file `path`. */
static int read_h5(ks_ctx *ctx, const char *path, const char *object, ks_stamp *s, int *found)
{
    ks_buf b = {0};
    hid_t file, obj;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        *found = 3;
        return KS_OK;
    }
    /* a stage whose output is a group of another stage's file: the group
     * missing is the output missing */
    if (strcmp(object, "/") && H5Lexists(file, object, H5P_DEFAULT) <= 0) {
        *found = 0;
        H5Fclose(file);
        return KS_OK;
    }
    obj = H5Oopen(file, object, H5P_DEFAULT);
    if (obj < 0) {
        *found = 3;
        H5Fclose(file);
        return KS_OK;
    }
    *found = read_attr(ctx, obj, "kspill_fingerprint", &b) ? 1 : 2;
    copy_field(s->fingerprint, sizeof s->fingerprint, &b);
    if (read_attr(ctx, obj, "kspill_stage", &b))
        copy_field(s->stage, sizeof s->stage, &b);
    if (read_attr(ctx, obj, "kspill_version", &b))
        copy_field(s->version, sizeof s->version, &b);
    if (read_attr(ctx, obj, "kspill_wall_seconds", &b))
        s->wall_seconds = atof(b.data);
    b.len = 0;
    if (read_attr(ctx, obj, "kspill_peak_rss_mb", &b))
        s->peak_rss_mb = atof(b.data);
    b.len = 0;
    if (read_attr(ctx, obj, "kspill_ranks", &b))
        s->ranks = atoi(b.data);
    b.len = 0;
    if (read_attr(ctx, obj, "kspill_threads", &b))
        s->threads = atoi(b.data);
    read_attr(ctx, obj, "kspill_settings", &s->settings);
    read_attr(ctx, obj, "kspill_inputs", &s->inputs);
    ks_buf_free(&b);
    H5Oclose(obj);
    H5Fclose(file);
    return KS_OK;
}

static int read_text(ks_ctx *ctx, const char *path, ks_stamp *s, int *found)
{
    char line[8192];
    int part = 0; /* 0 header, 1 settings, 2 inputs */
    FILE *f = fopen(path, "r");
    if (!f) {
        *found = 3;
        return KS_OK;
    }
    *found = 2;
    while (fgets(line, sizeof line, f)) {
        char *eq = strstr(line, " = ");
        if (!strcmp(line, "[settings]\n"))
            part = 1;
        else if (!strcmp(line, "[inputs]\n"))
            part = 2;
        else if (part > 0) {
            if (ks_buf_printf(ctx, part == 1 ? &s->settings : &s->inputs, "%s", line) != KS_OK) {
                fclose(f);
                return ctx->code;
            }
        } else if (eq && line[0] != '#') {
            char *v = eq + 3;
            v[strcspn(v, "\n")] = '\0';
            *eq = '\0';
            if (!strcmp(line, "kspill_fingerprint")) {
                snprintf(s->fingerprint, sizeof s->fingerprint, "%s", v);
                *found = s->fingerprint[0] ? 1 : 2;
            } else if (!strcmp(line, "kspill_stage"))
                snprintf(s->stage, sizeof s->stage, "%s", v);
            else if (!strcmp(line, "kspill_version"))
                snprintf(s->version, sizeof s->version, "%s", v);
            else if (!strcmp(line, "kspill_wall_seconds"))
                s->wall_seconds = atof(v);
            else if (!strcmp(line, "kspill_peak_rss_mb"))
                s->peak_rss_mb = atof(v);
            else if (!strcmp(line, "kspill_ranks"))
                s->ranks = atoi(v);
            else if (!strcmp(line, "kspill_threads"))
                s->threads = atoi(v);
        }
    }
    fclose(f);
    return KS_OK;
}

int ks_stamp_read(ks_ctx *ctx, const char *path, ks_stamp *s, int *found)
{
    struct stat st;
    char file[KS_PATH_MAX];
    const char *group = strstr(path, ".h5:/");
    size_t n = group ? (size_t)(group - path) + 3 : strlen(path);
    ks_stamp_init(s, "");
    s->version[0] = '\0';
    if (n >= sizeof file)
        return ks_fail(ctx, KS_EUSAGE, "output name too long: %s", path);
    memcpy(file, path, n);
    file[n] = '\0';
    if (stat(file, &st) != 0) {
        *found = 0;
        return KS_OK;
    }
    if (n > 3 && !strcmp(file + n - 3, ".h5"))
        return read_h5(ctx, file, group ? group + 4 : "/", s, found);
    return read_text(ctx, file, s, found);
}
