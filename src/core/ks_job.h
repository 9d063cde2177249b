/* ks_job.h - the job file: one INI file that says what a run does.
 *
 * Every key is declared once in a schema (ks_job.c) with its default and its
 * help text; unknown sections and keys are errors.  docs/job-file.md documents
 * every key, and a unit test checks that it does.  Command-line options
 * override keys through ks_job_set("section.key", value). */
#ifndef KS_JOB_H
#define KS_JOB_H

#include <stdint.h>

#include "ks_error.h"
#include "ks_mem.h"

#define KS_PATH_MAX 4096

/* The canonical input fields of a customs record. */
typedef enum ks_field {
    KS_F_YEAR,
    KS_F_FIRM_ID,
    KS_F_FIRM_NAME,
    KS_F_FLOW,
    KS_F_HS_CODE,
    KS_F_VALUE_USD,
    KS_F_TRADE_MODE,
    KS_F_OWNERSHIP,
    KS_F_CITY_CODE,
    KS_F_PARTNER_COUNTRY, /* optional */
    KS_F_MONTH,           /* optional */
    KS_NFIELDS
} ks_field;

const char *ks_field_name(ks_field f);   /* "year", "firm_id", ... */
int ks_field_required(ks_field f);       /* 1 for all but partner_country, month */

typedef enum ks_encoding { KS_ENC_AUTO, KS_ENC_UTF8, KS_ENC_GBK } ks_encoding;

/* HS vintages customs used, in the order of ks_refdata's concordances. */
typedef enum ks_vintage { KS_HS2002, KS_HS2007, KS_HS2012, KS_NVINTAGES } ks_vintage;

/* Relatedness measures ([relatedness] measure). */
typedef enum ks_rel_measure {
    KS_REL_COEXPORT, /* firm co-export: phi = C / max(k_i, k_j) over firms (the paper) */
    KS_REL_RCA       /* Hidalgo et al.: the same over regions with RCA >= 1 in exports */
} ks_rel_measure;

/* A density variable ([density.NAME]): the phi-weighted share of product
 * i's related products that lie in a basket. */
typedef enum ks_basket {
    KS_BASKET_IMPORTS,
    KS_BASKET_EXPORTS,
    /* The panel stage's working copy numbers the partner-filtered import
     * baskets KS_BASKET_FILTERED + k; a job file never holds these. */
    KS_BASKET_FILTERED
} ks_basket;
typedef enum ks_scope {
    KS_SCOPE_FIRM,     /* the firm's own basket */
    KS_SCOPE_CITY,     /* all firms of the firm's city */
    KS_SCOPE_PROVINCE, /* all firms of the firm's province */
    KS_SCOPE_NATION,   /* all firms */
    KS_SCOPE_CITY_HS2  /* firms of the city active in product i's HS2 chapter (cluster) */
} ks_scope;

#define KS_MAX_DENSITIES 16

typedef struct ks_density_spec {
    char name[48];       /* column density_<name> */
    ks_basket basket;
    ks_scope scope;
    int leave_one_out;   /* remove the firm's own basket from a shared scope */
    int lag;             /* 0: basket of year t; 1: of year t-1 */
    ks_strlist partners; /* imports from these partner countries only (empty: all) */
} ks_density_spec;

typedef enum ks_newexport_transform {
    KS_NEWEXPORT_LOG1P, /* log(1 + n) */
    KS_NEWEXPORT_LOG,   /* log(n), missing when n = 0 */
    KS_NEWEXPORT_COUNT  /* n itself */
} ks_newexport_transform;

/* A model of the fit stage ([model.NAME]). */
#define KS_MAX_MODELS 32
typedef enum ks_link { KS_LINK_PROBIT, KS_LINK_LOGIT, KS_LINK_LPM } ks_link;
typedef enum ks_se_kind { KS_SE_OIM, KS_SE_ROBUST, KS_SE_CLUSTER } ks_se_kind;
enum { KS_MARGINS_AME = 1, KS_MARGINS_AME_PAPER = 2, KS_MARGINS_MEM = 4 };

typedef struct ks_model_spec {
    char name[48];
    char y[64];            /* dependent column */
    ks_strlist x;          /* regressors: columns or products a*b */
    ks_strlist fe;         /* fixed effects: integer columns */
    ks_link link;
    ks_se_kind se;
    char cluster[64];      /* the column of se = cluster:<column> */
    int margins;           /* KS_MARGINS_* bits */
    int standardize;       /* each regressor column to mean 0, sd 1 */
    char where[512];       /* sample filter: conditions joined with 'and' ("" = all) */
    char title[128];       /* column heading in tables ("" = the name) */
} ks_model_spec;

/* A table of the fit stage ([table.NAME]). */
#define KS_MAX_TABLES 8
typedef struct ks_table_spec {
    char name[48];
    char title[160];
    ks_strlist models;     /* column order */
} ks_table_spec;

typedef struct ks_job {
    char path[KS_PATH_MAX];      /* the job file ("" when none) */
    /* [job] */
    char name[128];
    int first_year, last_year;   /* years = 2002-2016 */
    char workdir[KS_PATH_MAX];
    /* [input] */
    ks_strlist files;            /* globs */
    ks_encoding encoding;
    char delimiter;              /* 0 = auto, ',' or '\t' */
    char synthetic[16];          /* "" or a synth preset the job runs on */
    double reject_threshold;     /* fraction of rows, 0.001 */
    int64_t reject_min;          /* never fail below this many rejects */
    /* [columns]: the header in the file for each canonical field */
    char columns[KS_NFIELDS][256];
    /* [cleaning] */
    int drop_traders;
    ks_strlist trader_keywords;
    int drop_processing;
    ks_strlist processing_keywords;   /* a trade mode containing one is processing */
    ks_strlist processing_modes;      /* trade mode codes/names counted as processing */
    /* [harmonise]: which years each vintage covers */
    int vintage_first[KS_NVINTAGES];
    int vintage_last[KS_NVINTAGES];
    /* [relatedness] */
    ks_rel_measure rel_measure;
    int rel_diagonal_one;        /* phi[i,i] = 1 (the paper's sum over every j) or 0 */
    int rel_window;              /* years pooled into the phi of year t: t-window+1..t */
    ks_scope rel_rca_scope;      /* KS_SCOPE_CITY or KS_SCOPE_PROVINCE, for measure = rca */
    /* [panel] */
    double panel_threshold;      /* keep cells with density_firm > threshold */
    ks_newexport_transform newexport_transform;
    int panel_keep_first_year;   /* keep the first year's rows (newexport missing) */
    double market_cut_low, market_cut_high; /* percentiles of cities' non-SOE share */
    int market_by_year;          /* 1: groups per year; 0: pooled over all years */
    /* [density.NAME] sections */
    int n_densities;
    ks_density_spec densities[KS_MAX_DENSITIES];
    /* [fit] */
    double fit_tolerance;        /* stop when g' H^-1 g < tolerance */
    int fit_max_iterations;
    /* [report] */
    int report_year;             /* Fig. 1, 2 and the later year of Fig. 3, 4 */
    int report_compare_year;     /* the earlier year of Fig. 3, 4 */
    /* [model.NAME] and [table.NAME] sections, in file order */
    int n_models;
    ks_model_spec models[KS_MAX_MODELS];
    int n_tables;
    ks_table_spec tables[KS_MAX_TABLES];
    /* [synth] */
    char synth_preset[16];
    uint64_t synth_seed;
    ks_encoding synth_encoding;
    /* [slurm]: the resources of the batch jobs slurm/submit makes
     * (docs/slurm.md); no stage reads them, so they are in no fingerprint */
    char slurm_partition[128];   /* "" = the cluster's default */
    char slurm_account[128];     /* "" = the user's default */
    int slurm_nodes;             /* 0 = as Slurm places the tasks */
    int slurm_ntasks;            /* MPI ranks */
    int slurm_cpus_per_task;     /* OpenMP threads of each rank */
    char slurm_mem_per_cpu[24];  /* "4G", "" = the cluster's default */
    char slurm_mem[24];          /* per node, instead of mem_per_cpu */
    char slurm_time[32];         /* "1:30:00", "" = the partition's default */
    int slurm_signal_seconds;    /* SIGUSR1 this long before the time limit; 0 none */
    int slurm_launcher_mpirun;   /* 0: srun --mpi=pmix; 1: mpirun */
    int slurm_requeues;          /* requeues of a job stopped by the time limit's signal */
    int slurm_model_array;       /* the models of fit as the tasks of a job array */
} ks_job;

/* Fill in every default (the paper's choices). */
void ks_job_defaults(ks_job *job);
/* Read an INI file over the current values; unknown keys are errors. */
int ks_job_load(ks_ctx *ctx, ks_job *job, const char *path);
/* Set one key: "section.key" = value; `origin` names where it came from
 * (e.g. "--set" or "jobs/demo.ini:12") for error messages. */
int ks_job_set(ks_ctx *ctx, ks_job *job, const char *section_key, const char *value,
               const char *origin);
/* Check cross-key consistency after all sets (years inside vintages, ...). */
int ks_job_validate(ks_ctx *ctx, const ks_job *job);
void ks_job_free(ks_job *job);

/* The density declaration named `name`, or NULL. */
const ks_density_spec *ks_job_density(const ks_job *job, const char *name);

/* The vintage in force in `year`, or -1 when the job covers no vintage then. */
int ks_job_vintage_of_year(const ks_job *job, int year);

/* Path of a fixed output inside the workdir: ks_job_output(job, "records.h5"). */
int ks_job_output(ks_ctx *ctx, const ks_job *job, const char *name, char *out, size_t n);

/* The canonical text of some sections of a job: one line "section.key =
 * value" per key, with its effective value (defaults included), in schema
 * order; family sections as "model.NAME.key", instances in job order.
 * `select` is NULL-terminated: "relatedness" (a whole section), "job.years"
 * (one key), "density", "model", "table" (every instance of the family).
 * Comments, key order, blanks and spelling ("yes"/"true") of the file do not
 * change the text; any change of meaning does.  Appended to `out` (kspill run
 * hashes it into each stage's fingerprint, docs/pipeline.md). */
int ks_job_canonical(ks_ctx *ctx, const ks_job *job, const char *const *select, ks_buf *out);

/* Print every section and key with default and help (kspill help job). */
void ks_job_print_schema(FILE *out);
/* Visit every key of the schema (used by the docs test). */
typedef void (*ks_job_key_visitor)(const char *section, const char *key, void *arg);
void ks_job_visit_keys(ks_job_key_visitor visit, void *arg);

#endif
