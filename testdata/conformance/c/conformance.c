/*
 * conformance.c implements testdata/conformance/CASES.md with the C SDK. The host's conformance
 * test (host/internal/runtime/conformance_test.go) runs the same cases against every SDK's module
 * and expects identical results.
 *
 * Build, from the repository root:
 *
 *     clang --target=wasm32-wasi -O2 -mexec-model=reactor -Isdk-c \
 *         -o testdata/conformance/c/conformance.wasm testdata/conformance/c/conformance.c sdk-c/wasmorch.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmorch.h"

/* echo writes every batch of its input back as it arrives: the reader holds one chunk and the
 * writer hands each batch to the host at once, so a table larger than memory streams through. */
static int echo(wm_ctx *ctx) {
    wm_reader *in;
    wm_writer *out;
    if (wm_input_open(ctx, "in", &in)) return WM_FAIL;
    if (wm_output_open(ctx, "result", WM_ARROW, &out)) return WM_FAIL;
    if (wm_writer_set_schema(out, wm_reader_schema(in))) return WM_FAIL; /* for a table of no batches */
    const wm_batch *batch;
    int rc;
    while ((rc = wm_reader_next(in, &batch)) > 0)
        if (wm_writer_write(out, batch)) return WM_FAIL;
    if (rc < 0) return WM_FAIL;
    wm_reader_close(in);
    return wm_writer_close(out);
}

/* ---- join ---- */

static const wm_field join_fields[] = {
    {.name = "id", .type = WM_INT64}, {.name = "name", .type = WM_UTF8}, {.name = "amount", .type = WM_FLOAT64}};

typedef struct pair {
    int64_t id, right, left; /* the join key and the rows of right and left */
} pair;

static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    if (x->right != y->right) return x->right < y->right ? -1 : 1;
    return (x->left > y->left) - (x->left < y->left);
}

/* Reads every batch of input name into one batch of the columns cols (name, type), in order. */
static int read_table(wm_ctx *ctx, const char *name, const wm_field *cols, int ncols, wm_batch **out) {
    wm_reader *r;
    if (wm_input_open(ctx, name, &r)) return WM_FAIL;
    wm_schema schema = {cols, ncols, NULL, 0};
    wm_batch_builder *b = wm_batch_builder_new(ctx, &schema);
    int rc = b ? WM_OK : WM_FAIL;
    const wm_batch *batch;
    int more = 0;
    while (!rc && (more = wm_reader_next(r, &batch)) > 0) {
        const wm_column *src[2];
        for (int c = 0; c < ncols && !rc; c++)
            if (!(src[c] = wm_batch_column(ctx, batch, cols[c].name, cols[c].type)))
                rc = wm_error(ctx, "join: input \"%s\" must have columns id int64 and %s %s", name, cols[1].name,
                              wm_type_name(cols[1].type));
        for (int64_t i = 0; !rc && i < batch->num_rows; i++)
            for (int c = 0; c < ncols; c++) wm_append_from(b, c, src[c], i);
    }
    if (!rc && more < 0) rc = WM_FAIL;
    if (!rc) rc = wm_batch_builder_finish(b, out);
    wm_batch_builder_free(b);
    wm_reader_close(r);
    return rc;
}

/* join is an inner join of left (id, name) and right (id, amount) on id, sorted by id and then
 * by the row order of right. Null ids never match. */
static int join(wm_ctx *ctx) {
    static const wm_field left_cols[] = {{.name = "id", .type = WM_INT64}, {.name = "name", .type = WM_UTF8}};
    static const wm_field right_cols[] = {{.name = "id", .type = WM_INT64}, {.name = "amount", .type = WM_FLOAT64}};
    wm_batch *left = NULL, *right = NULL;
    pair *pairs = NULL;
    int status = WM_FAIL;
    if (read_table(ctx, "left", left_cols, 2, &left) || read_table(ctx, "right", right_cols, 2, &right)) goto done;

    const wm_column *lid = &left->columns[0], *rid = &right->columns[0];
    const int64_t *lv = wm_column_i64(lid), *rv = wm_column_i64(rid);
    size_t n = 0, cap = 0;
    for (int64_t r = 0; r < right->num_rows; r++) {
        if (wm_column_is_null(rid, r)) continue;
        for (int64_t l = 0; l < left->num_rows; l++) {
            if (wm_column_is_null(lid, l) || lv[l] != rv[r]) continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                pair *p = realloc(pairs, cap * sizeof *p);
                if (!p) {
                    wm_error(ctx, "join: out of memory");
                    goto done;
                }
                pairs = p;
            }
            pairs[n++] = (pair){rv[r], r, l};
        }
    }
    if (n) qsort(pairs, n, sizeof *pairs, pair_cmp);

    wm_schema schema = WM_SCHEMA(join_fields);
    wm_batch_builder *b = wm_batch_builder_new(ctx, &schema);
    if (!b) goto done;
    for (size_t i = 0; i < n; i++) {
        wm_append_i64(b, 0, pairs[i].id);
        wm_append_from(b, 1, &left->columns[1], pairs[i].left);
        wm_append_from(b, 2, &right->columns[1], pairs[i].right);
    }
    wm_batch *result;
    if (wm_batch_builder_finish(b, &result) == WM_OK) {
        wm_writer *out;
        if (wm_output_open(ctx, "result", WM_ARROW, &out) == WM_OK && wm_writer_write(out, result) == WM_OK &&
            wm_writer_close(out) == WM_OK)
            status = WM_OK;
        wm_batch_free(result);
    }
    wm_batch_builder_free(b);
done:
    free(pairs);
    wm_batch_free(left);
    wm_batch_free(right);
    return status;
}

/* ---- split (an op) ---- */

static const wm_field n_fields[] = {{.name = "n", .type = WM_INT64}};

/* Finishes b's batch and writes it as the output name (one batch, even when empty). */
static int write_one(wm_ctx *ctx, const char *name, wm_batch_builder *b) {
    wm_batch *batch;
    wm_writer *out;
    if (wm_batch_builder_finish(b, &batch)) return WM_FAIL;
    int rc = wm_output_open(ctx, name, WM_ARROW, &out);
    if (!rc) rc = wm_writer_write(out, batch);
    if (!rc) rc = wm_writer_close(out);
    wm_batch_free(batch);
    return rc;
}

static int split(wm_ctx *ctx) {
    wm_schema schema = WM_SCHEMA(n_fields);
    wm_batch_builder *evens = wm_batch_builder_new(ctx, &schema), *odds = wm_batch_builder_new(ctx, &schema);
    wm_reader *in = NULL;
    int rc = WM_FAIL;
    if (!evens || !odds || wm_input_open(ctx, "in", &in)) goto done;
    const wm_batch *batch;
    int more;
    while ((more = wm_reader_next(in, &batch)) > 0) {
        const wm_column *col = wm_batch_column(ctx, batch, "n", WM_INT64);
        if (!col) goto done;
        const int64_t *v = wm_column_i64(col);
        for (int64_t i = 0; i < batch->num_rows; i++)
            if (!wm_column_is_null(col, i)) wm_append_i64(v[i] % 2 == 0 ? evens : odds, 0, v[i]);
    }
    if (more < 0) goto done;
    rc = write_one(ctx, "evens", evens);
    if (!rc) rc = write_one(ctx, "odds", odds);
done:
    wm_reader_close(in);
    wm_batch_builder_free(evens);
    wm_batch_builder_free(odds);
    return rc;
}

/* ---- the small cases ---- */

static int config(wm_ctx *ctx) {
    const char *name;
    int64_t n = 0; /* like the Go module: a missing n counts as 0 */
    if (wm_config_get_string(ctx, "name", &name)) return WM_FAIL;
    if (wm_config_has(ctx, "n") && wm_config_get_int(ctx, "n", &n)) return WM_FAIL;
    wm_buf greeting = {0}, js = {0};
    wm_buf_puts(&greeting, "hello ");
    wm_buf_puts(&greeting, name);
    wm_buf_puts(&js, "{\"greeting\":");
    wm_buf_json_string(&js, greeting.data, greeting.len);
    wm_buf_printf(&js, ",\"n_times_2\":%lld}", (long long)(int64_t)((uint64_t)n * 2u)); /* wraps like Go's int64 */
    int rc = greeting.failed || js.failed ? wm_error(ctx, "config: out of memory")
                                          : wm_output_write_bytes(ctx, "result", WM_JSON, js.data, js.len);
    wm_buf_free(&greeting);
    wm_buf_free(&js);
    return rc;
}

static int partition(wm_ctx *ctx) {
    const char *key = wm_partition_key(ctx);
    return wm_output_write_bytes(ctx, "result", WM_BYTES, key, strlen(key));
}

static int logs(wm_ctx *ctx) {
    wm_log(ctx, WM_DEBUG, "conformance debug");
    wm_log(ctx, WM_INFO, "conformance info");
    wm_log(ctx, WM_WARNING, "conformance warning");
    wm_log(ctx, WM_ERROR, "conformance error");
    return wm_output_write_bytes(ctx, "result", WM_BYTES, "ok", 2);
}

static int metadata(wm_ctx *ctx) {
    if (wm_metadata_json(ctx, "{\"answer\": 42, \"label\": \"conformance\"}")) return WM_FAIL;
    return wm_output_write_bytes(ctx, "result", WM_BYTES, "ok", 2);
}

static int fail(wm_ctx *ctx) { return wm_error(ctx, "conformance: deliberate error"); }

static int panics(wm_ctx *ctx) {
    (void)ctx;
    wm_panic("conformance: deliberate panic");
}

/* ---- checks, typed config, resources, retries and fan-out ---- */

static int checked(wm_ctx *ctx) { return wm_output_write_bytes(ctx, "result", WM_BYTES, "ok", 2); }

/* is_ok passes when the asset's value is exactly "ok", and records its length either way. */
static int is_ok(wm_ctx *ctx) {
    char *value;
    size_t n;
    if (wm_input_read_all(ctx, "asset", &value, &n, NULL)) return WM_FAIL;
    bool ok = n == 2 && memcmp(value, "ok", 2) == 0;
    free(value);
    char meta[48];
    snprintf(meta, sizeof meta, "{\"length\":%zu}", n);
    if (wm_metadata_json(ctx, meta)) return WM_FAIL;
    return wm_check_result(ctx, ok, WM_SEVERITY_ERROR);
}

static int warns(wm_ctx *ctx) { return wm_check_result(ctx, false, WM_SEVERITY_WARN); }

static int typed_config(wm_ctx *ctx) {
    int64_t limit;
    const char *label;
    if (wm_config_get_int(ctx, "limit", &limit) || wm_config_get_string(ctx, "label", &label)) return WM_FAIL;
    wm_buf js = {0};
    wm_buf_printf(&js, "{\"limit\":%lld,\"label\":", (long long)limit);
    wm_buf_json_string(&js, label, strlen(label));
    wm_buf_puts(&js, "}");
    int rc = js.failed ? wm_error(ctx, "typed_config: out of memory") : wm_output_write_bytes(ctx, "result", WM_JSON, js.data, js.len);
    wm_buf_free(&js);
    return rc;
}

/* uses_resource writes the value of CONFORMANCE_VAR from the env resource "vars". A refused call
 * has recorded the host's message as the step's error, so returning WM_FAIL is enough. */
static int uses_resource(wm_ctx *ctx) {
    char *resp, *value;
    size_t n, value_len;
    if (wm_resource_call(ctx, "vars", "{\"op\":\"get\",\"name\":\"CONFORMANCE_VAR\"}", &resp, &n)) return WM_FAIL;
    const char *v;
    size_t vn;
    int rc = wm_json_find(resp, n, "value", &v, &vn) == 0 && wm_json_string(v, vn, &value, &value_len) == 0
                 ? WM_OK
                 : wm_error(ctx, "resource \"vars\": the response has no string \"value\": %s", resp);
    free(resp);
    if (rc) return rc;
    rc = wm_output_write_bytes(ctx, "result", WM_BYTES, value, value_len);
    free(value);
    return rc;
}

static int retries(wm_ctx *ctx) {
    if (wm_attempt(ctx) < 3) return wm_retry(ctx, "conformance: try again");
    char out[32];
    int n = snprintf(out, sizeof out, "attempt %d", wm_attempt(ctx));
    return wm_output_write_bytes(ctx, "result", WM_BYTES, out, (size_t)n);
}

/* fan_out writes chunks[a] = 1, chunks[b] = 2, chunks[c] = 3, then count = 3. */
static int fan_out(wm_ctx *ctx) {
    static const char *const keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        wm_writer *w;
        char v[4];
        int n = snprintf(v, sizeof v, "%d", i + 1);
        if (wm_output_open_mapped(ctx, "chunks", keys[i], WM_JSON, &w) || wm_writer_write_raw(w, v, (size_t)n) || wm_writer_close(w))
            return WM_FAIL;
    }
    return wm_output_write_bytes(ctx, "count", WM_JSON, "3", 1);
}

/* mapped runs once per mapping key: {"key": <mapping key>, "n2": 2n}. */
static int mapped(wm_ctx *ctx) {
    char *data;
    size_t len;
    int64_t n;
    if (wm_input_read_all(ctx, "n", &data, &len, NULL)) return WM_FAIL;
    int bad = wm_json_int(data, len, &n);
    free(data);
    if (bad) return wm_error(ctx, "mapped: input \"n\" is not an integer");
    const char *key = wm_mapping_key(ctx);
    wm_buf js = {0};
    wm_buf_puts(&js, "{\"key\":");
    wm_buf_json_string(&js, key, strlen(key));
    wm_buf_printf(&js, ",\"n2\":%lld}", (long long)(int64_t)((uint64_t)n * 2u)); /* wraps like Go's int64 */
    int rc = js.failed ? wm_error(ctx, "mapped: out of memory") : wm_output_write_bytes(ctx, "result", WM_JSON, js.data, js.len);
    wm_buf_free(&js);
    return rc;
}

void wasmorch_register(wm_registry *r) {
    wm_asset(r, "echo", echo, &(wm_asset_opts){.inputs = (const wm_input[]){{.name = "in", .asset = "echo_source"}, {0}}, .group = "conformance"});
    wm_asset(r, "join", join,
             &(wm_asset_opts){.inputs = (const wm_input[]){{.name = "left", .asset = "join_left"}, {.name = "right", .asset = "join_right"}, {0}}, .group = "conformance"});
    wm_op(r, "split", split,
          &(wm_op_opts){.inputs = (const wm_input[]){{.name = "in"}, {0}}, .outputs = (const wm_output[]){{.name = "evens"}, {.name = "odds"}, {0}}});
    wm_asset(r, "config", config, &(wm_asset_opts){.group = "conformance", .format = WM_JSON});
    wm_asset(r, "partition", partition, &(wm_asset_opts){.group = "conformance", .format = WM_BYTES});
    wm_asset(r, "logs", logs, &(wm_asset_opts){.group = "conformance", .format = WM_BYTES});
    wm_asset(r, "metadata", metadata, &(wm_asset_opts){.group = "conformance", .format = WM_BYTES});
    wm_asset(r, "error", fail, &(wm_asset_opts){.group = "conformance", .format = WM_BYTES});
    wm_asset(r, "panic", panics, &(wm_asset_opts){.group = "conformance", .format = WM_BYTES});

    wm_asset(r, "checked", checked, &(wm_asset_opts){.group = "conformance", .format = WM_BYTES});
    wm_check(r, "is_ok", "checked", is_ok, &(wm_check_opts){.blocking = true});
    wm_check(r, "warns", "checked", warns, &(wm_check_opts){.blocking = false});
    wm_asset(r, "typed_config", typed_config,
             &(wm_asset_opts){.group = "conformance", .format = WM_JSON,
                              .config_schema = "{\"type\":\"object\",\"properties\":{\"limit\":{\"type\":\"integer\",\"default\":10},"
                                               "\"label\":{\"type\":\"string\"}},\"required\":[\"label\"]}"});
    wm_asset(r, "uses_resource", uses_resource,
             &(wm_asset_opts){.group = "conformance", .format = WM_BYTES, .resources = (const char *[]){"vars", NULL}});
    wm_asset(r, "retries", retries,
             &(wm_asset_opts){.group = "conformance", .format = WM_BYTES,
                              .retry_policy = "{\"max_retries\": 2, \"delay_seconds\": 0.5, \"backoff\": \"exponential\"}"});
    wm_op(r, "fan_out", fan_out,
          &(wm_op_opts){.outputs = (const wm_output[]){{.name = "chunks", .format = WM_JSON, .dynamic = true}, {.name = "count", .format = WM_JSON}, {0}}});
    wm_op(r, "mapped", mapped,
          &(wm_op_opts){.inputs = (const wm_input[]){{.name = "n", .format = WM_JSON}, {0}},
                        .outputs = (const wm_output[]){{.name = "result", .format = WM_JSON}, {0}}});
    wm_graph(r, "conformance_graph",
             &(wm_graph_opts){.nodes = (const wm_node[]){{.name = "fan", .op = "fan_out"},
                                                         {.name = "double", .op = "mapped",
                                                          .wires = (const wm_wire[]){{.input = "n", .node = "fan", .output = "chunks"}, {0}}},
                                                         {.name = "total", .op = "MODULE:sum", .config = "{\"precision\": 2}",
                                                          .wires = (const wm_wire[]){{.input = "values", .node = "double", .output = "result", .collect = true}, {0}}},
                                                         {0}},
                              .outputs = (const wm_graph_output[]){{.name = "total", .node = "total", .output = "result"}, {0}}});
    wm_job(r, "conformance_job",
           &(wm_job_opts){.graph = "conformance_graph", .tags = (const wm_kv[]){{"suite", "conformance"}, {0}},
                          .config = "{\"ops\": {\"fan\": {\"config\": {}}}}"});
}
