/* ks_ingest_exchange.c - send each firm's local aggregates to the rank that
 * owns the firm, so that all of a firm's rows, every year, end on one rank.
 *
 * Message to another rank: u32 firm count; per firm u64 hash, u32 length, id
 * bytes; zeros to a multiple of 8 bytes; then per table u64 entry count and
 * entries (u32 firm index in this message, u32 low half of the key, i64
 * sum).  The receiver rewrites each entry in place into a log entry (u64
 * key with its own firm id, i64 sum), so nothing is copied: the firms it
 * owns keep their entries where parsing left them, and records.h5 is
 * written from the logs and the received segments together (sums are
 * integers: adding them in any order is exact). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ks_ingest_internal.h"
#include "ks_mpi.h"

typedef struct ks_outbox {
    int64_t *bytes;      /* per destination (0 for this rank) */
    int64_t *nfirms;     /* per destination */
    uint32_t *dest_of;   /* per local firm */
    uint32_t *index_of;  /* per local firm: position in its destination's list */
} ks_outbox;

#define KS_ALIGN8(n) (((n) + 7) & ~(int64_t)7)

static void put(char **at, const void *src, size_t n)
{
    memcpy(*at, src, n);
    *at += n;
}

static void get(const char **at, void *dst, size_t n)
{
    memcpy(dst, *at, n);
    *at += n;
}

static int plan_outbox(ks_ctx *ctx, const ks_aggregates *agg, ks_outbox *ob)
{
    size_t nf = agg->firms.n;
    KS_CHECK(ks_calloc(ctx, &ob->bytes, (size_t)ctx->nranks, sizeof *ob->bytes, "exchange plan"));
    KS_CHECK(ks_calloc(ctx, &ob->nfirms, (size_t)ctx->nranks, sizeof *ob->nfirms, "exchange plan"));
    KS_CHECK(ks_calloc(ctx, &ob->dest_of, nf + 1, sizeof *ob->dest_of, "exchange plan"));
    KS_CHECK(ks_calloc(ctx, &ob->index_of, nf + 1, sizeof *ob->index_of, "exchange plan"));
    for (int d = 0; d < ctx->nranks; d++)
        ob->bytes[d] = d == ctx->rank ? 0 : 4;
    for (size_t f = 0; f < nf; f++) {
        size_t len;
        int d = ks_owner_of_hash(agg->firms.hashes[f], ctx->nranks);
        ob->dest_of[f] = (uint32_t)d;
        if (d == ctx->rank)
            continue;
        (void)ks_intern_str(&agg->firms, (uint32_t)f, &len);
        ob->index_of[f] = (uint32_t)ob->nfirms[d]++;
        ob->bytes[d] += 12 + (int64_t)len;
    }
    for (int d = 0; d < ctx->nranks; d++)
        if (d != ctx->rank)
            ob->bytes[d] = KS_ALIGN8(ob->bytes[d]) + 8 * KS_NAGG;
    for (int t = 0; t < KS_NAGG; t++) {
        const ks_sumlog *l = &agg->table[t];
        for (size_t i = 0; i < l->n; i++) {
            uint32_t d = ob->dest_of[KS_KEY_FIRM(l->e[i].key)];
            if (d != (uint32_t)ctx->rank)
                ob->bytes[d] += 16;
        }
    }
    for (int d = 0; d < ctx->nranks; d++)
        if (ob->bytes[d] > INT_MAX)
            return ks_fail(ctx, KS_ENOMEM, "ingest would send %.1f GiB from rank %d to rank %d, "
                           "more than one MPI message holds: run with more ranks",
                           (double)ob->bytes[d] / 1073741824.0, ctx->rank, d);
    return KS_OK;
}

/* Fill the send buffer: destination d's message starts at displ[d]. */
static int pack(ks_ctx *ctx, const ks_aggregates *agg, const ks_outbox *ob, const int *displ, char *buf)
{
    int nranks = ctx->nranks, me = ctx->rank;
    char **at = NULL, **count_at = NULL;
    uint64_t *counts = NULL;
    if (ks_calloc(ctx, &at, (size_t)nranks, sizeof *at, "exchange cursors") != KS_OK ||
        ks_calloc(ctx, &count_at, (size_t)nranks, sizeof *count_at, "exchange cursors") != KS_OK ||
        ks_calloc(ctx, &counts, (size_t)nranks, sizeof *counts, "exchange counts") != KS_OK) {
        free(at);
        free(count_at);
        return ctx->code;
    }
    for (int d = 0; d < nranks; d++) {
        uint32_t n = (uint32_t)ob->nfirms[d];
        at[d] = buf + displ[d];
        if (d != me)
            put(&at[d], &n, 4);
    }
    for (size_t f = 0; f < agg->firms.n; f++) {
        size_t len;
        const char *id = ks_intern_str(&agg->firms, (uint32_t)f, &len);
        uint32_t len32 = (uint32_t)len;
        char **a = &at[ob->dest_of[f]];
        if (ob->dest_of[f] == (uint32_t)me)
            continue;
        put(a, &agg->firms.hashes[f], 8);
        put(a, &len32, 4);
        put(a, id, len);
    }
    for (int d = 0; d < nranks; d++)
        at[d] = buf + displ[d] + KS_ALIGN8(at[d] - (buf + displ[d])); /* calloc'd: zeros */
    for (int t = 0; t < KS_NAGG; t++) {
        const ks_sumlog *l = &agg->table[t];
        memset(counts, 0, (size_t)nranks * sizeof *counts);
        for (int d = 0; d < nranks; d++) {
            count_at[d] = at[d];
            if (d != me)
                at[d] += 8;
        }
        for (size_t i = 0; i < l->n; i++) {
            uint64_t k = l->e[i].key;
            uint32_t f = KS_KEY_FIRM(k), d, idx, low;
            d = ob->dest_of[f];
            if (d == (uint32_t)me)
                continue;
            idx = ob->index_of[f];
            low = (uint32_t)(k & 0xffffffffu);
            put(&at[d], &idx, 4);
            put(&at[d], &low, 4);
            put(&at[d], &l->e[i].sum, 8);
            counts[d]++;
        }
        for (int d = 0; d < nranks; d++)
            if (d != me)
                memcpy(count_at[d], &counts[d], 8);
    }
    free(at);
    free(count_at);
    free(counts);
    return KS_OK;
}

/* Take in one received message (8-aligned): intern its firms and turn its
 * entries, in place, into table entries of this rank's firm ids. */
static int unpack(ks_ctx *ctx, char *msg, ks_aggregates *agg, ks_segment *seg, uint32_t **ids,
                  size_t *ids_cap)
{
    const char *at = msg;
    uint32_t n;
    get(&at, &n, 4);
    KS_CHECK(ks_reserve(ctx, ids, ids_cap, (size_t)n + 1, sizeof **ids, "exchange ids"));
    for (uint32_t i = 0; i < n; i++) {
        uint64_t h;
        uint32_t len;
        int is_new;
        get(&at, &h, 8);
        get(&at, &len, 4);
        KS_CHECK(ks_intern_get(ctx, &agg->firms, at, len, h, &(*ids)[i], &is_new));
        at += len;
    }
    at = msg + KS_ALIGN8(at - msg);
    for (int t = 0; t < KS_NAGG; t++) {
        uint64_t count;
        char *e;
        get(&at, &count, 8);
        e = (char *)(uintptr_t)at;
        for (uint64_t i = 0; i < count; i++, e += 16) {
            uint32_t idx, low;
            uint64_t key;
            memcpy(&idx, e, 4);
            memcpy(&low, e + 4, 4);
            key = ((uint64_t)(*ids)[idx] << 32) | low;
            memcpy(e, &key, 8);
        }
        seg[t].e = (const ks_summap_entry *)(const void *)at;
        seg[t].n = (size_t)count;
        at += 16 * count;
    }
    return KS_OK;
}

static int alltoallv_bytes(ks_ctx *ctx, const ks_outbox *ob, const ks_aggregates *agg,
                           char **recv, int **rdispl_out)
{
    int nr = ctx->nranks, rc = KS_OK;
    int *scount = NULL, *sdispl = NULL, *rcount = NULL, *rdispl = NULL;
    char *sbuf = NULL;
    int64_t stotal = 0, rtotal = 0;
    KS_TRY(rc, ks_calloc(ctx, &scount, (size_t)nr, sizeof(int), "exchange"), out);
    KS_TRY(rc, ks_calloc(ctx, &sdispl, (size_t)nr, sizeof(int), "exchange"), out);
    KS_TRY(rc, ks_calloc(ctx, &rcount, (size_t)nr, sizeof(int), "exchange"), out);
    KS_TRY(rc, ks_calloc(ctx, &rdispl, (size_t)nr + 1, sizeof(int), "exchange"), out);
    for (int d = 0; d < nr; d++) {
        scount[d] = (int)ob->bytes[d];
        sdispl[d] = (int)stotal;
        stotal += ob->bytes[d];
    }
    if (stotal > INT_MAX)
        KS_TRY(rc, ks_fail(ctx, KS_ENOMEM, "ingest would send %.1f GiB from rank %d, more than "
                           "one MPI exchange holds: run with more ranks",
                           (double)stotal / 1073741824.0, ctx->rank), out);
    KS_TRY(rc, ks_calloc(ctx, &sbuf, (size_t)stotal + 1, 1, "exchange send buffer"), out);
    KS_TRY(rc, pack(ctx, agg, ob, sdispl, sbuf), out);
    MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, ctx->comm);
    for (int d = 0; d < nr; d++) {
        rdispl[d] = (int)rtotal;
        rtotal += rcount[d];
    }
    rdispl[nr] = (int)rtotal;
    if (rtotal > INT_MAX)
        KS_TRY(rc, ks_fail(ctx, KS_ENOMEM, "rank %d would receive %.1f GiB in the ingest "
                           "exchange: run with more ranks", ctx->rank,
                           (double)rtotal / 1073741824.0), out);
    /* messages are multiples of 8 bytes, so each starts 8-aligned here */
    KS_TRY(rc, ks_calloc(ctx, recv, (size_t)rtotal + 1, 1, "exchange receive buffer"), out);
    MPI_Alltoallv(sbuf, scount, sdispl, MPI_BYTE, *recv, rcount, rdispl, MPI_BYTE, ctx->comm);
    *rdispl_out = rdispl;
    rdispl = NULL;
out:
    free(scount);
    free(sdispl);
    free(rcount);
    free(rdispl);
    free(sbuf);
    return rc;
}

int ks_ingest_exchange(ks_ctx *ctx, ks_aggregates *agg)
{
    ks_outbox ob = {0};
    int *rdispl = NULL, rc;
    uint32_t *ids = NULL;
    size_t ids_cap = 0;
    if (ctx->comm == MPI_COMM_NULL || ctx->nranks == 1)
        return KS_OK; /* one rank owns every firm already */
    rc = plan_outbox(ctx, agg, &ob);
    rc = ks_mpi_agree(ctx, rc);
    if (rc == KS_OK)
        rc = ks_mpi_agree(ctx, alltoallv_bytes(ctx, &ob, agg, &agg->received, &rdispl));
    free(ob.bytes);
    free(ob.nfirms);
    free(ob.dest_of);
    free(ob.index_of);
    if (rc == KS_OK)
        rc = ks_calloc(ctx, &agg->segments, (size_t)ctx->nranks * KS_NAGG, sizeof *agg->segments,
                       "exchange segments");
    for (int s = 0; rc == KS_OK && s < ctx->nranks; s++)
        if (rdispl[s + 1] > rdispl[s])
            rc = unpack(ctx, agg->received + rdispl[s], agg, agg->segments + (size_t)agg->nsegments++ * KS_NAGG,
                        &ids, &ids_cap);
    free(rdispl);
    free(ids);
    return ks_mpi_agree(ctx, rc);
}

/* ---- partner countries: one numbering for all ranks ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Rank 0 gets every rank's names (NUL-separated) and returns them sorted and
 * unique in `all` (rank 0 only). */
static int gather_names(ks_ctx *ctx, const ks_intern *local, ks_buf *all)
{
    ks_buf mine = {0};
    int *counts = NULL, *displs = NULL, len, rc = KS_OK;
    char *recv = NULL;
    for (uint32_t i = 0; i < local->n && rc == KS_OK; i++) {
        size_t n;
        const char *s = ks_intern_str(local, i, &n);
        rc = ks_buf_append(ctx, &mine, s, n);
        if (rc == KS_OK)
            rc = ks_buf_append(ctx, &mine, "", 1);
    }
    len = (int)mine.len;
    if (rc == KS_OK && ctx->rank == 0) {
        rc = ks_calloc(ctx, &counts, (size_t)ctx->nranks, sizeof *counts, "partner names");
        if (rc == KS_OK)
            rc = ks_calloc(ctx, &displs, (size_t)ctx->nranks + 1, sizeof *displs, "partner names");
    }
    KS_TRY(rc, ks_mpi_agree(ctx, rc), out);
    if (ctx->comm != MPI_COMM_NULL && ctx->nranks > 1) {
        MPI_Gather(&len, 1, MPI_INT, counts, 1, MPI_INT, 0, ctx->comm);
        if (ctx->rank == 0) {
            for (int r = 0; r < ctx->nranks; r++)
                displs[r + 1] = displs[r] + counts[r];
            rc = ks_calloc(ctx, &recv, (size_t)displs[ctx->nranks] + 1, 1, "partner names");
        }
        KS_TRY(rc, ks_mpi_agree(ctx, rc), out);
        MPI_Gatherv(mine.data ? mine.data : "", len, MPI_CHAR, recv, counts, displs, MPI_CHAR, 0, ctx->comm);
    } else if (ctx->rank == 0) {
        KS_TRY(rc, ks_calloc(ctx, &recv, (size_t)len + 1, 1, "partner names"), out);
        if (len)
            memcpy(recv, mine.data, (size_t)len);
        displs[1] = len;
    }
    if (ctx->rank == 0) {
        size_t total = (size_t)displs[ctx->comm != MPI_COMM_NULL ? ctx->nranks : 1], n = 0, k = 0;
        const char **names = NULL;
        for (size_t i = 0; i < total; i++)
            n += recv[i] == '\0';
        rc = ks_calloc(ctx, &names, n + 1, sizeof *names, "partner names");
        for (size_t i = 0, start = 0; rc == KS_OK && i < total; i++)
            if (recv[i] == '\0') {
                names[k++] = recv + start;
                start = i + 1;
            }
        if (rc == KS_OK)
            qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; rc == KS_OK && i < n; i++)
            if (i == 0 || strcmp(names[i], names[i - 1]))
                rc = ks_buf_append(ctx, all, names[i], strlen(names[i]) + 1);
        free(names);
    }
out:
    ks_buf_free(&mine);
    free(counts);
    free(displs);
    free(recv);
    return rc;
}

/* Position of s[0..n) in a sorted list, -1 if absent (bytewise order, as strcmp). */
static int64_t find_name(const ks_strlist *names, const char *s, size_t n)
{
    size_t lo = 0, hi = names->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, m = strlen(names->items[mid]);
        int c = memcmp(names->items[mid], s, m < n ? m : n);
        if (c == 0)
            c = m < n ? -1 : m > n;
        if (c == 0)
            return (int64_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int ks_ingest_number_partners(ks_ctx *ctx, ks_aggregates *agg, ks_strlist *names)
{
    ks_buf all = {0};
    int64_t len = 0;
    uint32_t *global_of = NULL;
    ks_sumlog *l = &agg->table[KS_AGG_PARTNER];
    int rc = gather_names(ctx, &agg->partners, &all);
    KS_TRY(rc, ks_mpi_agree(ctx, rc), out);
    len = (int64_t)all.len;
    KS_TRY(rc, ks_mpi_bcast(ctx, &len, sizeof len), out);
    if (ctx->rank != 0)
        KS_TRY(rc, ks_buf_append(ctx, &all, "", 0), out);
    KS_TRY(rc, ks_reserve(ctx, &all.data, &all.cap, (size_t)len + 1, 1, "partner names"), out);
    KS_TRY(rc, ks_mpi_bcast(ctx, all.data, (size_t)len), out);
    for (int64_t i = 0, start = 0; i < len; i++)
        if (all.data[i] == '\0') {
            KS_TRY(rc, ks_strlist_add(ctx, names, all.data + start, (size_t)(i - start)), out);
            start = i + 1;
        }
    /* local id -> position in the sorted list */
    KS_TRY(rc, ks_calloc(ctx, &global_of, agg->partners.n + 1, sizeof *global_of, "partner ids"), out);
    for (uint32_t i = 0; i < agg->partners.n; i++) {
        size_t n;
        const char *s = ks_intern_str(&agg->partners, i, &n);
        int64_t at = find_name(names, s, n);
        if (at < 0)
            KS_TRY(rc, ks_fail(ctx, KS_EINTERNAL, "partner '%.*s' missing from the global list",
                               (int)n, s), out);
        global_of[i] = (uint32_t)at;
    }
    /* the log's keys renumbered in place: distinct local ids stay distinct */
    for (size_t i = 0; i < l->n; i++) {
        uint64_t k = l->e[i].key;
        uint32_t payload = KS_KEY_PAYLOAD(k);
        payload = KS_PARTNER_PAYLOAD(payload >> 13, global_of[payload & 0x1fff]);
        l->e[i].key = (k & ~(uint64_t)0xffffff) | payload;
    }
out:
    ks_buf_free(&all);
    free(global_of);
    return ks_mpi_agree(ctx, rc);
}
