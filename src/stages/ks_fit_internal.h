/* ks_fit_internal.h - what the files of stage fit share: the panel columns a
 * rank holds, a model's design, and the fixed-order block reduction that
 * makes every sum independent of ranks and threads. */
#ifndef KS_FIT_INTERNAL_H
#define KS_FIT_INTERNAL_H

#include <hdf5.h>
#include <stdint.h>

#include "ks_error.h"
#include "ks_fit_result.h"
#include "ks_glm.h"
#include "ks_job.h"

/* Sums run over fixed global blocks of panel rows: block b holds rows
 * [b*KS_FIT_BLOCK, (b+1)*KS_FIT_BLOCK).  Each block is summed by one thread
 * in row order, and blocks are folded in block order across ranks. */
#define KS_FIT_BLOCK 65536
#define KS_FIT_MAX_COLS 64
#define KS_FIT_MAX_X 32
#define KS_FIT_MAX_FE 8

/* The panel columns this rank holds: rows [row0, row0 + nrows) of the
 * file, which are the global blocks [block0, block1). */
typedef struct ks_fit_panel {
    char path[KS_PATH_MAX];
    int64_t total;            /* rows in the file */
    int64_t row0, nrows;
    int64_t block0, block1;
    int ncols;
    char names[KS_FIT_MAX_COLS][64];
    /* each column as small as it is stored: integers of 8 to 32 bits as
     * such (year, industry, region...: a quarter of the memory or less),
     * anything else as double; read through ks_fit_value(s) */
    void *cols[KS_FIT_MAX_COLS];
    int type[KS_FIT_MAX_COLS];      /* KS_FIT_F64, KS_FIT_I8, KS_FIT_I16 or KS_FIT_I32 */
    char *codes[KS_FIT_MAX_COLS];   /* the "codes" attribute, or NULL */
    /* 1 when no row this rank holds is NaN or infinite (always for
     * integers): the models' samples then need no look at the column */
    uint8_t all_finite[KS_FIT_MAX_COLS];
    /* an integer column's least and greatest value on all ranks (lo > hi:
     * no rows), so that a fixed effect's levels are counted in one pass */
    int64_t lo[KS_FIT_MAX_COLS], hi[KS_FIT_MAX_COLS];
} ks_fit_panel;

enum { KS_FIT_F64, KS_FIT_I8, KS_FIT_I16, KS_FIT_I32 };

/* The first block of rank r of nranks when nb blocks are split evenly
 * (the split ks_fit_panel_read reads; ks_fit_panel_balance moves from it). */
static inline int64_t ks_fit_even_block(int64_t nb, int r, int nranks)
{
    return nb * r / nranks;
}

/* Bytes a row of a column held as `type` takes. */
static inline size_t ks_fit_type_size(int type)
{
    return type == KS_FIT_I8 ? 1 : type == KS_FIT_I16 ? 2 : type == KS_FIT_I32 ? 4 : sizeof(double);
}

/* Row r of column c as a double (exact: integers of up to 32 bits). */
static inline double ks_fit_value(const ks_fit_panel *pn, int c, int64_t r)
{
    switch (pn->type[c]) {
    case KS_FIT_I8: return ((const int8_t *)pn->cols[c])[r];
    case KS_FIT_I16: return ((const int16_t *)pn->cols[c])[r];
    case KS_FIT_I32: return ((const int32_t *)pn->cols[c])[r];
    default: return ((const double *)pn->cols[c])[r];
    }
}

/* Rows [r0, r0 + n) of column c as doubles: the column itself when it
 * holds doubles, else converted into buf (n doubles). */
const double *ks_fit_values(const ks_fit_panel *pn, int c, int64_t r0, int64_t n, double *buf);

/* One model's estimation sample, compacted: only rows that pass the filter
 * and have no NaN; block_start[k] is the first compact row of global block
 * block0 + k. */
typedef struct ks_fit_design {
    const ks_model_spec *spec;
    int link;                          /* KS_GLM_* */
    int nx;
    char xname[KS_FIT_MAX_X][96];
    int factor[KS_FIT_MAX_X][2];       /* panel column of each factor; [1] = -1 if none */
    int nfe;
    int fe_col[KS_FIT_MAX_FE];
    int64_t fe_min[KS_FIT_MAX_FE], fe_range[KS_FIT_MAX_FE];
    int32_t *fe_index[KS_FIT_MAX_FE];  /* [range]: level - min -> parameter, -1 none */
    int fe_levels[KS_FIT_MAX_FE];      /* parameters of each fixed effect */
    int p;
    int cluster_col;                   /* -1 unless se = cluster */
    int64_t n_local;
    double *x;                         /* the columns' buffer: slots of n_local doubles */
    int xslots;                        /* the slots in x (the widest model to come) */
    double *xcol[KS_FIT_MAX_X];        /* x_j of row i at xcol[j][i]: a slot of x */
    double *y;                         /* the outcome (LPM), or NULL */
    uint8_t *y01;                      /* a 0/1 outcome (probit, logit), or NULL */
    /* The rows are sorted by their fixed-effect levels within each block, so
     * the levels are held per run of equal levels, not per row: change lists
     * the rows whose levels differ from the row before, run_fe the levels of
     * each run ([nchange + 1][nfe], ks_glm.h). */
    int64_t *change, nchange;
    int32_t *run_fe;
    size_t change_cap, run_cap;        /* elements, while the runs are found */
    int64_t *cl;                       /* cluster ids, or NULL */
    int borrowed;                      /* x, y, fe, cl belong to a ks_fit_scratch */
    struct ks_fit_scratch *scratch;    /* the block sums' buffer to reuse, or NULL */
    int64_t block0;                    /* the global index of this rank's first block */
    int64_t nblocks;
    int64_t *block_start;              /* [nblocks + 1] */
    int64_t n, n_pos;                  /* global */
    double sd[KS_FIT_MAX_X];           /* standardize: the sds used */
    int *active;                       /* [p]: 1 estimated, 0 dropped (collinear) */
    ks_buf notes;                      /* messages for result->message */
} ks_fit_design;

/* The sample of the last design built, kept so that the next model on the
 * same sample takes it whole and only gathers its own x columns: the same
 * usable rows (before levels that predict the outcome perfectly are
 * dropped), outcome, fixed effects, filter, link family and clusters, as in
 * Table 1's models (1)-(5).  Its y, fe and cl stay in the scratch buffers
 * (ks_fit_design.c). */
typedef struct ks_fit_sample_cache {
    int valid;
    const ks_model_spec *spec;         /* the model it was built for */
    uint8_t *usable;                   /* [nrows]: the usable rows, before dropping */
    uint16_t *offset;                  /* [n_local]: each design row's row in its block */
    size_t usable_cap, offset_cap;     /* elements */
    int64_t fe_min[KS_FIT_MAX_FE], fe_range[KS_FIT_MAX_FE];
    int32_t *fe_index[KS_FIT_MAX_FE];
    int fe_levels[KS_FIT_MAX_FE];
    int cluster_col;                   /* cl in the scratch holds this column, or -1 */
    int nx, p;                         /* parameters are numbered x terms, _cons, levels:
                                          fe_index and fe in the scratch follow nx */
    int64_t n_local, n, n_pos;
    int64_t *block_start;              /* [nblocks + 1] */
    ks_buf notes;                      /* the sample's notes (levels dropped) */
    /* The x columns the scratch holds for this sample as gathered (not
     * standardized): slot k < xheld of the design's x buffer holds the
     * product of panel columns xfactor[k] ([1] = -1: one column; [0] = -1:
     * nothing).  The next model on the sample uses them where they are
     * instead of gathering them again. */
    int xheld;
    int xfactor[KS_FIT_MAX_X][2];
    int64_t *change, nchange;          /* the sample's runs of levels, numbered for nx */
    int32_t *run_fe;                   /* [nchange + 1][nfe] */
} ks_fit_sample_cache;

/* The block order of the largest sample built so far whose sort key held
 * every fixed effect: a later sample on the same fixed effects whose rows
 * it contains (Table 2's subsamples of model (4)) takes its order from here,
 * the rows it keeps in the same order, instead of sorting each block again
 * (ks_fit_design.c says why the order is the same). */
typedef struct ks_fit_order_cache {
    int valid;
    int nfe, fe_col[KS_FIT_MAX_FE];
    int64_t n;                         /* rows */
    uint16_t *offset;                  /* [n]: each row's place in its block */
    size_t offset_cap;                 /* elements */
    int64_t *block_start;              /* [nblocks + 1] */
    int64_t nblocks;
} ks_fit_order_cache;

/* Memory the designs of successive models reuse (x, y, fe, cl): a fresh
 * page costs a fault and the kernel's zeroing, which on the full panel took
 * as long as building the design; every element is overwritten. */
typedef struct ks_fit_scratch {
    void *buf[6];                      /* x, y, (unused), cl, the sample's two row masks */
    size_t cap[6];                     /* bytes */
    double *sums;                      /* ks_fit_reduce's block sums: p*p doubles a block
                                          for a Hessian, tens of MB an evaluation */
    size_t sums_cap;                   /* doubles */
    int x_columns;                     /* the most x columns of the models to come: x is
                                          sized for them at once, not grown model by model */
    ks_fit_sample_cache sample;
    ks_fit_order_cache order;
} ks_fit_scratch;

void ks_fit_scratch_free(ks_fit_scratch *s);

/* A block function adds the rows [begin, end) of the design to acc. */
typedef void (*ks_fit_block_fn)(const ks_fit_design *d, int64_t begin, int64_t end, double *acc,
                                 void *arg);

/* out[0..nacc) = the sum over all global blocks, folded in block order.
 * Collective; the same bits on every rank for any ranks x threads. */
int ks_fit_reduce(ks_ctx *ctx, const ks_fit_design *d, int nacc, ks_fit_block_fn fn, void *arg,
                  double *out);

/* ks_fit_data.c */
/* The conditions of `where`: "col op value [and col op value ...]". */
typedef struct ks_where {
    int n;
    char col[16][64];
    char op[16][3];
    char value[16][64];
} ks_where;

/* The panel column named `name`, or -1. */
int ks_fit_column_of(const ks_fit_panel *pn, const char *name);
/* Split "a*b" into factors; returns how many (1 or 2), -1 when malformed. */
int ks_fit_split_term(const char *term, char f[2][64]);
int ks_fit_parse_where(ks_ctx *ctx, const ks_model_spec *m, ks_where *w);
int ks_fit_panel_read(ks_ctx *ctx, const ks_job *job, ks_fit_panel *pn);
/* Moves whole blocks between ranks so that each holds about as many rows
 * with every column finite as the others (ks_fit_balance.c); *moved: 1
 * when the split changed (all_finite is then stale).  Collective. */
int ks_fit_panel_balance(ks_ctx *ctx, ks_fit_panel *pn, int *moved);
void ks_fit_panel_free(ks_fit_panel *pn);

/* ks_fit_design.c; scratch: the buffers to reuse (the design borrows them until it is
 * freed), or NULL to allocate the design's own. */
int ks_fit_design_build(ks_ctx *ctx, const ks_fit_panel *pn, const ks_model_spec *spec,
                        ks_fit_scratch *scratch, ks_fit_design *d);
void ks_fit_design_free(ks_fit_design *d);
void ks_fit_design_rows(const ks_fit_design *d, ks_glm_rows *rows);
int ks_fit_note(ks_ctx *ctx, ks_fit_design *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ks_fit_levels.c: the design's fixed-effect levels from the usable rows
 * keep[nrows] (of them the ones the filter passes: filtered): the outcome
 * checked, the levels that predict it perfectly dropped from keep, fe_min,
 * fe_range, fe_index, fe_levels and p set, notes added.  Collective. */
int ks_fit_levels(ks_ctx *ctx, const ks_fit_panel *pn, ks_fit_design *d, uint8_t *keep, const uint8_t *filtered,
                  int ycol);

/* ks_fit_newton.c: beta[p] in, estimates out; h[p*p] = the Hessian at the
 * returned beta, g the gradient, *ll the log-likelihood. */
typedef struct ks_fit_state {
    double *beta, *g, *h;
    double ll;
    double sst; /* lpm: total sum of squares */
    int iterations, converged;
    int evaluated;       /* ll, g and h already hold the values at beta */
    int iterations0;     /* Newton resumes after this many steps (checkpoint) */
    struct ks_fit_ckpt *ckpt; /* recorded after every step; NULL: none */
} ks_fit_state;
/* Evaluates the model at beta = 0 into st (evaluated = 1: Newton starts from
 * it) and drops the columns that are collinear with earlier ones. */
int ks_fit_collinear(ks_ctx *ctx, ks_fit_design *d, ks_fit_state *st);
int ks_fit_newton(ks_ctx *ctx, const ks_job *job, ks_fit_design *d, ks_fit_state *st);
/* Inverse of -H over the active parameters, 0 elsewhere: v[p*p]. */
int ks_fit_invert(ks_ctx *ctx, const ks_fit_design *d, const double *h, double *v);

/* ks_fit_margins.c: rows E[na][p] of the linear map from parameters to the
 * reported quantities' derivatives (terms: unit rows; margins: Jacobians),
 * and their values. */
typedef struct ks_fit_report {
    int na;                      /* rows: terms (nx + 1) then each margin */
    double *e;                   /* [na][p] */
    double *value;               /* [na] */
    char (*name)[96];            /* [na] */
    int kind_first[KS_NKINDS], kind_n[KS_NKINDS];
} ks_fit_report;
int ks_fit_margins(ks_ctx *ctx, ks_fit_design *d, const ks_fit_state *st, ks_fit_report *rep);
void ks_fit_report_free(ks_fit_report *rep);

/* ks_fit_se.c: cov[na][na] of the report's quantities, and the label. */
int ks_fit_se(ks_ctx *ctx, ks_fit_design *d, const ks_fit_state *st, const double *v,
              const ks_fit_report *rep, double *cov, char *label, size_t label_n);

#endif
