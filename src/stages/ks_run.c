/* ks_run.c - the pipeline of a job (ks_run.h, docs/pipeline.md).
 *
 * A stage's fingerprint is XXH64 over its name, the kspill version, the
 * canonical text of the job keys it reads (ks_job_canonical) and what it
 * reads them from: the fingerprints in its upstream outputs, or for ingest
 * its input files' path, size and modification time.  The fingerprint goes
 * into the stage's output (ks_stamp.h) whether the stage runs alone
 * (`kspill panel JOB.ini`) or under `kspill run`, through ks_run_stage.
 * Since the stages give the same bytes for the same inputs and settings, an
 * output whose fingerprint matches is what running the stage again would
 * write: run skips it.  Changing one [model.NAME] key changes fit's settings
 * only, so run reruns fit only. */
#include "ks_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_fit.h"
#include "ks_fit_ckpt.h"
#include "ks_ingest.h"
#include "ks_log.h"
#include "ks_mpi.h"
#include "ks_panel.h"
#include "ks_relatedness.h"
#include "ks_report.h"

static int run_synth_stage(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp);

typedef struct ks_stage_def {
    const char *name;
    /* The output, relative to the workdir, whose stamp says the stage is
     * done: written (renamed into place) after every other output of the
     * stage, so that its presence means they are all complete. */
    const char *output;
    int (*run)(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp);
    int n_inputs;
    ks_stage_id inputs[2];      /* the stages whose outputs it reads */
    const char *const *keys;    /* the job keys it reads: ks_job_canonical selectors */
} ks_stage_def;

static const char *const synth_keys[] = {"job.years", "synth", NULL};
/* [job] name and workdir are left out of every stage: they label and place
 * the outputs, not what they hold. */
static const char *const ingest_keys[] = {"job.years", "input", "columns", "cleaning", "harmonise", NULL};
static const char *const relatedness_keys[] = {"job.years", "relatedness", NULL};
static const char *const panel_keys[] = {"panel", "density", NULL};
static const char *const fit_keys[] = {"fit", "model", "table", NULL};
static const char *const report_keys[] = {"report", NULL};

/* The stage table, in pipeline order (the order of ks_stage_id). */
static const ks_stage_def ks_stages[KS_NSTAGES] = {
    {"synth", "synth/" KS_STAMP_FILE, run_synth_stage, 0, {0, 0}, synth_keys},
    /* ingest's input is synth's output only for a synthetic job (n_inputs
     * is adjusted in stage_inputs) */
    {"ingest", "records.h5", ks_ingest_run, 1, {KS_STAGE_SYNTH, 0}, ingest_keys},
    {"relatedness", "relatedness.h5", ks_relatedness_run, 1, {KS_STAGE_INGEST, 0}, relatedness_keys},
    {"panel", "panel.h5", ks_panel_run, 2, {KS_STAGE_INGEST, KS_STAGE_RELATEDNESS}, panel_keys},
    {"fit", "results.h5", ks_fit_run, 1, {KS_STAGE_PANEL, 0}, fit_keys},
    /* report adds the group /report to results.h5 (fit's file keeps fit's
     * root stamp; a new file for a job without models), committed after
     * report/data and the page: the group's stamp means every output of the
     * stage is complete.  fit is an input (the page reads results.h5 and
     * tables/); a job without models has none.  A rerun of fit replaces
     * results.h5 and so leaves report missing. */
    {"report", "results.h5:/report", ks_report_run, 2, {KS_STAGE_PANEL, KS_STAGE_FIT}, report_keys},
};

const char *ks_stage_name(ks_stage_id id)
{
    return id >= 0 && id < KS_NSTAGES ? ks_stages[id].name : "?";
}

int ks_stage_lookup(ks_ctx *ctx, const char *name, ks_stage_id *id)
{
    for (int s = 0; s < KS_NSTAGES; s++)
        if (!strcmp(name, ks_stages[s].name)) {
            *id = (ks_stage_id)s;
            return KS_OK;
        }
    return ks_fail(ctx, KS_EUSAGE, "no stage '%s' in a pipeline (the stages: synth, ingest, "
                   "relatedness, panel, fit, report)", name);
}

static int is_synthetic(const ks_job *job)
{
    return job->synthetic[0] && job->files.n == 0; /* the rule of ingest's inputs */
}

int ks_stage_in_job(const ks_job *job, ks_stage_id id)
{
    if (id == KS_STAGE_SYNTH)
        return is_synthetic(job);
    if (id == KS_STAGE_FIT)
        return job->n_models > 0; /* a job may stop at the panel (and export it) */
    return 1;
}

/* Why a stage is not part of the job. */
static const char *not_in_job(ks_stage_id id)
{
    return id == KS_STAGE_SYNTH ? "the job reads [input] files, not synthetic data"
                                : "the job declares no [model.NAME]";
}

static int stage_inputs(const ks_job *job, ks_stage_id id, const ks_stage_id **inputs)
{
    *inputs = ks_stages[id].inputs;
    if (id == KS_STAGE_INGEST && !is_synthetic(job))
        return 0;
    if (id == KS_STAGE_REPORT && !ks_stage_in_job(job, KS_STAGE_FIT))
        return 1; /* panel only: a job without models has no results.h5 */
    return ks_stages[id].n_inputs;
}

static int output_path(ks_ctx *ctx, const ks_job *job, ks_stage_id id, char *out, size_t n)
{
    return ks_job_output(ctx, job, ks_stages[id].output, out, n);
}

/* ---- settings and inputs of a stage ---- */

/* Synth's settings are those of its options (which may come from the
 * command line rather than a job), spelled as the job keys they stand for,
 * so that `kspill synth --preset tiny --seed 3 --out W/synth` and a job
 * with these keys give the same fingerprint. */
static int synth_settings(ks_ctx *ctx, const ks_synth_options *opt, ks_buf *out)
{
    ks_job tmp;
    int rc;
    ks_job_defaults(&tmp);
    snprintf(tmp.synth_preset, sizeof tmp.synth_preset, "%s", opt->preset);
    tmp.synth_seed = opt->seed;
    tmp.synth_encoding = opt->encoding;
    tmp.first_year = opt->first_year;
    tmp.last_year = opt->last_year;
    rc = ks_job_canonical(ctx, &tmp, synth_keys, out);
    ks_job_free(&tmp);
    return rc;
}

/* Ingest's raw inputs: each file's path, size and modification time (to
 * the nanosecond), in the order ingest reads them.  Their bytes are not
 * read: hashing gigabytes to decide whether to skip a stage would cost
 * what the stage costs. */
static int input_files(ks_ctx *ctx, const ks_job *job, ks_buf *out)
{
    ks_strlist paths = {0};
    int rc = ks_ingest_input_paths(ctx, job, &paths);
    for (size_t i = 0; rc == KS_OK && i < paths.n; i++) {
        struct stat st;
        if (stat(paths.items[i], &st) != 0)
            rc = ks_fail(ctx, KS_EIO, "cannot stat input %s: %s", paths.items[i], strerror(errno));
        else
            rc = ks_buf_printf(ctx, out, "file %s = size %lld, mtime %lld.%09ld\n", paths.items[i],
                               (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                               st.st_mtim.tv_nsec);
    }
    ks_strlist_clear(&paths);
    return rc;
}

int ks_run_expected(ks_ctx *ctx, const ks_job *job, ks_stage_id id,
                    const char upstream[KS_NSTAGES][17], ks_stamp *out)
{
    const ks_stage_id *inputs;
    int n_inputs = stage_inputs(job, id, &inputs);
    ks_stamp_init(out, ks_stages[id].name);
    if (id == KS_STAGE_SYNTH) {
        ks_synth_options opt;
        KS_CHECK(ks_synth_options_from_job(ctx, job, &opt));
        KS_CHECK(synth_settings(ctx, &opt, &out->settings));
    } else {
        KS_CHECK(ks_job_canonical(ctx, job, ks_stages[id].keys, &out->settings));
    }
    if (id == KS_STAGE_INGEST) {
        /* of the [density.NAME] keys ingest reads only whether any declares
         * partners (it keeps imports by partner then): adding a density
         * must not make records.h5 stale */
        int partners = 0;
        for (int d = 0; d < job->n_densities; d++)
            partners |= job->densities[d].partners.n > 0;
        KS_CHECK(ks_buf_printf(ctx, &out->settings, "derived.partner_imports = %s\n",
                               partners ? "yes" : "no"));
    }
    KS_CHECK(ks_buf_printf(ctx, &out->inputs, "%s", ""));
    for (int k = 0; k < n_inputs; k++)
        KS_CHECK(ks_buf_printf(ctx, &out->inputs, "%s = %s\n", ks_stages[inputs[k]].output,
                               upstream[inputs[k]][0] ? upstream[inputs[k]] : "none"));
    if (id == KS_STAGE_INGEST)
        KS_CHECK(input_files(ctx, job, &out->inputs));
    return ks_stamp_seal(ctx, out);
}

/* The stamp a stage run now gets: its upstream outputs' fingerprints as
 * they are on disk (a missing one counts as "none": the stage itself then
 * fails with its own message).  Rank 0 reads, every rank gets it. */
static int stamp_begin(ks_ctx *ctx, const ks_job *job, ks_stage_id id, ks_stamp *out)
{
    char fps[KS_NSTAGES][17];
    const ks_stage_id *inputs;
    int n_inputs = stage_inputs(job, id, &inputs), rc = KS_OK;
    memset(fps, 0, sizeof fps);
    ks_stamp_init(out, ks_stages[id].name);
    for (int k = 0; ctx->rank == 0 && rc == KS_OK && k < n_inputs; k++) {
        char path[KS_PATH_MAX];
        ks_stamp up;
        int found = 0;
        ks_stamp_init(&up, "");
        rc = output_path(ctx, job, inputs[k], path, sizeof path);
        if (rc == KS_OK)
            rc = ks_stamp_read(ctx, path, &up, &found);
        if (rc == KS_OK && found == 1)
            memcpy(fps[inputs[k]], up.fingerprint, sizeof fps[0]);
        ks_stamp_free(&up);
    }
    if (ctx->rank == 0 && rc == KS_OK) {
        ks_stamp_free(out);
        rc = ks_run_expected(ctx, job, id, fps, out);
    }
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(ks_stamp_bcast(ctx, out));
    out->t0 = ks_now(); /* the stage's wall time starts now, on every rank */
    ks_peak_memory_reset();
    return KS_OK;
}

/* ---- running stages ---- */

/* Synth writes CSV files, so its stamp is a file beside them, removed
 * before and written after: no stamp while the files are half written. */
static int synth_stamped(ks_ctx *ctx, const ks_synth_options *opt, const ks_stamp *stamp)
{
    char path[KS_PATH_MAX];
    ks_stamp_usage use;
    int rc = KS_OK;
    if (snprintf(path, sizeof path, "%s/%s", opt->outdir, KS_STAMP_FILE) >= (int)sizeof path)
        return ks_fail(ctx, KS_EUSAGE, "synth folder %s: path too long", opt->outdir);
    if (ctx->rank == 0 && unlink(path) != 0 && errno != ENOENT)
        rc = ks_fail(ctx, KS_EIO, "cannot remove %s: %s", path, strerror(errno));
    KS_CHECK(ks_mpi_agree(ctx, rc));
    KS_CHECK(ks_synth_run(ctx, opt));
    /* every rank measures (the peak memory is the largest rank's); rank 0 writes */
    KS_CHECK(ks_stamp_measure(ctx, stamp, &use));
    rc = ctx->rank == 0 ? ks_stamp_write_file(ctx, path, stamp, &use) : KS_OK;
    return ks_mpi_agree(ctx, rc);
}

static int run_synth_stage(ks_ctx *ctx, const ks_job *job, const ks_stamp *stamp)
{
    ks_synth_options opt;
    KS_CHECK(ks_synth_options_from_job(ctx, job, &opt));
    return synth_stamped(ctx, &opt, stamp);
}

int ks_run_synth(ks_ctx *ctx, const ks_synth_options *opt)
{
    ks_stamp st;
    int rc;
    ks_stamp_init(&st, ks_stages[KS_STAGE_SYNTH].name);
    rc = synth_settings(ctx, opt, &st.settings);
    if (rc == KS_OK)
        rc = ks_buf_printf(ctx, &st.inputs, "%s", "");
    if (rc == KS_OK)
        rc = ks_stamp_seal(ctx, &st);
    if (rc == KS_OK)
        rc = synth_stamped(ctx, opt, &st);
    ks_stamp_free(&st);
    return rc;
}

int ks_run_stage(ks_ctx *ctx, const ks_job *job, ks_stage_id id)
{
    ks_stamp st;
    int rc = stamp_begin(ctx, job, id, &st);
    if (rc == KS_OK)
        rc = ks_stages[id].run(ctx, job, &st);
    ks_stamp_free(&st);
    return rc;
}

int ks_run_fit_model(ks_ctx *ctx, const ks_job *job, const char *model)
{
    ks_stamp st;
    int rc = stamp_begin(ctx, job, KS_STAGE_FIT, &st);
    if (rc == KS_OK)
        rc = ks_fit_run_one(ctx, job, &st, model);
    ks_stamp_free(&st);
    return rc;
}

/* ---- why an output is not current ---- */

/* The value of `key` in "key = value" lines, or NULL; *len its length. */
static const char *line_value(const char *text, const char *key, size_t klen, size_t *len)
{
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n'), *eq = strstr(p, " = ");
        if (!end)
            end = p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) == klen && !memcmp(p, key, klen)) {
            *len = (size_t)(end - eq - 3);
            return eq + 3;
        }
        p = *end ? end + 1 : end;
    }
    return NULL;
}

/* Append to `out` the keys whose values differ between two texts of
 * "key = value" lines: "key = new (was old)", "key = new (new)", "key
 * removed"; inputs are named only ("input records.h5 changed").  Returns how many. */
static int diff_lines(const char *was, const char *now, int names_only, const char *prefix,
                      char *out, size_t n, int shown)
{
    int count = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *a = pass == 0 ? now : was, *b = pass == 0 ? was : now;
        for (const char *p = a ? a : ""; *p;) {
            const char *end = strchr(p, '\n'), *eq = strstr(p, " = "), *v;
            size_t len = 0, klen;
            if (!end)
                end = p + strlen(p);
            if (!eq || eq > end) {
                p = *end ? end + 1 : end;
                continue;
            }
            klen = (size_t)(eq - p);
            v = line_value(b ? b : "", p, klen, &len);
            if (pass == 1 && v) { /* present in both: seen in pass 0 */
                p = *end ? end + 1 : end;
                continue;
            }
            if (pass == 0 && v && len == (size_t)(end - eq - 3) && !memcmp(v, eq + 3, len)) {
                p = *end ? end + 1 : end;
                continue;
            }
            if (shown + count < 3) {
                size_t at = strlen(out);
                if (names_only)
                    snprintf(out + at, n - at, "%s%s%.*s %s", at ? "; " : "", prefix, (int)klen, p,
                             pass == 1 ? "removed" : v ? "changed" : "added");
                else if (pass == 1)
                    snprintf(out + at, n - at, "%s%.*s removed", at ? "; " : "", (int)klen, p);
                else if (v)
                    snprintf(out + at, n - at, "%s%.*s (was %.*s)", at ? "; " : "",
                             (int)(end - p), p, (int)len, v);
                else
                    snprintf(out + at, n - at, "%s%.*s (new)", at ? "; " : "", (int)(end - p), p);
            }
            count++;
            p = *end ? end + 1 : end;
        }
    }
    return count;
}

/* Why the stamp `have` of an output differs from `want`, in a few words. */
static void explain(const ks_stamp *have, const ks_stamp *want, char *out, size_t n)
{
    int count = 0;
    out[0] = '\0';
    if (strcmp(have->version, want->version)) {
        snprintf(out, n, "made by kspill %s, this is %s", have->version[0] ? have->version : "?",
                 want->version);
        count++;
    }
    count += diff_lines(have->settings.data, want->settings.data, 0, "", out, n, count);
    count += diff_lines(have->inputs.data, want->inputs.data, 1, "input ", out, n, count);
    if (count > 3) {
        size_t at = strlen(out);
        snprintf(out + at, n - at, "; and %d more", count - 3);
    }
    if (!out[0])
        snprintf(out, n, "fingerprint %s, the job's is %s", have->fingerprint, want->fingerprint);
}

/* ---- kspill run ---- */

typedef struct run_decision {
    int skip;
    char reason[768];
    double wall;        /* of the output being kept */
} run_decision;

/* Rank 0: keep the output of stage `id`, or run it and why. */
static int decide(ks_ctx *ctx, const ks_job *job, const ks_run_options *opt, ks_stage_id id,
                  const ks_stamp *want, run_decision *d)
{
    char path[KS_PATH_MAX];
    ks_stamp have;
    int found = 0;
    const char *out = ks_stages[id].output;
    memset(d, 0, sizeof *d);
    KS_CHECK(output_path(ctx, job, id, path, sizeof path));
    KS_CHECK(ks_stamp_read(ctx, path, &have, &found));
    if (opt->force)
        snprintf(d->reason, sizeof d->reason, "--force");
    else if (opt->from >= 0 && (int)id >= opt->from)
        snprintf(d->reason, sizeof d->reason, "--from %s", ks_stage_name((ks_stage_id)opt->from));
    else if (found == 0)
        snprintf(d->reason, sizeof d->reason, "%s is missing", out);
    else if (found == 2)
        snprintf(d->reason, sizeof d->reason, "%s has no fingerprint", out);
    else if (found == 3)
        snprintf(d->reason, sizeof d->reason, "%s cannot be read", out);
    else if (strcmp(have.fingerprint, want->fingerprint)) {
        char why[640];
        explain(&have, want, why, sizeof why);
        snprintf(d->reason, sizeof d->reason, "%s is stale: %s", out, why);
    } else {
        d->skip = 1;
        d->wall = have.wall_seconds;
    }
    ks_stamp_free(&have);
    return KS_OK;
}

/* Rank 0: the stage wrote the fingerprint it was given (a stage that did
 * not would rerun at every run). */
static int check_written(ks_ctx *ctx, const ks_job *job, ks_stage_id id, const ks_stamp *want)
{
    char path[KS_PATH_MAX];
    ks_stamp have;
    int found = 0, rc;
    KS_CHECK(output_path(ctx, job, id, path, sizeof path));
    rc = ks_stamp_read(ctx, path, &have, &found);
    if (rc == KS_OK && (found != 1 || strcmp(have.fingerprint, want->fingerprint)))
        rc = ks_fail(ctx, KS_EINTERNAL, "stage %s finished but %s does not hold its fingerprint %s",
                     ks_stages[id].name, path, want->fingerprint);
    ks_stamp_free(&have);
    return rc;
}

static int check_synth_preset(ks_ctx *ctx, const ks_job *job)
{
    if (!ks_stage_in_job(job, KS_STAGE_SYNTH) || !strcmp(job->synthetic, job->synth_preset))
        return KS_OK;
    return ks_fail(ctx, KS_EUSAGE, "[input] synthetic = %s, but [synth] preset = %s: kspill run "
                   "would generate %s data for a job on %s data; set [synth] preset = %s",
                   job->synthetic, job->synth_preset, job->synth_preset, job->synthetic,
                   job->synthetic);
}

int ks_run_pipeline(ks_ctx *ctx, const ks_job *job, const ks_run_options *opt)
{
    double start = ks_now();
    int ran = 0, kept = 0;
    KS_CHECK(check_synth_preset(ctx, job));
    if (opt->from >= 0 && !ks_stage_in_job(job, (ks_stage_id)opt->from))
        return ks_fail(ctx, KS_EUSAGE, "--from %s: the job has no %s stage (%s)",
                       ks_stage_name((ks_stage_id)opt->from), ks_stage_name((ks_stage_id)opt->from),
                       not_in_job((ks_stage_id)opt->from));
    for (int s = 0; s < KS_NSTAGES; s++) {
        ks_stage_id id = (ks_stage_id)s;
        ks_stamp want;
        run_decision d;
        int rc;
        double t0 = ks_now();
        int stop = 0;
        if (!ks_stage_in_job(job, id))
            continue;
        /* a signal during a stage that cannot stop halfway stops the run here */
        KS_CHECK(ks_mpi_stop_requested(ctx, &stop));
        if (stop)
            return ks_fail(ctx, KS_EINTERRUPTED, "run stopped by a signal before stage %s; the "
                           "stages done are kept: run the same command again to go on",
                           ks_stages[id].name);
        memset(&d, 0, sizeof d);
        rc = stamp_begin(ctx, job, id, &want);
        if (rc == KS_OK)
            rc = ks_mpi_agree(ctx, ctx->rank == 0 ? decide(ctx, job, opt, id, &want, &d) : KS_OK);
        if (rc == KS_OK)
            rc = ks_mpi_bcast(ctx, &d.skip, sizeof d.skip);
        if (rc == KS_OK && d.skip) {
            ks_info(ctx, "run: %-11s skipped: %s is current (fingerprint %s, made in %.1f s) [%.1f s]",
                    ks_stages[id].name, ks_stages[id].output, want.fingerprint, d.wall,
                    ks_now() - start);
            kept++;
        } else if (rc == KS_OK) {
            ks_info(ctx, "run: %-11s started: %s [%.1f s]", ks_stages[id].name, d.reason,
                    ks_now() - start);
            want.t0 = ks_now();
            ks_peak_memory_reset(); /* the stage's own peak, not the run's so far */
            rc = ks_stages[id].run(ctx, job, &want);
            if (rc == KS_OK)
                rc = ks_mpi_agree(ctx, ctx->rank == 0 ? check_written(ctx, job, id, &want) : KS_OK);
            if (rc == KS_OK)
                ks_info(ctx, "run: %-11s done in %.1f s: %s, fingerprint %s [%.1f s]",
                        ks_stages[id].name, ks_now() - t0, ks_stages[id].output, want.fingerprint,
                        ks_now() - start);
            else
                ks_fail_context(ctx, "kspill run: stage %s", ks_stages[id].name);
            ran++;
        }
        ks_stamp_free(&want);
        KS_CHECK(rc);
    }
    ks_info(ctx, "run: every stage current: %d run, %d skipped, %.1f s", ran, kept, ks_now() - start);
    return ks_stage_in_job(job, KS_STAGE_FIT) ? ks_fit_print_tables(ctx, job) : KS_OK;
}

/* ---- kspill status ---- */

typedef struct status_line {
    const char *state;   /* done, stale, missing, missing-input, partial */
    char note[768];
} status_line;

/* Rank 0: judge every stage against the fingerprints the job gives it
 * now, each computed from the upstream ones the job gives (not those on
 * disk): a stage downstream of a stale one is stale too. */
static int status_lines(ks_ctx *ctx, const ks_job *job, status_line *lines)
{
    char fps[KS_NSTAGES][17];
    int known[KS_NSTAGES], present[KS_NSTAGES], done[KS_NSTAGES];
    memset(fps, 0, sizeof fps);
    memset(present, 0, sizeof present);
    memset(done, 0, sizeof done);
    for (int s = 0; s < KS_NSTAGES; s++) {
        ks_stage_id id = (ks_stage_id)s;
        const ks_stage_id *inputs;
        int n_inputs = stage_inputs(job, id, &inputs), found = 0, rc;
        char path[KS_PATH_MAX], unknown_why[600] = "";
        ks_stamp want, have;
        status_line *L = &lines[s];
        known[s] = 0;
        if (!ks_stage_in_job(job, id))
            continue;
        ks_stamp_init(&have, "");
        for (int k = 0; k < n_inputs && !unknown_why[0]; k++)
            if (!known[inputs[k]])
                snprintf(unknown_why, sizeof unknown_why, "its input %s will change (%s is not "
                         "current)", ks_stages[inputs[k]].output, ks_stages[inputs[k]].name);
        /* ingest's fingerprint holds its files' times, which a synth run changes */
        if (id == KS_STAGE_INGEST && is_synthetic(job) && !done[KS_STAGE_SYNTH] && !unknown_why[0])
            snprintf(unknown_why, sizeof unknown_why, "its input files will be rewritten (synth is "
                     "not current)");
        ks_stamp_init(&want, ks_stages[s].name);
        if (!unknown_why[0]) {
            ks_stamp_free(&want);
            rc = ks_run_expected(ctx, job, id, fps, &want);
            if (rc == KS_EIO || rc == KS_EUSAGE) { /* its input files cannot be read */
                snprintf(unknown_why, sizeof unknown_why, "its inputs cannot be read: %.500s", ctx->msg);
                ks_clear_error(ctx);
            } else if (rc != KS_OK) {
                ks_stamp_free(&want);
                ks_stamp_free(&have);
                return rc;
            }
        }
        rc = output_path(ctx, job, id, path, sizeof path);
        if (rc == KS_OK)
            rc = ks_stamp_read(ctx, path, &have, &found);
        if (rc != KS_OK) {
            ks_stamp_free(&want);
            ks_stamp_free(&have);
            return rc;
        }
        present[s] = found != 0;
        known[s] = !unknown_why[0];
        if (known[s])
            memcpy(fps[s], want.fingerprint, sizeof fps[s]);
        if (found == 0) {
            L->state = "missing";
        } else if (found == 2 || found == 3) {
            L->state = "stale";
            snprintf(L->note, sizeof L->note, "%s", found == 2 ? "no fingerprint (made before "
                     "kspill run, or not by kspill)" : "cannot be read");
        } else if (!known[s]) {
            L->state = "stale";
            snprintf(L->note, sizeof L->note, "%s", unknown_why);
        } else if (strcmp(have.fingerprint, want.fingerprint)) {
            L->state = "stale";
            explain(&have, &want, L->note, sizeof L->note);
        } else {
            int k, lost = -1;
            for (k = 0; k < n_inputs; k++)
                if (!present[inputs[k]])
                    lost = inputs[k];
            L->state = lost < 0 ? "done" : "missing-input";
            done[s] = lost < 0;
            if (lost < 0)
                snprintf(L->note, sizeof L->note, "%.1f s, fingerprint %s", have.wall_seconds,
                         have.fingerprint);
            else
                snprintf(L->note, sizeof L->note, "fingerprint %s matches, but its input %s is "
                         "missing: kspill run remakes it and keeps %s if that still matches",
                         have.fingerprint, ks_stages[lost].output, ks_stages[s].output);
        }
        /* a fit stopped by a signal: its checkpoint of the current fingerprint */
        if (id == KS_STAGE_FIT && known[s] && strcmp(L->state, "done") != 0) {
            int partial = 0;
            rc = ks_fit_ckpt_peek(ctx, job, want.fingerprint, &partial, L->note, sizeof L->note);
            if (rc != KS_OK) {
                ks_stamp_free(&want);
                ks_stamp_free(&have);
                return rc;
            }
            if (partial)
                L->state = "partial";
        }
        ks_stamp_free(&want);
        ks_stamp_free(&have);
    }
    return KS_OK;
}

int ks_run_status(ks_ctx *ctx, const ks_job *job)
{
    status_line lines[KS_NSTAGES];
    int rc = KS_OK;
    memset(lines, 0, sizeof lines);
    if (ctx->rank == 0)
        rc = status_lines(ctx, job, lines);
    KS_CHECK(ks_mpi_agree(ctx, rc));
    if (ctx->rank != 0)
        return KS_OK;
    printf("job %s (%s), workdir %s, kspill %s\n", job->name, job->path[0] ? job->path : "no file",
           job->workdir, KS_VERSION);
    for (int s = 0; s < KS_NSTAGES; s++)
        if (!ks_stage_in_job(job, (ks_stage_id)s))
            printf("%-12s %-14s %-22s %s\n", ks_stages[s].name, "-", "", not_in_job((ks_stage_id)s));
        else if (lines[s].note[0])
            printf("%-12s %-14s %-22s %s\n", ks_stages[s].name, lines[s].state, ks_stages[s].output,
                   lines[s].note);
        else
            printf("%-12s %-14s %s\n", ks_stages[s].name, lines[s].state, ks_stages[s].output);
    fflush(stdout);
    return KS_OK;
}
