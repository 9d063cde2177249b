/* ks_export_int.h - the parts of stage `export` shared by its files: the
 * panel as a reader sees it (ks_export_panel.c) and the two writers
 * (ks_export_csv.c, ks_export_dta.c). */
#ifndef KS_EXPORT_INT_H
#define KS_EXPORT_INT_H

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "ks_error.h"
#include "ks_export.h"

/* Rows per block: the panel's HDF5 chunk, so one block reads each chunk of a
 * column once and memory stays ~(columns x 64 K x 8 bytes) whatever N is. */
#define KS_X_BLOCK_ROWS ((int64_t)1 << 16)

/* Storage type of a column in panel.h5; KS_X_ID is the derived firm_id. */
typedef enum ks_xtype {
    KS_X_INT8,
    KS_X_INT16,
    KS_X_INT32,
    KS_X_INT64,
    KS_X_FLOAT32,
    KS_X_FLOAT64,
    KS_X_ID
} ks_xtype;

typedef struct ks_xcol {
    char name[64];      /* output name: the dataset's name under /panel, or firm_id */
    ks_xtype type;
    hid_t dset;         /* /panel/<name>; /panel/firm for firm_id */
    hid_t space;        /* its file dataspace, reused for every block */
    char *definition;   /* attribute "definition" (NULL when absent) */
    char *codes;        /* attribute "codes", e.g. "0=East;1=Central" (NULL when absent) */
    int64_t *i64;       /* the current block, integer columns and firm_id (firm index) */
    double *f64;        /* the current block, float columns */
} ks_xcol;

typedef struct ks_xpanel {
    char path[KS_PATH_MAX];
    hid_t file;
    int64_t nrows;               /* rows of the whole panel */
    int year_min, year_max;      /* years present (0, 0 when empty) */
    int64_t row_begin, row_end;  /* the rows exported: [row_begin, row_end) */
    ks_xcol *cols;               /* the columns exported, in output order */
    int ncols;
    char *ids;                   /* /firms/id, id_width bytes each, NUL-padded */
    size_t id_width;             /* bytes per id in ids */
    size_t id_maxlen;            /* longest id, bytes */
    int64_t nfirms;
    time_t mtime;                /* modification time of panel.h5 */
} ks_xpanel;

/* Open panel.h5, find its columns, pick those of opt->columns (all when
 * empty), find the rows of opt's years and load /firms/id if needed. */
int ks_xpanel_open(ks_ctx *ctx, ks_xpanel *p, const char *path, const ks_export_options *opt);
/* Read rows [row, row + n) of every exported column into its block. */
int ks_xpanel_read_block(ks_ctx *ctx, ks_xpanel *p, int64_t row, int64_t n);
/* The id of firm index `firm` (checked by ks_xpanel_read_block), not
 * NUL-terminated: *len bytes. */
const char *ks_xpanel_id(const ks_xpanel *p, int64_t firm, size_t *len);
void ks_xpanel_close(ks_xpanel *p);

/* Writers: every selected row of p to `out` (opened by the caller); `what`
 * names the file for messages. */
int ks_export_write_csv(ks_ctx *ctx, ks_xpanel *p, FILE *out, const char *what);
int ks_export_write_dta(ks_ctx *ctx, ks_xpanel *p, FILE *out, const char *what,
                        const char *file_label);

#endif
