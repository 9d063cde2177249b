/* ks_fit_ckpt.h - the fit stage's checkpoint: where every model stands.
 *
 * WORKDIR/fit.checkpoint (docs/pipeline.md) records, after every Newton
 * iteration, for each model reached so far: whether it has converged, its
 * iterations and its coefficients to the last bit (hexadecimal floats),
 * under the fingerprint of the fit it belongs to.  A fit that starts with a
 * checkpoint of its own fingerprint restarts each recorded model from its
 * coefficients: Newton's next evaluation there is the one the interrupted run
 * would have made, so the results are bit-for-bit those of a run without the
 * interruption.  Written by rank 0 under a temporary name and renamed, so it
 * is always whole; removed when the fit's outputs are written. */
#ifndef KS_FIT_CKPT_H
#define KS_FIT_CKPT_H

#include "ks_error.h"
#include "ks_job.h"

typedef struct ks_fit_ckpt_model {
    char name[64];
    int done;        /* converged or stopped: the estimate is final */
    int iterations;  /* accepted Newton steps so far */
    int p;
    double *beta;    /* [p] */
} ks_fit_ckpt_model;

typedef struct ks_fit_ckpt {
    const ks_job *job;
    char path[KS_PATH_MAX];
    char fingerprint[17];  /* of the fit; "" = no checkpointing */
    int n;
    ks_fit_ckpt_model *models;
} ks_fit_ckpt;

/* Open the checkpoint of a fit with this fingerprint (NULL or "": none is
 * kept): load WORKDIR/fit.checkpoint when it holds the same fingerprint
 * (every rank reads it), else start empty.  With `only` (kspill fit --model
 * NAME: one model, e.g. one task of a Slurm job array) the file is
 * WORKDIR/fit.checkpoint.NAME; without, every such file of a model of the
 * job is read too, so a fit after the array finds its models done. */
int ks_fit_ckpt_open(ks_ctx *ctx, const ks_job *job, const char *fingerprint, const char *only,
                     ks_fit_ckpt *c);

/* One process (kspill status): *found = 1 when WORKDIR/fit.checkpoint holds
 * this fingerprint, with a line on where it stands in `note`. */
int ks_fit_ckpt_peek(ks_ctx *ctx, const ks_job *job, const char *fingerprint, int *found, char *note,
                     size_t n);

/* The record of a model, or NULL. */
const ks_fit_ckpt_model *ks_fit_ckpt_find(const ks_fit_ckpt *c, const char *name);

/* Record where a model stands and rewrite the file (collective: rank 0
 * writes, every rank learns the outcome). */
int ks_fit_ckpt_save(ks_ctx *ctx, ks_fit_ckpt *c, const char *name, int done, int iterations, int p,
                     const double *beta);

/* Remove the file and the per-model files of the job (the fit is complete)
 * and free. */
int ks_fit_ckpt_finish(ks_ctx *ctx, ks_fit_ckpt *c);
void ks_fit_ckpt_free(ks_fit_ckpt *c);

#endif
