/*
 * Native unit tests of the C SDK: JSON, number formatting, registration and the manifest, the
 * Arrow IPC reader and writer (round trips, an arrow-go stream, malformed streams) and dispatch
 * through wasmorch_run. The SDK is included whole, and the host functions it imports are defined
 * here as an in-memory fake host, so everything runs without WebAssembly.
 *
 * Build and run, from the repository root (sanitizers catch any out-of-bounds read):
 *
 *     cc -std=c11 -Wall -Wextra -g -fsanitize=address,undefined -fno-sanitize-recover=all \
 *        -Isdk-c -o /tmp/wasmorch-c-tests sdk-c/tests/test_wasmorch.c -lm && /tmp/wasmorch-c-tests
 *
 * Set WM_DUMP_DIR=DIR to also write streams the SDK encoded to DIR (see dump_streams), to check
 * them with another Arrow implementation.
 */
#include "../wasmorch.c"

#include <float.h>

#include "go_types_stream.h"

/* ========================================================================================== */
/* Test runner                                                                                */
/* ========================================================================================== */

static int passed, failed;

#define CHECK(cond) CHECKF(cond, "%s", "")
#define CHECKF(cond, ...)                                                          \
    do {                                                                           \
        if (cond) {                                                                \
            passed++;                                                              \
        } else {                                                                   \
            failed++;                                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
        }                                                                          \
    } while (0)

static bool contains(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

/* ========================================================================================== */
/* Fake host                                                                                  */
/* ========================================================================================== */

enum { MAX_INPUTS = 8, MAX_OUTPUTS = 8, MAX_HANDLES = 64, MAX_LOGS = 64, MAX_CHUNKS = 1 << 16 };

typedef struct fake_input {
    const char *name;
    int format;
    const uint8_t *data;
    size_t len;
    size_t *bounds; /* chunk i is data[bounds[i], bounds[i+1]) */
    int nchunks;
    const char *partition_prefix; /* chunk i's partition key is PREFIX + i (NULL: unpartitioned) */
} fake_input;

typedef struct fake_output {
    char name[64];
    int format;
    wm_buf data;
    wm_buf metadata;
    bool closed;
} fake_output;

typedef struct fake_handle {
    int kind; /* 0 free, 1 input, 2 output */
    int idx;
    int chunk;
    size_t off;
} fake_handle;

static struct {
    const char *invocation;
    bool in_run, in_manifest;
    fake_input inputs[MAX_INPUTS];
    int ninputs;
    fake_output outputs[MAX_OUTPUTS];
    int noutputs;
    fake_handle handles[MAX_HANDLES];
    char last_error[512];
    wm_buf error;
    bool error_called;
    wm_buf metadata;
    wm_buf manifest;
    int manifest_calls;
    int nlogs;
    int log_levels[MAX_LOGS];
    char *logs[MAX_LOGS];
    long long write_budget; /* output_write fails with ERR_LIMIT once this many bytes are written; <0: none */
    int check_calls;        /* check_result: how often, and the last verdict */
    int check_passed, check_severity;
    bool check_refuse;      /* check_result fails with ERR_STATE */
    char response[256];     /* the last resource_call's response */
    size_t response_len;
    int response_short;     /* response_read returns this many bytes fewer than asked (once) */
    wm_buf request;         /* the last resource_call's request */
    bool key_copied;        /* input_partition_key returns the bytes it copied, not the key's length */
} H;

static void host_reset(void) {
    for (int i = 0; i < H.ninputs; i++) free(H.inputs[i].bounds);
    for (int i = 0; i < H.noutputs; i++) {
        wm_buf_free(&H.outputs[i].data);
        wm_buf_free(&H.outputs[i].metadata);
    }
    for (int i = 0; i < H.nlogs; i++) free(H.logs[i]);
    wm_buf_free(&H.error);
    wm_buf_free(&H.metadata);
    wm_buf_free(&H.manifest);
    wm_buf_free(&H.request);
    memset(&H, 0, sizeof H);
    H.write_budget = -1;
}

static int32_t host_fail(int32_t code, const char *msg) {
    snprintf(H.last_error, sizeof H.last_error, "%s", msg);
    return code;
}

/* Adds an input delivered in chunks of chunk bytes (0: the whole value as one chunk; -1: one
 * chunk per encapsulated Arrow message, as the real host sends them). */
static void host_input(const char *name, int format, const void *data, size_t len, long chunk) {
    fake_input *in = &H.inputs[H.ninputs++];
    *in = (fake_input){name, format, data, len, calloc(MAX_CHUNKS + 1, sizeof(size_t)), 0, NULL};
    size_t at = 0;
    in->bounds[0] = 0;
    while (at < len && in->nchunks < MAX_CHUNKS) {
        size_t next;
        if (chunk > 0) {
            next = at + (size_t)chunk;
        } else if (chunk < 0 && len - at >= 8) {
            /* One message: continuation, length, metadata, body (bodyLength read from the
             * Message table as the SDK does). */
            uint32_t mlen = rd32((const uint8_t *)data + at + 4);
            ipc_msg m;
            errbuf e;
            next = at + 8 + mlen;
            if (mlen && next <= len && decode_message((const uint8_t *)data + at + 8, mlen, &m, &e)) next += (size_t)m.body_len;
        } else {
            next = len;
        }
        if (next > len || next <= at) next = len;
        in->bounds[++in->nchunks] = next;
        at = next;
    }
}

static fake_output *host_output(const char *name) {
    for (int i = 0; i < H.noutputs; i++)
        if (strcmp(H.outputs[i].name, name) == 0) return &H.outputs[i];
    return NULL;
}

static int32_t new_handle(int kind, int idx) {
    for (int i = 0; i < MAX_HANDLES; i++)
        if (!H.handles[i].kind) {
            H.handles[i] = (fake_handle){kind, idx, -1, 0};
            return i;
        }
    return host_fail(-5, "too many handles");
}

static fake_handle *get_handle(int32_t h, int kind) {
    if (h < 0 || h >= MAX_HANDLES || H.handles[h].kind != kind) return NULL;
    return &H.handles[h];
}

int32_t wm__last_error_len(void) { return (int32_t)strlen(H.last_error); }
int32_t wm__last_error_read(void *buf, uint32_t len) {
    size_t n = strlen(H.last_error);
    if (n > len) n = len;
    memcpy(buf, H.last_error, n);
    return (int32_t)n;
}
int32_t wm__invocation_len(void) {
    if (!H.in_run) return host_fail(-4, "invocation_len is only available inside wasmorch_run");
    return (int32_t)strlen(H.invocation);
}
int32_t wm__invocation_read(void *buf, uint32_t len) {
    size_t n = strlen(H.invocation);
    if (n > len) n = len;
    memcpy(buf, H.invocation, n);
    return (int32_t)n;
}
int32_t wm__input_open(const char *name, uint32_t len) {
    for (int i = 0; i < H.ninputs; i++)
        if (strlen(H.inputs[i].name) == len && memcmp(H.inputs[i].name, name, len) == 0) return new_handle(1, i);
    char msg[200];
    snprintf(msg, sizeof msg, "step has no input \"%.*s\"", (int)len, name);
    return host_fail(-2, msg);
}
int32_t wm__input_format(int32_t h) {
    fake_handle *fh = get_handle(h, 1);
    return fh ? H.inputs[fh->idx].format : host_fail(-3, "not an open input handle");
}
int64_t wm__input_next(int32_t h) {
    fake_handle *fh = get_handle(h, 1);
    if (!fh) return host_fail(-3, "not an open input handle");
    fake_input *in = &H.inputs[fh->idx];
    if (fh->chunk >= in->nchunks) return 0;
    fh->chunk++;
    fh->off = 0;
    if (fh->chunk >= in->nchunks) return 0;
    return (int64_t)(in->bounds[fh->chunk + 1] - in->bounds[fh->chunk]);
}
int32_t wm__input_read(int32_t h, void *buf, uint32_t len) {
    fake_handle *fh = get_handle(h, 1);
    if (!fh) return host_fail(-3, "not an open input handle");
    fake_input *in = &H.inputs[fh->idx];
    if (fh->chunk < 0 || fh->chunk >= in->nchunks) return 0;
    size_t start = in->bounds[fh->chunk] + fh->off, end = in->bounds[fh->chunk + 1];
    size_t n = end - start < len ? end - start : len;
    memcpy(buf, in->data + start, n);
    fh->off += n;
    return (int32_t)n;
}
int32_t wm__input_partition_key(int32_t h, void *buf, uint32_t len) {
    fake_handle *fh = get_handle(h, 1);
    if (!fh) return host_fail(-3, "not an open input handle");
    fake_input *in = &H.inputs[fh->idx];
    if (!in->partition_prefix) return 0;
    char key[300];
    int n = snprintf(key, sizeof key, "%s%d", in->partition_prefix, fh->chunk);
    memcpy(buf, key, (size_t)n < len ? (size_t)n : len);
    return H.key_copied && (uint32_t)n > len ? (int32_t)len : n;
}
int32_t wm__input_close(int32_t h) {
    fake_handle *fh = get_handle(h, 1);
    if (!fh) return host_fail(-3, "not an open input handle");
    fh->kind = 0;
    return 0;
}
int32_t wm__output_open(const char *name, uint32_t len, int32_t format) {
    if (format < 1 || format > 3) return host_fail(-3, "unknown format");
    char nm[64];
    snprintf(nm, sizeof nm, "%.*s", (int)len, name);
    if (strcmp(nm, "undeclared") == 0) return host_fail(-2, "step has no output \"undeclared\"");
    if (host_output(nm)) return host_fail(-4, "output was already opened in this step");
    fake_output *o = &H.outputs[H.noutputs++];
    snprintf(o->name, sizeof o->name, "%s", nm);
    o->format = format;
    return new_handle(2, H.noutputs - 1);
}
int32_t wm__output_write(int32_t h, const void *p, uint32_t len) {
    fake_handle *fh = get_handle(h, 2);
    if (!fh) return host_fail(-3, "not an open output handle");
    if (H.write_budget >= 0) {
        if ((long long)len > H.write_budget) return host_fail(-5, "the step wrote more than its output limit");
        H.write_budget -= len;
    }
    wm_buf_append(&H.outputs[fh->idx].data, p, len);
    return 0;
}
int32_t wm__output_metadata(int32_t h, const char *p, uint32_t len) {
    fake_handle *fh = get_handle(h, 2);
    if (!fh) return host_fail(-3, "not an open output handle");
    if (!wm_json_valid(p, len) || p[0] != '{') return host_fail(-3, "output_metadata: metadata must be a JSON object");
    wm_buf_append(&H.outputs[fh->idx].metadata, p, len);
    return 0;
}
int32_t wm__output_close(int32_t h) {
    fake_handle *fh = get_handle(h, 2);
    if (!fh) return host_fail(-3, "not an open output handle");
    fake_output *o = &H.outputs[fh->idx];
    o->closed = true;
    fh->kind = 0;
    if (o->format == WM_JSON && !wm_json_valid(o->data.data, o->data.len)) return host_fail(-3, "the value is not valid JSON");
    return 0;
}
int32_t wm__error_set(const char *p, uint32_t len) {
    H.error_called = true;
    H.error.len = 0;
    wm_buf_append(&H.error, p, len);
    if (!H.error.data) wm_buf_append(&H.error, "", 0);
    return 0;
}
int32_t wm__metadata_add(const char *p, uint32_t len) {
    if (!H.in_run) return host_fail(-4, "metadata_add is only available inside wasmorch_run");
    if (!wm_json_valid(p, len) || p[0] != '{') return host_fail(-3, "metadata_add: metadata must be a JSON object");
    bool reserved = false;
    for (uint32_t i = 0; i + 6 <= len; i++) reserved |= memcmp(p + i, "\"rows\"", 6) == 0;
    if (reserved) return host_fail(-3, "metadata_add: metadata entry \"rows\" is set by the host");
    wm_buf_append(&H.metadata, p, len);
    return 0;
}
int32_t wm__log(int32_t level, const char *p, uint32_t len) {
    if (level < 0 || level > 3) return host_fail(-3, "log: unknown level");
    if (H.nlogs < MAX_LOGS) {
        H.log_levels[H.nlogs] = level;
        H.logs[H.nlogs++] = xstrndup(p, len);
    }
    return 0;
}
/* Resources of the fake host: "vars" is an env resource granting CONFORMANCE_VAR and MISSING
 * (which is not set); "flaky" answers but its response_read fails; every other key is denied. */
int64_t wm__resource_call(const char *key, uint32_t key_len, const char *req, uint32_t req_len) {
    char k[64], msg[200];
    snprintf(k, sizeof k, "%.*s", (int)key_len, key);
    H.request.len = 0;
    wm_buf_append(&H.request, req, req_len);
    H.response_len = 0;
    if (strcmp(k, "vars") == 0 || strcmp(k, "flaky") == 0) {
        const char *v;
        size_t vn;
        if (!wm_json_valid(req, req_len) || wm_json_find(req, req_len, "name", &v, &vn) != 0)
            return host_fail(-3, "env request: field \"name\" is required");
        if (vn == 17 && memcmp(v, "\"CONFORMANCE_VAR\"", 17) == 0)
            snprintf(H.response, sizeof H.response, "{\"value\":\"from \\\"the\\\" host \\u00e9\",\"found\":true}");
        else if (vn == 9 && memcmp(v, "\"MISSING\"", 9) == 0)
            return host_fail(-2, "env: MISSING is not set");
        else {
            snprintf(msg, sizeof msg, "env resource \"%s\" does not grant the variable %.*s", k, (int)vn, v);
            return host_fail(-6, msg);
        }
        H.response_len = strlen(H.response);
        if (strcmp(k, "flaky") == 0) H.response_short = -1;
        return (int64_t)H.response_len;
    }
    snprintf(msg, sizeof msg, "no resource \"%s\" is granted to this step", k);
    return host_fail(-6, msg);
}
int32_t wm__response_read(void *buf, uint32_t len) {
    if (H.response_short < 0) return host_fail(-7, "the response was lost");
    size_t n = H.response_len < len ? H.response_len : len;
    memcpy(buf, H.response, n);
    return (int32_t)n;
}
int32_t wm__check_result(int32_t passed, int32_t severity) {
    if (!H.in_run || H.check_refuse) return host_fail(-4, "check_result is only available in an asset check step");
    if ((passed != 0 && passed != 1) || (severity != 0 && severity != 1))
        return host_fail(-3, "check_result: passed must be 0 or 1 and severity 0 (WARN) or 1 (ERROR)");
    H.check_calls++;
    H.check_passed = passed;
    H.check_severity = severity;
    return 0;
}
int32_t wm__manifest_write(const char *p, uint32_t len) {
    if (!H.in_manifest || H.manifest_calls++) return host_fail(-4, "manifest_write may be called once, inside wasmorch_manifest");
    wm_buf_append(&H.manifest, p, len);
    return 0;
}

/* A context for calling SDK functions directly. */
static wm_ctx test_ctx(void) {
    wm_ctx c = {0};
    c.kind = xstrdup("asset");
    c.name = xstrdup("test");
    c.run_id = xstrdup("run");
    c.step_key = xstrdup("test");
    c.partition_key = xstrdup("");
    c.config = xstrdup("{}");
    c.config_len = 2;
    c.attempt = 1;
    return c;
}

/* ========================================================================================== */
/* The types table (typesBatch of conformance_test.go)                                        */
/* ========================================================================================== */

static const wm_field types_fields[] = {
    {.name = "i8", .type = WM_INT8},       {.name = "i16", .type = WM_INT16},   {.name = "i32", .type = WM_INT32},
    {.name = "i64", .type = WM_INT64},     {.name = "u8", .type = WM_UINT8},    {.name = "u16", .type = WM_UINT16},
    {.name = "u32", .type = WM_UINT32},    {.name = "u64", .type = WM_UINT64},  {.name = "f32", .type = WM_FLOAT32},
    {.name = "f64", .type = WM_FLOAT64},   {.name = "b", .type = WM_BOOL},      {.name = "s", .type = WM_UTF8},
    {.name = "bin", .type = WM_BINARY},    {.name = "d", .type = WM_DATE32},
    {.name = "ts", .type = WM_TIMESTAMP, .unit = WM_MICROSECOND, .timezone = "UTC"},
    {.name = "ts_ns", .type = WM_TIMESTAMP, .unit = WM_NANOSECOND},
};

typedef struct value {
    bool valid;
    int64_t i;
    uint64_t u;
    double d;
    char s[64];
    size_t slen;
} value;

/* Row r of typesBatch(rows, seed), column c. */
static value types_value(int c, int r, int seed) {
    value v = {0};
    int kind = (r + seed) % 5;
    if (kind == 3 || (kind == 4 && c % 2 == 0)) return v;
    v.valid = true;
    int64_t x = r + seed + 2;
    switch (c) {
    case 0: v.i = kind == 0 ? INT8_MIN : kind == 1 ? INT8_MAX : (int8_t)x; break;
    case 1: v.i = kind == 0 ? INT16_MIN : kind == 1 ? INT16_MAX : (int16_t)(-x * 300); break;
    case 2: v.i = kind == 0 ? INT32_MIN : kind == 1 ? INT32_MAX : (int32_t)(x * 70000); break;
    case 3: v.i = kind == 0 ? INT64_MIN : kind == 1 ? INT64_MAX : -x * 5000000000LL; break;
    case 4: v.u = kind == 0 ? 0 : kind == 1 ? UINT8_MAX : (uint8_t)x; break;
    case 5: v.u = kind == 0 ? 0 : kind == 1 ? UINT16_MAX : (uint16_t)(x * 300); break;
    case 6: v.u = kind == 0 ? 0 : kind == 1 ? UINT32_MAX : (uint32_t)(x * 70000); break;
    case 7: v.u = kind == 0 ? 0 : kind == 1 ? UINT64_MAX : (uint64_t)x * 5000000000ULL; break;
    case 8: v.d = kind == 0 ? -FLT_MAX : kind == 1 ? FLT_MAX : (float)x + 0.25f; break;
    case 9: v.d = kind == 0 ? -DBL_MAX : kind == 1 ? DBL_MAX : (double)x / 3; break;
    case 10: v.i = kind == 0 ? 0 : kind == 1 ? 1 : x % 2 == 0; break;
    case 11:
        if (kind == 1) snprintf(v.s, sizeof v.s, "na\xc3\xafve caf\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac");
        else if (kind != 0) snprintf(v.s, sizeof v.s, "row %lld", (long long)x);
        v.slen = strlen(v.s);
        break;
    case 12:
        if (kind == 1) memcpy(v.s, "\xff\x00\x01", 3), v.slen = 3;
        else if (kind != 0) v.slen = (size_t)snprintf(v.s, sizeof v.s, "b%lld", (long long)x);
        break;
    case 13: v.i = kind == 0 ? 0 : kind == 1 ? 2932896 : 20000 + x; break;
    case 14:
    case 15: v.i = kind == 0 ? 0 : kind == 1 ? INT64_MAX : 1700000000000000LL + x; break;
    }
    return v;
}

static void append_types_rows(wm_batch_builder *b, int rows, int seed) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < 16; c++) {
            value v = types_value(c, r, seed);
            if (!v.valid) {
                wm_append_null(b, c);
                continue;
            }
            switch (types_fields[c].type) {
            case WM_INT8: wm_append_i8(b, c, (int8_t)v.i); break;
            case WM_INT16: wm_append_i16(b, c, (int16_t)v.i); break;
            case WM_INT32: wm_append_i32(b, c, (int32_t)v.i); break;
            case WM_INT64: wm_append_i64(b, c, v.i); break;
            case WM_UINT8: wm_append_u8(b, c, (uint8_t)v.u); break;
            case WM_UINT16: wm_append_u16(b, c, (uint16_t)v.u); break;
            case WM_UINT32: wm_append_u32(b, c, (uint32_t)v.u); break;
            case WM_UINT64: wm_append_u64(b, c, v.u); break;
            case WM_FLOAT32: wm_append_f32(b, c, (float)v.d); break;
            case WM_FLOAT64: wm_append_f64(b, c, v.d); break;
            case WM_BOOL: wm_append_bool(b, c, v.i != 0); break;
            case WM_UTF8: case WM_BINARY: wm_append_strn(b, c, v.s, v.slen); break;
            case WM_DATE32: wm_append_date32(b, c, (int32_t)v.i); break;
            case WM_TIMESTAMP: wm_append_timestamp(b, c, v.i); break;
            default: break;
            }
        }
}

/* Checks a decoded batch against typesBatch(rows, seed); returns the number of mismatches. */
static bool quiet; /* while fuzzing, differences are expected */

static int check_types_batch(const wm_batch *b, int rows, int seed, const char *what) {
    int bad = 0;
    FILE *log = quiet ? NULL : stderr;
    if (b->num_rows != rows || b->num_columns != 16) {
        if (log) fprintf(log, "%s: %lld rows x %d columns, want %d x 16\n", what, (long long)b->num_rows, b->num_columns, rows);
        return 1;
    }
    for (int c = 0; c < 16; c++) {
        const wm_column *col = &b->columns[c];
        if (strcmp(col->field->name, types_fields[c].name) != 0 || !same_type(col->field, &types_fields[c]) || col->field->not_null) {
            if (log) fprintf(log, "%s: column %d is %s, want %s\n", what, c, col->field->name, types_fields[c].name);
            bad++;
            continue;
        }
        for (int r = 0; r < rows; r++) {
            value v = types_value(c, r, seed);
            bool ok;
            if (wm_column_is_null(col, r) != !v.valid) ok = false;
            else if (!v.valid) ok = true;
            else switch (col->field->type) {
                case WM_INT8: ok = wm_column_i8(col)[r] == v.i; break;
                case WM_INT16: ok = wm_column_i16(col)[r] == v.i; break;
                case WM_INT32: ok = wm_column_i32(col)[r] == v.i; break;
                case WM_INT64: ok = wm_column_i64(col)[r] == v.i; break;
                case WM_UINT8: ok = wm_column_u8(col)[r] == v.u; break;
                case WM_UINT16: ok = wm_column_u16(col)[r] == v.u; break;
                case WM_UINT32: ok = wm_column_u32(col)[r] == v.u; break;
                case WM_UINT64: ok = wm_column_u64(col)[r] == v.u; break;
                case WM_FLOAT32: ok = wm_column_f32(col)[r] == (float)v.d; break;
                case WM_FLOAT64: ok = wm_column_f64(col)[r] == v.d; break;
                case WM_BOOL: ok = wm_column_bool(col, r) == (v.i != 0); break;
                case WM_UTF8: case WM_BINARY: {
                    size_t n;
                    const char *s = wm_column_str(col, r, &n);
                    ok = n == v.slen && memcmp(s, v.s, n) == 0;
                    break;
                }
                case WM_DATE32: ok = wm_column_date32(col)[r] == v.i; break;
                case WM_TIMESTAMP: ok = wm_column_timestamp(col)[r] == v.i; break;
                default: ok = false;
                }
            if (!ok) {
                if (log) fprintf(log, "%s: column %s row %d differs\n", what, col->field->name, r);
                bad++;
            }
        }
    }
    return bad;
}

/* ========================================================================================== */
/* Test assets                                                                                */
/* ========================================================================================== */

static int reg_mode; /* which registrations wasmorch_register makes */

static int a_echo(wm_ctx *ctx) {
    wm_reader *in;
    wm_writer *out;
    if (wm_input_open(ctx, "in", &in) || wm_output_open(ctx, "result", WM_ARROW, &out)) return WM_FAIL;
    if (wm_writer_set_schema(out, wm_reader_schema(in))) return WM_FAIL;
    const wm_batch *b;
    int rc;
    while ((rc = wm_reader_next(in, &b)) > 0)
        if (wm_writer_write(out, b)) return WM_FAIL;
    return rc < 0 ? WM_FAIL : WM_OK; /* the SDK closes the output */
}

/* Writes typesBatch(3, 1), typesBatch(0, 0), typesBatch(4, 2) built with the builder. */
static int a_types(wm_ctx *ctx) {
    wm_schema s = WM_SCHEMA(types_fields);
    wm_batch_builder *b = wm_batch_builder_new(ctx, &s);
    wm_writer *out;
    if (!b || wm_output_open(ctx, "result", WM_ARROW, &out)) return WM_FAIL;
    static const int rows[] = {3, 0, 4}, seeds[] = {1, 0, 2};
    for (int i = 0; i < 3; i++) {
        wm_batch *batch;
        append_types_rows(b, rows[i], seeds[i]);
        if (wm_batch_builder_finish(b, &batch) || wm_writer_write(out, batch)) return WM_FAIL;
        wm_batch_free(batch);
    }
    wm_batch_builder_free(b);
    return wm_writer_close(out);
}

static int a_types5(wm_ctx *ctx) {
    wm_schema s = WM_SCHEMA(types_fields);
    wm_batch_builder *b = wm_batch_builder_new(ctx, &s);
    wm_batch *batch;
    wm_writer *out;
    append_types_rows(b, 5, 0);
    if (wm_batch_builder_finish(b, &batch) || wm_output_open(ctx, "result", WM_ARROW, &out) || wm_writer_write(out, batch)) return WM_FAIL;
    wm_batch_free(batch);
    wm_batch_builder_free(b);
    return wm_writer_close(out);
}

static int a_cfg(wm_ctx *ctx) {
    const char *name;
    int64_t n;
    double x;
    bool flag;
    if (wm_config_get_string(ctx, "name", &name) || wm_config_get_int(ctx, "n", &n) || wm_config_get_double(ctx, "x", &x) ||
        wm_config_get_bool(ctx, "flag", &flag))
        return WM_FAIL;
    wm_buf b = {0};
    wm_buf_puts(&b, "{\"name\":");
    wm_buf_json_string(&b, name, strlen(name));
    wm_buf_printf(&b, ",\"n\":%lld,\"x\":", (long long)n);
    wm_buf_json_double(&b, x);
    wm_buf_printf(&b, ",\"flag\":%s,\"partition\":", flag ? "true" : "false");
    wm_buf_json_string(&b, wm_partition_key(ctx), strlen(wm_partition_key(ctx)));
    wm_buf_printf(&b, ",\"attempt\":%d,\"run\":\"%s\"}", wm_attempt(ctx), wm_run_id(ctx));
    int rc = wm_output_write_bytes(ctx, "result", WM_JSON, b.data, b.len);
    wm_buf_free(&b);
    wm_log(ctx, WM_INFO, "wrote %s with %d%%", "config", 100);
    return rc;
}

static int a_fail(wm_ctx *ctx) { return wm_error(ctx, "deliberate: %d", 7); }
static int a_silent(wm_ctx *ctx) {
    (void)ctx;
    return 1;
}
static int a_retry(wm_ctx *ctx) {
    wm_error(ctx, "try again");
    return WM_RETRY;
}
/* Ignores a malformed input and returns success: the step must still fail. */
static int a_ignore_error(wm_ctx *ctx) {
    wm_reader *in;
    if (wm_input_open(ctx, "in", &in)) return WM_OK;
    const wm_batch *b;
    while (wm_reader_next(in, &b) > 0) {
    }
    return WM_OK;
}
static int a_meta(wm_ctx *ctx) {
    wm_writer *w;
    if (wm_metadata_json(ctx, "{\"answer\":42}") || wm_output_open(ctx, "result", WM_BYTES, &w) || wm_writer_metadata(w, "{\"k\":\"v\"}") ||
        wm_writer_write_raw(w, "ok", 2))
        return WM_FAIL;
    return wm_writer_close(w);
}
static int a_bad_meta(wm_ctx *ctx) { return wm_metadata_json(ctx, "{\"rows\": 1}") ? WM_FAIL : WM_OK; }
static int a_no_schema(wm_ctx *ctx) {
    wm_writer *w;
    return wm_output_open(ctx, "result", WM_ARROW, &w);
}
static int a_undeclared(wm_ctx *ctx) {
    wm_writer *w;
    return wm_output_open(ctx, "undeclared", WM_BYTES, &w);
}
static int a_resource(wm_ctx *ctx) {
    char *resp;
    size_t n;
    return wm_resource_call(ctx, "warehouse", "{}", &resp, &n);
}
static int a_split(wm_ctx *ctx) {
    static const wm_field f[] = {{.name = "n", .type = WM_INT64}};
    wm_schema s = WM_SCHEMA(f);
    wm_batch_builder *ev = wm_batch_builder_new(ctx, &s), *od = wm_batch_builder_new(ctx, &s);
    wm_reader *in;
    if (wm_input_open(ctx, "in", &in)) return WM_FAIL;
    const wm_batch *b;
    int rc;
    while ((rc = wm_reader_next(in, &b)) > 0) {
        const wm_column *n = wm_batch_column(ctx, b, "n", WM_INT64);
        if (!n) return WM_FAIL;
        for (int64_t i = 0; i < b->num_rows; i++)
            if (!wm_column_is_null(n, i)) wm_append_from(wm_column_i64(n)[i] % 2 ? od : ev, 0, n, i);
    }
    if (rc < 0) return WM_FAIL;
    wm_batch *e, *o;
    wm_writer *we, *wo;
    if (wm_batch_builder_finish(ev, &e) || wm_batch_builder_finish(od, &o)) return WM_FAIL;
    if (wm_output_open(ctx, "evens", WM_ARROW, &we) || wm_writer_write(we, e) || wm_output_open(ctx, "odds", WM_ARROW, &wo) ||
        wm_writer_write(wo, o))
        return WM_FAIL;
    wm_batch_free(e);
    wm_batch_free(o);
    wm_batch_builder_free(ev);
    wm_batch_builder_free(od);
    return WM_OK;
}

/* Reads every batch with its partition key; writes "KEY:ROWS;..." */
static int a_mapped(wm_ctx *ctx) {
    wm_reader *in;
    if (wm_input_open(ctx, "in", &in)) return WM_FAIL;
    wm_buf out = {0};
    const wm_batch *b;
    int rc;
    while ((rc = wm_reader_next(in, &b)) > 0) {
        size_t n;
        const char *key = wm_reader_partition_key(in, &n);
        if (!key) return WM_FAIL;
        wm_buf_printf(&out, "%s:%lld;", key, (long long)b->num_rows);
    }
    if (rc < 0) return WM_FAIL;
    rc = wm_output_write_bytes(ctx, "result", WM_BYTES, out.data, out.len);
    wm_buf_free(&out);
    return rc;
}

/* Writes its partition window and keys: "START|END|S|E|n|K0,K1,..." (n: wm_partition_keys). */
static int a_window(wm_ctx *ctx) {
    const char *start, *end;
    int64_t s, e;
    bool ok = wm_partition_window(ctx, &start, &end);
    CHECK(wm_partition_window_unix(ctx, &s, &e) == ok);
    const char *const *keys;
    int n = wm_partition_keys(ctx, &keys);
    CHECK(n == wm_partition_keys(ctx, NULL) && keys[n < 0 ? 0 : n] == NULL);
    wm_buf b = {0};
    wm_buf_printf(&b, "%s|%s|%lld|%lld|%d|", start, end, (long long)s, (long long)e, n);
    for (int i = 0; i < n; i++) wm_buf_printf(&b, "%s%s", i ? "," : "", keys[i]);
    int rc = wm_output_write_bytes(ctx, "result", WM_BYTES, b.data, b.len);
    wm_buf_free(&b);
    return rc;
}

/* Writes one value of the dynamic output chunk per mapping key. */
static int a_fan(wm_ctx *ctx) {
    static const char *keys[] = {"eu_1", "us", "bad key"};
    for (int i = 0; i < 3; i++) {
        wm_writer *w;
        if (wm_output_open_mapped(ctx, "chunk", keys[i], WM_BYTES, &w)) return WM_FAIL;
        if (wm_writer_write_raw(w, keys[i], strlen(keys[i])) || wm_writer_close(w)) return WM_FAIL;
    }
    return WM_OK;
}

/* ---- checks ---- */

static int a_checked(wm_ctx *ctx) { return wm_output_write_bytes(ctx, "result", WM_BYTES, "ok", 2); }

/* Passes when the asset's value is "ok"; attaches its length. */
static int c_is_ok(wm_ctx *ctx) {
    char *v;
    size_t n;
    if (wm_input_read_all(ctx, "asset", &v, &n, NULL)) return WM_FAIL;
    bool ok = n == 2 && memcmp(v, "ok", 2) == 0;
    free(v);
    char meta[64];
    snprintf(meta, sizeof meta, "{\"length\": %zu}", n);
    if (wm_metadata_json(ctx, meta)) return WM_FAIL;
    return wm_check_result(ctx, ok, WM_SEVERITY_ERROR);
}
/* The same check name on another asset: always fails with WARN, naming its asset. */
static int c_is_ok_other(wm_ctx *ctx) {
    wm_log(ctx, WM_INFO, "checking %s", wm_check_asset(ctx));
    return wm_check_result(ctx, false, WM_SEVERITY_WARN);
}
static int c_warns(wm_ctx *ctx) { return wm_check_result(ctx, false, WM_SEVERITY_WARN); }
static int c_bad_severity(wm_ctx *ctx) { return wm_check_result(ctx, false, (wm_severity)7); }
/* Reports a failure, then returns WM_OK anyway: the failed verdict must stand. */
static int c_passes_silently(wm_ctx *ctx) {
    (void)ctx;
    return WM_OK;
}
static int c_errors(wm_ctx *ctx) { return wm_error(ctx, "cannot evaluate: %s", "no data"); }
/* An asset that reports a check result: refused by the SDK. */
static int a_check_result_in_asset(wm_ctx *ctx) {
    wm_check_result(ctx, true, WM_SEVERITY_ERROR);
    return WM_OK;
}

/* ---- retries ---- */

/* Asks for a retry on attempts 1 and 2 and succeeds on attempt 3. */
static int a_retries(wm_ctx *ctx) {
    if (wm_attempt(ctx) < 3) return wm_retry(ctx, "try again (attempt %d)", wm_attempt(ctx));
    char out[32];
    int n = snprintf(out, sizeof out, "attempt %d", wm_attempt(ctx));
    return wm_output_write_bytes(ctx, "result", WM_BYTES, out, (size_t)n);
}
static int a_retry_silent(wm_ctx *ctx) {
    (void)ctx;
    return WM_RETRY;
}

/* ---- resources ---- */

/* Reads the variable config.name (default CONFORMANCE_VAR) from resource config.key (default
 * vars) and writes it; a missing variable writes "(unset)". */
static int a_uses_resource(wm_ctx *ctx) {
    const char *key = "vars", *var = "CONFORMANCE_VAR";
    if (wm_config_has(ctx, "key") && wm_config_get_string(ctx, "key", &key)) return WM_FAIL;
    if (wm_config_has(ctx, "name") && wm_config_get_string(ctx, "name", &var)) return WM_FAIL;
    wm_buf req = {0};
    wm_buf_puts(&req, "{\"op\":\"get\",\"name\":");
    wm_buf_json_string(&req, var, strlen(var));
    wm_buf_puts(&req, "}");
    char *resp;
    size_t n;
    int rc = wm_resource_call(ctx, key, req.data, &resp, &n);
    wm_buf_free(&req);
    if (rc == WM_ERR_NOT_FOUND) return wm_output_write_bytes(ctx, "result", WM_BYTES, "(unset)", 7);
    if (rc) return WM_FAIL;
    const char *v;
    size_t vn;
    char *value;
    size_t value_len;
    rc = wm_json_find(resp, n, "value", &v, &vn) == 0 && wm_json_string(v, vn, &value, &value_len) == 0
             ? WM_OK
             : wm_error(ctx, "resource \"%s\": the response has no string \"value\": %s", key, resp);
    free(resp);
    if (rc) return rc;
    rc = wm_output_write_bytes(ctx, "result", WM_BYTES, value, value_len);
    free(value);
    return rc;
}

/* ---- ops: fan-out, mapped steps, optional inputs ---- */

/* Writes chunks[a] = 1, chunks[b] = 2, chunks[c] = 3 and count = 3; config {"key": K} writes only
 * chunks[K] instead, for testing bad keys. */
static int o_fan_out(wm_ctx *ctx) {
    if (wm_config_has(ctx, "key")) {
        const char *key;
        wm_writer *w;
        if (wm_config_get_string(ctx, "key", &key) || wm_output_open_mapped(ctx, "chunks", key, WM_JSON, &w)) return WM_FAIL;
        return wm_writer_write_raw(w, "0", 1);
    }
    static const char *keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        wm_writer *w;
        char v[8];
        int n = snprintf(v, sizeof v, "%d", i + 1);
        if (wm_output_open_mapped(ctx, "chunks", keys[i], WM_JSON, &w) || wm_writer_write_raw(w, v, (size_t)n) || wm_writer_close(w))
            return WM_FAIL;
    }
    return wm_output_write_bytes(ctx, "count", WM_JSON, "3", 1);
}

/* Writes {"key": <mapping key>, "n2": 2n}, plus "extra" when the optional input is there. */
static int o_mapped(wm_ctx *ctx) {
    char *v;
    size_t n;
    int64_t x;
    if (wm_input_read_all(ctx, "n", &v, &n, NULL)) return WM_FAIL;
    int bad = wm_json_int(v, n, &x);
    free(v);
    if (bad) return wm_error(ctx, "input \"n\" is not an integer");
    wm_buf js = {0};
    wm_buf_puts(&js, "{\"key\":");
    wm_buf_json_string(&js, wm_mapping_key(ctx), strlen(wm_mapping_key(ctx)));
    wm_buf_printf(&js, ",\"n2\":%lld", (long long)(x * 2));
    if (wm_has_input(ctx, "extra")) {
        if (wm_input_read_all(ctx, "extra", &v, &n, NULL)) {
            wm_buf_free(&js);
            return WM_FAIL;
        }
        wm_buf_printf(&js, ",\"extra\":%s", v);
        free(v);
    }
    wm_buf_puts(&js, "}");
    int rc = wm_output_write_bytes(ctx, "result", WM_JSON, js.data, js.len);
    wm_buf_free(&js);
    return rc;
}

static const wm_field revenue_fields[] = {{.name = "region", .type = WM_UTF8, .not_null = true},
                                          {.name = "revenue", .type = WM_FLOAT64, .not_null = true}};

/* Graphs and jobs, as in sdk-go/graph_test.go, plus one of every kind of wire. */
static void register_graphs(wm_registry *r) {
    wm_graph(r, "numbers",
             &(wm_graph_opts){.description = "splits numbers",
                              .inputs = (const char *[]){"ns", NULL},
                              .nodes = (const wm_node[]){{.name = "split", .op = "split", .wires = (const wm_wire[]){{.input = "in", .graph_input = "ns"}, {0}}},
                                                         {.name = "report",
                                                          .op = "other:report",
                                                          .wires = (const wm_wire[]){{.input = "parts", .node = "split", .output = "evens", .collect = true}, {0}},
                                                          .config = "{\"limit\": 3}"},
                                                         {0}},
                              .outputs = (const wm_graph_output[]){{.name = "evens", .node = "split", .output = "evens"}, {0}}});
    /* Empty members are left out: "" description and config, no wires, no outputs, collect false. */
    wm_graph(r, "fan", &(wm_graph_opts){.description = "",
                                        .inputs = (const char *[]){NULL},
                                        .nodes = (const wm_node[]){{.name = "fan", .op = "fan_out", .wires = (const wm_wire[]){{0}}, .config = ""},
                                                                   {.name = "double",
                                                                    .op = "mapped_op",
                                                                    .wires = (const wm_wire[]){{.input = "n", .node = "fan", .output = "chunks"},
                                                                                               {.input = "extra", .node = "fan", .output = "count", .collect = false},
                                                                                               {0}}},
                                                                   {.name = "inner", .op = "numbers"},
                                                                   {0}},
                                        .outputs = (const wm_graph_output[]){{0}}});
    wm_job(r, "numbers_job", &(wm_job_opts){.graph = "numbers",
                                            .config = "{\"inputs\": {\"ns\": {\"value\": [1, 2]}}}",
                                            .tags = (const wm_kv[]){{"team", "data"}, {0}}});
    wm_job(r, "assets_job", &(wm_job_opts){.selection = "group:orders", .description = "", .graph = " ", .config = "", .tags = (const wm_kv[]){{0}}});
    wm_job(r, "remote_job", &(wm_job_opts){.graph = "other:graph", .description = "Runs \"graph\" of other."});
}

/* Every problem of graphs and jobs that a module can see alone. */
static void register_bad_graphs(wm_registry *r) {
    wm_graph(r, "1bad", NULL);
    wm_graph(r, "g",
             &(wm_graph_opts){.nodes = (const wm_node[]){{.name = "a", .op = "op", .wires = (const wm_wire[]){{.input = "in", .node = "nowhere", .output = "result"}, {0}}},
                                                         {.name = "a", .op = "op"},
                                                         {0}}});
    wm_graph(r, "g", &(wm_graph_opts){.nodes = (const wm_node[]){{.name = "b", .op = "op"}, {0}}});
    wm_graph(r, "wiring",
             &(wm_graph_opts){.inputs = (const char *[]){"x", "x", "bad-in", NULL},
                              .nodes = (const wm_node[]){{.name = "n1", .op = "a:b:c", .config = "[1]"},
                                                         {.name = "n2", .op = "wiring"},
                                                         {.name = "n3",
                                                          .wires = (const wm_wire[]){{.input = "a", .graph_input = "x", .node = "n1", .output = "o"},
                                                                                     {.input = "b", .graph_input = "nope"},
                                                                                     {.input = "c", .graph_input = "x", .collect = true},
                                                                                     {.input = "d", .node = "n1"},
                                                                                     {.input = "e", .node = "n3", .output = "r"},
                                                                                     {.input = "e", .node = "n1", .output = "bad-out"},
                                                                                     {.input = "bad in", .node = "n1", .output = "r"},
                                                                                     {0}}},
                                                         {.name = "9x", .op = ":op", .config = "{"},
                                                         {0}},
                              .outputs = (const wm_graph_output[]){{.name = "o", .node = "ghost", .output = "r"},
                                                                   {.name = "o", .node = "n1"},
                                                                   {.name = "bad-o", .node = "n1", .output = "r"},
                                                                   {0}}});
    wm_job(r, "j", NULL);
    wm_job(r, "k", &(wm_job_opts){.graph = "g", .selection = "*"});
    wm_job(r, "k", &(wm_job_opts){.selection = "*"});
    wm_job(r, "bad job", &(wm_job_opts){.graph = "x:", .config = "[]", .tags = (const wm_kv[]){{"t", NULL}, {0}}});
    wm_job(r, "blank", &(wm_job_opts){.graph = "  ", .selection = "\t", .config = "{nope}"});
    wm_job(r, NULL, &(wm_job_opts){.selection = "*"});
}

void wasmorch_register(wm_registry *r) {
    if (reg_mode == 0) {
        static const wm_schema revenue = WM_SCHEMA(revenue_fields);
        wm_asset(r, "echo", a_echo, &(wm_asset_opts){.inputs = (const wm_input[]){{.name = "in", .asset = "echo_source"}, {0}}});
        wm_asset(r, "types", a_types, NULL);
        wm_asset(r, "types5", a_types5, NULL);
        wm_asset(r, "cfg", a_cfg,
                 &(wm_asset_opts){.format = WM_JSON,
                                  .config_schema = "{\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"integer\"}}}",
                                  .description = "Reads \"config\"\n", .tags = (const wm_kv[]){{"team", "data"}, {0}}});
        wm_asset(r, "fail", a_fail, &(wm_asset_opts){.format = WM_BYTES});
        wm_asset(r, "silent", a_silent, NULL);
        wm_asset(r, "retry", a_retry, NULL);
        wm_asset(r, "ignore_error", a_ignore_error, NULL);
        wm_asset(r, "meta", a_meta, &(wm_asset_opts){.format = WM_BYTES});
        wm_asset(r, "bad_meta", a_bad_meta, NULL);
        wm_asset(r, "no_schema", a_no_schema, NULL);
        wm_asset(r, "undeclared", a_undeclared, NULL);
        wm_asset(r, "resource", a_resource, &(wm_asset_opts){.resources = (const char *[]){"warehouse", NULL}});
        wm_asset(r, "mapped", a_mapped,
                 &(wm_asset_opts){.inputs = (const wm_input[]){{.name = "in", .asset = "daily", .partition_mapping = "{\"type\": \"all\"}"}, {0}},
                                  .retry_policy = "{\"max_retries\": 3, \"backoff\": \"exponential\"}"});
        wm_asset(r, "window", a_window,
                 &(wm_asset_opts){.format = WM_BYTES,
                                  .partitions = "{\"type\": \"time\", \"schedule\": \"daily\", \"start\": \"2026-01-01\", \"timezone\": \"Europe/Paris\"}",
                                  .inputs = (const wm_input[]){{.name = "hours", .asset = "hourly",
                                                                .partition_mapping = "{\"type\": \"time_window\", \"start_offset\": -1, \"end_offset\": 0}"},
                                                               {.name = "regions", .format = WM_JSON,
                                                                .partition_mapping = "{\"type\": \"static\", \"map\": {\"2026-01-01\": [\"us\", \"eu\"]}}"},
                                                               {0}}});
        wm_op(r, "fan", a_fan,
              &(wm_op_opts){.outputs = (const wm_output[]){{.name = "chunk", .format = WM_BYTES, .dynamic = true}, {0}},
                            .retry_policy = "{\"max_retries\": 1}"});
        wm_asset(r, "orders/revenue", a_silent,
                 &(wm_asset_opts){.ins = (const char *[]){"orders/cleaned", NULL}, .deps = (const char *[]){"audit/log", NULL},
                                  .group = "orders", .schema = &revenue, .io_manager = "fs", .code_version = "v1",
                                  .partitions = "{\"type\": \"static\", \"keys\": [\"us\", \"eu\"]}"});
        wm_op(r, "split", a_split,
              &(wm_op_opts){.inputs = (const wm_input[]){{.name = "in"}, {0}},
                            .outputs = (const wm_output[]){{.name = "evens"}, {.name = "odds", .optional = true}, {0}}});
        wm_asset(r, "checked", a_checked, &(wm_asset_opts){.format = WM_BYTES});
        wm_check(r, "is_ok", "checked", c_is_ok,
                 &(wm_check_opts){.blocking = true, .description = "The value is \"ok\".",
                                  .config_schema = "{\"type\": \"object\"}", .resources = (const char *[]){"vars", NULL}});
        wm_check(r, "is_ok", "orders/raw", c_is_ok_other, NULL);
        wm_check(r, "warns", "checked", c_warns, &(wm_check_opts){0});
        wm_check(r, "bad_severity", "checked", c_bad_severity, NULL);
        wm_check(r, "silent", "checked", c_passes_silently, NULL);
        wm_check(r, "errors", "checked", c_errors, NULL);
        wm_asset(r, "check_result_in_asset", a_check_result_in_asset, NULL);
        wm_asset(r, "retries", a_retries,
                 &(wm_asset_opts){.format = WM_BYTES, .retry_policy = "{\"max_retries\": 2, \"delay_seconds\": 0.5, \"backoff\": \"exponential\"}"});
        wm_asset(r, "retry_silent", a_retry_silent, NULL);
        wm_asset(r, "uses_resource", a_uses_resource, &(wm_asset_opts){.format = WM_BYTES, .resources = (const char *[]){"vars", NULL}});
        wm_op(r, "fan_out", o_fan_out,
              &(wm_op_opts){.outputs = (const wm_output[]){{.name = "chunks", .format = WM_JSON, .dynamic = true}, {.name = "count", .format = WM_JSON}, {0}}});
        wm_op(r, "mapped_op", o_mapped,
              &(wm_op_opts){.inputs = (const wm_input[]){{.name = "n", .format = WM_JSON}, {.name = "extra", .format = WM_JSON, .optional = true}, {0}},
                            .outputs = (const wm_output[]){{.name = "result", .format = WM_JSON}, {.name = "log", .format = WM_BYTES, .optional = true}, {0}},
                            .config_schema = "{\"type\": \"object\", \"properties\": {\"k\": {\"type\": \"integer\"}}}",
                            .resources = (const char *[]){"vars", NULL}, .retry_policy = "{\"max_retries\": 2}"});
        register_graphs(r);
    } else if (reg_mode == 1) {
        static const wm_field dup[] = {{.name = "a", .type = WM_INT64}, {.name = "a", .type = (wm_type)99}};
        static const wm_schema dup_schema = WM_SCHEMA(dup);
        wm_asset(r, "bad key!", a_silent, NULL);
        wm_asset(r, "self", a_silent, &(wm_asset_opts){.ins = (const char *[]){"self", NULL}});
        wm_asset(r, "twice", a_silent, NULL);
        wm_asset(r, "twice", a_silent, NULL);
        wm_asset(r, "cfg", a_silent, &(wm_asset_opts){.config_schema = "[1, 2]"});
        wm_asset(r, "json_schema", a_silent, &(wm_asset_opts){.format = WM_JSON, .schema = &dup_schema});
        wm_asset(r, "bad_input", a_silent, &(wm_asset_opts){.ins = (const char *[]){"orders/raw-data", NULL}});
        wm_asset(r, "nofn", NULL, NULL);
        wm_asset(r, "bad_parts", a_silent, &(wm_asset_opts){.partitions = "{\"type\": \"daily\", \"start\": \"2026-01-01\"}"});
        wm_asset(r, "untyped_parts", a_silent, &(wm_asset_opts){.partitions = "{\"keys\": [\"us\"]}"});
        wm_asset(r, "list_parts", a_silent, &(wm_asset_opts){.partitions = "[\"us\"]"});
        wm_asset(r, "bad_mapping", a_silent,
                 &(wm_asset_opts){.inputs = (const wm_input[]){{.name = "a", .partition_mapping = "{\"type\": 1}"},
                                                               {.name = "b", .partition_mapping = "{\"type\": \"weekly\"}"},
                                                               {.name = "c", .partition_mapping = "{\"type\": \"all\""},
                                                               {0}}});
        wm_op(r, "op-name", a_silent, NULL);
        wm_op(r, "op", a_silent, &(wm_op_opts){.outputs = (const wm_output[]){{.name = "x"}, {.name = "x"}, {0}}});
        wm_op(r, "op2", a_silent,
              &(wm_op_opts){.inputs = (const wm_input[]){{.name = "i", .partition_mapping = "{}"}, {0}}, .retry_policy = "3"});
        wm_check(r, "dup", "checked", c_warns, NULL);
        wm_check(r, "dup", "checked", c_warns, &(wm_check_opts){.blocking = true});
        wm_check(r, "dup", "other", c_warns, NULL); /* the same name on another asset is fine */
        wm_check(r, "bad-name", "checked", c_warns, NULL);
        wm_check(r, "on_bad_key", "bad key", c_warns, NULL);
        wm_check(r, "nofn", "checked", NULL, &(wm_check_opts){.config_schema = "\"x\"", .resources = (const char *[]){"no-such key", NULL}});
        wm_check(r, NULL, NULL, c_warns, NULL);
    } else if (reg_mode == 3) {
        wm_check(r, "only", "elsewhere", c_warns, NULL); /* a module of checks only */
    } else if (reg_mode == 4) {
        register_bad_graphs(r);
    } else if (reg_mode == 5) {
        /* A module of a graph and a job only, whose ops are all in other modules. */
        wm_graph(r, "remote", &(wm_graph_opts){.nodes = (const wm_node[]){{.name = "only", .op = "other:op"}, {0}}});
        wm_job(r, "remote_job", &(wm_job_opts){.graph = "remote"});
    }
    /* reg_mode 2 registers nothing */
}

/* Runs wasmorch_run with the invocation text inv; returns the status. */
static int32_t run(const char *inv) {
    H.invocation = inv;
    H.in_run = true;
    int32_t st = wasmorch_run();
    H.in_run = false;
    return st;
}

/* ========================================================================================== */
/* Tests                                                                                      */
/* ========================================================================================== */

static void test_json(void) {
    static const char *valid[] = {"{}", " {\"a\": [1, 2.5e-3, -0, true, false, null, \"x\\u00e9\\n\"]} ", "[]", "\"\"", "0",
                                  "-1.5E+10", "{\"a\":{\"b\":{\"c\":[[[]]]}}}"};
    static const char *invalid[] = {"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "01", "1.", "-", "\"\\x\"", "\"a", "tru", "{} {}",
                                    "{\"a\":1,}", "\"\x01\"", "[1 2]", "\"\\u12g4\""};
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) CHECKF(wm_json_valid(valid[i], strlen(valid[i])), "%s", valid[i]);
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) CHECKF(!wm_json_valid(invalid[i], strlen(invalid[i])), "%s", invalid[i]);
    char deep[600];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    CHECKF(!wm_json_valid(deep, 600), "nesting deeper than %d must be refused", JSON_MAX_DEPTH);

    const char *doc = "{\"a\": 1, \"n\\u0061me\": \"x\\\"y\\u00e9\\ud83d\\ude00\\ud800\", \"a\": [2], \"z\": null}";
    const char *v;
    size_t n;
    CHECK(wm_json_find(doc, strlen(doc), "a", &v, &n) == 0 && n == 3 && memcmp(v, "[2]", 3) == 0); /* last wins */
    CHECK(wm_json_find(doc, strlen(doc), "missing", &v, &n) == 1);
    CHECK(wm_json_find("[1]", 3, "a", &v, &n) == -1);
    CHECK(wm_json_find("{\"a\":", 5, "a", &v, &n) == -1);
    CHECK(wm_json_find(doc, strlen(doc), "name", &v, &n) == 0);
    wm_buf b = {0};
    json_decode_string(v, n, &b);
    CHECKF(strcmp(b.data, "x\"y\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd") == 0, "decoded %s", b.data);
    wm_buf_free(&b);

    wm_buf_json_string(&b, "a\"b\\c\n\x01\xc3\xa9", 9);
    CHECKF(strcmp(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"") == 0, "%s", b.data);
    CHECK(wm_json_valid(b.data, b.len));
    wm_buf_free(&b);

    int64_t i;
    CHECK(json_int("-9223372036854775808", 20, &i) && i == INT64_MIN);
    CHECK(json_int("9223372036854775807", 19, &i) && i == INT64_MAX);
    CHECK(!json_int("9223372036854775808", 19, &i));
    CHECK(!json_int("1.0", 3, &i) && !json_int("1e3", 3, &i) && !json_int("-", 1, &i));
    double d;
    CHECK(json_double("2.5e-3", 6, &d) && d == 2.5e-3);
    CHECK(!json_double("1e999", 5, &d) && !json_double("\"1\"", 3, &d));

    /* The public value decoders: one value, white space allowed around it. */
    CHECK(wm_json_int(" 42\n", 4, &i) == 0 && i == 42);
    CHECK(wm_json_int("-7", 2, &i) == 0 && i == -7);
    i = 5;
    CHECK(wm_json_int("1.5", 3, &i) != 0 && wm_json_int("\"1\"", 3, &i) != 0 && wm_json_int("1 2", 3, &i) != 0 && i == 5);
    CHECK(wm_json_int("", 0, &i) != 0 && wm_json_int(NULL, 0, &i) != 0 && wm_json_int("1", 1, NULL) != 0);
    CHECK(wm_json_int("99999999999999999999", 20, &i) != 0);
    CHECK(wm_json_double(" 0.5 ", 5, &d) == 0 && d == 0.5 && wm_json_double("3", 1, &d) == 0 && d == 3);
    CHECK(wm_json_double("null", 4, &d) != 0 && wm_json_double("1e999", 5, &d) != 0);
    bool bv = false;
    CHECK(wm_json_bool("true", 4, &bv) == 0 && bv && wm_json_bool(" false", 6, &bv) == 0 && !bv);
    CHECK(wm_json_bool("tru", 3, &bv) != 0 && wm_json_bool("1", 1, &bv) != 0);
    char *str;
    size_t sl;
    CHECK(wm_json_string(" \"a\\u0000b\\n\\u00e9\" ", 20, &str, &sl) == 0 && sl == 6 && memcmp(str, "a\0b\n\xc3\xa9", 6) == 0 && str[6] == 0);
    free(str);
    CHECK(wm_json_string("\"\"", 2, &str, NULL) == 0 && str && str[0] == 0);
    free(str);
    str = (char *)"sentinel";
    CHECK(wm_json_string("12", 2, &str, &sl) != 0 && str == NULL && sl == 0);
    CHECK(wm_json_string("\"unterminated", 13, &str, &sl) != 0 && str == NULL);
    CHECK(wm_json_string("\"a\" \"b\"", 7, &str, &sl) != 0 && wm_json_string("\"a\"", 3, NULL, &sl) != 0);
}

static void test_format_double(void) {
    static const struct {
        double v;
        const char *json, *g;
    } cases[] = {
        {697.18, "697.18", "697.18"},
        {0.1, "0.1", "0.1"},
        {100, "100", "100"},
        {1e6, "1000000", "1e+06"},
        {1234567.5, "1234567.5", "1.2345675e+06"},
        {123456, "123456", "123456"},
        {1e20, "100000000000000000000", "1e+20"},
        {1e21, "1e+21", "1e+21"},
        {1e-6, "0.000001", "1e-06"},
        {1e-7, "1e-7", "1e-07"},
        {0.0001, "0.0001", "0.0001"},
        {0.00001, "0.00001", "1e-05"},
        {-2.5, "-2.5", "-2.5"},
        {5e-324, "5e-324", "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"},
        {1.0 / 3, "0.3333333333333333", "0.3333333333333333"},
        {0, "0", "0"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wm_format_double(buf, sizeof buf, cases[i].v);
        CHECKF(strcmp(buf, cases[i].json) == 0, "json(%.17g) = %s, want %s", cases[i].v, buf, cases[i].json);
        wm_format_double_g(buf, sizeof buf, cases[i].v);
        CHECKF(strcmp(buf, cases[i].g) == 0, "g(%.17g) = %s, want %s", cases[i].v, buf, cases[i].g);
    }
    wm_format_double(buf, sizeof buf, NAN);
    CHECK(strcmp(buf, "NaN") == 0);
    wm_format_double(buf, sizeof buf, -INFINITY);
    CHECK(strcmp(buf, "-Inf") == 0);
    wm_buf b = {0};
    wm_buf_json_double(&b, INFINITY);
    CHECK(strcmp(b.data, "null") == 0);
    wm_buf_free(&b);
    CHECK(wm_format_double(buf, 4, 697.18) == 6 && strcmp(buf, "697") == 0); /* truncated like snprintf */
}

static void test_manifest(void) {
    host_reset();
    reg_mode = 0;
    H.in_manifest = true;
    CHECK(wasmorch_manifest() == 0);
    H.in_manifest = false;
    const char *m = H.manifest.data;
    CHECKF(m && wm_json_valid(m, H.manifest.len), "manifest: %s", m ? m : "(none)");
    CHECK(contains(m, "\"abi_version\":1,\"sdk\":{\"name\":\"wasmorch-c\",\"version\":\"0.1.0\"}"));
    CHECK(contains(m, "{\"key\":\"echo\",\"ins\":[{\"name\":\"in\",\"asset\":\"echo_source\"}],\"output\":{\"format\":\"arrow\"}}"));
    CHECK(contains(m, "\"description\":\"Reads \\\"config\\\"\\n\",\"tags\":{\"team\":\"data\"},\"output\":{\"format\":\"json\"},"
                      "\"config_schema\":{\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"integer\"}}}"));
    CHECK(contains(m, "{\"key\":\"orders/revenue\",\"ins\":[{\"name\":\"cleaned\",\"asset\":\"orders/cleaned\"}],\"deps\":[\"audit/log\"],"
                      "\"group\":\"orders\",\"output\":{\"format\":\"arrow\",\"schema\":{\"fields\":[{\"name\":\"region\",\"type\":\"utf8\","
                      "\"nullable\":false},{\"name\":\"revenue\",\"type\":\"float64\",\"nullable\":false}]}},"
                      "\"partitions\":{\"type\": \"static\", \"keys\": [\"us\", \"eu\"]},\"io_manager\":\"fs\",\"code_version\":\"v1\"}"));
    CHECK(contains(m, "\"resources\":[\"warehouse\"]"));
    CHECKF(contains(m, "{\"key\":\"window\",\"ins\":[{\"name\":\"hours\",\"asset\":\"hourly\","
                       "\"partition_mapping\":{\"type\": \"time_window\", \"start_offset\": -1, \"end_offset\": 0}},"
                       "{\"name\":\"regions\",\"asset\":\"regions\",\"format\":\"json\","
                       "\"partition_mapping\":{\"type\": \"static\", \"map\": {\"2026-01-01\": [\"us\", \"eu\"]}}}],"
                       "\"output\":{\"format\":\"bytes\"},"
                       "\"partitions\":{\"type\": \"time\", \"schedule\": \"daily\", \"start\": \"2026-01-01\", \"timezone\": \"Europe/Paris\"}}"),
           "%s", m);
    CHECK(contains(m, "{\"key\":\"mapped\",\"ins\":[{\"name\":\"in\",\"asset\":\"daily\",\"partition_mapping\":{\"type\": \"all\"}}],"
                      "\"output\":{\"format\":\"arrow\"},\"retry_policy\":{\"max_retries\": 3, \"backoff\": \"exponential\"}}"));
    CHECK(contains(m, "{\"name\":\"fan\",\"outs\":[{\"name\":\"chunk\",\"format\":\"bytes\",\"optional\":false,\"dynamic\":true}],"
                      "\"retry_policy\":{\"max_retries\": 1}}"));
    CHECK(contains(m, "\"ops\":[{\"name\":\"fan\","));
    CHECK(contains(m, "{\"name\":\"split\",\"ins\":[{\"name\":\"in\",\"format\":\"arrow\",\"optional\":false}],\"outs\":["
                      "{\"name\":\"evens\",\"format\":\"arrow\",\"optional\":false,\"dynamic\":false},"
                      "{\"name\":\"odds\",\"format\":\"arrow\",\"optional\":true,\"dynamic\":false}]}"));
    /* Checks, retry policies, dynamic and optional outputs, and an op's config, resources and retry. */
    CHECK(contains(m, ",\"checks\":[{\"name\":\"is_ok\",\"asset\":\"checked\",\"description\":\"The value is \\\"ok\\\".\","
                      "\"blocking\":true,\"config_schema\":{\"type\": \"object\"},\"resources\":[\"vars\"]},"
                      "{\"name\":\"is_ok\",\"asset\":\"orders/raw\",\"blocking\":false},"
                      "{\"name\":\"warns\",\"asset\":\"checked\",\"blocking\":false},"));
    CHECK(contains(m, "{\"key\":\"retries\",\"output\":{\"format\":\"bytes\"},"
                      "\"retry_policy\":{\"max_retries\": 2, \"delay_seconds\": 0.5, \"backoff\": \"exponential\"}}"));
    CHECK(contains(m, "{\"key\":\"uses_resource\",\"output\":{\"format\":\"bytes\"},\"resources\":[\"vars\"]}"));
    CHECK(contains(m, "{\"name\":\"fan_out\",\"outs\":[{\"name\":\"chunks\",\"format\":\"json\",\"optional\":false,\"dynamic\":true},"
                      "{\"name\":\"count\",\"format\":\"json\",\"optional\":false,\"dynamic\":false}]}"));
    CHECK(contains(m, "{\"name\":\"mapped_op\",\"ins\":[{\"name\":\"n\",\"format\":\"json\",\"optional\":false},"
                      "{\"name\":\"extra\",\"format\":\"json\",\"optional\":true}],\"outs\":["
                      "{\"name\":\"result\",\"format\":\"json\",\"optional\":false,\"dynamic\":false},"
                      "{\"name\":\"log\",\"format\":\"bytes\",\"optional\":true,\"dynamic\":false}],"
                      "\"config_schema\":{\"type\": \"object\", \"properties\": {\"k\": {\"type\": \"integer\"}}},"
                      "\"resources\":[\"vars\"],\"retry_policy\":{\"max_retries\": 2}}"));
    /* Lists come in the order assets, ops, checks, each once. */
    const char *assets = strstr(m, "\"assets\":["), *ops = strstr(m, "\"ops\":["), *checks = strstr(m, "\"checks\":[");
    CHECK(assets && ops && checks && assets < ops && ops < checks && !strstr(checks + 1, "\"checks\":["));
    CHECK(!H.error_called);

    /* A module of checks only is a valid module. */
    host_reset();
    reg_mode = 3;
    H.in_manifest = true;
    CHECK(wasmorch_manifest() == 0);
    CHECKF(H.manifest.data && strcmp(H.manifest.data, "{\"abi_version\":1,\"sdk\":{\"name\":\"wasmorch-c\",\"version\":\"0.1.0\"},"
                                                       "\"checks\":[{\"name\":\"only\",\"asset\":\"elsewhere\",\"blocking\":false}]}") == 0,
           "%s", H.manifest.data);
    reg_mode = 0;

    /* manifest_write outside wasmorch_manifest is refused by the host: the export reports it. */
    host_reset();
    CHECK(wasmorch_manifest() == 1);

    host_reset();
    reg_mode = 1;
    H.in_manifest = true;
    CHECK(wasmorch_manifest() == 1);
    const char *e = H.error.data;
    CHECKF(e && contains(e, "asset \"bad key!\": invalid asset key"), "%s", e);
    CHECK(contains(e, "asset \"self\": input \"self\": an asset cannot take itself as an input"));
    CHECK(contains(e, "asset \"twice\": the key is registered twice"));
    CHECK(contains(e, "asset \"cfg\": config_schema must be a JSON object"));
    CHECK(contains(e, "asset \"json_schema\": a schema is set, but the output format is json"));
    CHECK(contains(e, "asset \"json_schema\": schema: column \"a\" is declared twice"));
    CHECK(contains(e, "asset \"json_schema\": schema: column \"a\": unknown type 99"));
    CHECK(contains(e, "asset \"bad_input\": ins[0]: the last component \"raw-data\""));
    CHECK(contains(e, "asset \"nofn\": the function is NULL"));
    CHECKF(contains(e, "asset \"bad_parts\": partitions has the type \"daily\" (want static, time, dynamic or multi)"), "%s", e);
    CHECK(contains(e, "asset \"untyped_parts\": partitions has no \"type\" (want static, time, dynamic or multi)"));
    CHECK(contains(e, "asset \"list_parts\": partitions must be a JSON object"));
    CHECK(contains(e, "asset \"bad_mapping\": input \"a\": partition_mapping has the type 1 (want identity, time_window, all, static or multi)"));
    CHECK(contains(e, "asset \"bad_mapping\": input \"b\": partition_mapping has the type \"weekly\" (want identity, time_window, all, static or multi)"));
    CHECK(contains(e, "asset \"bad_mapping\": input \"c\": partition_mapping is not valid JSON"));
    CHECK(contains(e, "op \"op-name\": invalid op name"));
    CHECK(contains(e, "op \"op\": output name \"x\" is declared twice"));
    CHECK(contains(e, "op \"op2\": input \"i\": partition_mapping applies to asset inputs only"));
    CHECK(contains(e, "op \"op2\": retry_policy must be a JSON object"));
    CHECKF(contains(e, "check \"dup\" on asset \"checked\": the check is registered twice; a check name must be unique per asset"), "%s", e);
    CHECK(!contains(e, "check \"dup\" on asset \"other\""));
    CHECK(contains(e, "check \"bad-name\" on asset \"checked\": invalid check name"));
    CHECK(contains(e, "check \"on_bad_key\" on asset \"bad key\": invalid asset key"));
    CHECK(contains(e, "check \"nofn\" on asset \"checked\": the function is NULL"));
    CHECK(contains(e, "check \"nofn\" on asset \"checked\": config_schema must be a JSON object"));
    CHECK(contains(e, "check \"nofn\" on asset \"checked\": resources[0]: \"no-such key\" is not a valid resource key"));
    CHECK(contains(e, "check \"(null)\" on asset \"(null)\": invalid check name"));
    CHECK(H.manifest.len == 0);
    CHECKF(H.nlogs == 27 && H.log_levels[0] == WM_ERROR, "%d logs", H.nlogs);

    host_reset();
    reg_mode = 2;
    H.in_manifest = true;
    CHECK(wasmorch_manifest() == 1 && contains(H.error.data, "registers no assets, ops, checks, graphs or jobs"));
    reg_mode = 0;
    host_reset();
}

static void test_graphs_and_jobs(void) {
    host_reset();
    reg_mode = 0;
    H.in_manifest = true;
    CHECK(wasmorch_manifest() == 0);
    H.in_manifest = false;
    const char *m = H.manifest.data;
    const char *graphs = m ? strstr(m, ",\"graphs\":[") : NULL;
    /* Graphs and jobs come last, after the checks, and end the manifest. */
    CHECKF(graphs && strstr(m, "\"checks\":[") < graphs &&
               strcmp(graphs,
                      ",\"graphs\":["
                      "{\"name\":\"numbers\",\"description\":\"splits numbers\",\"ins\":[{\"name\":\"ns\"}],\"nodes\":["
                      "{\"name\":\"split\",\"op\":\"split\",\"ins\":{\"in\":{\"graph_input\":\"ns\"}}},"
                      "{\"name\":\"report\",\"op\":\"other:report\",\"ins\":{\"parts\":{\"node\":\"split\",\"output\":\"evens\",\"collect\":true}},"
                      "\"config\":{\"limit\": 3}}],"
                      "\"outs\":[{\"name\":\"evens\",\"node\":\"split\",\"output\":\"evens\"}]},"
                      "{\"name\":\"fan\",\"nodes\":["
                      "{\"name\":\"fan\",\"op\":\"fan_out\"},"
                      "{\"name\":\"double\",\"op\":\"mapped_op\",\"ins\":{\"n\":{\"node\":\"fan\",\"output\":\"chunks\"},"
                      "\"extra\":{\"node\":\"fan\",\"output\":\"count\"}}},"
                      "{\"name\":\"inner\",\"op\":\"numbers\"}]}],"
                      "\"jobs\":["
                      "{\"name\":\"numbers_job\",\"graph\":\"numbers\",\"tags\":{\"team\":\"data\"},\"config\":{\"inputs\": {\"ns\": {\"value\": [1, 2]}}}},"
                      "{\"name\":\"assets_job\",\"selection\":\"group:orders\"},"
                      "{\"name\":\"remote_job\",\"description\":\"Runs \\\"graph\\\" of other.\",\"graph\":\"other:graph\"}]}") == 0,
           "manifest: %s", m ? m : "(none)");
    CHECK(m && wm_json_valid(m, H.manifest.len) && !H.error_called);
    /* Graphs and jobs are not steps. */
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"numbers\"}") == 1 && contains(H.error.data, "this module defines no asset \"numbers\""));

    /* A module of graphs and jobs only is a valid module. */
    host_reset();
    reg_mode = 5;
    H.in_manifest = true;
    CHECK(wasmorch_manifest() == 0);
    CHECKF(H.manifest.data && strcmp(H.manifest.data, "{\"abi_version\":1,\"sdk\":{\"name\":\"wasmorch-c\",\"version\":\"0.1.0\"},"
                                                       "\"graphs\":[{\"name\":\"remote\",\"nodes\":[{\"name\":\"only\",\"op\":\"other:op\"}]}],"
                                                       "\"jobs\":[{\"name\":\"remote_job\",\"graph\":\"remote\"}]}") == 0,
           "%s", H.manifest.data);

    /* Every problem is reported, each once, and no manifest is written. */
    host_reset();
    reg_mode = 4;
    H.in_manifest = true;
    CHECK(wasmorch_manifest() == 1);
    const char *e = H.error.data;
    static const char *const want[] = {
        "graph \"1bad\": invalid graph name: want [A-Za-z_][A-Za-z0-9_]*",
        "graph \"1bad\": a graph needs at least one node (.nodes)",
        "graph \"g\": node name \"a\" is used twice",
        "graph \"g\": node \"a\" input \"in\" reads node \"nowhere\", which the graph does not have",
        "graph \"g\": the name is registered twice; graph names must be unique within a module",
        "graph \"wiring\": input name \"x\" is declared twice",
        "graph \"wiring\": inputs[2]: \"bad-in\" is not a valid input name",
        "graph \"wiring\": node \"n1\": op \"a:b:c\" is not an op or graph name, or MODULE:NAME",
        "graph \"wiring\": node \"n1\": config must be a JSON object",
        "graph \"wiring\": node \"n2\": a graph cannot contain itself",
        "graph \"wiring\": node \"n3\": .op is required",
        "graph \"wiring\": node \"n3\" input \"a\": give either .graph_input or .node and .output, not both",
        "graph \"wiring\": node \"n3\" input \"b\" reads graph input \"nope\", which the graph does not have (.inputs)",
        "graph \"wiring\": node \"n3\" input \"c\": only a node's output can be collected, not a graph input",
        "graph \"wiring\": node \"n3\" input \"d\" needs .node and .output, or .graph_input",
        "graph \"wiring\": node \"n3\" input \"e\" reads the node's own output",
        "graph \"wiring\": node \"n3\": input \"e\" is wired twice",
        "graph \"wiring\": node \"n3\" input \"e\" reads output \"bad-out\", which is not a valid output name",
        "graph \"wiring\": node \"n3\": wires[6]: \"bad in\" is not a valid input name",
        "graph \"wiring\": nodes[3]: \"9x\" is not a valid node name",
        "graph \"wiring\": node \"9x\": op \":op\" is not an op or graph name, or MODULE:NAME",
        "graph \"wiring\": node \"9x\": config is not valid JSON",
        "graph \"wiring\": output \"o\" reads node \"ghost\", which the graph does not have",
        "graph \"wiring\": output name \"o\" is declared twice",
        "graph \"wiring\": output \"o\" needs .node and .output",
        "graph \"wiring\": outputs[2]: \"bad-o\" is not a valid output name",
        "job \"j\": a job needs exactly one of .graph and .selection, and neither is set",
        "job \"k\": a job needs exactly one of .graph and .selection, and both are set",
        "job \"k\": the name is registered twice; job names must be unique within a module",
        "job \"bad job\": invalid job name",
        "job \"bad job\": graph \"x:\" is not a graph name or MODULE:NAME",
        "job \"bad job\": tag \"t\" has a NULL value",
        "job \"bad job\": config must be a JSON object",
        "job \"blank\": a job needs exactly one of .graph and .selection, and neither is set",
        "job \"blank\": config is not valid JSON",
        "job \"(null)\": invalid job name",
    };
    int nwant = (int)(sizeof want / sizeof *want);
    for (int i = 0; i < nwant; i++) CHECKF(contains(e, want[i]), "error lacks %s:\n%s", want[i], e ? e : "(none)");
    /* One log line per problem, so nothing else was reported. */
    CHECKF(H.nlogs == nwant && H.manifest.len == 0, "%d logs, want %d:\n%s", H.nlogs, nwant, e ? e : "(none)");
    for (int i = 0; i < H.nlogs; i++) CHECKF(H.log_levels[i] == WM_ERROR && contains(H.logs[i], "wasmorch: registration failed: "), "%s", H.logs[i]);
    reg_mode = 0;
    host_reset();
}

/* Encodes batches with the SDK's writer (through a fake output) and returns the stream. */
static wm_buf encode_types_stream(void) {
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"types\"}") == 0);
    fake_output *o = host_output("result");
    wm_buf out = {0};
    if (o) {
        CHECK(o->closed);
        wm_buf_append(&out, o->data.data, o->data.len);
    }
    return out;
}

/* Reads every batch of stream (delivered in chunks of chunk bytes) and checks them. */
static int read_types_stream(const uint8_t *data, size_t len, long chunk, const int *rows, const int *seeds, int nbatches, char *err,
                             size_t errsz) {
    host_reset();
    host_input("in", WM_ARROW, data, len, chunk);
    H.in_run = true;
    wm_ctx ctx = test_ctx();
    wm_reader *r;
    int bad = 0, got = 0;
    if (wm_input_open(&ctx, "in", &r)) {
        snprintf(err, errsz, "%s", H.error.data ? H.error.data : "?");
        ctx_cleanup(&ctx);
        return -1;
    }
    const wm_schema *s = wm_reader_schema(r);
    if (s->num_fields != 16) bad++;
    const wm_batch *b;
    int rc;
    while ((rc = wm_reader_next(r, &b)) > 0) {
        if (got < nbatches) {
            char what[64];
            snprintf(what, sizeof what, "chunk %ld batch %d", chunk, got);
            bad += check_types_batch(b, rows[got], seeds[got], what);
        }
        got++;
    }
    if (rc < 0) {
        snprintf(err, errsz, "%s", H.error.data ? H.error.data : "?");
        bad = -1;
    } else if (got != nbatches) {
        snprintf(err, errsz, "%d batches, want %d", got, nbatches);
        bad++;
    }
    wm_reader_close(r);
    H.in_run = false;
    ctx_cleanup(&ctx);
    return bad;
}

static void test_go_stream(void) {
    static const int rows[] = {5}, seeds[] = {0};
    static const long chunks[] = {0, -1, 1, 7, 64, 1000};
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        char err[700] = "";
        int bad = read_types_stream(go_types_stream, sizeof go_types_stream, chunks[i], rows, seeds, 1, err, sizeof err);
        CHECKF(bad == 0, "arrow-go stream in chunks of %ld: %d problems: %s", chunks[i], bad, err);
    }
    /* Its schema has every column nullable, and ts carries its unit and zone. */
    host_reset();
    host_input("in", WM_ARROW, go_types_stream, sizeof go_types_stream, 0);
    H.in_run = true;
    wm_ctx ctx = test_ctx();
    wm_reader *r;
    CHECK(wm_input_open(&ctx, "in", &r) == 0);
    const wm_field *ts = &wm_reader_schema(r)->fields[14];
    char tn[64];
    CHECKF(strcmp(wm_field_type_name(ts, tn, sizeof tn), "timestamp[us, tz=UTC]") == 0, "%s", tn);
    CHECK(strcmp(wm_field_type_name(&wm_reader_schema(r)->fields[15], tn, sizeof tn), "timestamp[ns]") == 0);
    const wm_batch *b;
    CHECK(wm_reader_next(r, &b) == 1);
    CHECK(wm_batch_column(&ctx, b, "s", WM_UTF8) == &b->columns[11]);
    CHECK(wm_batch_column(&ctx, b, "s", WM_INT64) == NULL && contains(H.error.data, "column \"s\" has type utf8, want int64"));
    CHECK(wm_batch_column(&ctx, b, "nope", WM_TYPE_ANY) == NULL && contains(H.error.data, "no column \"nope\" (columns: \"i8\", \"i16\""));
    CHECK(wm_column_i64(&b->columns[11]) == NULL && wm_column_i8(&b->columns[0]) != NULL);
    CHECK(wm_reader_next(r, &b) == 0 && b == NULL);
    CHECK(wm_reader_next(r, &b) == 0);
    wm_reader_close(r);
    H.in_run = false;
    ctx_cleanup(&ctx);
}

/* Writes streams encoded by the SDK to dir, for checking them with other Arrow implementations:
 * types5.arrow (typesBatch(5, 0)), types_multi.arrow (3, 0 and 4 rows), empty.arrow (schema only),
 * metadata.arrow (schema and field metadata, non-nullable columns). */
static void dump_file(const char *dir, const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, len, f);
    fclose(f);
}

static void dump_streams(const char *dir, const wm_buf *multi, const wm_buf *empty) {
    dump_file(dir, "types_multi.arrow", multi->data, multi->len);
    dump_file(dir, "empty.arrow", empty->data, empty->len);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"types5\"}") == 0);
    fake_output *o = host_output("result");
    if (o) dump_file(dir, "types5.arrow", o->data.data, o->data.len);
    host_reset();
    H.in_run = true;
    wm_ctx ctx = test_ctx();
    static const wm_kv fmd[] = {{"unit", "EUR"}, {"", "empty key"}};
    static const wm_kv smd[] = {{"origin", "wasmorch-c"}};
    const wm_field f[] = {{.name = "amount", .type = WM_FLOAT64, .not_null = true, .metadata = fmd, .num_metadata = 2},
                          {.name = "when", .type = WM_TIMESTAMP, .unit = WM_MILLISECOND, .timezone = "Europe/Paris"}};
    wm_schema s = {f, 2, smd, 1};
    wm_batch_builder *b = wm_batch_builder_new(&ctx, &s);
    wm_append_f64(b, 0, 1.5);
    wm_append_null(b, 1);
    wm_batch *batch;
    wm_writer *w;
    CHECK(wm_batch_builder_finish(b, &batch) == 0 && wm_output_open(&ctx, "m", WM_ARROW, &w) == 0 && wm_writer_write(w, batch) == 0 &&
          wm_writer_close(w) == 0);
    if ((o = host_output("m"))) dump_file(dir, "metadata.arrow", o->data.data, o->data.len);
    wm_batch_free(batch);
    wm_batch_builder_free(b);
    ctx_cleanup(&ctx);
    H.in_run = false;
}

static void test_round_trip(void) {
    wm_buf s = encode_types_stream();
    CHECK(s.len > 0 && s.len % 8 == 0);
    /* Ends with the end-of-stream marker. */
    CHECK(s.len >= 8 && memcmp(s.data + s.len - 8, "\xff\xff\xff\xff\0\0\0\0", 8) == 0);
    static const int rows[] = {3, 0, 4}, seeds[] = {1, 0, 2};
    static const long chunks[] = {0, -1, 1, 3, 8, 100, 4096};
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        char err[700] = "";
        int bad = read_types_stream((const uint8_t *)s.data, s.len, chunks[i], rows, seeds, 3, err, sizeof err);
        CHECKF(bad == 0, "round trip in chunks of %ld: %d problems: %s", chunks[i], bad, err);
    }
    /* A stream without the end-of-stream marker ends cleanly too. */
    char err[700] = "";
    CHECKF(read_types_stream((const uint8_t *)s.data, s.len - 8, 0, rows, seeds, 3, err, sizeof err) == 0, "%s", err);

    /* echo: the reader's batches written back give the same bytes. */
    host_reset();
    host_input("in", WM_ARROW, s.data, s.len, -1);
    CHECK(run("{\"kind\":\"asset\",\"name\":\"echo\"}") == 0);
    fake_output *o = host_output("result");
    CHECKF(o && o->closed && o->data.len == s.len && memcmp(o->data.data, s.data, s.len) == 0, "echo changed the stream (%zu -> %zu bytes)",
           s.len, o ? o->data.len : 0);

    /* The arrow-go stream echoed, read back. */
    host_reset();
    host_input("in", WM_ARROW, go_types_stream, sizeof go_types_stream, -1);
    CHECK(run("{\"kind\":\"asset\",\"name\":\"echo\"}") == 0);
    o = host_output("result");
    wm_buf echoed = {0};
    if (o) wm_buf_append(&echoed, o->data.data, o->data.len);
    static const int rows5[] = {5}, seeds5[] = {0};
    CHECKF(read_types_stream((const uint8_t *)echoed.data, echoed.len, -1, rows5, seeds5, 1, err, sizeof err) == 0, "%s", err);
    wm_buf_free(&echoed);

    /* An empty table: schema and end-of-stream only. */
    host_reset();
    wm_ctx ctx = test_ctx();
    H.in_run = true;
    wm_writer *w;
    wm_schema schema = WM_SCHEMA(types_fields);
    CHECK(wm_output_open(&ctx, "result", WM_ARROW, &w) == 0 && wm_writer_set_schema(w, &schema) == 0 && wm_writer_close(w) == 0);
    o = host_output("result");
    wm_buf empty = {0};
    if (o) wm_buf_append(&empty, o->data.data, o->data.len);
    ctx_cleanup(&ctx);
    CHECKF(read_types_stream((const uint8_t *)empty.data, empty.len, 0, rows, seeds, 0, err, sizeof err) == 0, "%s", err);

    const char *dir = getenv("WM_DUMP_DIR");
    if (dir) dump_streams(dir, &s, &empty);
    wm_buf_free(&empty);
    wm_buf_free(&s);
}

/* Every prefix and many single-byte corruptions of a valid stream: never a crash, and a prefix
 * that is not a whole number of messages is always an error. */
static void test_malformed_fuzz(void) {
    wm_buf s = encode_types_stream();
    uint8_t *copy = malloc(s.len);
    int errors = 0, clean = 0;
    static const int rows[] = {3, 0, 4}, seeds[] = {1, 0, 2};
    char err[700];
    for (size_t n = 0; n < s.len; n++) {
        int bad = read_types_stream((const uint8_t *)s.data, n, n % 3 == 0 ? 0 : -1, rows, seeds, 3, err, sizeof err);
        if (bad < 0) {
            errors++;
            if (n > 0 && !contains(err, "input \"in\": ")) CHECKF(false, "error without the input's name: %s", err);
        } else {
            clean++;
        }
    }
    CHECKF(errors > 0 && clean < 5, "prefixes: %d errors, %d clean", errors, clean);
    long flips = 0, flip_errors = 0;
    quiet = true;
    static const uint8_t masks[] = {0x01, 0x10, 0x80, 0xFF};
    for (size_t i = 0; i < s.len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(copy, s.data, s.len);
            copy[i] ^= masks[m];
            int bad = read_types_stream(copy, s.len, (long)(i % 2) - 1, rows, seeds, 3, err, sizeof err);
            flips++;
            if (bad < 0) flip_errors++;
        }
    quiet = false;
    CHECKF(flip_errors > 0, "%ld of %ld corruptions detected", flip_errors, flips);
    printf("fuzz: %zu prefixes (%d errors), %ld corruptions (%ld errors), no crash\n", s.len, errors, flips, flip_errors);
    free(copy);
    wm_buf_free(&s);
}

/* ---- hand-made streams ---- */

static void put_message(wm_buf *out, fbb *meta, const void *body, size_t body_len) {
    fbb_pad(meta, 8);
    uint8_t prefix[8] = {0xFF, 0xFF, 0xFF, 0xFF, (uint8_t)meta->len, (uint8_t)(meta->len >> 8), 0, 0};
    wm_buf_append(out, prefix, 8);
    wm_buf_append(out, meta->p, meta->len);
    wm_buf_append(out, body, body_len);
    free(meta->p);
    *meta = (fbb){0};
}

static void put_schema(wm_buf *out, const wm_field *fields, int n) {
    fbb m = {0};
    wm_schema s = {fields, n, NULL, 0};
    encode_schema(&m, &s);
    put_message(out, &m, NULL, 0);
}

/* A RecordBatch message with explicit nodes and buffers (pairs of int64), and an optional
 * compression table. */
static void put_batch(wm_buf *out, int64_t rows, const int64_t *nodes, int nnodes, const int64_t *bufs, int nbufs, const void *body,
                      size_t body_len, bool compressed, int header_type) {
    fbb m = {0};
    size_t hslot = fbb_message(&m, header_type, (int64_t)body_len), rs[4];
    size_t rt = fbb_table(&m, (fbf[]){{0, 8, false, (uint64_t)rows}, {1, 4, true, 0}, {2, 4, true, 0}, {3, 4, true, 0}}, compressed ? 4 : 3, rs);
    fbb_patch(&m, hslot, rt);
    size_t nv = fbb_vector(&m, (size_t)nnodes, 16, 8);
    fbb_patch(&m, rs[1], nv);
    for (int i = 0; i < 2 * nnodes; i++) fbb_put(&m, nv + 4 + 8 * (size_t)i, 8, (uint64_t)nodes[i]);
    size_t bv = fbb_vector(&m, (size_t)nbufs, 16, 8);
    fbb_patch(&m, rs[2], bv);
    for (int i = 0; i < 2 * nbufs; i++) fbb_put(&m, bv + 4 + 8 * (size_t)i, 8, (uint64_t)bufs[i]);
    if (compressed) fbb_patch(&m, rs[3], fbb_table(&m, NULL, 0, NULL));
    put_message(out, &m, body, body_len);
}

/* Opens the stream and reads it to the end; returns the error text, or "" on success. */
static const char *read_error(const wm_buf *stream) {
    static char err[1000];
    host_reset();
    host_input("in", WM_ARROW, stream->data ? stream->data : "", stream->len, 0);
    H.in_run = true;
    wm_ctx ctx = test_ctx();
    wm_reader *r;
    err[0] = 0;
    if (wm_input_open(&ctx, "in", &r) == 0) {
        const wm_batch *b;
        int rc;
        while ((rc = wm_reader_next(r, &b)) > 0) {
        }
        if (rc == 0) snprintf(err, sizeof err, "%s", "");
        wm_reader_close(r);
    }
    if (H.error.data) snprintf(err, sizeof err, "%s", H.error.data);
    CHECKF(err[0] == 0 || ctx.hard_failed || strstr(err, "input_open") || strstr(err, "arrives as"), "an input error must fail the step: %s", err);
    H.in_run = false;
    ctx_cleanup(&ctx);
    return err;
}

static void test_malformed_cases(void) {
    static const wm_field sf[] = {{.name = "s", .type = WM_UTF8}};
    static const wm_field nf[] = {{.name = "n", .type = WM_INT64}};
    const char *e;
    wm_buf st = {0};

    /* Well-formed: 2 strings "ab", "c". */
    static const int32_t offs_ok[] = {0, 2, 3, 0};
    uint8_t body[24] = {0};
    memcpy(body, offs_ok, 12);
    memcpy(body + 16, "abc", 3);
    put_schema(&st, sf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 12, 16, 3}, 3, body, 24, false, HDR_RECORD_BATCH);
    e = read_error(&st);
    CHECKF(e[0] == 0, "well-formed: %s", e);
    wm_buf_free(&st);

    /* Data buffer past the body. */
    put_schema(&st, sf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 12, 16, 30}, 3, body, 24, false, HDR_RECORD_BATCH);
    e = read_error(&st);
    CHECKF(contains(e, "input \"in\": message 1 (record batch 0): column \"s\": buffer 2 (data) [16, +30) is outside the 24-byte body"), "%s", e);
    wm_buf_free(&st);

    /* Offsets that decrease, and that run past the data. */
    static const int32_t offs_down[] = {0, 3, 2, 0};
    memcpy(body, offs_down, 12);
    put_schema(&st, sf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 12, 16, 3}, 3, body, 24, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "column \"s\": offsets decrease at row 1 (2 after 3)"), "%s", e);
    wm_buf_free(&st);
    static const int32_t offs_past[] = {0, 2, 9, 0};
    memcpy(body, offs_past, 12);
    put_schema(&st, sf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 12, 16, 3}, 3, body, 24, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "column \"s\": the last offset 9 is past the 3-byte data buffer"), "%s", e);
    wm_buf_free(&st);

    /* Field node and buffer counts, lengths, null counts. */
    uint8_t nbody[16] = {0};
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0, 2, 0}, 2, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "the record batch has 2 field nodes, but the schema has 1 columns"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0}, 1, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "has 1 buffers, but its columns need 2"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_batch(&st, 3, (const int64_t[]){3, 0}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "column \"n\": the values buffer has 16 bytes, 3 int64 values need 24"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){3, 0}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "column \"n\": the field node has 3 rows, but the batch has 2"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 1}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "column \"n\": the validity bitmap has 0 bytes, 2 rows need 1"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 3}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "column \"n\": null count 3 is outside [0, 2]"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_batch(&st, -1, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "RecordBatch.length -1 is out of range"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){-8, 8, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "column \"n\": buffer 0 (validity) [-8, +8) is outside the 16-byte body"), "%s", e);
    wm_buf_free(&st);

    /* All-null column without a bitmap is accepted (every row null). */
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 2}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF((e = read_error(&st))[0] == 0, "%s", e);
    wm_buf_free(&st);

    /* Compression, dictionary batches, a second schema, a record batch first, an empty stream. */
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, true, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "the record batch is compressed"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_DICTIONARY);
    CHECKF(contains(e = read_error(&st), "message 1 is a dictionary batch"), "%s", e);
    wm_buf_free(&st);
    put_schema(&st, nf, 1);
    put_schema(&st, nf, 1);
    CHECKF(contains(e = read_error(&st), "message 1 is a second Schema message"), "%s", e);
    wm_buf_free(&st);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    CHECKF(contains(e = read_error(&st), "the first message of the stream is a RecordBatch, not a Schema"), "%s", e);
    wm_buf_free(&st);
    CHECKF(contains(e = read_error(&st), "input \"in\": the Arrow stream is empty"), "%s", e);
    wm_buf_append(&st, "\xff\xff\xff\xff\x10\x00\x00\x00\x01\x02", 10);
    CHECKF(contains(e = read_error(&st), "message 0: the stream ends inside its 16-byte metadata"), "%s", e);
    wm_buf_free(&st);
    wm_buf_append(&st, "\xff\xff\xff\xff\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16);
    CHECKF(contains(e = read_error(&st), "message 0: the message metadata is not a valid flatbuffer"), "%s", e);
    wm_buf_free(&st);
    wm_buf_append(&st, "\xff\xff\xff\xff\x00\x00\x00\x80", 8);
    CHECKF(contains(e = read_error(&st), "negative metadata length"), "%s", e);
    wm_buf_free(&st);

    /* A truncated body. */
    put_schema(&st, nf, 1);
    put_batch(&st, 2, (const int64_t[]){2, 0}, 1, (const int64_t[]){0, 0, 0, 16}, 2, nbody, 16, false, HDR_RECORD_BATCH);
    st.len -= 4;
    CHECKF(contains(e = read_error(&st), "message 1: the stream ends inside its 16-byte body"), "%s", e);
    wm_buf_free(&st);

    /* Unsupported types, big-endian, dictionary fields: built by hand. */
    static const struct {
        int type_id, extra_field;
        const char *want;
    } types[] = {
        {20, -1, "column \"x\" has Arrow type LargeUtf8 (type id 20), which the C SDK does not support"},
        {12, -1, "column \"x\" has Arrow type List (type id 12)"},
        {3, 0, "column \"x\" has type float16"},
        {8, -2, "column \"x\" has type date64"},
        {5, 4, "column \"x\" is dictionary-encoded"},
        {2, 7, "column \"x\": Int of 7 bits is not a valid Arrow type"},
        {99, -1, "type id 99"},
    };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        fbb m = {0};
        size_t hslot = fbb_message(&m, HDR_SCHEMA, 0), ss[1], fs[5];
        size_t stt = fbb_table(&m, (fbf[]){{1, 4, true, 0}}, 1, ss);
        fbb_patch(&m, hslot, stt);
        size_t vec = fbb_vector(&m, 1, 4, 4);
        fbb_patch(&m, ss[0], vec);
        bool dict = types[i].extra_field == 4;
        size_t ft = fbb_table(&m, (fbf[]){{0, 4, true, 0}, {1, 1, false, 1}, {2, 1, false, (uint64_t)types[i].type_id}, {3, 4, true, 0}, {4, 4, true, 0}},
                              dict ? 5 : 4, fs);
        fbb_patch(&m, vec + 4, ft);
        fbb_patch(&m, fs[0], fbb_string(&m, "x"));
        if (types[i].type_id == 2) fbb_patch(&m, fs[3], fbb_table(&m, (fbf[]){{0, 4, false, 7}, {1, 1, false, 1}}, 2, NULL));
        else if (types[i].extra_field == 0) fbb_patch(&m, fs[3], fbb_table(&m, (fbf[]){{0, 2, false, 0}}, 1, NULL));
        else fbb_patch(&m, fs[3], fbb_table(&m, NULL, 0, NULL));
        if (dict) fbb_patch(&m, fs[4], fbb_table(&m, NULL, 0, NULL));
        put_message(&st, &m, NULL, 0);
        CHECKF(contains(e = read_error(&st), types[i].want), "type %d: %s", types[i].type_id, e);
        CHECK(contains(e, "input \"in\": schema: "));
        wm_buf_free(&st);
    }
    fbb m = {0};
    size_t hslot = fbb_message(&m, HDR_SCHEMA, 0);
    fbb_patch(&m, hslot, fbb_table(&m, (fbf[]){{0, 2, false, 1}}, 1, NULL));
    put_message(&st, &m, NULL, 0);
    CHECKF(contains(e = read_error(&st), "the stream is big-endian"), "%s", e);
    wm_buf_free(&st);

    /* A json input read as Arrow, and a missing input. */
    host_reset();
    host_input("cfg", WM_JSON, "{}", 2, 0);
    H.in_run = true;
    wm_ctx ctx = test_ctx();
    wm_reader *r;
    CHECK(wm_input_open(&ctx, "cfg", &r) == WM_FAIL && contains(H.error.data, "input \"cfg\" arrives as json, not arrow"));
    CHECK(wm_input_open(&ctx, "nope", &r) == WM_FAIL && contains(H.error.data, "input \"nope\": input_open returned ERR_NOT_FOUND: step has no input \"nope\""));
    char *data;
    size_t len;
    wm_format f;
    CHECK(wm_input_read_all(&ctx, "cfg", &data, &len, &f) == 0 && len == 2 && f == WM_JSON && strcmp(data, "{}") == 0);
    free(data);
    CHECK(!ctx.hard_failed);
    ctx_cleanup(&ctx);
    H.in_run = false;
}

static void test_builder(void) {
    host_reset();
    H.in_run = true;
    wm_ctx ctx = test_ctx();
    static const wm_field f[] = {{.name = "i", .type = WM_INT64}, {.name = "s", .type = WM_UTF8, .not_null = true}, {.name = "b", .type = WM_BOOL}};
    wm_schema s = WM_SCHEMA(f);
    wm_batch_builder *b = wm_batch_builder_new(&ctx, &s);
    wm_batch *out;
    CHECK(wm_append_i64(b, 0, 1) == 0 && wm_append_str(b, 1, "x") == 0 && wm_append_bool(b, 2, true) == 0);
    CHECK(wm_batch_builder_len(b, 0) == 1 && wm_batch_builder_len(b, 9) == -1);
    CHECK(wm_append_values(b, 0, (const int64_t[]){2, 3, 4}, (const bool[]){true, false, true}, 3) == 0);
    CHECK(wm_append_values(b, 2, (const uint8_t[]){0, 1, 0}, NULL, 3) == 0);
    CHECK(wm_append_strn(b, 1, "yz", 2) == 0 && wm_append_strn(b, 1, "", 0) == 0 && wm_append_str(b, 1, "w") == 0);
    CHECK(wm_batch_builder_finish(b, &out) == 0 && out->num_rows == 4);
    CHECK(out->columns[0].null_count == 1 && wm_column_is_null(&out->columns[0], 2) && wm_column_i64(&out->columns[0])[3] == 4);
    CHECK(out->columns[1].null_count == 0 && out->columns[1].validity == NULL);
    size_t n;
    const char *str = wm_column_str(&out->columns[1], 1, &n);
    CHECK(n == 2 && memcmp(str, "yz", 2) == 0);
    CHECK(wm_column_bool(&out->columns[2], 0) && !wm_column_bool(&out->columns[2], 1) && wm_column_bool(&out->columns[2], 2));
    /* The builder is empty again; the batch outlives it. */
    CHECK(wm_batch_builder_len(b, 0) == 0);
    wm_batch *empty;
    CHECK(wm_batch_builder_finish(b, &empty) == 0 && empty->num_rows == 0 && wm_column_i64(&empty->columns[0]) != NULL);
    wm_batch_free(empty);
    wm_batch_builder_free(b);
    CHECK(strcmp(out->schema->fields[1].name, "s") == 0);
    wm_batch_free(out);
    CHECK(!ctx.hard_failed);

    /* Errors name the column and are sticky. */
    b = wm_batch_builder_new(&ctx, &s);
    CHECK(wm_append_f64(b, 0, 1.5) == WM_FAIL && contains(H.error.data, "batch builder: column \"i\" is int64; cannot append a float64"));
    CHECK(wm_append_i64(b, 0, 1) == WM_FAIL); /* sticky */
    CHECK(wm_batch_builder_finish(b, &out) == WM_FAIL && out == NULL);
    CHECK(ctx.hard_failed);
    wm_batch_builder_free(b);
    ctx.hard_failed = false;
    b = wm_batch_builder_new(&ctx, &s);
    CHECK(wm_append_null(b, 1) == WM_FAIL && contains(H.error.data, "column \"s\" is declared not null; cannot append a null"));
    wm_batch_builder_free(b);
    b = wm_batch_builder_new(&ctx, &s);
    CHECK(wm_append_i64(b, 7, 1) == WM_FAIL && contains(H.error.data, "column index 7 is outside [0, 3)"));
    wm_batch_builder_free(b);
    b = wm_batch_builder_new(&ctx, &s);
    wm_append_i64(b, 0, 1);
    CHECK(wm_batch_builder_finish(b, &out) == WM_FAIL && contains(H.error.data, "column \"i\" has 1 rows, column \"s\" has 0"));
    wm_batch_builder_free(b);

    /* The writer checks batches against its schema. */
    ctx.hard_failed = false;
    wm_writer *w;
    static const wm_field other[] = {{.name = "i", .type = WM_INT32}};
    wm_schema os = WM_SCHEMA(other);
    b = wm_batch_builder_new(&ctx, &os);
    wm_append_i32(b, 0, 5);
    CHECK(wm_batch_builder_finish(b, &out) == 0);
    CHECK(wm_output_open(&ctx, "result", WM_ARROW, &w) == 0 && wm_writer_set_schema(w, &s) == 0);
    CHECK(wm_writer_write(w, out) == WM_FAIL && contains(H.error.data, "output \"result\": batch 0 has 1 columns, the schema has 3"));
    wm_batch_free(out);
    wm_batch_builder_free(b);
    CHECK(wm_writer_close(w) == WM_FAIL);
    CHECK(wm_output_open(&ctx, "undeclared", WM_BYTES, &w) == WM_FAIL && contains(H.error.data, "output \"undeclared\": output_open returned ERR_NOT_FOUND"));
    CHECK(wm_output_open(&ctx, "raw", WM_BYTES, &w) == 0);
    CHECK(wm_writer_write(w, NULL) == WM_FAIL);
    H.write_budget = 1;
    CHECK(wm_writer_write_raw(w, "abc", 3) == 0); /* staged */
    CHECK(wm_writer_close(w) == WM_FAIL && contains(H.error.data, "output \"raw\": output_write returned ERR_LIMIT: the step wrote more than its output limit"));
    ctx_cleanup(&ctx);
    H.in_run = false;
}

static void test_dispatch(void) {
    host_reset();
    CHECK(run("{\"abi_version\":1,\"kind\":\"asset\",\"name\":\"cfg\",\"run_id\":\"r1\",\"step_key\":\"cfg\",\"attempt\":3,"
              "\"partition_key\":\"2026-01-15|us\",\"partition_window\":null,\"config\":{\"name\":\"w\\u00f6rld \\\"q\\\"\",\"n\":-5,"
              "\"x\":0.1,\"flag\":true,\"extra\":[1,{}]},\"inputs\":[],\"outputs\":[{\"name\":\"result\",\"format\":\"json\"}],\"cursor\":\"\","
              "\"future_field\":{\"a\":1}}") == 0);
    fake_output *o = host_output("result");
    CHECKF(o && o->closed &&
               strcmp(o->data.data, "{\"name\":\"w\xc3\xb6rld \\\"q\\\"\",\"n\":-5,\"x\":0.1,\"flag\":true,\"partition\":\"2026-01-15|us\","
                                    "\"attempt\":3,\"run\":\"r1\"}") == 0,
           "%s", o ? o->data.data : "no output");
    CHECK(H.nlogs == 1 && H.log_levels[0] == WM_INFO && strcmp(H.logs[0], "wrote config with 100%") == 0);

    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"cfg\",\"config\":{\"n\":1}}") == 1);
    CHECKF(contains(H.error.data, "config: missing required field \"name\" (a string)"), "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"cfg\",\"config\":{\"name\":\"a\",\"n\":1.5,\"x\":1,\"flag\":false}}") == 1);
    CHECKF(contains(H.error.data, "config: field \"n\" is 1.5, want an integer"), "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"cfg\",\"config\":{\"name\":3}}") == 1);
    CHECKF(contains(H.error.data, "config: field \"name\" is a number, want a string"), "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"cfg\",\"config\":null}") == 1 && contains(H.error.data, "missing required field \"name\""));

    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"fail\"}") == 1 && strcmp(H.error.data, "deliberate: 7") == 0);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"silent\"}") == 1);
    CHECKF(strcmp(H.error.data, "asset \"silent\" failed without an error message (its function returned 1)") == 0, "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"retry\"}") == 2 && strcmp(H.error.data, "try again") == 0);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"nope\"}") == 1);
    CHECKF(contains(H.error.data, "wasmorch: this module defines no asset \"nope\" (it defines: echo, types, types5, cfg"), "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"sensor\",\"name\":\"s\"}") == 1 && contains(H.error.data, "runs assets, ops and checks only"));
    host_reset();
    CHECK(run("[1]") == 1 && contains(H.error.data, "the invocation is not a JSON object"));
    host_reset();
    CHECK(run("{\"kind\":1,\"name\":\"cfg\"}") == 1 && contains(H.error.data, "must be strings"));
    host_reset();
    CHECK(wasmorch_run() == 1 && contains(H.error.data, "invocation_len returned ERR_STATE"));

    /* An input error the function ignores still fails the step. */
    host_reset();
    host_input("in", WM_ARROW, go_types_stream, sizeof go_types_stream - 100, 0);
    CHECK(run("{\"kind\":\"asset\",\"name\":\"ignore_error\"}") == 1 && contains(H.error.data, "input \"in\": message 1: the stream ends inside its"));

    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"meta\"}") == 0);
    o = host_output("result");
    CHECK(strcmp(H.metadata.data, "{\"answer\":42}") == 0 && o && strcmp(o->metadata.data, "{\"k\":\"v\"}") == 0 && strcmp(o->data.data, "ok") == 0);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"bad_meta\"}") == 1);
    CHECKF(strcmp(H.error.data, "metadata_add returned ERR_INVALID: metadata_add: metadata entry \"rows\" is set by the host") == 0, "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"no_schema\"}") == 1);
    CHECKF(contains(H.error.data, "output \"result\": no schema: write a batch or call wm_writer_set_schema"), "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"undeclared\"}") == 1 && contains(H.error.data, "output \"undeclared\""));
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"resource\"}") == 1);
    CHECKF(strcmp(H.error.data, "resource \"warehouse\": resource_call returned ERR_DENIED: no resource \"warehouse\" is granted to this step") == 0,
           "%s", H.error.data);

    /* Partition keys per chunk, the mapping key, and dynamic outputs. */
    host_reset();
    host_input("in", WM_ARROW, go_types_stream, sizeof go_types_stream, -1);
    H.inputs[0].partition_prefix = "2026-01-0";
    CHECK(run("{\"kind\":\"asset\",\"name\":\"mapped\"}") == 0);
    o = host_output("result");
    CHECKF(o && strcmp(o->data.data, "2026-01-01:5;") == 0, "%s", o ? o->data.data : "no output");
    host_reset();
    static uint8_t long_prefix[200];
    memset(long_prefix, 'k', sizeof long_prefix - 1);
    host_input("in", WM_ARROW, go_types_stream, sizeof go_types_stream, -1);
    H.inputs[0].partition_prefix = (const char *)long_prefix;
    CHECK(run("{\"kind\":\"asset\",\"name\":\"mapped\"}") == 0);
    o = host_output("result");
    CHECK(o && o->data.len == 199 + 4 && memcmp(o->data.data + 199, "1:5;", 4) == 0);
    /* A host that returns the bytes it copied: long keys, and one that fills the first buffer
     * exactly (127 bytes of prefix and the chunk number), still arrive whole. */
    static char exact_prefix[128];
    memset(exact_prefix, 'e', sizeof exact_prefix - 1);
    const char *prefixes[] = {(const char *)long_prefix, exact_prefix};
    for (int i = 0; i < 2; i++) {
        host_reset();
        host_input("in", WM_ARROW, go_types_stream, sizeof go_types_stream, -1);
        H.inputs[0].partition_prefix = prefixes[i];
        H.key_copied = true;
        CHECK(run("{\"kind\":\"asset\",\"name\":\"mapped\"}") == 0);
        o = host_output("result");
        size_t plen = strlen(prefixes[i]);
        CHECKF(o && o->data.len == plen + 4 && memcmp(o->data.data, prefixes[i], plen) == 0 && memcmp(o->data.data + plen, "1:5;", 4) == 0,
               "prefix %d: %s", i, o ? o->data.data : H.error.data);
    }
    host_reset();
    CHECK(run("{\"kind\":\"op\",\"name\":\"fan\",\"mapping_key\":\"m1\"}") == 1);
    CHECK(host_output("chunk[eu_1]") && strcmp(host_output("chunk[eu_1]")->data.data, "eu_1") == 0 && host_output("chunk[us]"));
    CHECKF(contains(H.error.data, "output \"chunk\": mapping key \"bad key\" must match [A-Za-z0-9_]+"), "%s", H.error.data);
    {
        wm_ctx c = test_ctx();
        CHECK(strcmp(wm_mapping_key(&c), "") == 0);
        ctx_cleanup(&c);
    }

    /* The op: named outputs, left open for the SDK to close. */
    host_reset();
    wm_buf in = {0};
    {
        wm_ctx ctx = test_ctx();
        H.in_run = true;
        static const wm_field f[] = {{.name = "n", .type = WM_INT64}};
        wm_schema s = WM_SCHEMA(f);
        wm_batch_builder *b = wm_batch_builder_new(&ctx, &s);
        wm_append_values(b, 0, (const int64_t[]){1, 2, 0, 4, 7, 8}, (const bool[]){1, 1, 0, 1, 1, 1}, 6);
        wm_batch *batch;
        wm_writer *w;
        CHECK(wm_batch_builder_finish(b, &batch) == 0 && wm_output_open(&ctx, "x", WM_ARROW, &w) == 0 && wm_writer_write(w, batch) == 0 &&
              wm_writer_close(w) == 0);
        wm_buf_append(&in, host_output("x")->data.data, host_output("x")->data.len);
        wm_batch_free(batch);
        wm_batch_builder_free(b);
        ctx_cleanup(&ctx);
    }
    host_reset();
    host_input("in", WM_ARROW, in.data, in.len, -1);
    CHECK(run("{\"kind\":\"op\",\"name\":\"split\"}") == 0);
    wm_buf outs[2] = {{0}, {0}};
    for (int k = 0; k < 2; k++) {
        fake_output *out = host_output(k ? "odds" : "evens");
        CHECK(out && out->closed);
        if (out) wm_buf_append(&outs[k], out->data.data, out->data.len);
    }
    for (int k = 0; k < 2; k++) {
        host_reset();
        host_input("in", WM_ARROW, outs[k].data ? outs[k].data : "", outs[k].len, 0);
        H.in_run = true;
        wm_ctx ctx = test_ctx();
        wm_reader *r = NULL;
        const wm_batch *b = NULL;
        if (wm_input_open(&ctx, "in", &r) == 0 && wm_reader_next(r, &b) == 1) {
            const int64_t *v = wm_column_i64(&b->columns[0]);
            if (k == 0) CHECK(b->num_rows == 3 && v[0] == 2 && v[1] == 4 && v[2] == 8);
            else CHECK(b->num_rows == 2 && v[0] == 1 && v[1] == 7);
            CHECK(b->columns[0].null_count == 0);
            CHECK(wm_reader_next(r, &b) == 0);
        } else {
            CHECKF(false, "%s: %s", k ? "odds" : "evens", H.error.data ? H.error.data : "no batch");
        }
        ctx_cleanup(&ctx);
        H.in_run = false;
        wm_buf_free(&outs[k]);
    }
    wm_buf_free(&in);
    host_reset();
    reg_mode = 1;
    CHECK(run("{\"kind\":\"asset\",\"name\":\"cfg\"}") == 1 && contains(H.error.data, "wasmorch: registration failed: asset \"bad key!\""));
    reg_mode = 0;
}

/* Runs the check name on asset with the asset's value (bytes). */
static int32_t run_check(const char *name, const char *asset, const char *value) {
    static char inv[512];
    snprintf(inv, sizeof inv,
             "{\"kind\":\"check\",\"name\":\"%s\",\"step_key\":\"%s\",\"inputs\":[{\"name\":\"asset\",\"format\":\"bytes\",\"asset\":\"%s\"}],"
             "\"outputs\":[]}",
             name, asset, asset);
    if (value) host_input("asset", WM_BYTES, value, strlen(value), 0);
    return run(inv);
}

static void test_checks(void) {
    /* is_ok passes on "ok", with the value's length as metadata. */
    host_reset();
    CHECK(run_check("is_ok", "checked", "ok") == 0);
    CHECKF(H.check_calls == 1 && H.check_passed == 1 && H.check_severity == 1, "%d calls", H.check_calls);
    CHECKF(H.metadata.data && strcmp(H.metadata.data, "{\"length\": 2}") == 0, "%s", H.metadata.data);
    CHECK(H.noutputs == 0 && !H.error_called);

    /* ... and fails with ERROR on anything else: the step itself succeeds. */
    host_reset();
    CHECK(run_check("is_ok", "checked", "not ok") == 0);
    CHECK(H.check_calls == 1 && H.check_passed == 0 && H.check_severity == 1 && strcmp(H.metadata.data, "{\"length\": 6}") == 0);

    /* The same check name on another asset runs that asset's function. */
    host_reset();
    CHECK(run_check("is_ok", "orders/raw", "ok") == 0);
    CHECK(H.check_calls == 1 && H.check_passed == 0 && H.check_severity == 0);
    CHECKF(H.nlogs == 1 && strcmp(H.logs[0], "checking orders/raw") == 0, "%s", H.nlogs ? H.logs[0] : "no log");

    /* warns reads nothing and fails with WARN. */
    host_reset();
    CHECK(run_check("warns", "checked", NULL) == 0);
    CHECK(H.check_calls == 1 && H.check_passed == 0 && H.check_severity == 0);

    /* A host that does not name the asset gets the first check of the name. */
    host_reset();
    host_input("asset", WM_BYTES, "ok", 2, 0);
    CHECK(run("{\"kind\":\"check\",\"name\":\"is_ok\"}") == 0 && H.check_calls == 1 && H.check_passed == 1);

    /* Returning WM_OK without a verdict leaves it to the host: passed (ABI.md 4.5). */
    host_reset();
    CHECK(run_check("silent", "checked", NULL) == 0 && H.check_calls == 0 && !H.error_called);

    /* An error is the step's failure, with its message. */
    host_reset();
    CHECK(run_check("errors", "checked", NULL) == 1 && strcmp(H.error.data, "cannot evaluate: no data") == 0 && H.check_calls == 0);

    /* Bad uses. */
    host_reset();
    CHECK(run_check("bad_severity", "checked", NULL) == 1 && H.check_calls == 0);
    CHECKF(contains(H.error.data, "wm_check_result: severity 7 is neither WM_SEVERITY_WARN nor WM_SEVERITY_ERROR"), "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"check_result_in_asset\"}") == 1 && H.check_calls == 0);
    CHECKF(contains(H.error.data, "wm_check_result: only a check step reports a check result; this is asset \"check_result_in_asset\""), "%s",
           H.error.data);
    host_reset();
    H.check_refuse = true;
    CHECK(run_check("warns", "checked", NULL) == 1);
    CHECKF(strcmp(H.error.data, "check_result returned ERR_STATE: check_result is only available in an asset check step") == 0, "%s", H.error.data);
    host_reset();
    CHECK(run_check("is_ok", "nowhere", "ok") == 1);
    CHECKF(contains(H.error.data, "wasmorch: this module defines no check \"is_ok\" on asset \"nowhere\" (it defines: is_ok on checked, is_ok on "
                                  "orders/raw, warns on checked"),
           "%s", H.error.data);
    host_reset();
    CHECK(run_check("nope", "checked", NULL) == 1 && contains(H.error.data, "defines no check \"nope\" on asset \"checked\""));
    /* The check's input is missing: the read fails with the host's message. */
    host_reset();
    CHECK(run_check("is_ok", "checked", NULL) == 1);
    CHECKF(contains(H.error.data, "input \"asset\": input_open returned ERR_NOT_FOUND: step has no input \"asset\""), "%s", H.error.data);
    host_reset();
    CHECK(run("{\"kind\":\"check\",\"name\":\"is_ok\",\"inputs\":[1]}") == 1 && contains(H.error.data, "the invocation's inputs must be"));
    host_reset();
    CHECK(run("{\"kind\":\"check\",\"name\":\"is_ok\",\"inputs\":{}}") == 1 && contains(H.error.data, "the invocation's inputs must be"));
    host_reset();
    CHECK(run("{\"kind\":\"check\",\"name\":\"is_ok\",\"inputs\":[{\"name\":\"asset\",\"asset\":5}]}") == 1 &&
          contains(H.error.data, "the invocation's inputs must be"));

    /* An asset's input called "asset" is not a check's asset. */
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"check_result_in_asset\",\"inputs\":[{\"name\":\"asset\",\"asset\":\"up\"}]}") == 1);
    CHECKF(contains(H.error.data, "only a check step reports a check result"), "%s", H.error.data);

    /* wm_check_asset and wm_has_input outside a check. */
    wm_ctx c = test_ctx();
    CHECK(strcmp(wm_check_asset(&c), "") == 0 && !wm_has_input(&c, "asset") && !wm_has_input(NULL, "x") && !wm_has_input(&c, NULL));
    ctx_cleanup(&c);
}

static void test_retries(void) {
    static const char *want_err[] = {"try again (attempt 1)", "try again (attempt 2)"};
    for (int attempt = 1; attempt <= 3; attempt++) {
        host_reset();
        char inv[128];
        snprintf(inv, sizeof inv, "{\"kind\":\"asset\",\"name\":\"retries\",\"attempt\":%d}", attempt);
        int32_t st = run(inv);
        if (attempt < 3) {
            CHECKF(st == WM_RETRY && strcmp(H.error.data, want_err[attempt - 1]) == 0, "attempt %d: %d %s", attempt, st, H.error.data);
            CHECK(H.noutputs == 0);
        } else {
            fake_output *o = host_output("result");
            CHECKF(st == WM_OK && o && o->closed && strcmp(o->data.data, "attempt 3") == 0, "attempt 3: %d %s", st, H.error.data);
        }
    }
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"retry_silent\"}") == WM_RETRY);
    CHECKF(strcmp(H.error.data, "asset \"retry_silent\" asked to be retried without an error message (use wm_retry)") == 0, "%s", H.error.data);
    {
        wm_ctx c = test_ctx();
        host_reset();
        CHECK(wm_retry(&c, "x%d", 1) == WM_RETRY && strcmp(H.error.data, "x1") == 0);
        ctx_cleanup(&c);
    }
}

static void test_resources(void) {
    /* The request goes to the host as given; the response's value is decoded. */
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"uses_resource\"}") == 0);
    fake_output *o = host_output("result");
    CHECKF(o && o->data.data && strcmp(o->data.data, "from \"the\" host \xc3\xa9") == 0, "%s", o ? o->data.data : H.error.data);
    CHECK(H.request.data && strcmp(H.request.data, "{\"op\":\"get\",\"name\":\"CONFORMANCE_VAR\"}") == 0);

    /* A denied call fails the step with the host's message. */
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"uses_resource\",\"config\":{\"name\":\"SECRET\"}}") == 1);
    CHECKF(strcmp(H.error.data, "resource \"vars\": resource_call returned ERR_DENIED: env resource \"vars\" does not grant the variable "
                                "\"SECRET\"") == 0,
           "%s", H.error.data);
    CHECK(H.noutputs == 0);
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"uses_resource\",\"config\":{\"key\":\"db\"}}") == 1);
    CHECKF(strcmp(H.error.data, "resource \"db\": resource_call returned ERR_DENIED: no resource \"db\" is granted to this step") == 0, "%s",
           H.error.data);

    /* The host's status comes back, so a caller can handle an expected one and succeed. */
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"uses_resource\",\"config\":{\"name\":\"MISSING\"}}") == 0);
    o = host_output("result");
    CHECK(o && strcmp(o->data.data, "(unset)") == 0);
    {
        wm_ctx c = test_ctx();
        char *resp = (char *)"x";
        size_t n = 9;
        host_reset();
        H.in_run = true;
        CHECK(wm_resource_call(&c, "vars", "{\"op\":\"get\",\"name\":\"MISSING\"}", &resp, &n) == WM_ERR_NOT_FOUND && !resp && n == 0);
        CHECK(strcmp(H.error.data, "resource \"vars\": resource_call returned ERR_NOT_FOUND: env: MISSING is not set") == 0);
        CHECK(wm_resource_call(&c, "vars", "{\"op\":\"get\"}", &resp, &n) == WM_ERR_INVALID);
        CHECK(wm_resource_call(&c, "nope", "{}", &resp, &n) == WM_ERR_DENIED);
        CHECK(wm_resource_call(&c, NULL, "{}", &resp, &n) == WM_FAIL && contains(H.error.data, "must not be NULL"));
        CHECK(wm_resource_call(&c, "vars", "{}", NULL, &n) == WM_FAIL);
        /* A response the host fails to hand over is an error too, not a short value. */
        CHECK(wm_resource_call(&c, "flaky", "{\"op\":\"get\",\"name\":\"CONFORMANCE_VAR\"}", &resp, &n) == WM_ERR_IO && !resp);
        CHECKF(contains(H.error.data, "resource \"flaky\": reading the 49-byte response: response_read returned ERR_IO: the response was lost"),
               "%s", H.error.data);
        H.in_run = false;
        ctx_cleanup(&c);
    }
}

static void test_fan_out(void) {
    /* Three mapped values of the dynamic output, then the plain one. */
    host_reset();
    CHECK(run("{\"kind\":\"op\",\"name\":\"fan_out\",\"outputs\":[{\"name\":\"chunks\",\"format\":\"json\"},"
              "{\"name\":\"count\",\"format\":\"json\"}]}") == 0);
    static const char *names[] = {"chunks[a]", "chunks[b]", "chunks[c]", "count"}, *values[] = {"1", "2", "3", "3"};
    CHECK(H.noutputs == 4);
    for (int i = 0; i < 4; i++) {
        fake_output *o = host_output(names[i]);
        CHECKF(o && o->closed && o->format == WM_JSON && strcmp(o->data.data, values[i]) == 0, "%s", names[i]);
    }

    /* Mapping keys are checked before the host sees them. */
    static char long_key[300], max_key[256];
    memset(long_key, 'k', 256);
    memset(max_key, 'k', 255);
    static const struct {
        const char *key, *err;
    } bad[] = {
        {"bad key", "output \"chunks\": mapping key \"bad key\" must match [A-Za-z0-9_]+"},
        {"a[b]", "output \"chunks\": mapping key \"a[b]\" must match [A-Za-z0-9_]+"},
        {"caf\u00e9", "must match [A-Za-z0-9_]+"},
        {"", "output \"chunks\": the mapping key is empty; it must match [A-Za-z0-9_]+"},
        {long_key, "output \"chunks\": mapping key \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\" has 256 characters; at most 255 are allowed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        host_reset();
        char inv[512];
        snprintf(inv, sizeof inv, "{\"kind\":\"op\",\"name\":\"fan_out\",\"config\":{\"key\":\"%s\"}}", bad[i].key);
        CHECKF(run(inv) == 1 && contains(H.error.data, bad[i].err), "key %zu: %s", i, H.error.data);
        CHECK(H.noutputs == 0);
    }
    host_reset();
    char inv[512];
    snprintf(inv, sizeof inv, "{\"kind\":\"op\",\"name\":\"fan_out\",\"config\":{\"key\":\"%s\"}}", max_key);
    CHECKF(run(inv) == 0 && H.noutputs == 1 && strncmp(H.outputs[0].name, "chunks[kkkk", 11) == 0, "a 255-character key: %s", H.error.data ? H.error.data : "");
    {
        wm_ctx c = test_ctx();
        wm_writer *w = (wm_writer *)&c;
        CHECK(wm_output_open_mapped(&c, "chunks", NULL, WM_JSON, &w) == WM_FAIL && w == NULL);
        ctx_cleanup(&c);
    }

    /* A mapped step: its key and the value of its mapping; an optional input only when it is there. */
    host_reset();
    host_input("n", WM_JSON, " 21\n", 4, 0);
    CHECK(run("{\"kind\":\"op\",\"name\":\"mapped_op\",\"mapping_key\":\"b\",\"inputs\":[{\"name\":\"n\",\"format\":\"json\"}]}") == 0);
    fake_output *o = host_output("result");
    CHECKF(o && o->closed && strcmp(o->data.data, "{\"key\":\"b\",\"n2\":42}") == 0, "%s", o ? o->data.data : H.error.data);
    CHECK(!host_output("log")); /* an optional output left unwritten */
    host_reset();
    host_input("n", WM_JSON, "2", 1, 0);
    host_input("extra", WM_JSON, "[true]", 6, 0);
    CHECK(run("{\"kind\":\"op\",\"name\":\"mapped_op\",\"mapping_key\":\"c\",\"inputs\":[{\"name\":\"n\",\"format\":\"json\"},"
              "{\"name\":\"extra\",\"format\":\"json\"}]}") == 0);
    o = host_output("result");
    CHECKF(o && strcmp(o->data.data, "{\"key\":\"c\",\"n2\":4,\"extra\":[true]}") == 0, "%s", o ? o->data.data : H.error.data);
    host_reset();
    host_input("n", WM_JSON, "\"two\"", 5, 0);
    CHECK(run("{\"kind\":\"op\",\"name\":\"mapped_op\",\"inputs\":[{\"name\":\"n\"}]}") == 1 && contains(H.error.data, "input \"n\" is not an integer"));
}

static void test_partitions(void) {
    /* RFC 3339 times as the host writes them, and what is refused. */
    static const struct {
        const char *s;
        bool ok;
        int64_t want;
    } times[] = {
        {"1970-01-01T00:00:00Z", true, 0},
        {"2026-01-15T00:00:00Z", true, 1768435200},
        {"2026-01-15T00:00:00+01:00", true, 1768431600},
        {"2026-01-14T19:00:00-05:00", true, 1768435200},
        {"2026-03-29T00:00:00.999999999+01:00", true, 1774738800},
        {"2024-02-29T23:59:59Z", true, 1709251199},
        {"1969-12-31T23:59:59Z", true, -1},
        {"2026-02-29T00:00:00Z", false, 0},
        {"2026-01-15", false, 0},
        {"2026-01-15T00:00:00", false, 0},
        {"2026-01-15 00:00:00Z", false, 0},
        {"2026-13-01T00:00:00Z", false, 0},
        {"2026-01-15T24:00:00Z", false, 0},
        {"2026-01-15T00:00:00+1:00", false, 0},
        {"2026-01-15T00:00:00.Z", false, 0},
        {"2026-01-15T00:00:00Zx", false, 0},
        {"", false, 0},
    };
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
        int64_t got = 0;
        bool ok = parse_rfc3339(times[i].s, &got);
        CHECKF(ok == times[i].ok && (!ok || got == times[i].want), "%s: ok %d, %lld", times[i].s, ok, (long long)got);
    }

    /* The window and keys of a step of a multi-dimensional definition with a time dimension: a
     * 23-hour day in Paris. */
    host_reset();
    CHECK(run("{\"kind\":\"asset\",\"name\":\"window\",\"partition_key\":\"2026-03-29|us|web\","
              "\"partition_window\":{\"start\":\"2026-03-29T00:00:00+01:00\",\"end\":\"2026-03-30T00:00:00+02:00\"}}") == 0);
    fake_output *o = host_output("result");
    CHECKF(o && strcmp(o->data.data, "2026-03-29T00:00:00+01:00|2026-03-30T00:00:00+02:00|1774738800|1774821600|3|2026-03-29,us,web") == 0,
           "%s", o ? o->data.data : H.error.data);

    /* No window: null, absent, and an unpartitioned step. */
    static const char *none[] = {
        "{\"kind\":\"asset\",\"name\":\"window\",\"partition_key\":\"us\",\"partition_window\":null}",
        "{\"kind\":\"asset\",\"name\":\"window\",\"partition_key\":\"us\"}",
        "{\"kind\":\"asset\",\"name\":\"window\",\"partition_key\":\"\"}",
    };
    static const char *none_want[] = {"||0|0|1|us", "||0|0|1|us", "||0|0|0|"};
    for (int i = 0; i < 3; i++) {
        host_reset();
        CHECK(run(none[i]) == 0);
        o = host_output("result");
        CHECKF(o && strcmp(o->data.data, none_want[i]) == 0, "%d: %s", i, o ? o->data.data : H.error.data);
    }

    /* A malformed window fails the step before the function runs. */
    static const struct {
        const char *window, *err;
    } bad[] = {
        {"\"2026-01-15\"", "wasmorch: the invocation's partition_window must be null or {\"start\": RFC 3339, \"end\": RFC 3339}, got \"2026-01-15\""},
        {"{\"start\":\"2026-01-15\",\"end\":\"2026-01-16\"}", "partition_window must be null or {\"start\": RFC 3339, \"end\": RFC 3339}, got {\"start\""},
        {"{\"start\":\"2026-01-15T00:00:00Z\"}", "partition_window must be null or"},
        {"{\"start\":1,\"end\":\"2026-01-16T00:00:00Z\"}", "partition_window must be null or"},
        {"{\"start\":\"2026-01-16T00:00:00Z\",\"end\":\"2026-01-16T01:00:00+01:00\"}",
         "wasmorch: the invocation's partition_window ends at or before its start, got {\"start\":\"2026-01-16T00:00:00Z\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        host_reset();
        char inv[512];
        snprintf(inv, sizeof inv, "{\"kind\":\"asset\",\"name\":\"window\",\"partition_window\":%s}", bad[i].window);
        CHECKF(run(inv) == 1 && contains(H.error.data, bad[i].err) && !host_output("result"), "%zu: %s", i, H.error.data);
    }

    /* Outside a step and with a NULL context: nothing, and no crash. */
    const char *s = "x", *e = "y";
    const char *const *keys = NULL;
    CHECK(!wm_partition_window(NULL, &s, &e) && strcmp(s, "") == 0 && strcmp(e, "") == 0);
    CHECK(wm_partition_keys(NULL, &keys) == 0 && keys && keys[0] == NULL);
    CHECK(!wm_partition_window(NULL, NULL, NULL) && !wm_partition_window_unix(NULL, NULL, NULL));
}

int main(void) {
    H.write_budget = -1;
    test_json();
    test_format_double();
    test_manifest();
    test_graphs_and_jobs();
    test_go_stream();
    test_round_trip();
    test_malformed_cases();
    test_builder();
    test_dispatch();
    test_checks();
    test_retries();
    test_resources();
    test_fan_out();
    test_partitions();
    test_malformed_fuzz();
    host_reset();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
