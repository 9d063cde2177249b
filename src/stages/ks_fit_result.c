/* ks_fit_result.c - see ks_fit_result.h. */
#include <stdlib.h>
#include <string.h>

#include "ks_fit_result.h"

void ks_model_result_free(ks_model_result *r)
{
    if (!r)
        return;
    free(r->terms);
    free(r->cov);
    for (int k = 0; k < KS_NKINDS; k++)
        free(r->margins[k]);
    free(r->standardize_sd);
    memset(r, 0, sizeof *r);
}
