/* ks_fs.h - files and folders. */
#ifndef KS_FS_H
#define KS_FS_H

#include <stddef.h>

#include "ks_error.h"

/* Create a folder and its parents (mkdir -p); what exists already is fine. */
int ks_fs_mkdirs(ks_ctx *ctx, const char *path);

/* Collective: rank 0 creates the folder, every rank learns the outcome. */
int ks_fs_mkdirs_collective(ks_ctx *ctx, const char *path);

/* The temporary name an output is written under before its rename:
 * "dir/.name.partial" for "dir/name". */
int ks_fs_partial_name(ks_ctx *ctx, const char *path, char *out, size_t n);

/* Copy the file `from` to `to` (created or truncated), byte for byte. */
int ks_fs_copy(ks_ctx *ctx, const char *from, const char *to);

#endif
