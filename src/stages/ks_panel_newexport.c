/* ks_panel_newexport.c - newexport (method.md section 2): the number of
 * products a firm exports in t that it never exported from the first year to
 * t-1, kept as a bitset of ever-exported products per firm of this rank. */
#include <math.h>

#include "ks_panel_internal.h"

int64_t ks_newexport_count(const uint64_t *history, const int32_t *exp, int64_t n)
{
    int64_t fresh = 0;
    for (int64_t k = 0; k < n; k++)
        fresh += !((history[exp[k] / 64] >> (exp[k] % 64)) & 1);
    return fresh;
}

void ks_newexport_remember(uint64_t *history, const int32_t *exp, int64_t n)
{
    for (int64_t k = 0; k < n; k++)
        history[exp[k] / 64] |= (uint64_t)1 << (exp[k] % 64);
}

double ks_newexport_value(int64_t n, ks_newexport_transform how)
{
    switch (how) {
    case KS_NEWEXPORT_LOG:
        return n > 0 ? log((double)n) : NAN;
    case KS_NEWEXPORT_COUNT:
        return (double)n;
    case KS_NEWEXPORT_LOG1P:
    default:
        return log1p((double)n);
    }
}
