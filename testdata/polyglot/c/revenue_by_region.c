/*
 * revenue_by_region.c is the C third of the polyglot orders example (../wasmorch.yaml): the
 * asset revenue_by_region, behaving exactly like RevenueByRegion of the all-Go pipeline
 * (testdata/orders/go/pipeline/pipeline.go). It sums `amount` per `region` in whole cents, so the
 * totals are exact; rows without an amount are skipped and rows without a region count under
 * "unknown". The result has columns region (utf8) and revenue (float64), sorted by region.
 *
 * Build, from the repository root:
 *
 *     clang --target=wasm32-wasi -O2 -mexec-model=reactor -Isdk-c \
 *         -o testdata/polyglot/c/revenue_by_region.wasm testdata/polyglot/c/revenue_by_region.c sdk-c/wasmorch.c
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wasmorch.h"

static const wm_field revenue_fields[] = {
    {.name = "region", .type = WM_UTF8, .not_null = true},
    {.name = "revenue", .type = WM_FLOAT64, .not_null = true},
};
static const wm_schema revenue_schema = WM_SCHEMA(revenue_fields);

/* Totals in cents per region, kept sorted by region bytes (as Go's slices.Sort orders strings). */
typedef struct total {
    char *region;
    size_t len;
    int64_t cents;
} total;

typedef struct totals {
    total *items;
    size_t n, cap;
} totals;

static int cmp_region(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return (alen > blen) - (alen < blen);
}

/* Adds cents to region's total; returns nonzero when out of memory. */
static int add(totals *t, const char *region, size_t len, int64_t cents, bool *overflow) {
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_region(t->items[mid].region, t->items[mid].len, region, len);
        if (c == 0) {
            *overflow |= __builtin_add_overflow(t->items[mid].cents, cents, &t->items[mid].cents);
            return 0;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        total *items = realloc(t->items, cap * sizeof *items);
        if (!items) return 1;
        t->items = items;
        t->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return 1;
    if (len) memcpy(copy, region, len);
    copy[len] = 0;
    memmove(&t->items[lo + 1], &t->items[lo], (t->n - lo) * sizeof *t->items);
    t->items[lo] = (total){copy, len, cents};
    t->n++;
    return 0;
}

/* The index of the one column called name, or -1 after recording the error Go gives. */
static int column_index(wm_ctx *ctx, const wm_schema *s, const char *name) {
    int found = -1, count = 0;
    for (int i = 0; i < s->num_fields; i++)
        if (strcmp(s->fields[i].name, name) == 0) found = i, count++;
    if (count == 1) return found;
    wm_buf names = {0};
    for (int i = 0; i < s->num_fields; i++) {
        wm_buf_puts(&names, i ? " " : "");
        wm_buf_json_string(&names, s->fields[i].name, strlen(s->fields[i].name));
    }
    wm_error(ctx, "want exactly one column \"%s\", got columns [%s]", name, names.data ? names.data : "");
    wm_buf_free(&names);
    return -1;
}

static int revenue_by_region(wm_ctx *ctx) {
    wm_reader *in;
    if (wm_input_open(ctx, "cleaned_orders", &in)) return WM_FAIL;
    const wm_schema *s = wm_reader_schema(in);
    int ri = column_index(ctx, s, "region"), ai = ri < 0 ? -1 : column_index(ctx, s, "amount");
    if (ri < 0 || ai < 0) return WM_FAIL;
    char tn[96];
    if (s->fields[ri].type != WM_UTF8)
        return wm_error(ctx, "column region has type %s, want utf8", wm_field_type_name(&s->fields[ri], tn, sizeof tn));
    if (s->fields[ai].type != WM_FLOAT64)
        return wm_error(ctx, "column amount has type %s, want float64", wm_field_type_name(&s->fields[ai], tn, sizeof tn));

    /* Stream the input batch by batch: only the totals are kept. */
    totals t = {0};
    int64_t all = 0, row = 0;
    bool overflow = false;
    int status = WM_FAIL, more;
    const wm_batch *batch;
    while ((more = wm_reader_next(in, &batch)) > 0) {
        const wm_column *regions = &batch->columns[ri], *amounts = &batch->columns[ai];
        const double *amount = wm_column_f64(amounts);
        for (int64_t i = 0; i < batch->num_rows; i++, row++) {
            if (wm_column_is_null(amounts, i)) continue;
            double c = round(amount[i] * 100);
            if (!(fabs(c) < 9.2e18)) {
                wm_error(ctx, "row %lld: amount %g cannot be summed in cents", (long long)row, amount[i]);
                goto done;
            }
            const char *region = "unknown";
            size_t len = 7;
            if (!wm_column_is_null(regions, i)) region = wm_column_str(regions, i, &len);
            if (add(&t, region, len, (int64_t)c, &overflow)) {
                wm_error(ctx, "out of memory summing revenue per region");
                goto done;
            }
            overflow |= __builtin_add_overflow(all, (int64_t)c, &all);
        }
    }
    if (more < 0) goto done;
    if (overflow) {
        wm_error(ctx, "the revenue does not fit in 64 bits of cents");
        goto done;
    }

    wm_batch_builder *b = wm_batch_builder_new(ctx, &revenue_schema);
    if (!b) goto done;
    for (size_t i = 0; i < t.n; i++) {
        wm_append_strn(b, 0, t.items[i].region, t.items[i].len);
        wm_append_f64(b, 1, (double)t.items[i].cents / 100);
    }
    double total_revenue = (double)all / 100;
    wm_batch *result;
    if (wm_batch_builder_finish(b, &result) == WM_OK) {
        wm_buf md = {0};
        wm_buf_printf(&md, "{\"regions\":%zu,\"total_revenue\":", t.n);
        wm_buf_json_double(&md, total_revenue);
        wm_buf_puts(&md, "}");
        char total_text[40];
        wm_format_double_g(total_text, sizeof total_text, total_revenue); /* as Go's slog prints it */
        wm_writer *out;
        if (md.failed) {
            wm_error(ctx, "out of memory");
        } else if (wm_metadata_json(ctx, md.data) == WM_OK) {
            wm_log(ctx, WM_INFO, "revenue by region regions=%zu total_revenue=%s", t.n, total_text);
            if (wm_output_open(ctx, "result", WM_ARROW, &out) == WM_OK && wm_writer_write(out, result) == WM_OK &&
                wm_writer_close(out) == WM_OK)
                status = WM_OK;
        }
        wm_buf_free(&md);
        wm_batch_free(result);
    }
    wm_batch_builder_free(b);
done:
    for (size_t i = 0; i < t.n; i++) free(t.items[i].region);
    free(t.items);
    wm_reader_close(in);
    return status;
}

void wasmorch_register(wm_registry *r) {
    wm_asset(r, "revenue_by_region", revenue_by_region,
             &(wm_asset_opts){
                 .ins = (const char *[]){"cleaned_orders", NULL},
                 .group = "orders",
                 .description = "Sum of order amounts per region, sorted by region.",
                 .schema = &revenue_schema,
             });
}
