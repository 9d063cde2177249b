/* ks_fs.h - files and folders. */
#ifndef KS_FS_H
#define KS_FS_H

#include "ks_error.h"

/* Create a folder and its parents (mkdir -p); what exists already is fine. */
int ks_fs_mkdirs(ks_ctx *ctx, const char *path);

/* Collective: rank 0 creates the folder, every rank learns the outcome. */
int ks_fs_mkdirs_collective(ks_ctx *ctx, const char *path);

#endif
