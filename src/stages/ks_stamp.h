/* ks_stamp.h - what a stage's output records about how it was made.
 *
 * Every stage leaves a stamp in its output: the stage, the kspill version,
 * the job settings it read (canonical text, ks_job_canonical), what it read
 * them from (its inputs: the fingerprints of the upstream outputs, or the
 * input files' path, size and modification time), a fingerprint (XXH64 of
 * all of that) and its wall time.  HDF5 outputs carry the stamp as root
 * attributes (kspill_fingerprint, ...; docs/hdf5.md), report as attributes
 * of its group /report in results.h5; synth, which writes
 * CSV files, as the file fingerprint.txt beside them.  `kspill run` skips a
 * stage whose output holds the fingerprint the job would give it now
 * (ks_run.c; docs/pipeline.md).  This file knows the format, not the stages. */
#ifndef KS_STAMP_H
#define KS_STAMP_H

#include <hdf5.h>

#include "ks_error.h"
#include "ks_mem.h"

#define KS_STAMP_FILE "fingerprint.txt" /* synth's stamp, in its output folder */

typedef struct ks_stamp {
    char stage[16];          /* "panel" */
    char fingerprint[17];    /* 16 hex digits; "" when the output has none */
    char version[32];        /* the kspill that made it */
    double wall_seconds;     /* read back from an output; written as ks_now() - t0 */
    double peak_rss_mb;      /* read back: the largest peak resident memory of a rank, MiB; -1 unknown */
    int ranks, threads;      /* read back: MPI ranks, OpenMP threads per rank; 0 unknown */
    double t0;               /* ks_now() when the stage began (this process) */
    ks_buf settings;         /* "section.key = value\n" lines: the job keys the stage reads */
    ks_buf inputs;           /* "name = fingerprint\n" lines: what it read them from */
} ks_stamp;

/* What a stage cost, measured when its stamp is written.  Not part of the
 * fingerprint: it differs between runs of the same job. */
typedef struct ks_stamp_usage {
    double wall_seconds;     /* since the stamp's t0 */
    double peak_rss_mb;      /* getrusage ru_maxrss (KiB on Linux) / 1024 */
    int ranks, threads;      /* communicator size, omp_get_max_threads() */
} ks_stamp_usage;

/* This process's usage so far (one process: its own wall time and RSS). */
void ks_stamp_usage_local(const ks_ctx *ctx, const ks_stamp *s, ks_stamp_usage *u);

/* The stage's usage (collective): rank 0's wall time, the largest peak RSS
 * of any rank. */
int ks_stamp_measure(ks_ctx *ctx, const ks_stamp *s, ks_stamp_usage *u);

/* Start a stamp for `stage` with this kspill's version, empty text. */
void ks_stamp_init(ks_stamp *s, const char *stage);
void ks_stamp_free(ks_stamp *s);

/* Set s->fingerprint from stage, version, settings and inputs. */
int ks_stamp_seal(ks_ctx *ctx, ks_stamp *s);

/* Give every rank rank 0's stamp (collective; no-op without MPI). */
int ks_stamp_bcast(ks_ctx *ctx, ks_stamp *s);

/* The stamp as root attributes of an HDF5 file being written, with the usage
 * measured now (collective: every rank passes the same stamp; the wall time
 * is rank 0's, the peak RSS the largest of any rank: ks_stamp_measure).  A NULL stamp writes nothing (unit tests of stage pieces). */
int ks_stamp_write_h5(ks_ctx *ctx, hid_t file, const ks_stamp *s);

/* The stamp as a small text file, through a temporary name and a rename
 * (one process), with the usage `u` its ranks measured (ks_stamp_measure). */
int ks_stamp_write_file(ks_ctx *ctx, const char *path, const ks_stamp *s,
                        const ks_stamp_usage *u);

/* Read the stamp of an output (one process): "FILE.h5" its root attributes,
 * "FILE.h5:/GROUP" those of a group (a stage that adds a group to another
 * stage's file: report's /report in results.h5), else a stamp file.
 * *found: 0 when the output (file or group) does not exist,
 * 1 when it holds a stamp, 2 when it exists without one (made by a kspill
 * before fingerprints, or not by kspill), 3 when it cannot be read. */
int ks_stamp_read(ks_ctx *ctx, const char *path, ks_stamp *s, int *found);

#endif
