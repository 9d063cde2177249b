/* ks_synth_int.h - what the synth_*.c files share (not a public interface).
 *
 * The "world" is everything every rank builds identically from the seed and
 * the reference tables: the latent product space, the cities, the population
 * plan.  Firms are simulated year by year; each firm's draws come from RNG
 * streams keyed by (seed, firm index, year, purpose) only. */
#ifndef KS_SYNTH_INT_H
#define KS_SYNTH_INT_H

#include <stdint.h>

#include "ks_customs.h"
#include "ks_mem.h"
#include "ks_refdata.h"
#include "ks_rng.h"
#include "ks_synth.h"

#define KS_SYNTH_MIN_YEAR 2002
#define KS_SYNTH_MAX_YEAR 2016
#define KS_SYNTH_MAX_CENTRES 4

/* RNG stream purposes (the fourth hash input). */
enum ks_synth_stream {
    KS_SS_WORLD = 1, KS_SS_ENTRY, KS_SS_YEAR, KS_SS_IMPORTS, KS_SS_EXPORTS, KS_SS_ROWS,
    KS_SS_CITY, KS_SS_NAME
};

/* Columns of truth_counts.csv after "year". */
enum {
    KS_TC_ROWS = 0,
    KS_TC_KEPT,
    KS_TC_REASON0,                       /* one per reason field_count..unmapped_hs */
    KS_TC_SPLIT = KS_TC_REASON0 + (KS_DROP_UNMAPPED_HS - KS_BAD_FIELD_COUNT + 1),
    KS_TC_FLOWS,
    KS_TC_VALUE_MICRO,
    KS_TC_FIRMS,
    KS_TC_NCOLS
};

/* Model statistics (not truth counts; reported in truth.ini). */
enum { KS_ST_FIRM_YEARS, KS_ST_TRADER_FIRM_YEARS, KS_ST_IMPORT_CELLS, KS_ST_EXPORT_CELLS,
       KS_ST_REPEAT_EXPORT_CELLS, KS_ST_PROCESSING_ROWS, KS_ST_SOE_FIRM_YEARS, KS_ST_NSTATS };

typedef struct ks_synth_params {
    int n_firms_first, n_firms_last; /* alive firms planned in the first / last year */
    double survival;                 /* yearly survival of a firm */
    double trader_share;             /* share of firms that are trading companies */
    int n_anchor;                    /* firms 0..n_anchor-1 carry the planted fault rows */
    /* product space */
    double chapter_gap;              /* extra ring distance between chapters */
    double position_noise;           /* sd of a heading's position around its slot */
    double psi_scale;                /* s of psi = exp(-d^2 / 2 s^2) */
    int band;                        /* psi is kept for |i - j| <= band headings */
    /* firms */
    double city_spread;              /* sd of a firm's capability around its city centre */
    double drift;                    /* sd of the yearly capability drift */
    double import_spread;            /* sd of imported products around the capability */
    double p_no_import;              /* chance that a firm imports nothing in a year */
    double p_explore;                /* chance that an import is any heading at all */
    double lambda_import;            /* imports = 1 + Poisson(lambda * scale) */
    double scale_sigma;              /* firm scale ~ lognormal(-s^2/2, s) */
    /* export equation: Phi(b0 + a1 dF + a2 dC + a3 dF dC + rho last + u) */
    double b0, a1, a2, a3, rho, u_sd, size_effect;
    int core_band;                   /* headings +- this around the capability are candidates */
    /* values and rows */
    double value_mu, value_sigma, value_size;
    /* faults, as rates per eligible row */
    double rate_bad, rate_unknown_city, rate_unmapped;
} ks_synth_params;

typedef struct ks_synth_world {
    const ks_refdata *ref;
    ks_synth_params par;
    char preset[16];
    uint64_t seed;
    int first_year, last_year, nyears;
    /* product space */
    int np;
    double *pos;          /* [np] ring position */
    double ring_len;
    int *grid;            /* ring cell -> nearest heading */
    int n_grid;
    double grid_step;
    float *psi;           /* [np][2*band+1]: psi[i, i+k-band] */
    double *psi_rowsum;   /* [np] */
    /* reverse concordance: vintage codes whose targets include heading h */
    int32_t *rev_off[KS_NVINTAGES];   /* [np+1] */
    int32_t *rev_code[KS_NVINTAGES];
    int32_t *unmapped[KS_NVINTAGES];  /* well-formed codes absent from the vintage */
    int n_unmapped[KS_NVINTAGES];
    /* cities used (valid throughout the years) */
    int nc;
    int *city_ref;        /* [nc] index into ref->cities */
    double *city_cum;     /* [nc] cumulative firm weights */
    double *city_centre;  /* [nc][KS_SYNTH_MAX_CENTRES] */
    int *city_ncentre;
    double *city_soe;     /* [nc] city factor of the SOE share */
    int unknown_codes[8]; /* well-formed 4-digit codes that name no city */
    int n_unknown;
    /* population plan: firms entering in year first_year+k are
     * [entry_start[k], entry_start[k+1]) */
    int64_t *entry_start; /* [nyears+1] */
    int64_t n_firms;
    uint64_t id_offset;   /* scrambles firm ids */
} ks_synth_world;

typedef struct ks_synth_firm {
    int64_t index;
    int city;             /* world city index */
    int entry_year;
    int alive;
    int trader, anchor;
    int ownership;
    double cap, scale, proc_share;
    char id[16];
    char name[192];
    char location[16];     /* 4- or 6-digit location code as written */
    int32_t *imports;     /* this year's imported headings */
    int n_imports, cap_imports;
    int32_t *exports;     /* this year's exported headings */
    int n_exports, cap_exports;
    int32_t *last_exports;
    int n_last, cap_last;
} ks_synth_firm;

/* Scratch space of one firm-year, reused. */
typedef struct ks_synth_scratch {
    uint8_t *mark;        /* [np] */
    int32_t *cand;        /* [np] */
    int32_t *keys;        /* distinct (heading, flow) keys of kept rows */
    size_t n_keys, cap_keys;
} ks_synth_scratch;

/* ks_synth_world.c */
int ks_synth_params_for(ks_ctx *ctx, const char *preset, ks_synth_params *par);
int ks_synth_world_build(ks_ctx *ctx, ks_synth_world *w, const ks_refdata *ref,
                         const ks_synth_options *opt);
void ks_synth_world_free(ks_synth_world *w);
int ks_synth_vintage_of_year(int year);
int ks_synth_entry_year(const ks_synth_world *w, int64_t firm);
double ks_synth_ring_dist(const ks_synth_world *w, double a, double b);
int ks_synth_nearest_product(const ks_synth_world *w, double x);

/* ks_synth_firm.c */
int ks_synth_firm_enter(ks_ctx *ctx, const ks_synth_world *w, ks_synth_firm *f, int64_t index);
void ks_synth_firm_free(ks_synth_firm *f);
/* Survival, drift, ownership change at the start of a year (t > entry). */
void ks_synth_firm_age(const ks_synth_world *w, ks_synth_firm *f, int year);
int ks_synth_firm_imports(ks_ctx *ctx, const ks_synth_world *w, ks_synth_firm *f, int year,
                          ks_synth_scratch *s);
int ks_synth_firm_exports(ks_ctx *ctx, const ks_synth_world *w, ks_synth_firm *f, int year,
                          const uint8_t *city_basket, ks_synth_scratch *s, int64_t *stats);
/* After the rows are out: this year's exports become last year's. */
int ks_synth_firm_roll(ks_ctx *ctx, ks_synth_firm *f);

/* ks_synth_rows.c */
/* Append the rows of one firm-year to buf (UTF-8) and add the truth counts:
 * counts[(k) * KS_TC_NCOLS + col], k = 0 for "no valid year", 1 + year - first. */
int ks_synth_firm_rows(ks_ctx *ctx, const ks_synth_world *w, const ks_synth_firm *f,
                       int year, ks_buf *buf, int64_t *counts, int64_t *stats,
                       ks_synth_scratch *s);
int ks_synth_csv_header(ks_ctx *ctx, ks_buf *buf);

/* ks_synth_truth.c: truth_counts.csv and truth.ini (rank 0, after the sums). */
int ks_synth_write_truth(ks_ctx *ctx, const ks_synth_options *opt, const ks_synth_world *w,
                         const int64_t *counts, const int64_t *stats);

#endif
