/* ks_ingest_inputs.c - find the input files, read their headers, and cut
 * them into byte ranges of whole records, one set per rank. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_csv.h"
#include "ks_ingest.h"
#include "ks_ingest_internal.h"
#include "ks_mpi.h"
#include "ks_parse.h"

#define KS_HEADER_SAMPLE (1u << 20) /* bytes read to inspect a header */

static int expand_list(ks_ctx *ctx, const ks_job *job, const ks_strlist *files, ks_strlist *paths);

/* Expand the job's globs (rank 0). A pattern that matches nothing is an
 * error: a typo must not silently shrink the data. */
static int expand_globs(ks_ctx *ctx, const ks_job *job, ks_strlist *paths)
{
    ks_strlist synthetic = {0};
    int rc;
    if (job->files.n == 0 && job->synthetic[0]) {
        /* a synthetic job reads what `kspill synth JOB.ini` wrote */
        char pattern[KS_PATH_MAX];
        KS_CHECK(ks_job_output(ctx, job, "synth/customs_*.csv", pattern, sizeof pattern));
        KS_CHECK(ks_strlist_add(ctx, &synthetic, pattern, strlen(pattern)));
        rc = expand_list(ctx, job, &synthetic, paths);
        ks_strlist_clear(&synthetic);
        return rc;
    }
    return expand_list(ctx, job, &job->files, paths);
}

int ks_ingest_input_paths(ks_ctx *ctx, const ks_job *job, ks_strlist *paths)
{
    return expand_globs(ctx, job, paths);
}

static int expand_list(ks_ctx *ctx, const ks_job *job, const ks_strlist *files, ks_strlist *paths)
{
    if (files->n == 0)
        return ks_fail(ctx, KS_EUSAGE, "%s: [input] files is empty: name the customs CSV files "
                       "(globs allowed) or set [input] synthetic", job->path[0] ? job->path : "job");
    for (size_t i = 0; i < files->n; i++) {
        glob_t g;
        int rc = glob(files->items[i], GLOB_ERR, NULL, &g);
        if (rc == GLOB_NOMATCH)
            return ks_fail(ctx, KS_EIO, "[input] files: '%s' matches no file (paths are relative "
                           "to the folder kspill runs in%s)", files->items[i],
                           job->synthetic[0] ? "; run kspill synth JOB.ini first" : "");
        if (rc != 0) {
            globfree(&g);
            return ks_fail(ctx, KS_EIO, "[input] files: cannot expand '%s'", files->items[i]);
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            int dup = 0;
            for (size_t m = 0; m < paths->n; m++)
                dup |= !strcmp(paths->items[m], g.gl_pathv[k]);
            if (!dup && ks_strlist_add(ctx, paths, g.gl_pathv[k], strlen(g.gl_pathv[k])) != KS_OK) {
                globfree(&g);
                return ctx->code;
            }
        }
        globfree(&g);
    }
    return KS_OK;
}

/* Match the header's field names to the canonical fields of the job. */
static int map_columns(ks_ctx *ctx, const ks_job *job, ks_input_file *f, ks_csv_record *hdr,
                       ks_text_conv *conv)
{
    ks_buf seen = {0};
    f->ncols = hdr->nfields;
    for (int k = 0; k < KS_NFIELDS; k++)
        f->col_of_field[k] = -1;
    for (int c = 0; c < hdr->nfields; c++) {
        const char *name = hdr->fields[c].ptr, *utf8;
        size_t len = hdr->fields[c].len, ulen;
        ks_parse_trim(&name, &len);
        if (ks_text_to_utf8(ctx, conv, name, len, &utf8, &ulen) != KS_OK) {
            ks_buf_free(&seen);
            return ks_fail_context(ctx, "%s:%ld: header field %d", f->path, (long)hdr->line, c + 1);
        }
        KS_CHECK(ks_buf_printf(ctx, &seen, "%s'%.*s'", c ? ", " : "", (int)ulen, utf8));
        for (int k = 0; k < KS_NFIELDS; k++)
            if (job->columns[k][0] && strlen(job->columns[k]) == ulen &&
                !memcmp(job->columns[k], utf8, ulen)) {
                if (f->col_of_field[k] >= 0) {
                    ks_fail(ctx, KS_EINPUT, "%s: header has column '%s' twice", f->path, job->columns[k]);
                    ks_buf_free(&seen);
                    return ctx->code;
                }
                f->col_of_field[k] = c;
            }
    }
    for (int k = 0; k < KS_NFIELDS; k++)
        if (f->col_of_field[k] < 0 && ks_field_required((ks_field)k)) {
            ks_fail(ctx, KS_EINPUT, "%s: the header has no column '%s' for the required field %s; "
                    "its columns are %s. Map the file's header with [columns] %s = <header>",
                    f->path, job->columns[k], ks_field_name((ks_field)k), seen.data,
                    ks_field_name((ks_field)k));
            ks_buf_free(&seen);
            return ctx->code;
        }
    ks_buf_free(&seen);
    return KS_OK;
}

/* Encoding, delimiter, header and where the data starts, from a sample. */
static int inspect_sample(ks_ctx *ctx, const ks_job *job, ks_input_file *f, const char *buf,
                          size_t len)
{
    size_t bom = ks_csv_bom_length(buf, len);
    ks_csv_reader *reader = NULL;
    ks_text_conv *conv = NULL;
    ks_csv_record hdr;
    int has = 0, rc;
    f->encoding = job->encoding != KS_ENC_AUTO ? job->encoding : ks_text_detect(buf, len);
    if (bom)
        f->encoding = KS_ENC_UTF8;
    f->delimiter = job->delimiter ? job->delimiter : ks_csv_detect_delimiter(buf + bom, len - bom);
    if (!f->delimiter)
        f->delimiter = ',';
    KS_CHECK(ks_text_conv_open(ctx, &conv, f->encoding));
    rc = ks_csv_open_mem(ctx, &reader, buf + bom, len - bom, f->delimiter, bom, 1);
    if (rc == KS_OK)
        rc = ks_csv_next(ctx, reader, &hdr, &has);
    if (rc == KS_OK && !has)
        rc = ks_fail(ctx, KS_EINPUT, "%s: the file is empty (a header row is required)", f->path);
    if (rc == KS_OK && (hdr.malformed || (len == KS_HEADER_SAMPLE && ks_csv_consumed(reader) >= len)))
        rc = ks_fail(ctx, KS_EINPUT, "%s:1: the header row is malformed (bad quoting or longer "
                     "than 1 MiB)", f->path);
    if (rc == KS_OK)
        rc = map_columns(ctx, job, f, &hdr, conv);
    if (rc == KS_OK) {
        f->data_begin = bom + ks_csv_consumed(reader);
        f->header_lines = (int64_t)ks_csv_count_newlines(buf, f->data_begin);
    }
    ks_csv_close(reader);
    ks_text_conv_close(conv);
    return rc;
}

static int inspect_file(ks_ctx *ctx, const ks_job *job, ks_input_file *f)
{
    struct stat st;
    char *buf = NULL;
    ssize_t got;
    size_t want;
    int fd = open(f->path, O_RDONLY);
    int rc;
    if (fd < 0)
        return ks_fail(ctx, KS_EIO, "cannot open input %s: %s", f->path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ks_fail(ctx, KS_EIO, "input %s is not a regular file", f->path);
    }
    f->size = (uint64_t)st.st_size;
    want = f->size < KS_HEADER_SAMPLE ? (size_t)f->size : KS_HEADER_SAMPLE;
    rc = ks_calloc(ctx, &buf, want + 1, 1, "header sample");
    if (rc == KS_OK) {
        got = pread(fd, buf, want, 0);
        if (got != (ssize_t)want)
            rc = ks_fail(ctx, KS_EIO, "cannot read input %s: %s", f->path,
                         got < 0 ? strerror(errno) : "short read");
    }
    if (rc == KS_OK)
        rc = inspect_sample(ctx, job, f, buf, want);
    free(buf);
    close(fd);
    return rc;
}

static int inspect_all(ks_ctx *ctx, const ks_job *job, ks_inputs *in)
{
    ks_strlist paths = {0};
    int rc = expand_globs(ctx, job, &paths);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &in->files, paths.n, sizeof *in->files, "input list");
    for (size_t i = 0; rc == KS_OK && i < paths.n; i++) {
        if (strlen(paths.items[i]) >= KS_PATH_MAX)
            rc = ks_fail(ctx, KS_EUSAGE, "input path too long: %s", paths.items[i]);
        else {
            memcpy(in->files[i].path, paths.items[i], strlen(paths.items[i]) + 1);
            rc = inspect_file(ctx, job, &in->files[i]);
        }
        in->n = (int)i + 1;
    }
    ks_strlist_clear(&paths);
    return rc;
}

int ks_ingest_find_inputs(ks_ctx *ctx, const ks_job *job, ks_inputs *in)
{
    int64_t n;
    int rc = KS_OK;
    memset(in, 0, sizeof *in);
    if (ctx->rank == 0)
        rc = inspect_all(ctx, job, in);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    n = in->n;
    KS_CHECK(ks_mpi_bcast(ctx, &n, sizeof n));
    if (ctx->rank != 0) {
        in->n = (int)n;
        KS_CHECK(ks_calloc(ctx, &in->files, (size_t)n, sizeof *in->files, "input list"));
    }
    return ks_mpi_bcast(ctx, in->files, (size_t)n * sizeof *in->files);
}

void ks_inputs_free(ks_inputs *in)
{
    free(in->files);
    memset(in, 0, sizeof *in);
}

/* Map a whole input read-only (pages are touched only where read). */
int ks_ingest_map_file(ks_ctx *ctx, const ks_input_file *f, const char **map)
{
    int fd;
    void *p;
    *map = NULL;
    if (f->size == 0)
        return KS_OK;
    fd = open(f->path, O_RDONLY);
    if (fd < 0)
        return ks_fail(ctx, KS_EIO, "cannot open input %s: %s", f->path, strerror(errno));
    p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return ks_fail(ctx, KS_EIO, "cannot map input %s: %s", f->path, strerror(errno));
    madvise(p, f->size, MADV_SEQUENTIAL);
    *map = p;
    return KS_OK;
}

/* This rank's raw share of file i: the bytes of its data region that fall in
 * [lo, hi) of the concatenated data regions. */
static void raw_share(const ks_inputs *in, int i, uint64_t before, uint64_t lo, uint64_t hi,
                      uint64_t *a, uint64_t *b)
{
    const ks_input_file *f = &in->files[i];
    uint64_t len = f->size - f->data_begin;
    uint64_t s = lo > before ? lo - before : 0, e = hi - before < len ? hi - before : len;
    if (hi <= before || lo >= before + len || s >= e) {
        *a = *b = 0;
        return;
    }
    *a = f->data_begin + s;
    *b = f->data_begin + e;
}

int ks_ingest_cut_pieces(ks_ctx *ctx, const ks_inputs *in, ks_piece **pieces, int *npieces)
{
    int n = in->n, nr = ctx->nranks, rc = KS_OK;
    uint64_t total = 0, before = 0, lo, hi;
    uint64_t *a = NULL, *b = NULL, *starts = NULL;
    int64_t *counts = NULL, *counts_before = NULL, *head = NULL;
    *pieces = NULL;
    *npieces = 0;
    for (int i = 0; i < n; i++)
        total += in->files[i].size - in->files[i].data_begin;
    lo = (uint64_t)((unsigned __int128)total * (unsigned)ctx->rank / (unsigned)nr);
    hi = (uint64_t)((unsigned __int128)total * (unsigned)(ctx->rank + 1) / (unsigned)nr);
    KS_TRY(rc, ks_calloc(ctx, &a, (size_t)n + 1, sizeof *a, "pieces"), out);
    KS_TRY(rc, ks_calloc(ctx, &b, (size_t)n + 1, sizeof *b, "pieces"), out);
    /* [quotes of file 0..n), then [newlines of file 0..n) */
    KS_TRY(rc, ks_calloc(ctx, &counts, 2 * (size_t)n + 1, sizeof *counts, "pieces"), out);
    KS_TRY(rc, ks_calloc(ctx, &counts_before, 2 * (size_t)n + 1, sizeof *counts_before, "pieces"), out);
    KS_TRY(rc, ks_calloc(ctx, &head, (size_t)n + 1, sizeof *head, "pieces"), out);
    KS_TRY(rc, ks_calloc(ctx, &starts, (size_t)n * (size_t)nr + 1, sizeof *starts, "pieces"), out);
    /* 1. quotes and newlines in my raw share of each file, in one pass ->
     *    the quote parity and the line number where the next ranks' shares
     *    start.  A share that runs to the end of its file has no rank after
     *    it there: it needs no count (with fewer ranks than files, most
     *    shares are whole files, read once, by the parser). */
    for (int i = 0; i < n && rc == KS_OK; i++) {
        const char *map = NULL;
        raw_share(in, i, before, lo, hi, &a[i], &b[i]);
        before += in->files[i].size - in->files[i].data_begin;
        if (a[i] == b[i] || b[i] == in->files[i].size)
            continue;
        rc = ks_ingest_map_file(ctx, &in->files[i], &map);
        if (rc == KS_OK) {
            uint64_t quotes, newlines;
            ks_csv_count_quotes_newlines(map + a[i], b[i] - a[i], &quotes, &newlines);
            counts[i] = (int64_t)quotes;
            counts[n + i] = (int64_t)newlines;
            munmap((void *)map, in->files[i].size);
        }
    }
    KS_TRY(rc, ks_mpi_agree(ctx, rc), out);
    if (ctx->comm != MPI_COMM_NULL && nr > 1) {
        MPI_Exscan(counts, counts_before, 2 * n, MPI_INT64_T, MPI_SUM, ctx->comm);
        if (ctx->rank == 0)
            memset(counts_before, 0, 2 * (size_t)n * sizeof *counts_before);
    }
    /* 2. the first record that starts in my share (UINT64_MAX: no share),
     *    and the newlines between my share's start and it */
    for (int i = 0; i < n; i++) {
        const char *map = NULL;
        uint64_t s = UINT64_MAX;
        if (a[i] < b[i]) {
            if (a[i] == in->files[i].data_begin)
                s = a[i];
            else if ((rc = ks_ingest_map_file(ctx, &in->files[i], &map)) == KS_OK) {
                s = a[i] + ks_csv_next_record_start(map + a[i], in->files[i].size - a[i],
                                                    (int)(counts_before[i] & 1), 0);
                head[i] = (int64_t)ks_csv_count_newlines(map + a[i], s - a[i]);
                munmap((void *)map, in->files[i].size);
            }
        }
        starts[(size_t)ctx->rank * (size_t)n + (size_t)i] = s;
    }
    KS_TRY(rc, ks_mpi_agree(ctx, rc), out);
    if (ctx->comm != MPI_COMM_NULL && nr > 1)
        MPI_Allgather(MPI_IN_PLACE, n, MPI_UINT64_T, starts, n, MPI_UINT64_T, ctx->comm);
    /* 3. my piece of file i ends where the next rank's piece starts; its
     *    first line is the file's header lines + the newlines before it */
    KS_TRY(rc, ks_calloc(ctx, pieces, (size_t)n + 1, sizeof **pieces, "pieces"), out);
    for (int i = 0; i < n; i++) {
        uint64_t s = starts[(size_t)ctx->rank * (size_t)n + (size_t)i], e = in->files[i].size;
        if (s == UINT64_MAX)
            continue;
        for (int r = ctx->rank + 1; r < nr; r++)
            if (starts[(size_t)r * (size_t)n + (size_t)i] != UINT64_MAX) {
                e = starts[(size_t)r * (size_t)n + (size_t)i];
                break;
            }
        (*pieces)[*npieces].file = i;
        (*pieces)[*npieces].begin = s;
        (*pieces)[*npieces].end = e > s ? e : s;
        (*pieces)[*npieces].first_line = in->files[i].header_lines + 1 + counts_before[n + i] + head[i];
        (*npieces)++;
    }
out:
    free(a);
    free(b);
    free(counts);
    free(counts_before);
    free(head);
    free(starts);
    return rc;
}
