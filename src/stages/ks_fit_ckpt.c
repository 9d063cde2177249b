/* ks_fit_ckpt.c - see ks_fit_ckpt.h.  The file is text:
 *   kspill fit checkpoint 1
 *   fingerprint 0123456789abcdef
 *   model NAME DONE ITERATIONS P
 *   beta_0 beta_1 ... (P hexadecimal floats, %a: exact)
 * one model line and one coefficient line per model, in the order reached. */
#include "ks_fit_ckpt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks_fs.h"
#include "ks_log.h"
#include "ks_mem.h"
#include "ks_mpi.h"

#define CKPT_MAGIC "kspill fit checkpoint 1"

void ks_fit_ckpt_free(ks_fit_ckpt *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->models[i].beta);
    free(c->models);
    c->models = NULL;
    c->n = 0;
}

const ks_fit_ckpt_model *ks_fit_ckpt_find(const ks_fit_ckpt *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->models[i].name, name))
            return &c->models[i];
    return NULL;
}

static ks_fit_ckpt_model *find_or_add(ks_ctx *ctx, ks_fit_ckpt *c, const char *name, int p, int *rc)
{
    ks_fit_ckpt_model *m = (ks_fit_ckpt_model *)ks_fit_ckpt_find(c, name), *grown;
    if (m && m->p == p)
        return m;
    if (!m) {
        grown = realloc(c->models, sizeof *grown * (size_t)(c->n + 1));
        if (!grown) {
            *rc = ks_fail(ctx, KS_ENOMEM, "fit checkpoint: out of memory");
            return NULL;
        }
        c->models = grown;
        m = &c->models[c->n++];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", name);
    }
    free(m->beta);
    m->p = p;
    m->beta = calloc((size_t)(p ? p : 1), sizeof *m->beta);
    if (!m->beta)
        *rc = ks_fail(ctx, KS_ENOMEM, "fit checkpoint: out of memory");
    return m->beta ? m : NULL;
}

/* Parse an open checkpoint file; a file of another fit or a damaged one is
 * ignored (the fit starts over), never an error: it is only a shortcut. */
static int parse(ks_ctx *ctx, FILE *f, ks_fit_ckpt *c, int *usable)
{
    char line[256], fp[32], name[64];
    int done, iterations, p, rc = KS_OK;
    *usable = 0;
    if (!fgets(line, sizeof line, f) || strncmp(line, CKPT_MAGIC, strlen(CKPT_MAGIC)) != 0)
        return KS_OK;
    if (fscanf(f, " fingerprint %31s", fp) != 1 || strcmp(fp, c->fingerprint) != 0)
        return KS_OK;
    while (rc == KS_OK && fscanf(f, " model %63s %d %d %d", name, &done, &iterations, &p) == 4) {
        ks_fit_ckpt_model *m;
        if (p < 0 || p > 100000000)
            return KS_OK;
        m = find_or_add(ctx, c, name, p, &rc);
        if (!m)
            return rc;
        m->done = done;
        m->iterations = iterations;
        for (int k = 0; k < p; k++) {
            char num[64];
            char *end;
            if (fscanf(f, " %63s", num) != 1)
                return KS_OK;
            m->beta[k] = strtod(num, &end);
            if (*end)
                return KS_OK;
        }
    }
    *usable = 1;
    return rc;
}

/* Read one checkpoint file into c (a missing, foreign or damaged file adds
 * nothing). */
static int load(ks_ctx *ctx, const char *path, ks_fit_ckpt *c)
{
    ks_fit_ckpt part;
    FILE *f = fopen(path, "r");
    int usable = 0, rc = KS_OK;
    if (!f)
        return KS_OK;
    memset(&part, 0, sizeof part);
    memcpy(part.fingerprint, c->fingerprint, sizeof part.fingerprint);
    rc = parse(ctx, f, &part, &usable);
    fclose(f);
    for (int i = 0; rc == KS_OK && usable && i < part.n; i++) {
        const ks_fit_ckpt_model *pm = &part.models[i];
        ks_fit_ckpt_model *m = find_or_add(ctx, c, pm->name, pm->p, &rc);
        if (m) {
            m->done = pm->done;
            m->iterations = pm->iterations;
            memcpy(m->beta, pm->beta, sizeof *m->beta * (size_t)pm->p);
        }
    }
    ks_fit_ckpt_free(&part);
    return rc;
}

static int model_file(ks_ctx *ctx, const ks_job *job, const char *model, char *out, size_t n)
{
    char name[128];
    snprintf(name, sizeof name, "fit.checkpoint.%s", model);
    return ks_job_output(ctx, job, name, out, n);
}

int ks_fit_ckpt_open(ks_ctx *ctx, const ks_job *job, const char *fingerprint, const char *only,
                     ks_fit_ckpt *c)
{
    char path[KS_PATH_MAX];
    int rc = KS_OK;
    memset(c, 0, sizeof *c);
    c->job = job;
    if (!fingerprint || !*fingerprint)
        return KS_OK;
    snprintf(c->fingerprint, sizeof c->fingerprint, "%s", fingerprint);
    if (only)
        KS_CHECK(model_file(ctx, job, only, c->path, sizeof c->path));
    else
        KS_CHECK(ks_job_output(ctx, job, "fit.checkpoint", c->path, sizeof c->path));
    rc = load(ctx, c->path, c);
    for (int i = 0; rc == KS_OK && !only && i < job->n_models; i++) {
        rc = model_file(ctx, job, job->models[i].name, path, sizeof path);
        if (rc == KS_OK && !ks_fit_ckpt_find(c, job->models[i].name))
            rc = load(ctx, path, c);
    }
    /* every rank read the same files; agree on what they said */
    {
        int64_t n = c->n;
        KS_CHECK(ks_mpi_agree(ctx, rc));
        KS_CHECK(ks_mpi_min_i64(ctx, &n, 1));
        if (n != c->n)
            return ks_fail(ctx, KS_EIO, "%s: the ranks read different checkpoints", c->path);
    }
    if (c->n)
        ks_info(ctx, "fit: resuming from %s (%d model(s) recorded)", only ? c->path : "fit.checkpoint*",
                c->n);
    return KS_OK;
}

int ks_fit_ckpt_peek(ks_ctx *ctx, const ks_job *job, const char *fingerprint, int *found, char *note,
                     size_t n)
{
    ks_fit_ckpt c;
    char path[KS_PATH_MAX];
    int rc, done = 0;
    *found = 0;
    memset(&c, 0, sizeof c);
    snprintf(c.fingerprint, sizeof c.fingerprint, "%s", fingerprint);
    rc = ks_job_output(ctx, job, "fit.checkpoint", path, sizeof path);
    if (rc == KS_OK)
        rc = load(ctx, path, &c);
    for (int i = 0; rc == KS_OK && i < job->n_models; i++) {
        rc = model_file(ctx, job, job->models[i].name, path, sizeof path);
        if (rc == KS_OK && !ks_fit_ckpt_find(&c, job->models[i].name))
            rc = load(ctx, path, &c);
    }
    if (rc == KS_OK && c.n > 0) {
        const ks_fit_ckpt_model *last = &c.models[c.n - 1];
        for (int i = 0; i < c.n; i++)
            done += c.models[i].done;
        *found = 1;
        snprintf(note, n, "checkpoint: %d of %d model(s) finished; %s at iteration %d%s; kspill run "
                 "resumes there", done, job->n_models, last->name, last->iterations,
                 last->done ? " (finished)" : "");
    }
    ks_fit_ckpt_free(&c);
    return rc;
}

static int write_file(ks_ctx *ctx, const ks_fit_ckpt *c)
{
    char tmp[KS_PATH_MAX + 32];
    FILE *f;
    int bad;
    KS_CHECK(ks_fs_partial_name(ctx, c->path, tmp, sizeof tmp));
    if (!(f = fopen(tmp, "w")))
        return ks_fail(ctx, KS_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    fprintf(f, "%s\nfingerprint %s\n", CKPT_MAGIC, c->fingerprint);
    for (int i = 0; i < c->n; i++) {
        const ks_fit_ckpt_model *m = &c->models[i];
        fprintf(f, "model %s %d %d %d\n", m->name, m->done, m->iterations, m->p);
        for (int k = 0; k < m->p; k++)
            fprintf(f, "%a%c", m->beta[k], k + 1 == m->p ? '\n' : ' ');
    }
    bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, c->path) != 0) {
        remove(tmp);
        return ks_fail(ctx, KS_EIO, "%s: cannot write the checkpoint: %s", c->path, strerror(errno));
    }
    return KS_OK;
}

int ks_fit_ckpt_save(ks_ctx *ctx, ks_fit_ckpt *c, const char *name, int done, int iterations, int p,
                     const double *beta)
{
    ks_fit_ckpt_model *m;
    int rc = KS_OK;
    if (!c->fingerprint[0])
        return KS_OK;
    m = find_or_add(ctx, c, name, p, &rc);
    if (m) {
        m->done = done;
        m->iterations = iterations;
        memcpy(m->beta, beta, sizeof *beta * (size_t)p);
        if (ctx->rank == 0)
            rc = write_file(ctx, c);
    }
    return ks_mpi_agree(ctx, rc);
}

int ks_fit_ckpt_finish(ks_ctx *ctx, ks_fit_ckpt *c)
{
    char path[KS_PATH_MAX];
    int rc = KS_OK;
    if (c->fingerprint[0] && ctx->rank == 0) {
        if (unlink(c->path) != 0 && errno != ENOENT)
            rc = ks_fail(ctx, KS_EIO, "%s: cannot remove: %s", c->path, strerror(errno));
        for (int i = 0; rc == KS_OK && i < c->job->n_models; i++) {
            rc = model_file(ctx, c->job, c->job->models[i].name, path, sizeof path);
            if (rc == KS_OK && unlink(path) != 0 && errno != ENOENT)
                rc = ks_fail(ctx, KS_EIO, "%s: cannot remove: %s", path, strerror(errno));
        }
    }
    ks_fit_ckpt_free(c);
    return ks_mpi_agree(ctx, rc);
}
