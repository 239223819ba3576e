/* A C module of two ops for the host's cross-language graph test: fan_out writes the dynamic
 * output chunks[a] = 1, chunks[b] = 2, chunks[c] = 3; mapped runs once per key and writes
 * {"key": <mapping key>, "n2": 2n}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmorch.h"

static int fan_out(wm_ctx *ctx) {
    static const char *const keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        wm_writer *w;
        char v[4];
        int n = snprintf(v, sizeof v, "%d", i + 1);
        if (wm_output_open_mapped(ctx, "chunks", keys[i], WM_JSON, &w) || wm_writer_write_raw(w, v, (size_t)n) || wm_writer_close(w))
            return WM_FAIL;
    }
    return WM_OK;
}

static int mapped(wm_ctx *ctx) {
    char *data;
    size_t len;
    if (wm_input_read_all(ctx, "n", &data, &len, NULL)) return WM_FAIL;
    char text[32] = {0};
    memcpy(text, data, len < sizeof text - 1 ? len : sizeof text - 1);
    free(data);
    char *end;
    long long n = strtoll(text, &end, 10);
    if (end == text) return wm_error(ctx, "mapped: input \"n\" is not an integer: %s", text);
    char out[128];
    int m = snprintf(out, sizeof out, "{\"key\":\"%s\",\"n2\":%lld}", wm_mapping_key(ctx), n * 2);
    return wm_output_write_bytes(ctx, "result", WM_JSON, out, (size_t)m);
}

void wasmorch_register(wm_registry *r) {
    wm_op(r, "fan_out", fan_out, &(wm_op_opts){.outputs = (const wm_output[]){{.name = "chunks", .format = WM_JSON, .dynamic = true}, {0}}});
    wm_op(r, "mapped", mapped,
          &(wm_op_opts){.inputs = (const wm_input[]){{.name = "n", .format = WM_JSON}, {0}},
                        .outputs = (const wm_output[]){{.name = "result", .format = WM_JSON}, {0}}});
}
