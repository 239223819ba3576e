/*
 * c_parts: the C fixture of partitioned assets (issue 7). c_daily is partitioned by day in
 * January 2026 and writes one row with its partition key and the start of its window, so a test
 * can see what the host handed the step.
 *
 * Build (the Makefile does this), from the repository root:
 *
 *     clang --target=wasm32-wasi -O2 -mexec-model=reactor -Isdk-c \
 *         -o testdata/partitions/c/c_parts.wasm testdata/partitions/c/c_parts.c sdk-c/wasmorch.c
 */
#include "wasmorch.h"

static const wm_field fields[] = {
    {.name = "key", .type = WM_UTF8, .not_null = true},
    {.name = "window_start", .type = WM_UTF8, .not_null = true},
};
static const wm_schema schema = WM_SCHEMA(fields);

static int c_daily(wm_ctx *ctx) {
    const char *start, *end;
    wm_partition_window(ctx, &start, &end); /* "" and "" without a window */
    wm_batch_builder *b = wm_batch_builder_new(ctx, &schema);
    wm_batch *batch;
    wm_writer *w;
    if (!b || wm_append_str(b, 0, wm_partition_key(ctx)) || wm_append_str(b, 1, start) || wm_batch_builder_finish(b, &batch))
        return WM_FAIL;
    wm_batch_builder_free(b);
    int rc = wm_output_open(ctx, "result", WM_ARROW, &w) || wm_writer_write(w, batch) || wm_writer_close(w);
    wm_batch_free(batch);
    return rc ? WM_FAIL : WM_OK;
}

void wasmorch_register(wm_registry *r) {
    wm_asset(r, "c_daily", c_daily, &(wm_asset_opts){
        .schema = &schema,
        .partitions = "{\"type\": \"time\", \"schedule\": \"daily\", \"start\": \"2026-01-01\", \"end\": \"2026-02-01\"}",
    });
}
