/* ks_run.h - the pipeline of a job: its stages in order, what each reads and
 * writes, their fingerprints, and the commands `kspill run` (every stage
 * whose output is not current, in one MPI program) and `kspill status`.
 * docs/pipeline.md describes the rules. */
#ifndef KS_RUN_H
#define KS_RUN_H

#include "ks_error.h"
#include "ks_job.h"
#include "ks_stamp.h"
#include "ks_synth.h"

/* The stages `kspill run` knows, in pipeline order. */
typedef enum ks_stage_id {
    KS_STAGE_SYNTH,
    KS_STAGE_INGEST,
    KS_STAGE_RELATEDNESS,
    KS_STAGE_PANEL,
    KS_STAGE_FIT,
    KS_STAGE_REPORT,
    KS_NSTAGES
} ks_stage_id;

const char *ks_stage_name(ks_stage_id id);
/* The stage called `name`; KS_EUSAGE naming the stages when there is none. */
int ks_stage_lookup(ks_ctx *ctx, const char *name, ks_stage_id *id);
/* Whether the job's pipeline has the stage: synth only when the job runs on
 * synthetic data ([input] synthetic set and [input] files empty, as ingest
 * decides where to read); every other stage always. */
int ks_stage_in_job(const ks_job *job, ks_stage_id id);

/* `kspill STAGE JOB.ini`: one stage, stamped with the fingerprint of the job
 * and of its inputs as they are on disk now, so that a later `kspill run`
 * knows its output is current.  Collective.  (Synth of a job too.) */
int ks_run_stage(ks_ctx *ctx, const ks_job *job, ks_stage_id id);

/* kspill fit --model NAME: one model of the job, stamped with fit's
 * fingerprint and recorded in its checkpoint (ks_fit_run_one). */
int ks_run_fit_model(ks_ctx *ctx, const ks_job *job, const char *model);

/* `kspill synth` with explicit options (--out DIR, --preset, no job file):
 * the stamp in DIR/fingerprint.txt is that of a job with these settings.
 * Collective. */
int ks_run_synth(ks_ctx *ctx, const ks_synth_options *opt);

typedef struct ks_run_options {
    int force;  /* rerun every stage */
    int from;   /* a ks_stage_id: rerun it and every later stage; -1 for none */
} ks_run_options;

/* `kspill run`: each stage of the job in order, skipped when its output holds
 * the fingerprint the job gives it now; rank 0 prints a line per stage, then
 * the fit's Markdown tables.  Collective. */
int ks_run_pipeline(ks_ctx *ctx, const ks_job *job, const ks_run_options *opt);

/* `kspill status`: one line per stage on stdout (rank 0): done, stale (and
 * why), missing, or missing-input.  Collective; runs nothing. */
int ks_run_status(ks_ctx *ctx, const ks_job *job);

/* The stamp the job gives stage `id` when its upstream outputs carry the
 * fingerprints `upstream` (indexed by stage; "" for none): settings, inputs
 * and fingerprint.  Ingest reads its input files' size and time.  One
 * process; the caller frees `out`.  (For the tests and for status.) */
int ks_run_expected(ks_ctx *ctx, const ks_job *job, ks_stage_id id,
                    const char upstream[KS_NSTAGES][17], ks_stamp *out);

#endif
