/*
 * wasmorch.c - implementation of the wasmorch C SDK (see wasmorch.h and abi/ABI.md).
 *
 * Layout of this file:
 *   1. host imports and exports       6. schemas and type names
 *   2. byte buffers                   7. Arrow IPC: flatbuffer reading, the input reader
 *   3. JSON reading                   8. Arrow IPC: flatbuffer building, the output writer
 *   4. number formatting              9. the batch builder
 *   5. registration and manifest     10. the step context and wasmorch_run
 *
 * Every byte that comes from the host (invocation, input streams) is untrusted: reads are
 * bounds-checked, and a malformed value becomes an error message naming what is wrong.
 *
 * Built for a wasm32 target, the host functions are imports of the module "wasmorch". Built
 * natively (the SDK's unit tests), they are ordinary external functions the test program defines,
 * so the whole SDK, dispatch included, runs against an in-memory host.
 */
#include "wasmorch.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ========================================================================================== */
/* 1. Host imports and exports                                                                */
/* ========================================================================================== */

#if defined(__wasm__)
#define WM_IMPORT(n) __attribute__((import_module("wasmorch"), import_name(n)))
#define WM_EXPORT(n) __attribute__((export_name(n)))
#else
#define WM_IMPORT(n)
#define WM_EXPORT(n)
#endif

/* Names as in ABI.md section 4; pointers and lengths are i32 on wasm32. */
WM_IMPORT("last_error_len") int32_t wm__last_error_len(void);
WM_IMPORT("last_error_read") int32_t wm__last_error_read(void *buf, uint32_t len);
WM_IMPORT("invocation_len") int32_t wm__invocation_len(void);
WM_IMPORT("invocation_read") int32_t wm__invocation_read(void *buf, uint32_t len);
WM_IMPORT("input_open") int32_t wm__input_open(const char *name, uint32_t len);
WM_IMPORT("input_format") int32_t wm__input_format(int32_t handle);
WM_IMPORT("input_next") int64_t wm__input_next(int32_t handle);
WM_IMPORT("input_read") int32_t wm__input_read(int32_t handle, void *buf, uint32_t len);
WM_IMPORT("input_close") int32_t wm__input_close(int32_t handle);
WM_IMPORT("input_partition_key") int32_t wm__input_partition_key(int32_t handle, void *buf, uint32_t len);
WM_IMPORT("output_open") int32_t wm__output_open(const char *name, uint32_t len, int32_t format);
WM_IMPORT("output_write") int32_t wm__output_write(int32_t handle, const void *p, uint32_t len);
WM_IMPORT("output_metadata") int32_t wm__output_metadata(int32_t handle, const char *p, uint32_t len);
WM_IMPORT("output_close") int32_t wm__output_close(int32_t handle);
WM_IMPORT("error_set") int32_t wm__error_set(const char *p, uint32_t len);
WM_IMPORT("metadata_add") int32_t wm__metadata_add(const char *p, uint32_t len);
WM_IMPORT("check_result") int32_t wm__check_result(int32_t passed, int32_t severity);
WM_IMPORT("log") int32_t wm__log(int32_t level, const char *p, uint32_t len);
WM_IMPORT("resource_call") int64_t wm__resource_call(const char *key, uint32_t key_len, const char *req, uint32_t req_len);
WM_IMPORT("response_read") int32_t wm__response_read(void *buf, uint32_t len);
WM_IMPORT("manifest_write") int32_t wm__manifest_write(const char *p, uint32_t len);

WM_EXPORT("wasmorch_abi_version") int32_t wasmorch_abi_version(void);
WM_EXPORT("wasmorch_manifest") int32_t wasmorch_manifest(void);
WM_EXPORT("wasmorch_run") int32_t wasmorch_run(void);

/* Host calls take 32-bit lengths; on wasm32 size_t is 32 bits, natively we clamp. */
static uint32_t len32(size_t n) { return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n; }

static const char *status_name(int64_t code) {
    switch (code) {
    case 0: return "OK";
    case -1: return "ERR_BOUNDS";
    case -2: return "ERR_NOT_FOUND";
    case -3: return "ERR_INVALID";
    case -4: return "ERR_STATE";
    case -5: return "ERR_LIMIT";
    case -6: return "ERR_DENIED";
    case -7: return "ERR_IO";
    case -8: return "ERR_UNSUPPORTED";
    }
    return "UNKNOWN_STATUS";
}

static const char *format_name(int f) {
    switch (f) {
    case WM_ARROW: return "arrow";
    case WM_JSON: return "json";
    case WM_BYTES: return "bytes";
    }
    return "unknown";
}

/* ========================================================================================== */
/* 2. Byte buffers                                                                            */
/* ========================================================================================== */

static bool buf_reserve(wm_buf *b, size_t extra) {
    if (b->failed) return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void wm_buf_append(wm_buf *b, const void *data, size_t len) {
    if (!buf_reserve(b, len)) return;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
}

void wm_buf_puts(wm_buf *b, const char *s) { wm_buf_append(b, s, strlen(s)); }

static void buf_vprintf(wm_buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        wm_buf_append(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n)) return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void wm_buf_printf(wm_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void wm_buf_json_string(wm_buf *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    wm_buf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        wm_buf_append(b, s + start, i - start);
        start = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            n = 6;
        }
        wm_buf_append(b, esc, n);
    }
    wm_buf_append(b, s + start, len - start);
    wm_buf_append(b, "\"", 1);
}

static void buf_json_str(wm_buf *b, const char *s) { wm_buf_json_string(b, s ? s : "", s ? strlen(s) : 0); }

void wm_buf_free(wm_buf *b) {
    free(b->data);
    *b = (wm_buf){0};
}

static char *xstrndup(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static char *xstrdup(const char *s) { return s ? xstrndup(s, strlen(s)) : NULL; }

/* ========================================================================================== */
/* 3. JSON reading                                                                            */
/* ========================================================================================== */

/* A validating JSON scanner over [p, end). Nesting is limited, so hostile input cannot exhaust
 * the stack. */
typedef struct jscan {
    const char *p, *end;
    int depth;
} jscan;

enum { JSON_MAX_DEPTH = 128 };

static void js_ws(jscan *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool js_string(jscan *j) {
    if (j->p >= j->end || *j->p != '"') return false;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"') return true;
        if (c < 0x20) return false;
        if (c != '\\') continue;
        if (j->p >= j->end) return false;
        switch (*j->p++) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
        case 'u':
            if (j->end - j->p < 4) return false;
            for (int i = 0; i < 4; i++)
                if (hexval(j->p[i]) < 0) return false;
            j->p += 4;
            break;
        default: return false;
        }
    }
    return false;
}

static bool js_digits(jscan *j) {
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    return j->p > s;
}

static bool js_number(jscan *j) {
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end) return false;
    if (*j->p == '0') j->p++;
    else if (!js_digits(j)) return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!js_digits(j)) return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (!js_digits(j)) return false;
    }
    return true;
}

static bool js_literal(jscan *j, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0) return false;
    j->p += n;
    return true;
}

static bool js_value(jscan *j) {
    js_ws(j);
    if (j->p >= j->end) return false;
    switch (*j->p) {
    case '{':
    case '[': {
        char close = *j->p == '{' ? '}' : ']';
        bool object = close == '}';
        if (++j->depth > JSON_MAX_DEPTH) return false;
        j->p++;
        js_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            j->depth--;
            return true;
        }
        for (;;) {
            if (object) {
                js_ws(j);
                if (!js_string(j)) return false;
                js_ws(j);
                if (j->p >= j->end || *j->p != ':') return false;
                j->p++;
            }
            if (!js_value(j)) return false;
            js_ws(j);
            if (j->p >= j->end) return false;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p != close) return false;
            j->p++;
            j->depth--;
            return true;
        }
    }
    case '"': return js_string(j);
    case 't': return js_literal(j, "true");
    case 'f': return js_literal(j, "false");
    case 'n': return js_literal(j, "null");
    default: return js_number(j);
    }
}

bool wm_json_valid(const char *json, size_t len) {
    if (!json) return false;
    jscan j = {json, json + len, 0};
    if (!js_value(&j)) return false;
    js_ws(&j);
    return j.p == j.end;
}

static void put_utf8(wm_buf *b, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F)), u[2] = (char)(0x80 | (cp >> 6 & 0x3F)),
        u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    wm_buf_append(b, u, n);
}

static uint32_t hex4(const char *p) {
    return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

/* Decodes the JSON string whose text (quotes included) is s[0..n), already validated by
 * js_string, into out. Lone surrogates become U+FFFD, as in Go. */
static void json_decode_string(const char *s, size_t n, wm_buf *out) {
    const char *p = s + 1, *end = s + n - 1;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\\') q++;
        wm_buf_append(out, p, (size_t)(q - p));
        if (q >= end) break;
        q++; /* the backslash */
        char c = *q++;
        switch (c) {
        case 'b': wm_buf_append(out, "\b", 1); break;
        case 'f': wm_buf_append(out, "\f", 1); break;
        case 'n': wm_buf_append(out, "\n", 1); break;
        case 'r': wm_buf_append(out, "\r", 1); break;
        case 't': wm_buf_append(out, "\t", 1); break;
        case 'u': {
            uint32_t cp = hex4(q);
            q += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - q >= 6 && q[0] == '\\' && q[1] == 'u') {
                uint32_t lo = hex4(q + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    q += 6;
                }
            }
            if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
            put_utf8(out, cp);
            break;
        }
        default: wm_buf_append(out, &c, 1); break; /* " \ / */
        }
        p = q;
    }
}

/* Raw-text member lookup in a JSON object known to be valid; the last duplicate wins, as in Go. */
static int json_find_valid(const char *json, size_t len, const char *key, const char **val, size_t *val_len) {
    jscan j = {json, json + len, 0};
    js_ws(&j);
    if (j.p >= j.end || *j.p != '{') return -1;
    j.p++;
    size_t klen = strlen(key);
    int found = 1;
    wm_buf tmp = {0};
    for (;;) {
        js_ws(&j);
        if (j.p >= j.end || *j.p == '}') break;
        const char *ks = j.p;
        if (!js_string(&j)) break;
        size_t kn = (size_t)(j.p - ks);
        bool match;
        if (memchr(ks, '\\', kn)) {
            tmp.len = 0;
            json_decode_string(ks, kn, &tmp);
            match = !tmp.failed && tmp.len == klen && memcmp(tmp.data, key, klen) == 0;
        } else {
            match = kn - 2 == klen && memcmp(ks + 1, key, klen) == 0;
        }
        js_ws(&j);
        j.p++; /* ':' */
        js_ws(&j);
        const char *vs = j.p;
        if (!js_value(&j)) break;
        if (match) {
            *val = vs;
            *val_len = (size_t)(j.p - vs);
            found = 0;
        }
        js_ws(&j);
        if (j.p < j.end && *j.p == ',') j.p++;
    }
    wm_buf_free(&tmp);
    return found;
}

int wm_json_find(const char *json, size_t len, const char *key, const char **val, size_t *val_len) {
    if (!json || !key || !wm_json_valid(json, len)) return -1;
    const char *v = NULL;
    size_t vl = 0;
    int rc = json_find_valid(json, len, key, &v, &vl);
    if (rc == 0) {
        if (val) *val = v;
        if (val_len) *val_len = vl;
    }
    return rc;
}

/* What kind of JSON value the raw text v is, for error messages. */
static const char *json_kind(const char *v) {
    switch (*v) {
    case '"': return "a string";
    case '{': return "an object";
    case '[': return "an array";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    }
    return "a number";
}

/* Parses raw JSON number text as an int64; false when it has a fraction, an exponent, or does
 * not fit. */
static bool json_int(const char *v, size_t n, int64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (i < n && v[i] == '-') neg = true, i++;
    if (i == n) return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, x = 0;
    for (; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return false;
        unsigned d = (unsigned)(v[i] - '0');
        if (x > (limit - d) / 10) return false;
        x = x * 10 + d;
    }
    *out = neg ? (x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x) : (int64_t)x;
    return true;
}

static bool json_double(const char *v, size_t n, double *out) {
    char tmp[64];
    if (n == 0 || n >= sizeof tmp || !(*v == '-' || (*v >= '0' && *v <= '9'))) return false;
    memcpy(tmp, v, n);
    tmp[n] = 0;
    char *end;
    double d = strtod(tmp, &end);
    if (*end || isinf(d)) return false;
    *out = d;
    return true;
}

/* Trims JSON white space around val[0..len) and checks that it is one JSON value. */
static bool json_one_value(const char **val, size_t *len) {
    if (!*val) return false;
    jscan j = {*val, *val + *len, 0};
    js_ws(&j);
    const char *s = j.p;
    if (!js_value(&j)) return false;
    const char *e = j.p;
    js_ws(&j);
    if (j.p != j.end) return false;
    *val = s;
    *len = (size_t)(e - s);
    return true;
}

int wm_json_int(const char *val, size_t len, int64_t *out) {
    int64_t x;
    if (!out || !json_one_value(&val, &len) || !json_int(val, len, &x)) return 1;
    *out = x;
    return 0;
}

int wm_json_double(const char *val, size_t len, double *out) {
    double x;
    if (!out || !json_one_value(&val, &len) || !json_double(val, len, &x)) return 1;
    *out = x;
    return 0;
}

int wm_json_bool(const char *val, size_t len, bool *out) {
    if (!out || !json_one_value(&val, &len) || (*val != 't' && *val != 'f')) return 1;
    *out = *val == 't';
    return 0;
}

int wm_json_string(const char *val, size_t len, char **out, size_t *out_len) {
    if (!out) return 1;
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!json_one_value(&val, &len) || *val != '"') return 1;
    wm_buf b = {0};
    json_decode_string(val, len, &b);
    if (!b.data && !b.failed) wm_buf_append(&b, "", 0);
    if (b.failed) {
        wm_buf_free(&b);
        return 1;
    }
    *out = b.data;
    if (out_len) *out_len = b.len;
    return 0;
}

/* ========================================================================================== */
/* 4. Number formatting                                                                       */
/* ========================================================================================== */

/* Shortest decimal digits of finite, non-zero v: digits[0..nd) with the value
 * 0.d1d2... x 10^(exp+1), i.e. d1.d2... x 10^exp. */
static int shortest_digits(double v, char *digits, int *exp) {
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v) break;
    }
    if (prec > 17) prec = 17;
    const char *p = tmp + (tmp[0] == '-');
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[nd++] = *p;
    *exp = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    return nd;
}

static int fmt_special(char *buf, size_t size, double v) {
    if (isnan(v)) return snprintf(buf, size, "NaN");
    if (isinf(v)) return snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
    return snprintf(buf, size, signbit(v) ? "-0" : "0");
}

/* Writes digits as d.ddde±XX (at least two exponent digits, as Go and C do). */
static void fmt_e(wm_buf *b, bool neg, const char *d, int nd, int exp) {
    if (neg) wm_buf_puts(b, "-");
    wm_buf_append(b, d, 1);
    if (nd > 1) {
        wm_buf_puts(b, ".");
        wm_buf_append(b, d + 1, (size_t)nd - 1);
    }
    wm_buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static void fmt_f(wm_buf *b, bool neg, const char *d, int nd, int exp) {
    if (neg) wm_buf_puts(b, "-");
    if (exp < 0) {
        wm_buf_puts(b, "0.");
        for (int i = 0; i < -exp - 1; i++) wm_buf_puts(b, "0");
        wm_buf_append(b, d, (size_t)nd);
        return;
    }
    int ip = exp + 1; /* digits before the point */
    if (nd <= ip) {
        wm_buf_append(b, d, (size_t)nd);
        for (int i = nd; i < ip; i++) wm_buf_puts(b, "0");
        return;
    }
    wm_buf_append(b, d, (size_t)ip);
    wm_buf_puts(b, ".");
    wm_buf_append(b, d + ip, (size_t)(nd - ip));
}

static int fmt_out(wm_buf *b, char *buf, size_t size) {
    int n = b->failed ? 0 : (int)b->len;
    if (size) snprintf(buf, size, "%s", b->failed || !b->data ? "" : b->data);
    wm_buf_free(b);
    return n;
}

int wm_format_double(char *buf, size_t size, double v) {
    if (!isfinite(v) || v == 0) return fmt_special(buf, size, v);
    char d[24];
    int exp, nd = shortest_digits(v, d, &exp);
    wm_buf b = {0};
    double a = fabs(v);
    if (a < 1e-6 || a >= 1e21) {
        fmt_e(&b, v < 0, d, nd, exp);
        /* Go's encoding/json writes e-7, not e-07. */
        if (b.len >= 4 && b.data[b.len - 4] == 'e' && b.data[b.len - 3] == '-' && b.data[b.len - 2] == '0') {
            b.data[b.len - 2] = b.data[b.len - 1];
            b.data[--b.len] = 0;
        }
    } else {
        fmt_f(&b, v < 0, d, nd, exp);
    }
    return fmt_out(&b, buf, size);
}

int wm_format_double_g(char *buf, size_t size, double v) {
    if (!isfinite(v) || v == 0) return fmt_special(buf, size, v);
    char d[24];
    int exp, nd = shortest_digits(v, d, &exp);
    wm_buf b = {0};
    /* strconv decides with precision 6 when the precision is the shortest: %e from 1e+06 up. */
    if (exp < -4 || exp >= 6) fmt_e(&b, v < 0, d, nd, exp);
    else fmt_f(&b, v < 0, d, nd, exp);
    return fmt_out(&b, buf, size);
}

void wm_buf_json_double(wm_buf *b, double v) {
    if (!isfinite(v)) {
        wm_buf_puts(b, "null");
        return;
    }
    char tmp[40];
    wm_format_double(tmp, sizeof tmp, v);
    wm_buf_puts(b, tmp);
}

/* ========================================================================================== */
/* 5. Registration and the manifest                                                           */
/* ========================================================================================== */

enum def_kind { DEF_ASSET, DEF_OP, DEF_CHECK, DEF_GRAPH, DEF_JOB };

typedef struct wm_def {
    enum def_kind kind;
    char *name;
    char *asset; /* checks: the asset key the check evaluates; NULL otherwise */
    wm_fn fn;   /* NULL for graphs and jobs */
    char *json; /* this definition's manifest entry; NULL for a graph or job that had problems */
} wm_def;

struct wm_registry {
    wm_def *defs;
    int n, cap;
    char **problems;
    int nproblems, cap_problems;
    bool oom;
};

static bool valid_name(const char *s) {
    if (!s || !*s) return false;
    if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))) return false;
    return true;
}

static bool valid_key(const char *s) {
    if (!s || !*s) return false;
    bool start = true;
    for (; *s; s++) {
        char c = *s;
        bool alnum = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (start) {
            if (!alnum) return false;
            start = false;
        } else if (c == '/') {
            start = true;
        } else if (!alnum && c != '-') {
            return false;
        }
    }
    return !start;
}

static const char key_help[] = "one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by \"/\", such as \"orders/raw\"";

/* Current registration, for problem messages. */
typedef struct reg_item {
    wm_registry *r;
    const char *what; /* "asset", "op", "check", "graph" or "job" */
    const char *name;
    int problems;
    const char *asset; /* checks: the asset, named in problems */
} reg_item;

static void problem(reg_item *it, const char *fmt, ...) WM_PRINTF(2, 3);
static void problem(reg_item *it, const char *fmt, ...) {
    wm_registry *r = it->r;
    it->problems++;
    wm_buf b = {0};
    wm_buf_printf(&b, "%s \"%s\"", it->what, it->name ? it->name : "(null)");
    if (it->asset) wm_buf_printf(&b, " on asset \"%s\"", it->asset);
    wm_buf_puts(&b, ": ");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (b.failed || (r->nproblems == r->cap_problems && r->nproblems > INT_MAX / 2)) {
        r->oom = true;
        wm_buf_free(&b);
        return;
    }
    if (r->nproblems == r->cap_problems) {
        int cap = r->cap_problems ? r->cap_problems * 2 : 8;
        char **p = realloc(r->problems, (size_t)cap * sizeof *p);
        if (!p) {
            r->oom = true;
            wm_buf_free(&b);
            return;
        }
        r->problems = p;
        r->cap_problems = cap;
    }
    r->problems[r->nproblems++] = b.data;
}

static bool format_ok(int f) { return f == WM_ARROW || f == WM_JSON || f == WM_BYTES; }

static bool type_ok(int t) { return t >= WM_BOOL && t <= WM_TIMESTAMP; }

static void json_object_opt(reg_item *it, wm_buf *b, const char *field, const char *json, const char *what) {
    if (!json) return;
    size_t n = strlen(json);
    jscan j = {json, json + n, 0};
    js_ws(&j);
    if (!wm_json_valid(json, n)) {
        problem(it, "%s is not valid JSON", what);
        return;
    }
    if (j.p >= j.end || *j.p != '{') {
        problem(it, "%s must be a JSON object", what);
        return;
    }
    wm_buf_printf(b, ",\"%s\":", field);
    wm_buf_append(b, json, n);
}

/* json_object_opt for a partitions definition or partition mapping (ABI.md 7.6, 7.7), which must
 * also have a "type" among types; the host checks the rest, naming the field's path. */
static void json_typed_opt(reg_item *it, wm_buf *b, const char *field, const char *json, const char *what, const char *const *types) {
    if (!json) return;
    size_t before = b->len;
    int nproblems = it->problems;
    json_object_opt(it, b, field, json, what);
    if (it->problems != nproblems) return;
    const char *v;
    size_t vn;
    wm_buf want = {0};
    for (int i = 0; types[i]; i++) wm_buf_printf(&want, "%s%s", i ? (types[i + 1] ? ", " : " or ") : "", types[i]);
    if (json_find_valid(json, strlen(json), "type", &v, &vn) != 0) {
        problem(it, "%s has no \"type\" (want %s)", what, want.data);
    } else {
        bool ok = false;
        for (int i = 0; types[i] && !ok; i++) ok = vn == strlen(types[i]) + 2 && *v == '"' && memcmp(v + 1, types[i], vn - 2) == 0;
        if (!ok) problem(it, "%s has the type %.*s (want %s)", what, vn > 40 ? 40 : (int)vn, v, want.data);
    }
    wm_buf_free(&want);
    if (it->problems != nproblems) b->len = before;
}

static const char *const partitions_types[] = {"static", "time", "dynamic", "multi", NULL};
static const char *const mapping_types[] = {"identity", "time_window", "all", "static", "multi", NULL};

static void json_names(reg_item *it, wm_buf *b, const char *field, const char *const *names, bool keys, const char *what) {
    if (!names || !names[0]) return;
    wm_buf_printf(b, ",\"%s\":[", field);
    for (int i = 0; names[i]; i++) {
        if (keys ? !valid_key(names[i]) : !valid_name(names[i]))
            problem(it, "%s[%d]: \"%s\" is not a valid %s", what, i, names[i], keys ? "asset key" : "resource key");
        if (keys && it->what[0] == 'a' && strcmp(names[i], it->name) == 0)
            problem(it, "%s[%d]: an asset cannot depend on itself", what, i);
        if (i) wm_buf_puts(b, ",");
        buf_json_str(b, names[i]);
    }
    wm_buf_puts(b, "]");
}

static void json_tags(reg_item *it, wm_buf *b, const wm_kv *tags) {
    if (!tags || !tags[0].key) return;
    wm_buf_puts(b, ",\"tags\":{");
    for (int i = 0; tags[i].key; i++) {
        if (!tags[i].value) problem(it, "tag \"%s\" has a NULL value", tags[i].key);
        if (i) wm_buf_puts(b, ",");
        buf_json_str(b, tags[i].key);
        wm_buf_puts(b, ":");
        buf_json_str(b, tags[i].value);
    }
    wm_buf_puts(b, "}");
}

const char *wm_field_type_name(const wm_field *f, char *buf, size_t size) {
    static const char *units[] = {"s", "ms", "us", "ns"};
    if (f->type == WM_TIMESTAMP) {
        const char *u = (unsigned)f->unit < 4 ? units[f->unit] : "?";
        if (f->timezone && *f->timezone) snprintf(buf, size, "timestamp[%s, tz=%s]", u, f->timezone);
        else snprintf(buf, size, "timestamp[%s]", u);
    } else {
        snprintf(buf, size, "%s", wm_type_name(f->type));
    }
    return buf;
}

static void json_kvs(wm_buf *b, const wm_kv *kv, int n) {
    wm_buf_puts(b, "{");
    for (int i = 0; i < n; i++) {
        if (i) wm_buf_puts(b, ",");
        buf_json_str(b, kv[i].key);
        wm_buf_puts(b, ":");
        buf_json_str(b, kv[i].value);
    }
    wm_buf_puts(b, "}");
}

static void json_schema(reg_item *it, wm_buf *b, const wm_schema *s) {
    wm_buf_puts(b, ",\"schema\":{\"fields\":[");
    if (s->num_fields < 0 || (s->num_fields > 0 && !s->fields)) {
        problem(it, "schema: num_fields is %d but fields is %s", s->num_fields, s->fields ? "set" : "NULL");
    } else {
        for (int i = 0; i < s->num_fields; i++) {
            const wm_field *f = &s->fields[i];
            if (!f->name || !*f->name) problem(it, "schema: fields[%d] has no name", i);
            for (int k = 0; k < i && f->name; k++)
                if (s->fields[k].name && strcmp(s->fields[k].name, f->name) == 0)
                    problem(it, "schema: column \"%s\" is declared twice", f->name);
            if (!type_ok((int)f->type)) problem(it, "schema: column \"%s\": unknown type %d", f->name ? f->name : "", (int)f->type);
            if (f->type == WM_TIMESTAMP && (unsigned)f->unit > WM_NANOSECOND)
                problem(it, "schema: column \"%s\": unknown time unit %d", f->name ? f->name : "", (int)f->unit);
            char tn[96];
            if (i) wm_buf_puts(b, ",");
            wm_buf_puts(b, "{\"name\":");
            buf_json_str(b, f->name);
            wm_buf_puts(b, ",\"type\":");
            buf_json_str(b, wm_field_type_name(f, tn, sizeof tn));
            wm_buf_printf(b, ",\"nullable\":%s}", f->not_null ? "false" : "true");
        }
    }
    wm_buf_puts(b, "]");
    if (s->num_metadata > 0 && s->metadata) {
        wm_buf_puts(b, ",\"metadata\":");
        json_kvs(b, s->metadata, s->num_metadata);
    }
    wm_buf_puts(b, "}");
}

static void reg_add(wm_registry *r, enum def_kind kind, const char *name, const char *asset, wm_fn fn, wm_buf *json) {
    if (json->failed || r->oom) {
        r->oom = true;
        wm_buf_free(json);
        return;
    }
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        wm_def *d = realloc(r->defs, (size_t)cap * sizeof *d);
        if (!d) {
            r->oom = true;
            wm_buf_free(json);
            return;
        }
        r->defs = d;
        r->cap = cap;
    }
    char *nm = xstrdup(name);
    char *as = asset ? xstrdup(asset) : NULL;
    if (!nm || (asset && !as)) {
        free(nm);
        r->oom = true;
        wm_buf_free(json);
        return;
    }
    r->defs[r->n++] = (wm_def){kind, nm, as, fn, json->data};
}

/* Whether kind name (on asset, for checks) is registered already. */
static bool reg_has(const wm_registry *r, enum def_kind kind, const char *name, const char *asset) {
    for (int i = 0; i < r->n; i++)
        if (r->defs[i].kind == kind && strcmp(r->defs[i].name, name) == 0 && (!asset || strcmp(r->defs[i].asset, asset) == 0)) return true;
    return false;
}

void wm_asset(wm_registry *r, const char *key, wm_fn fn, const wm_asset_opts *opts) {
    if (!r) return;
    static const wm_asset_opts none = {0};
    if (!opts) opts = &none;
    reg_item it = {r, "asset", key ? key : "(null)", 0, NULL};
    if (!valid_key(key)) problem(&it, "invalid asset key: an asset key is %s", key_help);
    else if (reg_has(r, DEF_ASSET, key, NULL)) problem(&it, "the key is registered twice; asset keys must be unique within a module");
    if (!fn) problem(&it, "the function is NULL");

    wm_buf b = {0};
    wm_buf_puts(&b, "{\"key\":");
    buf_json_str(&b, key);

    /* Inputs: first those named after their key, then the named ones. */
    const char *names[256];
    int nin = 0;
    bool any = (opts->ins && opts->ins[0]) || (opts->inputs && opts->inputs[0].name);
    if (any) wm_buf_puts(&b, ",\"ins\":[");
    for (int i = 0; opts->ins && opts->ins[i]; i++) {
        const char *k = opts->ins[i];
        const char *slash = strrchr(k, '/');
        const char *nm = slash ? slash + 1 : k;
        if (!valid_key(k)) problem(&it, "ins[%d]: invalid upstream asset key \"%s\": an asset key is %s", i, k, key_help);
        else if (!valid_name(nm))
            problem(&it, "ins[%d]: the last component \"%s\" of \"%s\" is not a valid input name ([A-Za-z_][A-Za-z0-9_]*); name it with .inputs", i, nm, k);
        if (key && strcmp(k, key) == 0) problem(&it, "input \"%s\": an asset cannot take itself as an input", nm);
        for (int j = 0; j < nin; j++)
            if (strcmp(names[j], nm) == 0) problem(&it, "input name \"%s\" is declared twice; name one with .inputs", nm);
        if (nin < 256) names[nin++] = nm;
        if (i) wm_buf_puts(&b, ",");
        wm_buf_puts(&b, "{\"name\":");
        buf_json_str(&b, nm);
        wm_buf_puts(&b, ",\"asset\":");
        buf_json_str(&b, k);
        wm_buf_puts(&b, "}");
    }
    for (int i = 0; opts->inputs && opts->inputs[i].name; i++) {
        const wm_input *in = &opts->inputs[i];
        const char *asset = in->asset ? in->asset : in->name;
        if (!valid_name(in->name)) problem(&it, "inputs[%d]: \"%s\" is not a valid input name ([A-Za-z_][A-Za-z0-9_]*)", i, in->name);
        if (!valid_key(asset)) problem(&it, "input \"%s\": invalid upstream asset key \"%s\": an asset key is %s", in->name, asset, key_help);
        if (key && strcmp(asset, key) == 0) problem(&it, "input \"%s\": an asset cannot take itself as an input", in->name);
        if (in->format && !format_ok((int)in->format)) problem(&it, "input \"%s\": unknown format %d", in->name, (int)in->format);
        if (in->optional) problem(&it, "input \"%s\": optional applies to op inputs only", in->name);
        for (int j = 0; j < nin; j++)
            if (strcmp(names[j], in->name) == 0) problem(&it, "input name \"%s\" is declared twice", in->name);
        if (nin < 256) names[nin++] = in->name;
        if (b.len && b.data[b.len - 1] != '[') wm_buf_puts(&b, ",");
        wm_buf_puts(&b, "{\"name\":");
        buf_json_str(&b, in->name);
        wm_buf_puts(&b, ",\"asset\":");
        buf_json_str(&b, asset);
        if (in->format) wm_buf_printf(&b, ",\"format\":\"%s\"", format_name((int)in->format));
        {
            char what[96];
            snprintf(what, sizeof what, "input \"%.40s\": partition_mapping", in->name);
            json_typed_opt(&it, &b, "partition_mapping", in->partition_mapping, what, mapping_types);
        }
        wm_buf_puts(&b, "}");
    }
    if (any) wm_buf_puts(&b, "]");
    if (nin >= 256) problem(&it, "more than 256 inputs");

    json_names(&it, &b, "deps", opts->deps, true, "deps");
    if (opts->group) {
        if (!valid_name(opts->group)) problem(&it, "group \"%s\" is not a valid group name ([A-Za-z_][A-Za-z0-9_]*)", opts->group);
        wm_buf_puts(&b, ",\"group\":");
        buf_json_str(&b, opts->group);
    }
    if (opts->description) {
        wm_buf_puts(&b, ",\"description\":");
        buf_json_str(&b, opts->description);
    }
    json_tags(&it, &b, opts->tags);
    int fmt = opts->format ? (int)opts->format : WM_ARROW;
    if (!format_ok(fmt)) problem(&it, "unknown output format %d (want WM_ARROW, WM_JSON or WM_BYTES)", fmt);
    wm_buf_printf(&b, ",\"output\":{\"format\":\"%s\"", format_name(fmt));
    if (opts->schema) {
        if (fmt != WM_ARROW) problem(&it, "a schema is set, but the output format is %s; a schema describes Arrow outputs only", format_name(fmt));
        json_schema(&it, &b, opts->schema);
    }
    wm_buf_puts(&b, "}");
    json_object_opt(&it, &b, "config_schema", opts->config_schema, "config_schema");
    json_typed_opt(&it, &b, "partitions", opts->partitions, "partitions", partitions_types);
    json_names(&it, &b, "resources", opts->resources, false, "resources");
    if (opts->io_manager) {
        if (!valid_name(opts->io_manager)) problem(&it, "io_manager \"%s\" is not a valid IO manager key", opts->io_manager);
        wm_buf_puts(&b, ",\"io_manager\":");
        buf_json_str(&b, opts->io_manager);
    }
    if (opts->code_version) {
        wm_buf_puts(&b, ",\"code_version\":");
        buf_json_str(&b, opts->code_version);
    }
    json_object_opt(&it, &b, "retry_policy", opts->retry_policy, "retry_policy");
    wm_buf_puts(&b, "}");
    if (it.problems) {
        wm_buf_free(&b);
        return;
    }
    reg_add(r, DEF_ASSET, key, NULL, fn, &b);
}

void wm_op(wm_registry *r, const char *name, wm_fn fn, const wm_op_opts *opts) {
    if (!r) return;
    static const wm_op_opts none = {0};
    if (!opts) opts = &none;
    reg_item it = {r, "op", name ? name : "(null)", 0, NULL};
    if (!valid_name(name)) problem(&it, "invalid op name: want [A-Za-z_][A-Za-z0-9_]*");
    else if (reg_has(r, DEF_OP, name, NULL)) problem(&it, "the name is registered twice; op names must be unique within a module");
    if (!fn) problem(&it, "the function is NULL");

    wm_buf b = {0};
    wm_buf_puts(&b, "{\"name\":");
    buf_json_str(&b, name);
    if (opts->description) {
        wm_buf_puts(&b, ",\"description\":");
        buf_json_str(&b, opts->description);
    }
    json_tags(&it, &b, opts->tags);
    for (int pass = 0; pass < 2; pass++) {
        int n = 0;
        if (pass == 0)
            while (opts->inputs && opts->inputs[n].name) n++;
        else
            while (opts->outputs && opts->outputs[n].name) n++;
        if (!n) continue;
        wm_buf_puts(&b, pass == 0 ? ",\"ins\":[" : ",\"outs\":[");
        for (int i = 0; i < n; i++) {
            const char *nm = pass == 0 ? opts->inputs[i].name : opts->outputs[i].name;
            int f = (int)(pass == 0 ? opts->inputs[i].format : opts->outputs[i].format);
            bool optional = pass == 0 ? opts->inputs[i].optional : opts->outputs[i].optional;
            const char *what = pass == 0 ? "input" : "output";
            if (!valid_name(nm)) problem(&it, "%s \"%s\" is not a valid name ([A-Za-z_][A-Za-z0-9_]*)", what, nm);
            for (int j = 0; j < i; j++) {
                const char *other = pass == 0 ? opts->inputs[j].name : opts->outputs[j].name;
                if (strcmp(other, nm) == 0) problem(&it, "%s name \"%s\" is declared twice", what, nm);
            }
            if (f && !format_ok(f)) problem(&it, "%s \"%s\": unknown format %d", what, nm, f);
            if (pass == 0 && opts->inputs[i].partition_mapping) problem(&it, "input \"%s\": partition_mapping applies to asset inputs only", nm);
            if (!f) f = WM_ARROW;
            if (i) wm_buf_puts(&b, ",");
            wm_buf_puts(&b, "{\"name\":");
            buf_json_str(&b, nm);
            wm_buf_printf(&b, ",\"format\":\"%s\",\"optional\":%s", format_name(f), optional ? "true" : "false");
            if (pass == 1) wm_buf_printf(&b, ",\"dynamic\":%s", opts->outputs[i].dynamic ? "true" : "false");
            wm_buf_puts(&b, "}");
        }
        wm_buf_puts(&b, "]");
    }
    json_object_opt(&it, &b, "config_schema", opts->config_schema, "config_schema");
    json_names(&it, &b, "resources", opts->resources, false, "resources");
    json_object_opt(&it, &b, "retry_policy", opts->retry_policy, "retry_policy");
    wm_buf_puts(&b, "}");
    if (it.problems) {
        wm_buf_free(&b);
        return;
    }
    reg_add(r, DEF_OP, name, NULL, fn, &b);
}

void wm_check(wm_registry *r, const char *name, const char *asset, wm_fn fn, const wm_check_opts *opts) {
    if (!r) return;
    static const wm_check_opts none = {0};
    if (!opts) opts = &none;
    reg_item it = {r, "check", name ? name : "(null)", 0, asset ? asset : "(null)"};
    if (!valid_name(name)) problem(&it, "invalid check name: want [A-Za-z_][A-Za-z0-9_]*");
    if (!valid_key(asset)) problem(&it, "invalid asset key: an asset key is %s", key_help);
    if (valid_name(name) && valid_key(asset) && reg_has(r, DEF_CHECK, name, asset))
        problem(&it, "the check is registered twice; a check name must be unique per asset");
    if (!fn) problem(&it, "the function is NULL");

    wm_buf b = {0};
    wm_buf_puts(&b, "{\"name\":");
    buf_json_str(&b, name);
    wm_buf_puts(&b, ",\"asset\":");
    buf_json_str(&b, asset);
    if (opts->description) {
        wm_buf_puts(&b, ",\"description\":");
        buf_json_str(&b, opts->description);
    }
    wm_buf_printf(&b, ",\"blocking\":%s", opts->blocking ? "true" : "false");
    json_object_opt(&it, &b, "config_schema", opts->config_schema, "config_schema");
    json_names(&it, &b, "resources", opts->resources, false, "resources");
    wm_buf_puts(&b, "}");
    if (it.problems) {
        wm_buf_free(&b);
        return;
    }
    reg_add(r, DEF_CHECK, name, asset, fn, &b);
}

/* ---- graphs and jobs ---- */

static bool given(const char *s) { return s && *s; }

/* Whether s has a character other than white space. */
static bool has_text(const char *s) {
    for (; s && *s; s++)
        if (!(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) return true;
    return false;
}

/* An op or graph reference: NAME, or MODULE:NAME for one of another module (ABI.md 7.8). */
static bool valid_ref(const char *s) {
    if (!s) return false;
    const char *colon = strchr(s, ':');
    return colon ? colon > s && valid_name(colon + 1) : valid_name(s);
}

static bool graph_has_node(const wm_node *nodes, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(nodes[i].name, name) == 0) return true;
    return false;
}

static void json_str_field(wm_buf *b, const char *field, const char *s) {
    wm_buf_printf(b, ",\"%s\":", field);
    buf_json_str(b, s);
}

/* Records a graph or job name even when its registration failed, so that a duplicate is
 * reported too; json (freed here) is its manifest entry, or NULL after a problem. */
static void reg_add_named(wm_registry *r, enum def_kind kind, const char *name, reg_item *it, wm_buf *json) {
    if (it->problems) wm_buf_free(json);
    if (!name) {
        wm_buf_free(json);
        return;
    }
    reg_add(r, kind, name, NULL, NULL, json);
}

/* The wires of node n of a graph: its "ins" object. */
static void json_wires(reg_item *it, wm_buf *b, const wm_node *n, const wm_node *nodes, int nnodes, const char *const *inputs) {
    int nw = 0;
    while (n->wires && n->wires[nw].input) nw++;
    if (!nw) return;
    wm_buf_puts(b, ",\"ins\":{");
    for (int k = 0; k < nw; k++) {
        const wm_wire *w = &n->wires[k];
        if (!valid_name(w->input))
            problem(it, "node \"%s\": wires[%d]: \"%s\" is not a valid input name ([A-Za-z_][A-Za-z0-9_]*)", n->name, k, w->input);
        for (int l = 0; l < k; l++)
            if (strcmp(n->wires[l].input, w->input) == 0) problem(it, "node \"%s\": input \"%s\" is wired twice", n->name, w->input);
        if (given(w->graph_input)) {
            bool known = false;
            for (int i = 0; inputs && inputs[i]; i++) known = known || strcmp(inputs[i], w->graph_input) == 0;
            if (given(w->node) || given(w->output))
                problem(it, "node \"%s\" input \"%s\": give either .graph_input or .node and .output, not both", n->name, w->input);
            else if (!known)
                problem(it, "node \"%s\" input \"%s\" reads graph input \"%s\", which the graph does not have (.inputs)", n->name, w->input,
                        w->graph_input);
            if (w->collect)
                problem(it, "node \"%s\" input \"%s\": only a node's output can be collected, not a graph input", n->name, w->input);
        } else if (!given(w->node) || !given(w->output)) {
            problem(it, "node \"%s\" input \"%s\" needs .node and .output, or .graph_input", n->name, w->input);
        } else if (!graph_has_node(nodes, nnodes, w->node)) {
            problem(it, "node \"%s\" input \"%s\" reads node \"%s\", which the graph does not have", n->name, w->input, w->node);
        } else if (strcmp(w->node, n->name) == 0) {
            problem(it, "node \"%s\" input \"%s\" reads the node's own output", n->name, w->input);
        } else if (!valid_name(w->output)) {
            problem(it, "node \"%s\" input \"%s\" reads output \"%s\", which is not a valid output name", n->name, w->input, w->output);
        }
        if (k) wm_buf_puts(b, ",");
        buf_json_str(b, w->input);
        wm_buf_puts(b, ":{");
        size_t start = b->len;
        if (given(w->node)) json_str_field(b, "node", w->node);
        if (given(w->output)) json_str_field(b, "output", w->output);
        if (given(w->graph_input)) json_str_field(b, "graph_input", w->graph_input);
        if (w->collect) wm_buf_puts(b, ",\"collect\":true");
        if (!b->failed && b->len > start) { /* drop the first field's comma */
            memmove(b->data + start, b->data + start + 1, b->len - start);
            b->len--;
        }
        wm_buf_puts(b, "}");
    }
    wm_buf_puts(b, "}");
}

void wm_graph(wm_registry *r, const char *name, const wm_graph_opts *opts) {
    if (!r) return;
    static const wm_graph_opts none = {0};
    if (!opts) opts = &none;
    reg_item it = {r, "graph", name ? name : "(null)", 0, NULL};
    if (!valid_name(name)) problem(&it, "invalid graph name: want [A-Za-z_][A-Za-z0-9_]*");
    else if (reg_has(r, DEF_GRAPH, name, NULL)) problem(&it, "the name is registered twice; graph names must be unique within a module");

    wm_buf b = {0};
    wm_buf_puts(&b, "{\"name\":");
    buf_json_str(&b, name);
    if (given(opts->description)) json_str_field(&b, "description", opts->description);

    const char *const *ins = opts->inputs;
    if (ins && ins[0]) {
        wm_buf_puts(&b, ",\"ins\":[");
        for (int i = 0; ins[i]; i++) {
            if (!valid_name(ins[i])) problem(&it, "inputs[%d]: \"%s\" is not a valid input name ([A-Za-z_][A-Za-z0-9_]*)", i, ins[i]);
            for (int j = 0; j < i; j++)
                if (strcmp(ins[j], ins[i]) == 0) problem(&it, "input name \"%s\" is declared twice", ins[i]);
            wm_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
            buf_json_str(&b, ins[i]);
            wm_buf_puts(&b, "}");
        }
        wm_buf_puts(&b, "]");
    }

    const wm_node *nodes = opts->nodes;
    int nn = 0;
    while (nodes && nodes[nn].name) nn++;
    if (!nn) problem(&it, "a graph needs at least one node (.nodes)");
    wm_buf_puts(&b, ",\"nodes\":[");
    for (int i = 0; i < nn; i++) {
        const wm_node *n = &nodes[i];
        if (!valid_name(n->name)) problem(&it, "nodes[%d]: \"%s\" is not a valid node name ([A-Za-z_][A-Za-z0-9_]*)", i, n->name);
        for (int j = 0; j < i; j++)
            if (strcmp(nodes[j].name, n->name) == 0) problem(&it, "node name \"%s\" is used twice", n->name);
        if (!given(n->op)) problem(&it, "node \"%s\": .op is required", n->name);
        else if (!valid_ref(n->op)) problem(&it, "node \"%s\": op \"%s\" is not an op or graph name, or MODULE:NAME", n->name, n->op);
        else if (name && strcmp(n->op, name) == 0) problem(&it, "node \"%s\": a graph cannot contain itself", n->name);
        wm_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        buf_json_str(&b, n->name);
        json_str_field(&b, "op", n->op);
        json_wires(&it, &b, n, nodes, nn, ins);
        if (given(n->config)) {
            wm_buf what = {0};
            wm_buf_printf(&what, "node \"%s\": config", n->name);
            json_object_opt(&it, &b, "config", n->config, what.data ? what.data : "a node's config");
            wm_buf_free(&what);
        }
        wm_buf_puts(&b, "}");
    }
    wm_buf_puts(&b, "]");

    const wm_graph_output *outs = opts->outputs;
    if (outs && outs[0].name) {
        wm_buf_puts(&b, ",\"outs\":[");
        for (int i = 0; outs[i].name; i++) {
            const wm_graph_output *o = &outs[i];
            if (!valid_name(o->name)) problem(&it, "outputs[%d]: \"%s\" is not a valid output name ([A-Za-z_][A-Za-z0-9_]*)", i, o->name);
            for (int j = 0; j < i; j++)
                if (strcmp(outs[j].name, o->name) == 0) problem(&it, "output name \"%s\" is declared twice", o->name);
            if (!given(o->node) || !given(o->output)) problem(&it, "output \"%s\" needs .node and .output", o->name);
            else if (!graph_has_node(nodes, nn, o->node))
                problem(&it, "output \"%s\" reads node \"%s\", which the graph does not have", o->name, o->node);
            else if (!valid_name(o->output))
                problem(&it, "output \"%s\" reads output \"%s\", which is not a valid output name", o->name, o->output);
            wm_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
            buf_json_str(&b, o->name);
            json_str_field(&b, "node", o->node);
            json_str_field(&b, "output", o->output);
            wm_buf_puts(&b, "}");
        }
        wm_buf_puts(&b, "]");
    }
    wm_buf_puts(&b, "}");
    reg_add_named(r, DEF_GRAPH, name, &it, &b);
}

void wm_job(wm_registry *r, const char *name, const wm_job_opts *opts) {
    if (!r) return;
    static const wm_job_opts none = {0};
    if (!opts) opts = &none;
    reg_item it = {r, "job", name ? name : "(null)", 0, NULL};
    if (!valid_name(name)) problem(&it, "invalid job name: want [A-Za-z_][A-Za-z0-9_]*");
    else if (reg_has(r, DEF_JOB, name, NULL)) problem(&it, "the name is registered twice; job names must be unique within a module");
    bool graph = has_text(opts->graph), selection = has_text(opts->selection);
    if (graph == selection)
        problem(&it, "a job needs exactly one of .graph and .selection, and %s", graph ? "both are set" : "neither is set");
    if (graph && !valid_ref(opts->graph)) problem(&it, "graph \"%s\" is not a graph name or MODULE:NAME", opts->graph);

    wm_buf b = {0};
    wm_buf_puts(&b, "{\"name\":");
    buf_json_str(&b, name);
    if (given(opts->description)) json_str_field(&b, "description", opts->description);
    if (selection) json_str_field(&b, "selection", opts->selection);
    if (graph) json_str_field(&b, "graph", opts->graph);
    json_tags(&it, &b, opts->tags);
    if (given(opts->config)) json_object_opt(&it, &b, "config", opts->config, "config");
    wm_buf_puts(&b, "}");
    reg_add_named(r, DEF_JOB, name, &it, &b);
}

static void registry_free(wm_registry *r) {
    for (int i = 0; i < r->n; i++) {
        free(r->defs[i].name);
        free(r->defs[i].asset);
        free(r->defs[i].json);
    }
    for (int i = 0; i < r->nproblems; i++) free(r->problems[i]);
    free(r->defs);
    free(r->problems);
    *r = (wm_registry){0};
}

/* Joins the registration problems into one message, or returns NULL when there are none. */
static char *registry_problems(const wm_registry *r) {
    wm_buf b = {0};
    if (r->oom) wm_buf_puts(&b, "wasmorch: registration failed: out of memory");
    for (int i = 0; i < r->nproblems; i++) {
        if (b.len) wm_buf_puts(&b, "; ");
        wm_buf_printf(&b, "wasmorch: registration failed: %s", r->problems[i]);
    }
    if (!r->oom && r->nproblems == 0 && r->n == 0)
        wm_buf_puts(&b, "wasmorch: the module registers no assets, ops, checks, graphs or jobs; call wm_asset, wm_op, wm_check, wm_graph or "
                        "wm_job from wasmorch_register");
    if (b.failed) {
        wm_buf_free(&b);
        return xstrdup("wasmorch: registration failed (out of memory)");
    }
    return b.data;
}

static char *registry_manifest(const wm_registry *r, size_t *len) {
    wm_buf b = {0};
    wm_buf_printf(&b, "{\"abi_version\":%d,\"sdk\":{\"name\":\"%s\",\"version\":\"%s\"}", WM_ABI_VERSION, WM_SDK_NAME, WM_SDK_VERSION);
    static const char *const lists[] = {",\"assets\":[", ",\"ops\":[", ",\"checks\":[", ",\"graphs\":[", ",\"jobs\":["};
    for (int kind = DEF_ASSET; kind <= DEF_JOB; kind++) {
        int n = 0;
        for (int i = 0; i < r->n; i++) {
            if ((int)r->defs[i].kind != kind || !r->defs[i].json) continue;
            wm_buf_puts(&b, n++ ? "," : lists[kind]);
            wm_buf_puts(&b, r->defs[i].json);
        }
        if (n) wm_buf_puts(&b, "]");
    }
    wm_buf_puts(&b, "}");
    if (b.failed) {
        wm_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

int32_t wasmorch_abi_version(void) { return WM_ABI_VERSION; }

static void error_set_str(const char *msg) {
    if (wm__error_set(msg, len32(strlen(msg))) < 0) {
        fprintf(stderr, "%s\n", msg);
    }
}

int32_t wasmorch_manifest(void) {
    wm_registry r = {0};
    wasmorch_register(&r);
    int32_t status = 0;
    char *problems = (r.oom || r.nproblems || r.n == 0) ? registry_problems(&r) : NULL;
    if (problems) {
        for (int i = 0; i < r.nproblems; i++) {
            wm_buf line = {0};
            wm_buf_printf(&line, "wasmorch: registration failed: %s", r.problems[i]);
            if (!line.failed && wm__log(WM_ERROR, line.data, len32(line.len)) < 0) fprintf(stderr, "%s\n", line.data);
            wm_buf_free(&line);
        }
        error_set_str(problems);
        free(problems);
        status = 1;
    } else {
        size_t len = 0;
        char *m = registry_manifest(&r, &len);
        if (!m) {
            error_set_str("wasmorch: out of memory building the manifest");
            status = 1;
        } else {
            int32_t rc = wm__manifest_write(m, len32(len));
            if (rc < 0) {
                fprintf(stderr, "wasmorch: manifest_write returned %s\n", status_name(rc));
                status = 1;
            }
            free(m);
        }
    }
    registry_free(&r);
    return status;
}

/* ========================================================================================== */
/* 6. Schemas and type names                                                                  */
/* ========================================================================================== */

const char *wm_type_name(wm_type t) {
    switch (t) {
    case WM_TYPE_ANY: return "any";
    case WM_BOOL: return "bool";
    case WM_INT8: return "int8";
    case WM_INT16: return "int16";
    case WM_INT32: return "int32";
    case WM_INT64: return "int64";
    case WM_UINT8: return "uint8";
    case WM_UINT16: return "uint16";
    case WM_UINT32: return "uint32";
    case WM_UINT64: return "uint64";
    case WM_FLOAT32: return "float32";
    case WM_FLOAT64: return "float64";
    case WM_UTF8: return "utf8";
    case WM_BINARY: return "binary";
    case WM_DATE32: return "date32";
    case WM_TIMESTAMP: return "timestamp";
    }
    return "unknown";
}

int wm_schema_index(const wm_schema *s, const char *name) {
    if (!s || !name) return -1;
    for (int i = 0; i < s->num_fields; i++)
        if (s->fields[i].name && strcmp(s->fields[i].name, name) == 0) return i;
    return -1;
}

/* Bytes per value of a fixed-width type; 0 for bool (bits) and -1 for variable width. */
static int type_width(wm_type t) {
    switch (t) {
    case WM_INT8: case WM_UINT8: return 1;
    case WM_INT16: case WM_UINT16: return 2;
    case WM_INT32: case WM_UINT32: case WM_FLOAT32: case WM_DATE32: return 4;
    case WM_INT64: case WM_UINT64: case WM_FLOAT64: case WM_TIMESTAMP: return 8;
    case WM_BOOL: return 0;
    default: return -1;
    }
}

static bool is_varwidth(wm_type t) { return t == WM_UTF8 || t == WM_BINARY; }

static bool same_tz(const char *a, const char *b) {
    if (!a) a = "";
    if (!b) b = "";
    return strcmp(a, b) == 0;
}

/* Same Arrow type (including timestamp unit and zone). */
static bool same_type(const wm_field *a, const wm_field *b) {
    if (a->type != b->type) return false;
    return a->type != WM_TIMESTAMP || (a->unit == b->unit && same_tz(a->timezone, b->timezone));
}

static void kvs_free(const wm_kv *kv, int n) {
    for (int i = 0; i < n; i++) {
        free((void *)kv[i].key);
        free((void *)kv[i].value);
    }
    free((void *)kv);
}

/* Frees a schema whose every string and array the SDK allocated. */
static void schema_free(wm_schema *s) {
    for (int i = 0; i < s->num_fields; i++) {
        const wm_field *f = &s->fields[i];
        free((void *)f->name);
        free((void *)f->timezone);
        kvs_free(f->metadata, f->num_metadata);
    }
    free((void *)s->fields);
    kvs_free(s->metadata, s->num_metadata);
    *s = (wm_schema){0};
}

static bool kvs_clone(const wm_kv *src, int n, const wm_kv **dst, int *dn) {
    *dst = NULL;
    *dn = 0;
    if (n <= 0 || !src) return true;
    wm_kv *kv = calloc((size_t)n, sizeof *kv);
    if (!kv) return false;
    *dst = kv;
    for (int i = 0; i < n; i++) {
        kv[i].key = xstrdup(src[i].key ? src[i].key : "");
        kv[i].value = xstrdup(src[i].value ? src[i].value : "");
        *dn = i + 1;
        if (!kv[i].key || !kv[i].value) return false;
    }
    return true;
}

/* Deep-copies src into dst; on failure dst is freed and false returned. */
static bool schema_clone(const wm_schema *src, wm_schema *dst) {
    *dst = (wm_schema){0};
    if (src->num_fields < 0 || (src->num_fields > 0 && !src->fields)) return false;
    wm_field *fs = src->num_fields ? calloc((size_t)src->num_fields, sizeof *fs) : NULL;
    if (src->num_fields && !fs) return false;
    dst->fields = fs;
    for (int i = 0; i < src->num_fields; i++) {
        const wm_field *f = &src->fields[i];
        dst->num_fields = i + 1;
        fs[i].type = f->type;
        fs[i].not_null = f->not_null;
        fs[i].unit = f->unit;
        fs[i].name = xstrdup(f->name ? f->name : "");
        fs[i].timezone = f->timezone && *f->timezone ? xstrdup(f->timezone) : NULL;
        if (!fs[i].name || (f->timezone && *f->timezone && !fs[i].timezone) ||
            !kvs_clone(f->metadata, f->num_metadata, &fs[i].metadata, &fs[i].num_metadata)) {
            schema_free(dst);
            return false;
        }
    }
    if (!kvs_clone(src->metadata, src->num_metadata, &dst->metadata, &dst->num_metadata)) {
        schema_free(dst);
        return false;
    }
    return true;
}

/* ========================================================================================== */
/* 10a. The step context (needed by everything below)                                         */
/* ========================================================================================== */

struct wm_ctx {
    const char *kind, *name, *run_id, *step_key, *partition_key, *mapping_key;
    char *window_start, *window_end; /* the partition_window's bounds, or NULL */
    int64_t window_start_s, window_end_s;
    char **partition_keys; /* wm_partition_keys: the dimension keys, made on first use */
    int npartition_keys;
    char *check_asset;  /* a check step's asset (its input "asset"), or NULL */
    void **input_names; /* char *: the inputs the invocation lists */
    int ninput_names, cap_input_names;
    int attempt;
    char *config;
    size_t config_len;
    /* Set by input, output and builder errors: the step fails even if the function returns 0. */
    bool hard_failed;
    bool error_recorded;
    void **keep; /* allocations freed when the step ends */
    int nkeep, cap_keep;
    void **readers; /* wm_reader *, NULL once closed */
    int nreaders, cap_readers;
    void **writers; /* wm_writer *, NULL once closed */
    int nwriters, cap_writers;
};

static bool grow_ptrs(void ***arr, int *cap, int n) {
    if (n < *cap) return true;
    if (*cap > INT_MAX / 2) return false;
    int c = *cap ? *cap * 2 : 8;
    void **p = realloc(*arr, (size_t)c * sizeof *p);
    if (!p) return false;
    *arr = p;
    *cap = c;
    return true;
}

static bool ctx_keep(wm_ctx *ctx, void *p) {
    if (!p) return false;
    if (!grow_ptrs(&ctx->keep, &ctx->cap_keep, ctx->nkeep)) {
        free(p);
        return false;
    }
    ctx->keep[ctx->nkeep++] = p;
    return true;
}

int wm_verror(wm_ctx *ctx, const char *fmt, va_list ap) {
    wm_buf b = {0};
    buf_vprintf(&b, fmt, ap);
    const char *msg = b.failed || !b.data ? "wasmorch: out of memory formatting an error message" : b.data;
    if (wm__error_set(msg, len32(strlen(msg))) < 0) fprintf(stderr, "%s\n", msg);
    if (ctx) ctx->error_recorded = true;
    wm_buf_free(&b);
    return WM_FAIL;
}

int wm_error(wm_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    wm_verror(ctx, fmt, ap);
    va_end(ap);
    return WM_FAIL;
}

int wm_retry(wm_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    wm_verror(ctx, fmt, ap);
    va_end(ap);
    return WM_RETRY;
}

/* An SDK error that fails the step even if the function goes on to return WM_OK. */
static int hard_error(wm_ctx *ctx, const char *fmt, ...) WM_PRINTF(2, 3);
static int hard_error(wm_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    wm_verror(ctx, fmt, ap);
    va_end(ap);
    if (ctx) ctx->hard_failed = true;
    return WM_FAIL;
}

/* The host's last error message, as "CALL returned CODE: MESSAGE"; the caller frees it. */
static char *host_error_text(const char *call, int64_t code) {
    wm_buf b = {0};
    wm_buf_printf(&b, "%s returned %s", call, status_name(code));
    int32_t n = wm__last_error_len();
    if (n > 0) {
        char *m = malloc((size_t)n + 1);
        if (m) {
            int32_t got = wm__last_error_read(m, (uint32_t)n);
            if (got > 0 && got <= n) {
                wm_buf_puts(&b, ": ");
                wm_buf_append(&b, m, (size_t)got);
            }
            free(m);
        }
    }
    if (b.failed) {
        wm_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ========================================================================================== */
/* 7. Arrow IPC reading                                                                       */
/* ========================================================================================== */

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static inline int64_t s64(uint64_t u) { return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1; }
static inline int32_t s32(uint32_t u) { return u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1; }

/* A flatbuffer table inside b[0..n): its position, vtable and sizes, all checked. */
typedef struct fbt {
    const uint8_t *b;
    size_t n, pos, vt, vtlen, tlen;
} fbt;

static bool fb_table_at(const uint8_t *b, size_t n, size_t pos, fbt *t) {
    if (n < 4 || pos > n - 4) return false;
    int64_t vt = (int64_t)pos - (int64_t)s32(rd32(b + pos));
    if (vt < 0 || (uint64_t)vt > n - 4) return false;
    size_t vtlen = rd16(b + vt), tlen = rd16(b + vt + 2);
    if (vtlen < 4 || vtlen > n - (size_t)vt || tlen < 4 || tlen > n - pos) return false;
    *t = (fbt){b, n, pos, (size_t)vt, vtlen, tlen};
    return true;
}

/* Field id of size bytes: 1 present (*at its position), 0 absent, -1 malformed. */
static int fb_field(const fbt *t, unsigned id, size_t size, size_t *at) {
    size_t i = 4 + 2 * (size_t)id;
    if (i + 2 > t->vtlen) return 0;
    size_t o = rd16(t->b + t->vt + i);
    if (o == 0) return 0;
    if (o < 4 || size > t->tlen || o > t->tlen - size) return -1;
    *at = t->pos + o;
    return 1;
}

static int fb_uint(const fbt *t, unsigned id, size_t size, uint64_t def, uint64_t *out) {
    size_t at;
    int rc = fb_field(t, id, size, &at);
    *out = def;
    if (rc <= 0) return rc;
    const uint8_t *p = t->b + at;
    *out = size == 1 ? p[0] : size == 2 ? rd16(p) : size == 4 ? rd32(p) : rd64(p);
    return 1;
}

static int fb_ref(const fbt *t, unsigned id, size_t *target) {
    size_t at;
    int rc = fb_field(t, id, 4, &at);
    if (rc <= 0) return rc;
    uint32_t off = rd32(t->b + at);
    if (off == 0 || off > t->n - at) return -1;
    *target = at + off;
    return 1;
}

static int fb_sub(const fbt *t, unsigned id, fbt *out) {
    size_t p;
    int rc = fb_ref(t, id, &p);
    if (rc <= 0) return rc;
    return fb_table_at(t->b, t->n, p, out) ? 1 : -1;
}

static int fb_vec(const fbt *t, unsigned id, size_t elem, size_t *data, size_t *count) {
    size_t p;
    int rc = fb_ref(t, id, &p);
    if (rc <= 0) return rc;
    if (p > t->n - 4) return -1;
    uint64_t c = rd32(t->b + p);
    size_t d = p + 4;
    if (c * elem > t->n - d) return -1;
    *data = d;
    *count = (size_t)c;
    return 1;
}

static int fb_str(const fbt *t, unsigned id, const char **s, size_t *len) {
    size_t d, c;
    int rc = fb_vec(t, id, 1, &d, &c);
    if (rc <= 0) return rc;
    *s = (const char *)t->b + d;
    *len = c;
    return 1;
}

/* Element i of a vector of tables whose data starts at data (i < count already checked). */
static bool fb_vec_table(const fbt *t, size_t data, size_t i, fbt *out) {
    size_t at = data + 4 * i;
    uint32_t off = rd32(t->b + at);
    if (off == 0 || off > t->n - at) return false;
    return fb_table_at(t->b, t->n, at + off, out);
}

/* Message header types (Message.fbs). */
enum { HDR_NONE = 0, HDR_SCHEMA = 1, HDR_DICTIONARY = 2, HDR_RECORD_BATCH = 3, HDR_TENSOR = 4, HDR_SPARSE_TENSOR = 5 };

static const char *header_name(int h) {
    static const char *names[] = {"NONE", "Schema", "DictionaryBatch", "RecordBatch", "Tensor", "SparseTensor"};
    return h >= 0 && h <= 5 ? names[h] : "unknown";
}

/* Type union ids (Schema.fbs). */
enum {
    T_NULL = 1, T_INT = 2, T_FLOAT = 3, T_BINARY = 4, T_UTF8 = 5, T_BOOL = 6, T_DECIMAL = 7, T_DATE = 8,
    T_TIME = 9, T_TIMESTAMP = 10,
};

static const char *arrow_type_name(unsigned id) {
    static const char *names[] = {"NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8", "Bool", "Decimal",
                                  "Date", "Time", "Timestamp", "Interval", "List", "Struct", "Union",
                                  "FixedSizeBinary", "FixedSizeList", "Map", "Duration", "LargeBinary",
                                  "LargeUtf8", "LargeList", "RunEndEncoded", "BinaryView", "Utf8View",
                                  "ListView", "LargeListView"};
    return id < sizeof names / sizeof names[0] ? names[id] : "unknown";
}

static const char supported_types[] =
    "bool, int8..int64, uint8..uint64, float32, float64, utf8, binary, date32, timestamp";

typedef struct errbuf {
    char msg[640];
} errbuf;

static bool efail(errbuf *e, const char *fmt, ...) WM_PRINTF(2, 3);
static bool efail(errbuf *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return false;
}

/* A decoded Message envelope. */
typedef struct ipc_msg {
    int version;
    int header_type;
    int64_t body_len;
    fbt header;
} ipc_msg;

static bool decode_message(const uint8_t *m, size_t n, ipc_msg *out, errbuf *e) {
    fbt t;
    if (n < 4 || !fb_table_at(m, n, rd32(m), &t)) return efail(e, "the message metadata is not a valid flatbuffer");
    uint64_t v;
    if (fb_uint(&t, 0, 2, 0, &v) < 0) return efail(e, "Message.version is malformed");
    out->version = (int)(int16_t)(uint16_t)v;
    if (fb_uint(&t, 1, 1, 0, &v) < 0) return efail(e, "Message.header_type is malformed");
    out->header_type = (int)v;
    if (fb_uint(&t, 3, 8, 0, &v) < 0) return efail(e, "Message.bodyLength is malformed");
    out->body_len = s64(v);
    if (out->body_len < 0) return efail(e, "Message.bodyLength is negative (%lld)", (long long)out->body_len);
    if (out->version < 3)
        return efail(e, "metadata version V%d is not supported (want V4 or V5, Arrow 0.15 and later)", out->version + 1);
    int rc = fb_sub(&t, 2, &out->header);
    if (rc < 0) return efail(e, "Message.header is malformed");
    if (rc == 0) return efail(e, "the message has no header");
    return true;
}

/* Copies a flatbuffer string into a new NUL-terminated string. */
static char *fb_strdup(const fbt *t, unsigned id, bool *bad) {
    const char *s;
    size_t n;
    int rc = fb_str(t, id, &s, &n);
    if (rc < 0) {
        *bad = true;
        return NULL;
    }
    return rc == 0 ? xstrndup("", 0) : xstrndup(s, n);
}

static bool decode_kvs(const fbt *t, unsigned id, const wm_kv **out, int *nout, const char *where, errbuf *e) {
    size_t data, count;
    *out = NULL;
    *nout = 0;
    int rc = fb_vec(t, id, 4, &data, &count);
    if (rc < 0) return efail(e, "%s: custom_metadata is malformed", where);
    if (rc == 0 || count == 0) return true;
    if (count > INT_MAX / 2) return efail(e, "%s: too many custom_metadata entries", where);
    wm_kv *kv = calloc(count, sizeof *kv);
    if (!kv) return efail(e, "%s: out of memory", where);
    *out = kv;
    for (size_t i = 0; i < count; i++) {
        fbt k;
        bool bad = false;
        if (!fb_vec_table(t, data, i, &k)) return efail(e, "%s: custom_metadata[%zu] is malformed", where, i);
        kv[i].key = fb_strdup(&k, 0, &bad);
        kv[i].value = fb_strdup(&k, 1, &bad);
        *nout = (int)i + 1;
        if (bad) return efail(e, "%s: custom_metadata[%zu] is malformed", where, i);
        if (!kv[i].key || !kv[i].value) return efail(e, "%s: out of memory", where);
    }
    return true;
}

static bool decode_field_type(unsigned tt, const fbt *type, bool have_type, wm_field *f, errbuf *e) {
    uint64_t v;
    const char *name = f->name;
    switch (tt) {
    case T_INT: {
        uint64_t bits, sign;
        if (!have_type || fb_uint(type, 0, 4, 0, &bits) < 0 || fb_uint(type, 1, 1, 0, &sign) < 0)
            return efail(e, "column \"%s\": the Int type is malformed", name);
        static const wm_type s[] = {WM_INT8, WM_INT16, WM_INT32, WM_INT64};
        static const wm_type u[] = {WM_UINT8, WM_UINT16, WM_UINT32, WM_UINT64};
        int k = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : bits == 64 ? 3 : -1;
        if (k < 0) return efail(e, "column \"%s\": Int of %u bits is not a valid Arrow type", name, (unsigned)bits);
        f->type = sign ? s[k] : u[k];
        return true;
    }
    case T_FLOAT:
        if (!have_type || fb_uint(type, 0, 2, 0, &v) < 0) return efail(e, "column \"%s\": the FloatingPoint type is malformed", name);
        if (v == 1) f->type = WM_FLOAT32;
        else if (v == 2) f->type = WM_FLOAT64;
        else return efail(e, "column \"%s\" has type float16, which the C SDK does not support (supported: %s)", name, supported_types);
        return true;
    case T_BINARY: f->type = WM_BINARY; return true;
    case T_UTF8: f->type = WM_UTF8; return true;
    case T_BOOL: f->type = WM_BOOL; return true;
    case T_DATE:
        /* The unit's default is MILLISECOND (date64). */
        if (have_type && fb_uint(type, 0, 2, 1, &v) < 0) return efail(e, "column \"%s\": the Date type is malformed", name);
        if (!have_type) v = 1;
        if (v != 0) return efail(e, "column \"%s\" has type date64, which the C SDK does not support (supported: %s)", name, supported_types);
        f->type = WM_DATE32;
        return true;
    case T_TIMESTAMP: {
        if (!have_type || fb_uint(type, 0, 2, 0, &v) < 0 || v > 3)
            return efail(e, "column \"%s\": the Timestamp type is malformed", name);
        f->type = WM_TIMESTAMP;
        f->unit = (wm_time_unit)v;
        const char *tz;
        size_t tzlen;
        int rc = fb_str(type, 1, &tz, &tzlen);
        if (rc < 0) return efail(e, "column \"%s\": the Timestamp timezone is malformed", name);
        if (rc > 0 && tzlen > 0) {
            f->timezone = xstrndup(tz, tzlen);
            if (!f->timezone) return efail(e, "out of memory");
        }
        return true;
    }
    }
    return efail(e, "column \"%s\" has Arrow type %s (type id %u), which the C SDK does not support (supported: %s)",
                 name, arrow_type_name(tt), tt, supported_types);
}

static bool decode_schema(const fbt *sch, wm_schema *out, errbuf *e) {
    uint64_t v;
    *out = (wm_schema){0};
    if (fb_uint(sch, 0, 2, 0, &v) < 0) return efail(e, "Schema.endianness is malformed");
    if (v != 0) return efail(e, "the stream is big-endian; only little-endian streams are supported");
    size_t data, count;
    int rc = fb_vec(sch, 1, 4, &data, &count);
    if (rc < 0) return efail(e, "Schema.fields is malformed");
    if (rc == 0) count = 0;
    if (count > 65536) return efail(e, "the schema has %zu fields (the limit is 65536)", count);
    wm_field *fs = count ? calloc(count, sizeof *fs) : NULL;
    if (count && !fs) return efail(e, "out of memory decoding the schema");
    out->fields = fs;
    for (size_t i = 0; i < count; i++) {
        fbt ft, type;
        bool bad = false;
        out->num_fields = (int)i + 1;
        if (!fb_vec_table(sch, data, i, &ft)) return efail(e, "Schema.fields[%zu] is malformed", i);
        wm_field *f = &fs[i];
        f->name = fb_strdup(&ft, 0, &bad);
        if (bad) return efail(e, "Schema.fields[%zu].name is malformed", i);
        if (!f->name) return efail(e, "out of memory decoding the schema");
        uint64_t nullable, tt;
        if (fb_uint(&ft, 1, 1, 0, &nullable) < 0 || fb_uint(&ft, 2, 1, 0, &tt) < 0)
            return efail(e, "column \"%s\": Field is malformed", f->name);
        f->not_null = !nullable;
        fbt dict;
        rc = fb_sub(&ft, 4, &dict);
        if (rc != 0)
            return efail(e, "column \"%s\" is dictionary-encoded, which the C SDK does not support", f->name);
        rc = fb_sub(&ft, 3, &type);
        if (rc < 0) return efail(e, "column \"%s\": Field.type is malformed", f->name);
        if (!decode_field_type((unsigned)tt, &type, rc > 0, f, e)) return false;
        size_t cd, cc;
        rc = fb_vec(&ft, 5, 4, &cd, &cc);
        if (rc < 0) return efail(e, "column \"%s\": Field.children is malformed", f->name);
        if (rc > 0 && cc > 0) return efail(e, "column \"%s\": a %s column has no children, got %zu", f->name, wm_type_name(f->type), cc);
        char where[96];
        snprintf(where, sizeof where, "column \"%.60s\"", f->name);
        if (!decode_kvs(&ft, 6, &f->metadata, &f->num_metadata, where, e)) return false;
    }
    return decode_kvs(sch, 2, &out->metadata, &out->num_metadata, "schema", e);
}

/* Aligned storage for empty buffers, so typed views of empty columns are never NULL. */
static const uint64_t empty_storage[2];
static const int32_t zero_offsets[1];

typedef struct reader_batch {
    wm_batch b;
    uint32_t magic; /* BATCH_BORROWED: freed by its reader */
} reader_batch;

enum { BATCH_BORROWED = 0x52454144u, BATCH_OWNED = 0x4f574e44u };

struct wm_reader {
    wm_ctx *ctx;
    char *name;
    int32_t handle;
    int index; /* in ctx->readers */
    uint8_t *buf;
    size_t cap, pos, end; /* unconsumed stream bytes are buf[pos..end) */
    bool host_done;       /* input_next returned 0 */
    bool done;            /* end of stream seen */
    bool failed;
    long long messages; /* messages read so far */
    long long batches;
    wm_schema schema;
    wm_column *cols;
    reader_batch batch;
    void **copies; /* realigned or synthesized buffers of the current batch */
    int ncopies, cap_copies;
    char *partition_key; /* from wm_reader_partition_key */
};

static int reader_fail(wm_reader *r, const char *fmt, ...) WM_PRINTF(2, 3);
static int reader_fail(wm_reader *r, const char *fmt, ...) {
    wm_buf b = {0};
    wm_buf_printf(&b, "input \"%s\": ", r->name);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    hard_error(r->ctx, "%s", b.failed || !b.data ? "input: out of memory" : b.data);
    wm_buf_free(&b);
    r->failed = true;
    return -1;
}

static int reader_host_fail(wm_reader *r, const char *call, int64_t code) {
    char *t = host_error_text(call, code);
    reader_fail(r, "%s", t ? t : call);
    free(t);
    return -1;
}

/* Makes at least need bytes available at buf[pos..]: 1 done, 0 the stream ended first, -1 error.
 * It may move the buffer, so pointers into it must be recomputed afterwards. */
static int reader_fill(wm_reader *r, size_t need) {
    while (r->end - r->pos < need) {
        if (r->host_done) return 0;
        int64_t n = wm__input_next(r->handle);
        if (n < 0) return reader_host_fail(r, "input_next", n);
        if (n == 0) {
            r->host_done = true;
            continue;
        }
        size_t have = r->end - r->pos;
        if ((uint64_t)n > (uint64_t)(SIZE_MAX / 2) - have)
            return reader_fail(r, "a chunk of %lld bytes does not fit in guest memory", (long long)n);
        size_t total = have + (size_t)n;
        if (total <= r->cap) {
            memmove(r->buf, r->buf + r->pos, have);
        } else {
            uint8_t *nb = malloc(total);
            if (!nb) return reader_fail(r, "out of memory allocating %zu bytes for a chunk of the stream", total);
            if (have) memcpy(nb, r->buf + r->pos, have);
            free(r->buf);
            r->buf = nb;
            r->cap = total;
        }
        r->pos = 0;
        r->end = have;
        while (r->end < total) {
            size_t want = total - r->end;
            int32_t m = wm__input_read(r->handle, r->buf + r->end, len32(want > INT32_MAX ? INT32_MAX : want));
            if (m < 0) return reader_host_fail(r, "input_read", m);
            if (m == 0 || (size_t)m > want)
                return reader_fail(r, "input_read returned %d with %zu bytes of a %lld-byte chunk unread", (int)m, want, (long long)n);
            r->end += (size_t)m;
        }
    }
    return 1;
}

/* Reads the next encapsulated message: 1 with *m and its body at *body, 0 at the end of the stream
 * (end-of-stream marker or no more data), -1 on error. */
static int reader_message(wm_reader *r, ipc_msg *m, const uint8_t **body) {
    int rc = reader_fill(r, 4);
    if (rc < 0) return -1;
    if (rc == 0) {
        if (r->end > r->pos) return reader_fail(r, "the stream ends inside a message header (%zu bytes left)", r->end - r->pos);
        return 0;
    }
    size_t prefix = 4;
    uint32_t mlen = rd32(r->buf + r->pos);
    if (mlen == 0xFFFFFFFFu) {
        rc = reader_fill(r, 8);
        if (rc <= 0) return rc < 0 ? -1 : reader_fail(r, "the stream ends inside a message header");
        mlen = rd32(r->buf + r->pos + 4);
        prefix = 8;
    }
    long long idx = r->messages;
    if (mlen == 0) {
        r->pos += prefix;
        return 0;
    }
    if (mlen > INT32_MAX) return reader_fail(r, "message %lld: negative metadata length %d", idx, s32(mlen));
    rc = reader_fill(r, prefix + mlen);
    if (rc <= 0)
        return rc < 0 ? -1 : reader_fail(r, "message %lld: the stream ends inside its %u-byte metadata", idx, (unsigned)mlen);
    errbuf e;
    if (!decode_message(r->buf + r->pos + prefix, mlen, m, &e)) return reader_fail(r, "message %lld: %s", idx, e.msg);
    if ((uint64_t)m->body_len > (uint64_t)(SIZE_MAX / 2) - prefix - mlen)
        return reader_fail(r, "message %lld: a body of %lld bytes does not fit in guest memory", idx, (long long)m->body_len);
    size_t total = prefix + mlen + (size_t)m->body_len;
    rc = reader_fill(r, total);
    if (rc <= 0)
        return rc < 0 ? -1 : reader_fail(r, "message %lld: the stream ends inside its %lld-byte body", idx, (long long)m->body_len);
    /* The buffer may have moved: decode again from its final place (cheap, and cannot fail now). */
    decode_message(r->buf + r->pos + prefix, mlen, m, &e);
    *body = r->buf + r->pos + prefix + mlen;
    r->pos += total;
    r->messages++;
    return 1;
}

static void reader_free_copies(wm_reader *r) {
    for (int i = 0; i < r->ncopies; i++) free(r->copies[i]);
    r->ncopies = 0;
}

/* p (n bytes) if it is aligned to align, else an aligned copy kept until the next batch. */
static const void *reader_aligned(wm_reader *r, const uint8_t *p, size_t n, size_t align, bool *oom) {
    if (n == 0) return empty_storage;
    if ((uintptr_t)p % align == 0) return p;
    if (!grow_ptrs(&r->copies, &r->cap_copies, r->ncopies)) {
        *oom = true;
        return NULL;
    }
    void *c = malloc(n);
    if (!c) {
        *oom = true;
        return NULL;
    }
    memcpy(c, p, n);
    r->copies[r->ncopies++] = c;
    return c;
}

static bool decode_batch(wm_reader *r, const ipc_msg *m, const uint8_t *body, errbuf *e) {
    const fbt *rb = &m->header;
    uint64_t v;
    if (fb_uint(rb, 0, 8, 0, &v) < 0) return efail(e, "RecordBatch.length is malformed");
    int64_t rows = s64(v);
    if (rows < 0 || rows > ((int64_t)1 << 40)) return efail(e, "RecordBatch.length %lld is out of range", (long long)rows);
    fbt comp;
    int rc = fb_sub(rb, 3, &comp);
    if (rc != 0) return efail(e, "the record batch is compressed (LZ4/ZSTD), which the C SDK does not support");
    size_t nodes, nnodes, bufs, nbufs;
    rc = fb_vec(rb, 1, 16, &nodes, &nnodes);
    if (rc < 0) return efail(e, "RecordBatch.nodes is malformed");
    if (rc == 0) nnodes = 0;
    rc = fb_vec(rb, 2, 16, &bufs, &nbufs);
    if (rc < 0) return efail(e, "RecordBatch.buffers is malformed");
    if (rc == 0) nbufs = 0;
    int ncols = r->schema.num_fields;
    if (nnodes != (size_t)ncols)
        return efail(e, "the record batch has %zu field nodes, but the schema has %d columns", nnodes, ncols);
    size_t want_bufs = 0;
    for (int i = 0; i < ncols; i++) want_bufs += is_varwidth(r->schema.fields[i].type) ? 3 : 2;
    if (nbufs != want_bufs)
        return efail(e, "the record batch has %zu buffers, but its columns need %zu", nbufs, want_bufs);

    const uint8_t *fb = rb->b;
    size_t bi = 0;
    uint64_t body_len = (uint64_t)m->body_len;
    bool oom = false;
    for (int c = 0; c < ncols; c++) {
        const wm_field *f = &r->schema.fields[c];
        wm_column *col = &r->cols[c];
        const uint8_t *node = fb + nodes + 16 * (size_t)c;
        int64_t len = s64(rd64(node)), nulls = s64(rd64(node + 8));
        if (len != rows)
            return efail(e, "column \"%s\": the field node has %lld rows, but the batch has %lld", f->name, (long long)len, (long long)rows);
        if (nulls < 0 || nulls > len)
            return efail(e, "column \"%s\": null count %lld is outside [0, %lld]", f->name, (long long)nulls, (long long)len);
        const uint8_t *ptr[3];
        uint64_t blen[3];
        int nb = is_varwidth(f->type) ? 3 : 2;
        static const char *role[2][3] = {{"validity", "values", ""}, {"validity", "offsets", "data"}};
        for (int k = 0; k < nb; k++, bi++) {
            const uint8_t *bd = fb + bufs + 16 * bi;
            int64_t off = s64(rd64(bd)), bl = s64(rd64(bd + 8));
            if (off < 0 || bl < 0 || (uint64_t)off > body_len || (uint64_t)bl > body_len - (uint64_t)off)
                return efail(e, "column \"%s\": buffer %zu (%s) [%lld, +%lld) is outside the %llu-byte body", f->name, bi,
                             role[nb == 3][k], (long long)off, (long long)bl, (unsigned long long)body_len);
            ptr[k] = body + off;
            blen[k] = (uint64_t)bl;
        }
        uint64_t n = (uint64_t)len, bitmap = (n + 7) / 8;
        *col = (wm_column){f, len, nulls, NULL, empty_storage, NULL, 0};
        if (nulls > 0) {
            if (blen[0] >= bitmap) {
                col->validity = ptr[0];
            } else if (blen[0] == 0 && nulls == len) {
                /* Every row null and no bitmap: synthesize one. */
                if (!grow_ptrs(&r->copies, &r->cap_copies, r->ncopies)) return efail(e, "out of memory");
                uint8_t *z = calloc((size_t)bitmap, 1);
                if (!z) return efail(e, "out of memory");
                r->copies[r->ncopies++] = z;
                col->validity = z;
            } else {
                return efail(e, "column \"%s\": the validity bitmap has %llu bytes, %lld rows need %llu", f->name,
                             (unsigned long long)blen[0], (long long)len, (unsigned long long)bitmap);
            }
        }
        int w = type_width(f->type);
        if (w > 0 || f->type == WM_BOOL) {
            uint64_t need = w > 0 ? n * (uint64_t)w : bitmap;
            if (blen[1] < need)
                return efail(e, "column \"%s\": the values buffer has %llu bytes, %lld %s values need %llu", f->name,
                             (unsigned long long)blen[1], (long long)len, wm_type_name(f->type), (unsigned long long)need);
            col->values = reader_aligned(r, ptr[1], (size_t)need, w > 0 ? (size_t)w : 1, &oom);
        } else {
            if (n == 0 && blen[1] < 4) {
                col->values = zero_offsets;
            } else {
                uint64_t need = (n + 1) * 4;
                if (blen[1] < need)
                    return efail(e, "column \"%s\": the offsets buffer has %llu bytes, %lld rows need %llu", f->name,
                                 (unsigned long long)blen[1], (long long)len, (unsigned long long)need);
                const int32_t *o = reader_aligned(r, ptr[1], (size_t)need, 4, &oom);
                if (oom) return efail(e, "out of memory");
                if (o[0] < 0) return efail(e, "column \"%s\": offset 0 is negative (%d)", f->name, (int)o[0]);
                for (uint64_t i = 0; i < n; i++)
                    if (o[i + 1] < o[i])
                        return efail(e, "column \"%s\": offsets decrease at row %llu (%d after %d)", f->name,
                                     (unsigned long long)i, (int)o[i + 1], (int)o[i]);
                if ((uint64_t)o[n] > blen[2])
                    return efail(e, "column \"%s\": the last offset %d is past the %llu-byte data buffer", f->name, (int)o[n],
                                 (unsigned long long)blen[2]);
                col->values = o;
            }
            col->data = blen[2] ? ptr[2] : (const uint8_t *)empty_storage;
            col->data_len = (int64_t)blen[2];
        }
        if (oom) return efail(e, "out of memory");
    }
    r->batch.b = (wm_batch){&r->schema, rows, ncols, r->cols};
    return true;
}

static void reader_register(wm_ctx *ctx, wm_reader *r) {
    if (grow_ptrs(&ctx->readers, &ctx->cap_readers, ctx->nreaders)) {
        r->index = ctx->nreaders;
        ctx->readers[ctx->nreaders++] = r;
    } else {
        r->index = -1;
    }
}

static void reader_destroy(wm_reader *r) {
    if (r->handle >= 0) wm__input_close(r->handle);
    reader_free_copies(r);
    free(r->copies);
    free(r->buf);
    free(r->cols);
    schema_free(&r->schema);
    free(r->partition_key);
    free(r->name);
    free(r);
}

int wm_input_open(wm_ctx *ctx, const char *name, wm_reader **out) {
    if (out) *out = NULL;
    if (!ctx || !name || !out) return wm_error(ctx, "wm_input_open: ctx, name and out must not be NULL");
    int32_t h = wm__input_open(name, len32(strlen(name)));
    if (h < 0) {
        char *t = host_error_text("input_open", h);
        wm_error(ctx, "input \"%s\": %s", name, t ? t : "input_open failed");
        free(t);
        return WM_FAIL;
    }
    int32_t f = wm__input_format(h);
    if (f != WM_ARROW) {
        wm__input_close(h);
        if (f < 0) return wm_error(ctx, "input \"%s\": input_format returned %s", name, status_name(f));
        return wm_error(ctx, "input \"%s\" arrives as %s, not arrow; read it with wm_input_read_all", name, format_name(f));
    }
    wm_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = xstrdup(name))) {
        free(r);
        wm__input_close(h);
        return hard_error(ctx, "input \"%s\": out of memory", name);
    }
    r->ctx = ctx;
    r->handle = h;
    r->batch.magic = BATCH_BORROWED;
    ipc_msg m;
    const uint8_t *body;
    int rc = reader_message(r, &m, &body);
    if (rc == 0) reader_fail(r, "the Arrow stream is empty: it has no schema message");
    else if (rc > 0 && m.header_type != HDR_SCHEMA)
        reader_fail(r, "the first message of the stream is a %s, not a Schema", header_name(m.header_type));
    else if (rc > 0) {
        errbuf e;
        if (!decode_schema(&m.header, &r->schema, &e)) reader_fail(r, "schema: %s", e.msg);
        else if (r->schema.num_fields && !(r->cols = calloc((size_t)r->schema.num_fields, sizeof *r->cols)))
            reader_fail(r, "out of memory");
    }
    if (r->failed) {
        reader_destroy(r);
        return WM_FAIL;
    }
    reader_register(ctx, r);
    *out = r;
    return WM_OK;
}

const wm_schema *wm_reader_schema(const wm_reader *r) { return r ? &r->schema : NULL; }

int wm_reader_next(wm_reader *r, const wm_batch **out) {
    if (out) *out = NULL;
    if (!r || !out) return -1;
    if (r->failed) return -1;
    if (r->done) return 0;
    reader_free_copies(r);
    for (;;) {
        ipc_msg m;
        const uint8_t *body;
        int rc = reader_message(r, &m, &body);
        if (rc < 0) return -1;
        if (rc == 0) {
            r->done = true;
            return 0;
        }
        long long idx = r->messages - 1;
        switch (m.header_type) {
        case HDR_RECORD_BATCH: {
            errbuf e;
            if (!decode_batch(r, &m, body, &e)) {
                reader_free_copies(r);
                return reader_fail(r, "message %lld (record batch %lld): %s", idx, r->batches, e.msg);
            }
            r->batches++;
            *out = &r->batch.b;
            return 1;
        }
        case HDR_DICTIONARY:
            return reader_fail(r, "message %lld is a dictionary batch; dictionary-encoded columns are not supported", idx);
        case HDR_SCHEMA: return reader_fail(r, "message %lld is a second Schema message", idx);
        default:
            return reader_fail(r, "message %lld has header type %d (%s), want RecordBatch", idx, m.header_type,
                               header_name(m.header_type));
        }
    }
}

/* input_partition_key returns the key's full length (ABI.md 4.3), so a key longer than the buffer
 * is read again into one that fits. A key that exactly fills the buffer is read again too, into a
 * larger one: a host that returned the bytes it copied instead would otherwise cut a long key
 * short without a sign. */
const char *wm_reader_partition_key(wm_reader *r, size_t *len) {
    if (len) *len = 0;
    if (!r) return NULL;
    char small[128];
    char *buf = small, *key = NULL;
    size_t cap = sizeof small;
    int32_t n;
    for (;;) {
        n = wm__input_partition_key(r->handle, buf, (uint32_t)cap);
        if (n < 0) {
            char *t = host_error_text("input_partition_key", n);
            wm_error(r->ctx, "input \"%s\": %s", r->name, t ? t : "input_partition_key failed");
            free(t);
            free(key);
            return NULL;
        }
        if ((size_t)n < cap) break;
        if (cap >= (1u << 20)) {
            free(key);
            wm_error(r->ctx, "input \"%s\": input_partition_key gave a key of %d bytes or more", r->name, (int)n);
            return NULL;
        }
        cap = (size_t)n + 1 > cap * 2 ? (size_t)n + 1 : cap * 2;
        char *grown = realloc(key, cap);
        if (!grown) {
            free(key);
            wm_error(r->ctx, "input \"%s\": out of memory reading a partition key", r->name);
            return NULL;
        }
        buf = key = grown;
    }
    if (!key) {
        key = malloc((size_t)n + 1);
        if (!key) {
            wm_error(r->ctx, "input \"%s\": out of memory reading a partition key", r->name);
            return NULL;
        }
        memcpy(key, small, (size_t)n);
    }
    key[n] = 0;
    free(r->partition_key);
    r->partition_key = key;
    if (len) *len = (size_t)n;
    return key;
}

void wm_reader_close(wm_reader *r) {
    if (!r) return;
    if (r->ctx && r->index >= 0 && r->index < r->ctx->nreaders && r->ctx->readers[r->index] == (void *)r)
        r->ctx->readers[r->index] = NULL;
    reader_destroy(r);
}

int wm_input_read_all(wm_ctx *ctx, const char *name, char **data, size_t *len, wm_format *format) {
    if (data) *data = NULL;
    if (len) *len = 0;
    if (!ctx || !name || !data || !len) return wm_error(ctx, "wm_input_read_all: ctx, name, data and len must not be NULL");
    int32_t h = wm__input_open(name, len32(strlen(name)));
    if (h < 0) {
        char *t = host_error_text("input_open", h);
        wm_error(ctx, "input \"%s\": %s", name, t ? t : "input_open failed");
        free(t);
        return WM_FAIL;
    }
    int32_t f = wm__input_format(h);
    if (format) *format = (wm_format)f;
    char *buf = NULL;
    size_t n = 0;
    for (;;) {
        int64_t c = wm__input_next(h);
        if (c < 0) {
            char *t = host_error_text("input_next", c);
            hard_error(ctx, "input \"%s\": %s", name, t ? t : "input_next failed");
            free(t);
            goto fail;
        }
        if (c == 0) break;
        if ((uint64_t)c > (uint64_t)(SIZE_MAX / 2) - n) {
            hard_error(ctx, "input \"%s\": %lld bytes do not fit in guest memory", name, (long long)c);
            goto fail;
        }
        char *nb = realloc(buf, n + (size_t)c + 1);
        if (!nb) {
            hard_error(ctx, "input \"%s\": out of memory reading %lld bytes", name, (long long)c);
            goto fail;
        }
        buf = nb;
        size_t end = n + (size_t)c;
        while (n < end) {
            int32_t m = wm__input_read(h, buf + n, len32(end - n > INT32_MAX ? INT32_MAX : end - n));
            if (m <= 0 || (size_t)m > end - n) {
                char *t = m < 0 ? host_error_text("input_read", m) : NULL;
                hard_error(ctx, "input \"%s\": %s", name, t ? t : "input_read returned 0 before the end of the chunk");
                free(t);
                goto fail;
            }
            n += (size_t)m;
        }
    }
    if (!buf && !(buf = malloc(1))) {
        hard_error(ctx, "input \"%s\": out of memory", name);
        goto fail;
    }
    buf[n] = 0;
    wm__input_close(h);
    *data = buf;
    *len = n;
    return WM_OK;
fail:
    free(buf);
    wm__input_close(h);
    return WM_FAIL;
}

/* ---- columns ---- */

const wm_column *wm_batch_column(wm_ctx *ctx, const wm_batch *batch, const char *name, wm_type type) {
    if (!batch || !name) {
        wm_error(ctx, "wm_batch_column: batch and name must not be NULL");
        return NULL;
    }
    for (int i = 0; i < batch->num_columns; i++) {
        const wm_column *c = &batch->columns[i];
        if (strcmp(c->field->name, name) != 0) continue;
        if (type != WM_TYPE_ANY && c->field->type != type) {
            char tn[96];
            wm_error(ctx, "column \"%s\" has type %s, want %s", name, wm_field_type_name(c->field, tn, sizeof tn), wm_type_name(type));
            return NULL;
        }
        return c;
    }
    wm_buf b = {0};
    for (int i = 0; i < batch->num_columns; i++) {
        if (i) wm_buf_puts(&b, ", ");
        buf_json_str(&b, batch->columns[i].field->name);
    }
    wm_error(ctx, "no column \"%s\" (columns: %s)", name, b.data ? b.data : "none");
    wm_buf_free(&b);
    return NULL;
}

static void check_row(const wm_column *c, int64_t i, const char *fn) {
    if (!c) wm_panic("%s: the column is NULL", fn);
    if (i < 0 || i >= c->length)
        wm_panic("%s: row %lld of column \"%s\" is outside [0, %lld)", fn, (long long)i, c->field->name, (long long)c->length);
}

bool wm_column_is_null(const wm_column *c, int64_t i) {
    check_row(c, i, "wm_column_is_null");
    return c->null_count > 0 && c->validity && !(c->validity[i >> 3] >> (i & 7) & 1);
}

#define TYPED_VIEW(fn, ctype, wtype) \
    const ctype *fn(const wm_column *c) { return c && c->field->type == wtype ? (const ctype *)c->values : NULL; }
TYPED_VIEW(wm_column_i8, int8_t, WM_INT8)
TYPED_VIEW(wm_column_i16, int16_t, WM_INT16)
TYPED_VIEW(wm_column_i32, int32_t, WM_INT32)
TYPED_VIEW(wm_column_i64, int64_t, WM_INT64)
TYPED_VIEW(wm_column_u8, uint8_t, WM_UINT8)
TYPED_VIEW(wm_column_u16, uint16_t, WM_UINT16)
TYPED_VIEW(wm_column_u32, uint32_t, WM_UINT32)
TYPED_VIEW(wm_column_u64, uint64_t, WM_UINT64)
TYPED_VIEW(wm_column_f32, float, WM_FLOAT32)
TYPED_VIEW(wm_column_f64, double, WM_FLOAT64)
TYPED_VIEW(wm_column_date32, int32_t, WM_DATE32)
TYPED_VIEW(wm_column_timestamp, int64_t, WM_TIMESTAMP)
#undef TYPED_VIEW

bool wm_column_bool(const wm_column *c, int64_t i) {
    check_row(c, i, "wm_column_bool");
    if (c->field->type != WM_BOOL) wm_panic("wm_column_bool: column \"%s\" is %s, not bool", c->field->name, wm_type_name(c->field->type));
    return ((const uint8_t *)c->values)[i >> 3] >> (i & 7) & 1;
}

const char *wm_column_str(const wm_column *c, int64_t i, size_t *len) {
    check_row(c, i, "wm_column_str");
    if (!is_varwidth(c->field->type))
        wm_panic("wm_column_str: column \"%s\" is %s, not utf8 or binary", c->field->name, wm_type_name(c->field->type));
    const int32_t *o = c->values;
    if (len) *len = (size_t)(o[i + 1] - o[i]);
    return (const char *)c->data + o[i];
}

/* ========================================================================================== */
/* 8. Arrow IPC writing                                                                       */
/* ========================================================================================== */

/* A flatbuffer built front to back: a parent is written before its children, and each reference
 * (a forward uoffset) is patched once its target exists. */
typedef struct fbb {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} fbb;

static size_t fbb_reserve(fbb *b, size_t n) {
    if (b->oom) return 0;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return 0;
        }
        b->p = p;
        b->cap = cap;
    }
    size_t at = b->len;
    memset(b->p + at, 0, n);
    b->len += n;
    return at;
}

static void fbb_pad(fbb *b, size_t align) { fbb_reserve(b, (align - b->len % align) % align); }

static void fbb_put(fbb *b, size_t at, size_t size, uint64_t v) {
    if (b->oom || at + size > b->len) return;
    for (size_t i = 0; i < size; i++) b->p[at + i] = (uint8_t)(v >> (8 * i));
}

/* Points the uoffset at slot to target (target > slot). */
static void fbb_patch(fbb *b, size_t slot, size_t target) { fbb_put(b, slot, 4, (uint64_t)(target - slot)); }

typedef struct fbf {
    uint8_t id, size; /* size 4 with ref=true is a reference, patched later */
    bool ref;
    uint64_t v;
} fbf;

/* Writes a vtable and its table; slots[i] receives the position of field i. Returns the table's
 * position. */
static size_t fbb_table(fbb *b, const fbf *fs, int n, size_t *slots) {
    int maxid = -1;
    size_t maxalign = 4, off[16];
    if (n < 0 || n > 16) {
        b->oom = true; /* not reached: the SDK's tables have at most 6 fields */
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (fs[i].id > maxid) maxid = fs[i].id;
        if (fs[i].size > maxalign) maxalign = fs[i].size;
    }
    size_t t = 4;
    for (size_t sz = 8; sz >= 1; sz /= 2)
        for (int i = 0; i < n; i++)
            if (fs[i].size == sz) {
                t = (t + sz - 1) / sz * sz;
                off[i] = t;
                t += sz;
            }
    size_t vtsize = 4 + 2 * (size_t)(maxid + 1);
    fbb_pad(b, 2);
    size_t vt = fbb_reserve(b, vtsize);
    fbb_pad(b, maxalign);
    size_t tp = fbb_reserve(b, t);
    if (b->oom) return 0;
    fbb_put(b, vt, 2, vtsize);
    fbb_put(b, vt + 2, 2, t);
    for (int i = 0; i < n; i++) {
        fbb_put(b, vt + 4 + 2 * (size_t)fs[i].id, 2, off[i]);
        fbb_put(b, tp + off[i], fs[i].size, fs[i].v);
        if (slots) slots[i] = tp + off[i];
    }
    fbb_put(b, tp, 4, (uint64_t)(tp - vt));
    return tp;
}

/* Writes a vector of count elements of elem bytes aligned to align; returns the position of its
 * length word (what references point to). The elements follow it, zeroed. */
static size_t fbb_vector(fbb *b, size_t count, size_t elem, size_t align) {
    fbb_pad(b, 4);
    while (align > 4 && (b->len + 4) % align) fbb_reserve(b, 4);
    size_t at = fbb_reserve(b, 4 + count * elem);
    fbb_put(b, at, 4, count);
    return at;
}

static size_t fbb_string(fbb *b, const char *s) {
    size_t n = s ? strlen(s) : 0;
    fbb_pad(b, 4);
    size_t at = fbb_reserve(b, 4 + n + 1);
    if (b->oom) return 0;
    fbb_put(b, at, 4, n);
    if (n) memcpy(b->p + at + 4, s, n);
    return at;
}

static void fbb_kvs(fbb *b, size_t slot, const wm_kv *kv, int n) {
    size_t vec = fbb_vector(b, (size_t)n, 4, 4);
    fbb_patch(b, slot, vec);
    for (int i = 0; i < n; i++) {
        size_t s[2];
        size_t t = fbb_table(b, (fbf[]){{0, 4, true, 0}, {1, 4, true, 0}}, 2, s);
        fbb_patch(b, vec + 4 + 4 * (size_t)i, t);
        fbb_patch(b, s[0], fbb_string(b, kv[i].key));
        fbb_patch(b, s[1], fbb_string(b, kv[i].value));
    }
}

/* Writes the Message table with a header of header_type; returns the header slot. */
static size_t fbb_message(fbb *b, int header_type, int64_t body_len) {
    size_t root = fbb_reserve(b, 4), s[4];
    size_t t = fbb_table(b, (fbf[]){{0, 2, false, 4 /* V5 */}, {1, 1, false, (uint64_t)header_type}, {2, 4, true, 0},
                                    {3, 8, false, (uint64_t)body_len}},
                         4, s);
    fbb_patch(b, root, t);
    return s[2];
}

static void fbb_field_type(fbb *b, size_t slot, const wm_field *f) {
    size_t t, s[2];
    switch (f->type) {
    case WM_INT8: case WM_INT16: case WM_INT32: case WM_INT64:
    case WM_UINT8: case WM_UINT16: case WM_UINT32: case WM_UINT64: {
        int bits = 8 * type_width(f->type);
        bool sign = f->type <= WM_INT64;
        t = fbb_table(b, (fbf[]){{0, 4, false, (uint64_t)bits}, {1, 1, false, sign}}, 2, NULL);
        break;
    }
    case WM_FLOAT32: case WM_FLOAT64:
        t = fbb_table(b, (fbf[]){{0, 2, false, f->type == WM_FLOAT32 ? 1 : 2}}, 1, NULL);
        break;
    case WM_DATE32: t = fbb_table(b, (fbf[]){{0, 2, false, 0 /* DAY */}}, 1, NULL); break;
    case WM_TIMESTAMP:
        if (f->timezone && *f->timezone) {
            t = fbb_table(b, (fbf[]){{0, 2, false, (uint64_t)f->unit}, {1, 4, true, 0}}, 2, s);
            fbb_patch(b, slot, t);
            fbb_patch(b, s[1], fbb_string(b, f->timezone));
            return;
        }
        t = fbb_table(b, (fbf[]){{0, 2, false, (uint64_t)f->unit}}, 1, NULL);
        break;
    default: t = fbb_table(b, NULL, 0, NULL); break; /* Bool, Utf8, Binary: empty tables */
    }
    fbb_patch(b, slot, t);
}

static unsigned type_union_id(wm_type t) {
    switch (t) {
    case WM_BOOL: return T_BOOL;
    case WM_FLOAT32: case WM_FLOAT64: return T_FLOAT;
    case WM_UTF8: return T_UTF8;
    case WM_BINARY: return T_BINARY;
    case WM_DATE32: return T_DATE;
    case WM_TIMESTAMP: return T_TIMESTAMP;
    default: return T_INT;
    }
}

/* Encodes the schema message (metadata only) into b; the caller adds the encapsulation. */
static void encode_schema(fbb *b, const wm_schema *s) {
    size_t hslot = fbb_message(b, HDR_SCHEMA, 0);
    size_t ss[2];
    size_t st = fbb_table(b, (fbf[]){{1, 4, true, 0}, {2, 4, true, 0}}, s->num_metadata > 0 ? 2 : 1, ss);
    fbb_patch(b, hslot, st);
    size_t vec = fbb_vector(b, (size_t)s->num_fields, 4, 4);
    fbb_patch(b, ss[0], vec);
    for (int i = 0; i < s->num_fields; i++) {
        const wm_field *f = &s->fields[i];
        size_t fs[6];
        size_t ft = fbb_table(b,
                              (fbf[]){{0, 4, true, 0}, {1, 1, false, !f->not_null}, {2, 1, false, type_union_id(f->type)},
                                      {3, 4, true, 0}, {5, 4, true, 0}, {6, 4, true, 0}},
                              f->num_metadata > 0 ? 6 : 5, fs);
        fbb_patch(b, vec + 4 + 4 * (size_t)i, ft);
        fbb_patch(b, fs[0], fbb_string(b, f->name));
        fbb_field_type(b, fs[3], f);
        fbb_patch(b, fs[4], fbb_vector(b, 0, 4, 4)); /* children: always present, empty */
        if (f->num_metadata > 0) fbb_kvs(b, fs[5], f->metadata, f->num_metadata);
    }
    if (s->num_metadata > 0) fbb_kvs(b, ss[1], s->metadata, s->num_metadata);
}

enum { WRITE_BUFFER = 64 << 10 };

struct wm_writer {
    wm_ctx *ctx;
    char *name;
    int32_t handle;
    int index; /* in ctx->writers */
    wm_format format;
    bool schema_set, schema_written, failed;
    wm_schema schema;
    uint8_t *buf; /* staging for small writes */
    size_t len;
    fbb meta;
    long long batches;
};

static int writer_fail(wm_writer *w, const char *fmt, ...) WM_PRINTF(2, 3);
static int writer_fail(wm_writer *w, const char *fmt, ...) {
    wm_buf b = {0};
    wm_buf_printf(&b, "output \"%s\": ", w->name);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    hard_error(w->ctx, "%s", b.failed || !b.data ? "output: out of memory" : b.data);
    wm_buf_free(&b);
    w->failed = true;
    return WM_FAIL;
}

static int writer_host_fail(wm_writer *w, const char *call, int32_t code) {
    char *t = host_error_text(call, code);
    writer_fail(w, "%s", t ? t : call);
    free(t);
    return WM_FAIL;
}

static int writer_send(wm_writer *w, const void *p, size_t n) {
    const uint8_t *q = p;
    while (n > 0) {
        size_t chunk = n > 1u << 30 ? 1u << 30 : n;
        int32_t rc = wm__output_write(w->handle, q, (uint32_t)chunk);
        if (rc < 0) return writer_host_fail(w, "output_write", rc);
        q += chunk;
        n -= chunk;
    }
    return WM_OK;
}

static int writer_flush(wm_writer *w) {
    if (w->len == 0) return WM_OK;
    size_t n = w->len;
    w->len = 0;
    return writer_send(w, w->buf, n);
}

/* Appends bytes to the stream: small pieces are staged, large ones go straight to the host. */
static int writer_put(wm_writer *w, const void *p, size_t n) {
    if (n == 0) return WM_OK;
    if (n >= WRITE_BUFFER / 2) {
        if (writer_flush(w)) return WM_FAIL;
        return writer_send(w, p, n);
    }
    if (w->len + n > WRITE_BUFFER && writer_flush(w)) return WM_FAIL;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return WM_OK;
}

static int writer_pad(wm_writer *w, size_t n) {
    static const uint8_t zeros[8];
    return writer_put(w, zeros, (8 - n % 8) % 8);
}

/* Writes the encapsulated message whose metadata is w->meta (padded so the body is 8-aligned). */
static int writer_put_meta(wm_writer *w) {
    if (w->meta.oom) return writer_fail(w, "out of memory encoding a message");
    fbb_pad(&w->meta, 8);
    if (w->meta.oom) return writer_fail(w, "out of memory encoding a message");
    uint8_t prefix[8] = {0xFF, 0xFF, 0xFF, 0xFF};
    uint32_t n = (uint32_t)w->meta.len;
    for (int i = 0; i < 4; i++) prefix[4 + i] = (uint8_t)(n >> (8 * i));
    if (writer_put(w, prefix, 8)) return WM_FAIL;
    return writer_put(w, w->meta.p, w->meta.len);
}

static int writer_put_schema(wm_writer *w) {
    w->meta.len = 0;
    encode_schema(&w->meta, &w->schema);
    if (writer_put_meta(w)) return WM_FAIL;
    w->schema_written = true;
    return WM_OK;
}

static void writer_register(wm_ctx *ctx, wm_writer *w) {
    if (grow_ptrs(&ctx->writers, &ctx->cap_writers, ctx->nwriters)) {
        w->index = ctx->nwriters;
        ctx->writers[ctx->nwriters++] = w;
    } else {
        w->index = -1;
    }
}

int wm_output_open(wm_ctx *ctx, const char *name, wm_format format, wm_writer **out) {
    if (out) *out = NULL;
    if (!ctx || !name || !out) return wm_error(ctx, "wm_output_open: ctx, name and out must not be NULL");
    if (!format_ok((int)format)) return wm_error(ctx, "output \"%s\": unknown format %d", name, (int)format);
    wm_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->name = xstrdup(name)) || !(w->buf = malloc(WRITE_BUFFER))) {
        if (w) free(w->name);
        free(w);
        return hard_error(ctx, "output \"%s\": out of memory", name);
    }
    int32_t h = wm__output_open(name, len32(strlen(name)), (int32_t)format);
    if (h < 0) {
        char *t = host_error_text("output_open", h);
        wm_error(ctx, "output \"%s\": %s", name, t ? t : "output_open failed");
        free(t);
        free(w->buf);
        free(w->name);
        free(w);
        return WM_FAIL;
    }
    w->ctx = ctx;
    w->handle = h;
    w->format = format;
    writer_register(ctx, w);
    *out = w;
    return WM_OK;
}

enum { MAX_MAPPING_KEY = 255 }; /* ABI.md 4.4 */

int wm_output_open_mapped(wm_ctx *ctx, const char *name, const char *key, wm_format format, wm_writer **out) {
    if (out) *out = NULL;
    if (!name || !key) return wm_error(ctx, "wm_output_open_mapped: name and key must not be NULL");
    size_t klen = strlen(key);
    bool ok = klen > 0;
    for (const char *p = key; *p; p++)
        ok &= (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (!ok) {
        if (!klen) return wm_error(ctx, "output \"%s\": the mapping key is empty; it must match [A-Za-z0-9_]+", name);
        return wm_error(ctx, "output \"%s\": mapping key \"%.300s\" must match [A-Za-z0-9_]+", name, key);
    }
    if (klen > MAX_MAPPING_KEY)
        return wm_error(ctx, "output \"%s\": mapping key \"%.40s...\" has %zu characters; at most %d are allowed", name, key, klen, MAX_MAPPING_KEY);
    wm_buf full = {0};
    wm_buf_printf(&full, "%s[%s]", name, key);
    int rc = full.failed ? wm_error(ctx, "output \"%s\": out of memory", name) : wm_output_open(ctx, full.data, format, out);
    wm_buf_free(&full);
    return rc;
}

int wm_writer_set_schema(wm_writer *w, const wm_schema *schema) {
    if (!w || !schema) return wm_error(w ? w->ctx : NULL, "wm_writer_set_schema: the writer and schema must not be NULL");
    if (w->failed) return WM_FAIL;
    if (w->format != WM_ARROW) return writer_fail(w, "a schema applies to arrow outputs; this output is %s", format_name(w->format));
    if (w->schema_set) return writer_fail(w, "the schema is already set");
    for (int i = 0; i < schema->num_fields; i++) {
        const wm_field *f = &schema->fields[i];
        if (!type_ok((int)f->type)) return writer_fail(w, "column \"%s\": unknown type %d", f->name ? f->name : "", (int)f->type);
        if (f->type == WM_TIMESTAMP && (unsigned)f->unit > WM_NANOSECOND)
            return writer_fail(w, "column \"%s\": unknown time unit %d", f->name ? f->name : "", (int)f->unit);
    }
    if (!schema_clone(schema, &w->schema)) return writer_fail(w, "out of memory copying the schema");
    w->schema_set = true;
    return WM_OK;
}

/* A buffer of the batch body being written. */
typedef struct piece {
    const void *p;
    size_t len;
} piece;

int wm_writer_write(wm_writer *w, const wm_batch *batch) {
    if (!w || !batch) return wm_error(w ? w->ctx : NULL, "wm_writer_write: the writer and batch must not be NULL");
    if (w->failed) return WM_FAIL;
    if (w->format != WM_ARROW) return writer_fail(w, "wm_writer_write writes record batches, but this output is %s", format_name(w->format));
    if (!w->schema_set && wm_writer_set_schema(w, batch->schema)) return WM_FAIL;
    const wm_schema *s = &w->schema;
    long long bno = w->batches;
    if (batch->num_columns != s->num_fields)
        return writer_fail(w, "batch %lld has %d columns, the schema has %d", bno, batch->num_columns, s->num_fields);
    if (batch->num_rows < 0) return writer_fail(w, "batch %lld has a negative row count", bno);
    int ncols = s->num_fields;
    size_t nb = 0;
    for (int i = 0; i < ncols; i++) nb += is_varwidth(s->fields[i].type) ? 3 : 2;
    piece *pieces = calloc(nb ? nb : 1, sizeof *pieces);
    if (!pieces) return writer_fail(w, "out of memory");
    uint64_t n = (uint64_t)batch->num_rows, bitmap = (n + 7) / 8;
    size_t k = 0;
    for (int i = 0; i < ncols; i++) {
        const wm_field *f = &s->fields[i];
        const wm_column *c = &batch->columns[i];
        char t1[96], t2[96];
        if (!c->field || !c->field->name || strcmp(c->field->name, f->name) != 0 || !same_type(c->field, f)) {
            free(pieces);
            return writer_fail(w, "batch %lld column %d is \"%s\" %s, the schema says \"%s\" %s", bno, i,
                               c->field && c->field->name ? c->field->name : "", c->field ? wm_field_type_name(c->field, t1, sizeof t1) : "?",
                               f->name, wm_field_type_name(f, t2, sizeof t2));
        }
        if (c->length != batch->num_rows || c->null_count < 0 || c->null_count > c->length || (c->null_count > 0 && !c->validity)) {
            free(pieces);
            return writer_fail(w, "batch %lld column \"%s\": %lld rows and %lld nulls do not fit a %lld-row batch%s", bno, f->name,
                               (long long)c->length, (long long)c->null_count, (long long)batch->num_rows,
                               c->null_count > 0 && !c->validity ? " without a validity bitmap" : "");
        }
        if (f->not_null && c->null_count > 0) {
            free(pieces);
            return writer_fail(w, "column \"%s\" is declared not null, but batch %lld has %lld nulls", f->name, bno, (long long)c->null_count);
        }
        pieces[k++] = (piece){c->null_count > 0 ? c->validity : NULL, c->null_count > 0 ? (size_t)bitmap : 0};
        int wd = type_width(f->type);
        if (f->type == WM_BOOL) {
            pieces[k++] = (piece){c->values, (size_t)bitmap};
        } else if (wd > 0) {
            pieces[k++] = (piece){c->values, (size_t)(n * (uint64_t)wd)};
        } else {
            const int32_t *o = n ? c->values : zero_offsets;
            if (!o || o[0] < 0 || o[n] < o[0] || (int64_t)o[n] > c->data_len || (o[n] > 0 && !c->data)) {
                free(pieces);
                return writer_fail(w, "batch %lld column \"%s\": the offsets do not fit the %lld-byte data", bno, f->name, (long long)c->data_len);
            }
            pieces[k++] = (piece){o, (size_t)(n + 1) * 4};
            pieces[k++] = (piece){c->data, (size_t)o[n]};
        }
        if ((pieces[k - 1].len && !pieces[k - 1].p)) {
            free(pieces);
            return writer_fail(w, "batch %lld column \"%s\" has no values", bno, f->name);
        }
    }

    /* The body: every buffer padded to 8 bytes. Then the metadata, RecordBatch {length, nodes,
     * buffers}, with each buffer's offset in the body. */
    uint64_t body = 0;
    for (size_t i = 0; i < nb; i++) body += (pieces[i].len + 7) / 8 * 8;
    int rc = w->schema_written ? WM_OK : writer_put_schema(w);
    if (!rc) {
        fbb *b = &w->meta;
        b->len = 0;
        size_t hslot = fbb_message(b, HDR_RECORD_BATCH, (int64_t)body), rs[3];
        size_t rt = fbb_table(b, (fbf[]){{0, 8, false, n}, {1, 4, true, 0}, {2, 4, true, 0}}, 3, rs);
        fbb_patch(b, hslot, rt);
        size_t nodes = fbb_vector(b, (size_t)ncols, 16, 8);
        fbb_patch(b, rs[1], nodes);
        for (int i = 0; i < ncols; i++) {
            fbb_put(b, nodes + 4 + 16 * (size_t)i, 8, n);
            fbb_put(b, nodes + 4 + 16 * (size_t)i + 8, 8, (uint64_t)batch->columns[i].null_count);
        }
        size_t bufs = fbb_vector(b, nb, 16, 8);
        fbb_patch(b, rs[2], bufs);
        uint64_t at = 0;
        for (size_t i = 0; i < nb; i++) {
            fbb_put(b, bufs + 4 + 16 * i, 8, at);
            fbb_put(b, bufs + 4 + 16 * i + 8, 8, pieces[i].len);
            at += (pieces[i].len + 7) / 8 * 8;
        }
        rc = writer_put_meta(w);
    }
    for (size_t i = 0; !rc && i < nb; i++) {
        rc = writer_put(w, pieces[i].p, pieces[i].len);
        if (!rc) rc = writer_pad(w, pieces[i].len);
    }
    free(pieces);
    if (!rc) rc = writer_flush(w); /* hand each batch over whole */
    if (!rc) w->batches++;
    return rc;
}

int wm_writer_write_raw(wm_writer *w, const void *data, size_t len) {
    if (!w || (!data && len)) return wm_error(w ? w->ctx : NULL, "wm_writer_write_raw: the writer and data must not be NULL");
    if (w->failed) return WM_FAIL;
    if (w->format == WM_ARROW) return writer_fail(w, "wm_writer_write_raw writes json or bytes; use wm_writer_write for arrow");
    return writer_put(w, data, len);
}

int wm_writer_metadata(wm_writer *w, const char *json) {
    if (!w || !json) return wm_error(w ? w->ctx : NULL, "wm_writer_metadata: the writer and json must not be NULL");
    if (w->failed) return WM_FAIL;
    int32_t rc = wm__output_metadata(w->handle, json, len32(strlen(json)));
    if (rc < 0) return writer_host_fail(w, "output_metadata", rc);
    return WM_OK;
}

static void writer_destroy(wm_writer *w) {
    if (w->ctx && w->index >= 0 && w->index < w->ctx->nwriters && w->ctx->writers[w->index] == (void *)w)
        w->ctx->writers[w->index] = NULL;
    schema_free(&w->schema);
    free(w->meta.p);
    free(w->buf);
    free(w->name);
    free(w);
}

int wm_writer_close(wm_writer *w) {
    if (!w) return WM_FAIL;
    int rc = w->failed ? WM_FAIL : WM_OK;
    if (!rc && w->format == WM_ARROW) {
        if (!w->schema_written) {
            if (!w->schema_set) rc = writer_fail(w, "no schema: write a batch or call wm_writer_set_schema before closing");
            else rc = writer_put_schema(w);
        }
        static const uint8_t eos[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};
        if (!rc) rc = writer_put(w, eos, sizeof eos);
    }
    if (!rc) rc = writer_flush(w);
    if (!rc) {
        int32_t c = wm__output_close(w->handle);
        if (c < 0) rc = writer_host_fail(w, "output_close", c);
    }
    writer_destroy(w);
    return rc;
}

int wm_output_write_bytes(wm_ctx *ctx, const char *name, wm_format format, const void *data, size_t len) {
    wm_writer *w;
    if (wm_output_open(ctx, name, format, &w)) return WM_FAIL;
    if (len && wm_writer_write_raw(w, data, len)) {
        writer_destroy(w);
        return WM_FAIL;
    }
    return wm_writer_close(w);
}

/* ========================================================================================== */
/* 9. The batch builder                                                                       */
/* ========================================================================================== */

typedef struct bcol {
    uint8_t *validity;
    size_t vcap;
    uint8_t *values; /* fixed-width values, bool bits, or int32 offsets */
    size_t len_bytes, cap;
    uint8_t *data;
    size_t dlen, dcap;
    int64_t len, nulls;
} bcol;

struct wm_batch_builder {
    wm_ctx *ctx;
    wm_schema schema;
    bcol *cols;
    bool failed;
};

typedef struct owned_batch {
    wm_batch b;
    uint32_t magic; /* BATCH_OWNED */
    wm_schema schema;
    wm_column *cols;
    void **bufs;
    int nbufs;
} owned_batch;

_Static_assert(offsetof(owned_batch, magic) == offsetof(reader_batch, magic), "wm_batch_free reads the magic of both");

static int builder_fail(wm_batch_builder *b, const char *fmt, ...) WM_PRINTF(2, 3);
static int builder_fail(wm_batch_builder *b, const char *fmt, ...) {
    if (b->failed) return WM_FAIL; /* keep the first error */
    wm_buf m = {0};
    wm_buf_puts(&m, "batch builder: ");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&m, fmt, ap);
    va_end(ap);
    hard_error(b->ctx, "%s", m.failed || !m.data ? "batch builder: out of memory" : m.data);
    wm_buf_free(&m);
    b->failed = true;
    return WM_FAIL;
}

static bool grow_bytes(uint8_t **p, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2) return false;
        c *= 2;
    }
    uint8_t *q = realloc(*p, c);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static bool bcol_init(bcol *c, wm_type t) {
    *c = (bcol){0};
    if (!is_varwidth(t)) return true;
    if (!grow_bytes(&c->values, &c->cap, 4)) return false;
    memset(c->values, 0, 4);
    c->len_bytes = 4;
    return true;
}

static void bcol_free(bcol *c) {
    free(c->validity);
    free(c->values);
    free(c->data);
    *c = (bcol){0};
}

wm_batch_builder *wm_batch_builder_new(wm_ctx *ctx, const wm_schema *schema) {
    if (!schema) {
        wm_error(ctx, "wm_batch_builder_new: the schema is NULL");
        return NULL;
    }
    for (int i = 0; i < schema->num_fields; i++) {
        const wm_field *f = &schema->fields[i];
        if (!type_ok((int)f->type) || (f->type == WM_TIMESTAMP && (unsigned)f->unit > WM_NANOSECOND)) {
            hard_error(ctx, "batch builder: column \"%s\": unknown type %d", f->name ? f->name : "", (int)f->type);
            return NULL;
        }
    }
    wm_batch_builder *b = calloc(1, sizeof *b);
    if (!b) goto oom;
    b->ctx = ctx;
    if (!schema_clone(schema, &b->schema)) {
        free(b);
        goto oom;
    }
    int n = schema->num_fields;
    b->cols = calloc(n ? (size_t)n : 1, sizeof *b->cols);
    if (!b->cols) {
        wm_batch_builder_free(b);
        goto oom;
    }
    for (int i = 0; i < n; i++)
        if (!bcol_init(&b->cols[i], schema->fields[i].type)) {
            wm_batch_builder_free(b);
            goto oom;
        }
    return b;
oom:
    hard_error(ctx, "batch builder: out of memory");
    return NULL;
}

void wm_batch_builder_free(wm_batch_builder *b) {
    if (!b) return;
    if (b->cols)
        for (int i = 0; i < b->schema.num_fields; i++) bcol_free(&b->cols[i]);
    free(b->cols);
    schema_free(&b->schema);
    free(b);
}

const wm_schema *wm_batch_builder_schema(const wm_batch_builder *b) { return b ? &b->schema : NULL; }

int64_t wm_batch_builder_len(const wm_batch_builder *b, int col) {
    if (!b || col < 0 || col >= b->schema.num_fields) return -1;
    return b->cols[col].len;
}

/* Checks col and its type; returns the column or NULL after recording the error. */
static bcol *builder_col(wm_batch_builder *b, int col, wm_type want, const char *what) {
    if (!b) return NULL;
    if (b->failed) return NULL;
    if (col < 0 || col >= b->schema.num_fields) {
        builder_fail(b, "column index %d is outside [0, %d)", col, b->schema.num_fields);
        return NULL;
    }
    const wm_field *f = &b->schema.fields[col];
    bool ok = want == WM_TYPE_ANY || f->type == want || (want == WM_UTF8 && f->type == WM_BINARY);
    if (!ok) {
        char tn[96];
        builder_fail(b, "column \"%s\" is %s; cannot append %s", f->name, wm_field_type_name(f, tn, sizeof tn), what);
        return NULL;
    }
    return &b->cols[col];
}

/* Sets validity bit len (the next row) and counts the row. */
static bool bcol_mark(bcol *c, bool valid) {
    size_t need = (size_t)(c->len / 8) + 1;
    if (need > c->vcap) {
        size_t old = c->vcap;
        if (!grow_bytes(&c->validity, &c->vcap, need)) return false;
        memset(c->validity + old, 0, c->vcap - old);
    }
    if (valid) c->validity[c->len >> 3] |= (uint8_t)(1u << (c->len & 7));
    else c->validity[c->len >> 3] &= (uint8_t)~(1u << (c->len & 7)), c->nulls++;
    c->len++;
    return true;
}

static int bcol_fixed(wm_batch_builder *b, bcol *c, const void *v, size_t w, bool valid) {
    if (!grow_bytes(&c->values, &c->cap, c->len_bytes + w)) return builder_fail(b, "out of memory");
    if (v) memcpy(c->values + c->len_bytes, v, w);
    else memset(c->values + c->len_bytes, 0, w);
    c->len_bytes += w;
    if (!bcol_mark(c, valid)) return builder_fail(b, "out of memory");
    return WM_OK;
}

static int bcol_bit(wm_batch_builder *b, bcol *c, bool bit, bool valid) {
    size_t need = (size_t)(c->len / 8) + 1;
    if (need > c->len_bytes) {
        if (!grow_bytes(&c->values, &c->cap, need)) return builder_fail(b, "out of memory");
        memset(c->values + c->len_bytes, 0, need - c->len_bytes);
        c->len_bytes = need;
    }
    if (bit) c->values[c->len >> 3] |= (uint8_t)(1u << (c->len & 7));
    if (!bcol_mark(c, valid)) return builder_fail(b, "out of memory");
    return WM_OK;
}

static int bcol_bytes(wm_batch_builder *b, int col, bcol *c, const void *s, size_t n, bool valid) {
    if (n > (size_t)INT32_MAX - c->dlen)
        return builder_fail(b, "column \"%s\": more than 2 GiB of data in one batch", b->schema.fields[col].name);
    if (!grow_bytes(&c->data, &c->dcap, c->dlen + n) || !grow_bytes(&c->values, &c->cap, c->len_bytes + 4))
        return builder_fail(b, "out of memory");
    if (n) memcpy(c->data + c->dlen, s, n);
    c->dlen += n;
    int32_t end = (int32_t)c->dlen;
    memcpy(c->values + c->len_bytes, &end, 4);
    c->len_bytes += 4;
    if (!bcol_mark(c, valid)) return builder_fail(b, "out of memory");
    return WM_OK;
}

int wm_append_null(wm_batch_builder *b, int col) {
    bcol *c = builder_col(b, col, WM_TYPE_ANY, "a null");
    if (!c) return WM_FAIL;
    const wm_field *f = &b->schema.fields[col];
    if (f->not_null) return builder_fail(b, "column \"%s\" is declared not null; cannot append a null", f->name);
    if (f->type == WM_BOOL) return bcol_bit(b, c, false, false);
    if (is_varwidth(f->type)) return bcol_bytes(b, col, c, NULL, 0, false);
    return bcol_fixed(b, c, NULL, (size_t)type_width(f->type), false);
}

int wm_append_bool(wm_batch_builder *b, int col, bool v) {
    bcol *c = builder_col(b, col, WM_BOOL, "a bool");
    return c ? bcol_bit(b, c, v, true) : WM_FAIL;
}

#define APPEND_FIXED(fn, ctype, wtype, what)                 \
    int fn(wm_batch_builder *b, int col, ctype v) {          \
        bcol *c = builder_col(b, col, wtype, what);          \
        return c ? bcol_fixed(b, c, &v, sizeof v, true) : WM_FAIL; \
    }
APPEND_FIXED(wm_append_i8, int8_t, WM_INT8, "an int8")
APPEND_FIXED(wm_append_i16, int16_t, WM_INT16, "an int16")
APPEND_FIXED(wm_append_i32, int32_t, WM_INT32, "an int32")
APPEND_FIXED(wm_append_i64, int64_t, WM_INT64, "an int64")
APPEND_FIXED(wm_append_u8, uint8_t, WM_UINT8, "a uint8")
APPEND_FIXED(wm_append_u16, uint16_t, WM_UINT16, "a uint16")
APPEND_FIXED(wm_append_u32, uint32_t, WM_UINT32, "a uint32")
APPEND_FIXED(wm_append_u64, uint64_t, WM_UINT64, "a uint64")
APPEND_FIXED(wm_append_f32, float, WM_FLOAT32, "a float32")
APPEND_FIXED(wm_append_f64, double, WM_FLOAT64, "a float64")
APPEND_FIXED(wm_append_date32, int32_t, WM_DATE32, "a date32")
APPEND_FIXED(wm_append_timestamp, int64_t, WM_TIMESTAMP, "a timestamp")
#undef APPEND_FIXED

int wm_append_strn(wm_batch_builder *b, int col, const void *s, size_t len) {
    bcol *c = builder_col(b, col, WM_UTF8, "a string");
    if (!c) return WM_FAIL;
    if (!s && len) return builder_fail(b, "column \"%s\": NULL string with length %zu", b->schema.fields[col].name, len);
    return bcol_bytes(b, col, c, s, len, true);
}

int wm_append_str(wm_batch_builder *b, int col, const char *s) {
    if (!s) return wm_append_null(b, col);
    return wm_append_strn(b, col, s, strlen(s));
}

int wm_append_values(wm_batch_builder *b, int col, const void *values, const bool *validity, size_t n) {
    bcol *c = builder_col(b, col, WM_TYPE_ANY, "values");
    if (!c) return WM_FAIL;
    const wm_field *f = &b->schema.fields[col];
    if (is_varwidth(f->type)) return builder_fail(b, "column \"%s\" is %s; wm_append_values takes fixed-width columns", f->name, wm_type_name(f->type));
    if (!values && n) return builder_fail(b, "column \"%s\": values is NULL", f->name);
    const uint8_t *v = values;
    int w = type_width(f->type);
    for (size_t i = 0; i < n; i++) {
        bool valid = !validity || validity[i];
        if (!valid && f->not_null) return builder_fail(b, "column \"%s\" is declared not null; cannot append a null", f->name);
        int rc = f->type == WM_BOOL ? bcol_bit(b, c, v[i] != 0, valid) : bcol_fixed(b, c, v + i * (size_t)w, (size_t)w, valid);
        if (rc) return rc;
    }
    return WM_OK;
}

int wm_append_from(wm_batch_builder *b, int col, const wm_column *src, int64_t row) {
    bcol *c = builder_col(b, col, WM_TYPE_ANY, "a value");
    if (!c) return WM_FAIL;
    const wm_field *f = &b->schema.fields[col];
    if (!src) return builder_fail(b, "column \"%s\": the source column is NULL", f->name);
    if (!same_type(src->field, f)) {
        char t1[96], t2[96];
        return builder_fail(b, "column \"%s\" is %s; cannot append a value of column \"%s\" (%s)", f->name, wm_field_type_name(f, t1, sizeof t1),
                            src->field->name, wm_field_type_name(src->field, t2, sizeof t2));
    }
    if (row < 0 || row >= src->length)
        return builder_fail(b, "column \"%s\": row %lld of column \"%s\" is outside [0, %lld)", f->name, (long long)row, src->field->name,
                            (long long)src->length);
    if (wm_column_is_null(src, row)) return wm_append_null(b, col);
    if (f->type == WM_BOOL) return bcol_bit(b, c, wm_column_bool(src, row), true);
    if (is_varwidth(f->type)) {
        size_t n;
        const char *s = wm_column_str(src, row, &n);
        return bcol_bytes(b, col, c, s, n, true);
    }
    size_t w = (size_t)type_width(f->type);
    return bcol_fixed(b, c, (const uint8_t *)src->values + (size_t)row * w, w, true);
}

int wm_append_row(wm_batch_builder *b, const wm_batch *src, int64_t row) {
    if (!b) return WM_FAIL;
    if (!src) return builder_fail(b, "wm_append_row: the source batch is NULL");
    if (src->num_columns != b->schema.num_fields)
        return builder_fail(b, "wm_append_row: the source batch has %d columns, the builder %d", src->num_columns, b->schema.num_fields);
    for (int i = 0; i < src->num_columns; i++)
        if (wm_append_from(b, i, &src->columns[i], row)) return WM_FAIL;
    return WM_OK;
}

static bool owned_keep(owned_batch *ob, void *p) {
    if (!p) return true;
    ob->bufs[ob->nbufs++] = p;
    return true;
}

int wm_batch_builder_finish(wm_batch_builder *b, wm_batch **out) {
    if (out) *out = NULL;
    if (!b || !out) return wm_error(b ? b->ctx : NULL, "wm_batch_builder_finish: the builder and out must not be NULL");
    if (b->failed) return WM_FAIL;
    int n = b->schema.num_fields;
    int64_t rows = n ? b->cols[0].len : 0;
    for (int i = 1; i < n; i++)
        if (b->cols[i].len != rows)
            return builder_fail(b, "column \"%s\" has %lld rows, column \"%s\" has %lld", b->schema.fields[0].name, (long long)rows,
                                b->schema.fields[i].name, (long long)b->cols[i].len);
    owned_batch *ob = calloc(1, sizeof *ob);
    if (!ob) return builder_fail(b, "out of memory");
    ob->magic = BATCH_OWNED;
    ob->cols = calloc(n ? (size_t)n : 1, sizeof *ob->cols);
    ob->bufs = calloc(n ? 3 * (size_t)n : 1, sizeof *ob->bufs);
    if (!ob->cols || !ob->bufs || !schema_clone(&b->schema, &ob->schema)) {
        free(ob->cols);
        free(ob->bufs);
        free(ob);
        return builder_fail(b, "out of memory");
    }
    /* Hand the buffers over and start the builder's columns afresh. */
    bool fresh_ok = true;
    for (int i = 0; i < n; i++) {
        bcol *c = &b->cols[i];
        const wm_field *f = &ob->schema.fields[i];
        wm_column *col = &ob->cols[i];
        *col = (wm_column){f, c->len, c->nulls, c->nulls ? c->validity : NULL, c->values ? c->values : (const void *)empty_storage,
                           NULL, 0};
        if (is_varwidth(f->type)) {
            col->data = c->data ? c->data : (const uint8_t *)empty_storage;
            col->data_len = (int64_t)c->dlen;
        }
        owned_keep(ob, c->values);
        owned_keep(ob, c->data);
        if (c->nulls) owned_keep(ob, c->validity);
        else free(c->validity);
        if (!bcol_init(c, f->type)) fresh_ok = false;
    }
    ob->b = (wm_batch){&ob->schema, rows, n, ob->cols};
    *out = &ob->b;
    if (!fresh_ok) return builder_fail(b, "out of memory");
    return WM_OK;
}

void wm_batch_free(wm_batch *batch) {
    if (!batch) return;
    /* Reader batches and builder batches both keep a magic number right after the wm_batch. */
    uint32_t magic;
    memcpy(&magic, (const char *)batch + offsetof(owned_batch, magic), sizeof magic);
    if (magic != BATCH_OWNED) wm_panic("wm_batch_free: the batch belongs to a reader (or was not made by wm_batch_builder_finish)");
    owned_batch *ob = (owned_batch *)batch; /* batch is the first member of an owned_batch */
    for (int i = 0; i < ob->nbufs; i++) free(ob->bufs[i]);
    free(ob->bufs);
    free(ob->cols);
    schema_free(&ob->schema);
    ob->magic = 0;
    free(ob);
}

/* ========================================================================================== */
/* 10. The step context and wasmorch_run                                                      */
/* ========================================================================================== */

const char *wm_kind(wm_ctx *ctx) { return ctx ? ctx->kind : ""; }
const char *wm_name(wm_ctx *ctx) { return ctx ? ctx->name : ""; }
const char *wm_run_id(wm_ctx *ctx) { return ctx ? ctx->run_id : ""; }
const char *wm_step_key(wm_ctx *ctx) { return ctx ? ctx->step_key : ""; }
const char *wm_partition_key(wm_ctx *ctx) { return ctx ? ctx->partition_key : ""; }

int wm_partition_keys(wm_ctx *ctx, const char *const **keys) {
    static const char *const none[] = {NULL};
    if (keys) *keys = none;
    if (!ctx || !ctx->partition_key || !*ctx->partition_key) return 0;
    if (!ctx->partition_keys) {
        int n = 1;
        for (const char *p = ctx->partition_key; *p; p++) n += *p == '|';
        size_t len = strlen(ctx->partition_key);
        /* One allocation: the pointers (and a NULL), then a copy of the key cut at each '|'. */
        char **arr = malloc((size_t)(n + 1) * sizeof *arr + len + 1);
        if (!arr) {
            hard_error(ctx, "wm_partition_keys: out of memory");
            return -1;
        }
        char *text = (char *)(arr + n + 1);
        memcpy(text, ctx->partition_key, len + 1);
        int i = 0;
        arr[i++] = text;
        for (char *p = text; *p; p++)
            if (*p == '|') {
                *p = 0;
                arr[i++] = p + 1;
            }
        arr[n] = NULL;
        ctx->partition_keys = arr;
        ctx->npartition_keys = n;
    }
    if (keys) *keys = (const char *const *)ctx->partition_keys;
    return ctx->npartition_keys;
}

bool wm_partition_window(wm_ctx *ctx, const char **start, const char **end) {
    bool ok = ctx && ctx->window_start && ctx->window_end;
    if (start) *start = ok ? ctx->window_start : "";
    if (end) *end = ok ? ctx->window_end : "";
    return ok;
}

bool wm_partition_window_unix(wm_ctx *ctx, int64_t *start, int64_t *end) {
    bool ok = ctx && ctx->window_start && ctx->window_end;
    if (start) *start = ok ? ctx->window_start_s : 0;
    if (end) *end = ok ? ctx->window_end_s : 0;
    return ok;
}
int wm_attempt(wm_ctx *ctx) { return ctx ? ctx->attempt : 0; }
const char *wm_mapping_key(wm_ctx *ctx) { return ctx && ctx->mapping_key ? ctx->mapping_key : ""; }
const char *wm_check_asset(wm_ctx *ctx) { return ctx && ctx->check_asset ? ctx->check_asset : ""; }

bool wm_has_input(wm_ctx *ctx, const char *name) {
    if (!ctx || !name) return false;
    for (int i = 0; i < ctx->ninput_names; i++)
        if (strcmp((const char *)ctx->input_names[i], name) == 0) return true;
    return false;
}

int wm_check_result(wm_ctx *ctx, bool passed, wm_severity severity) {
    if (severity != WM_SEVERITY_WARN && severity != WM_SEVERITY_ERROR)
        return hard_error(ctx, "wm_check_result: severity %d is neither WM_SEVERITY_WARN nor WM_SEVERITY_ERROR", (int)severity);
    if (ctx && ctx->kind && strcmp(ctx->kind, "check") != 0)
        return hard_error(ctx, "wm_check_result: only a check step reports a check result; this is %s \"%s\"", ctx->kind, ctx->name);
    int32_t rc = wm__check_result(passed ? 1 : 0, (int32_t)severity);
    if (rc < 0) {
        char *t = host_error_text("check_result", rc);
        hard_error(ctx, "%s", t ? t : "check_result failed");
        free(t);
        return WM_FAIL;
    }
    return WM_OK;
}

int wm_vlog(wm_ctx *ctx, wm_level level, const char *fmt, va_list ap) {
    (void)ctx;
    wm_buf b = {0};
    buf_vprintf(&b, fmt, ap);
    if (b.failed) return WM_FAIL;
    int32_t rc = wm__log((int32_t)level, b.data ? b.data : "", len32(b.len));
    wm_buf_free(&b);
    return rc < 0 ? WM_FAIL : WM_OK;
}

int wm_log(wm_ctx *ctx, wm_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = wm_vlog(ctx, level, fmt, ap);
    va_end(ap);
    return rc;
}

int wm_metadata_json(wm_ctx *ctx, const char *json) {
    if (!json) return wm_error(ctx, "wm_metadata_json: json is NULL");
    int32_t rc = wm__metadata_add(json, len32(strlen(json)));
    if (rc < 0) {
        char *t = host_error_text("metadata_add", rc);
        hard_error(ctx, "%s", t ? t : "metadata_add failed");
        free(t);
        return WM_FAIL;
    }
    return WM_OK;
}

WM_NORETURN void wm_panic(const char *fmt, ...) {
    static char fallback[] = "panic: (out of memory formatting the panic message)\n";
    wm_buf b = {0};
    wm_buf_puts(&b, "panic: ");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    wm_buf_puts(&b, "\n");
    const char *msg = b.failed || !b.data ? fallback : b.data;
    size_t n = strlen(msg);
    fflush(stdout);
    /* The host keeps the "panic: " line of stderr and shows it with the trap. error_set carries
     * it too (without the prefix), for hosts that read that instead. */
    while (n > 0) {
        ssize_t w = write(2, msg, n);
        if (w <= 0) break;
        msg += w;
        n -= (size_t)w;
    }
    if (b.data && b.len > 8) wm__error_set(b.data + 7, len32(b.len - 8));
    __builtin_trap();
}

/* ---- config ---- */

const char *wm_config_json(wm_ctx *ctx, size_t *len) {
    if (len) *len = ctx ? ctx->config_len : 2;
    return ctx ? ctx->config : "{}";
}

bool wm_config_has(wm_ctx *ctx, const char *key) {
    if (!ctx || !key) return false;
    const char *v;
    size_t n;
    return json_find_valid(ctx->config, ctx->config_len, key, &v, &n) == 0;
}

/* The raw text of config member key, or an error naming it. */
static int config_member(wm_ctx *ctx, const char *key, const char **v, size_t *n, const char *want) {
    if (!ctx || !key) return wm_error(ctx, "config: the key is NULL");
    int rc = json_find_valid(ctx->config, ctx->config_len, key, v, n);
    if (rc < 0) return wm_error(ctx, "config: the run config is not a JSON object");
    if (rc > 0) return wm_error(ctx, "config: missing required field \"%s\" (%s)", key, want);
    return WM_OK;
}

int wm_config_get_string(wm_ctx *ctx, const char *key, const char **out) {
    const char *v;
    size_t n;
    if (config_member(ctx, key, &v, &n, "a string")) return WM_FAIL;
    if (*v != '"') return wm_error(ctx, "config: field \"%s\" is %s, want a string", key, json_kind(v));
    wm_buf b = {0};
    json_decode_string(v, n, &b);
    if (!b.data) wm_buf_append(&b, "", 0);
    if (b.failed || !ctx_keep(ctx, b.data)) {
        if (b.failed) wm_buf_free(&b);
        return wm_error(ctx, "config: out of memory reading field \"%s\"", key);
    }
    *out = b.data;
    return WM_OK;
}

int wm_config_get_int(wm_ctx *ctx, const char *key, int64_t *out) {
    const char *v;
    size_t n;
    if (config_member(ctx, key, &v, &n, "an integer")) return WM_FAIL;
    if (*v == '-' || (*v >= '0' && *v <= '9')) {
        if (json_int(v, n, out)) return WM_OK;
        return wm_error(ctx, "config: field \"%s\" is %.*s, want an integer that fits in 64 bits", key, (int)(n > 40 ? 40 : n), v);
    }
    return wm_error(ctx, "config: field \"%s\" is %s, want an integer", key, json_kind(v));
}

int wm_config_get_double(wm_ctx *ctx, const char *key, double *out) {
    const char *v;
    size_t n;
    if (config_member(ctx, key, &v, &n, "a number")) return WM_FAIL;
    if (json_double(v, n, out)) return WM_OK;
    return wm_error(ctx, "config: field \"%s\" is %s, want a number", key, json_kind(v));
}

int wm_config_get_bool(wm_ctx *ctx, const char *key, bool *out) {
    const char *v;
    size_t n;
    if (config_member(ctx, key, &v, &n, "a boolean")) return WM_FAIL;
    if (*v == 't' || *v == 'f') {
        *out = *v == 't';
        return WM_OK;
    }
    return wm_error(ctx, "config: field \"%s\" is %s, want a boolean", key, json_kind(v));
}

/* ---- resources ---- */

int wm_resource_call(wm_ctx *ctx, const char *key, const char *req, char **resp, size_t *len) {
    if (resp) *resp = NULL;
    if (len) *len = 0;
    if (!key || !req || !resp || !len) return wm_error(ctx, "wm_resource_call: key, req, resp and len must not be NULL");
    int64_t n = wm__resource_call(key, len32(strlen(key)), req, len32(strlen(req)));
    if (n < 0) {
        char *t = host_error_text("resource_call", n);
        wm_error(ctx, "resource \"%s\": %s", key, t ? t : "resource_call failed");
        free(t);
        return n < INT_MIN ? WM_FAIL : (int)n;
    }
    if ((uint64_t)n > (uint64_t)(SIZE_MAX / 2)) return wm_error(ctx, "resource \"%s\": a %lld-byte response does not fit in guest memory", key, (long long)n);
    char *buf = malloc((size_t)n + 1);
    if (!buf) return wm_error(ctx, "resource \"%s\": out of memory for a %lld-byte response", key, (long long)n);
    size_t got = 0;
    while (got < (size_t)n) {
        int32_t m = wm__response_read(buf + got, len32((size_t)n - got));
        if (m <= 0 || (size_t)m > (size_t)n - got) {
            char *t = m < 0 ? host_error_text("response_read", m) : NULL;
            wm_error(ctx, "resource \"%s\": reading the %lld-byte response: %s", key, (long long)n,
                     t ? t : m == 0 ? "response_read returned 0 before the end" : "response_read returned more than asked");
            free(t);
            free(buf);
            return m < 0 ? (int)m : WM_FAIL;
        }
        got += (size_t)m;
    }
    buf[got] = 0;
    *resp = buf;
    *len = got;
    return WM_OK;
}

/* ---- invocation and dispatch ---- */

/* Decodes string member key of the invocation into a new string ("" when absent or null). */
static char *inv_string(const char *inv, size_t len, const char *key, bool *bad) {
    const char *v;
    size_t n;
    if (json_find_valid(inv, len, key, &v, &n) != 0 || *v == 'n') return xstrdup("");
    if (*v != '"') {
        *bad = true;
        return xstrdup("");
    }
    wm_buf b = {0};
    json_decode_string(v, n, &b);
    if (!b.data && !b.failed) wm_buf_append(&b, "", 0);
    if (b.failed) {
        wm_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static void ctx_cleanup(wm_ctx *ctx) {
    for (int i = 0; i < ctx->nreaders; i++) {
        wm_reader *r = ctx->readers[i];
        if (r) {
            r->index = -1;
            reader_destroy(r);
        }
    }
    for (int i = 0; i < ctx->nwriters; i++) {
        wm_writer *w = ctx->writers[i];
        if (w) {
            w->index = -1;
            writer_destroy(w);
        }
    }
    for (int i = 0; i < ctx->nkeep; i++) free(ctx->keep[i]);
    free(ctx->readers);
    free(ctx->writers);
    free(ctx->keep);
    free((void *)ctx->kind);
    free((void *)ctx->name);
    free((void *)ctx->run_id);
    free((void *)ctx->step_key);
    free((void *)ctx->partition_key);
    free((void *)ctx->mapping_key);
    free(ctx->window_start);
    free(ctx->window_end);
    free(ctx->partition_keys);
    free(ctx->check_asset);
    for (int i = 0; i < ctx->ninput_names; i++) free(ctx->input_names[i]);
    free(ctx->input_names);
    free(ctx->config);
}

/* Parses an RFC 3339 time, "2026-01-15T00:00:00+01:00" or "...Z" with optional fractional
 * seconds (which are dropped), into seconds since the Unix epoch. */
static bool parse_rfc3339(const char *s, int64_t *out) {
    int v[6];
    static const char seps[] = "--T::";
    static const int widths[] = {4, 2, 2, 2, 2, 2};
    const char *p = s;
    for (int f = 0; f < 6; f++) {
        v[f] = 0;
        for (int k = 0; k < widths[f]; k++, p++) {
            if (*p < '0' || *p > '9') return false;
            v[f] = v[f] * 10 + (*p - '0');
        }
        if (f < 5 && *p++ != seps[f]) return false;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return false;
        while (*p >= '0' && *p <= '9') p++;
    }
    int offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, h = 0, m = 0;
        for (int k = 0; k < 2; k++, p++) {
            if (*p < '0' || *p > '9') return false;
            h = h * 10 + (*p - '0');
        }
        if (*p++ != ':') return false;
        for (int k = 0; k < 2; k++, p++) {
            if (*p < '0' || *p > '9') return false;
            m = m * 10 + (*p - '0');
        }
        if (h > 23 || m > 59) return false;
        offset = sign * (h * 3600 + m * 60);
    } else {
        return false;
    }
    if (*p) return false;
    int y = v[0], mo = v[1], d = v[2];
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || v[3] > 23 || v[4] > 59 || v[5] > 59) return false;
    /* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
    int64_t yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = days * 86400 + v[3] * 3600 + v[4] * 60 + v[5] - offset;
    return true;
}

/* Reads the invocation's partition_window into ctx: nothing for null or an absent field, else
 * {"start": RFC 3339, "end": RFC 3339} with end after start. Returns false when it is malformed,
 * with the message in *why, or when out of memory (*why NULL). */
static bool inv_window(wm_ctx *ctx, const char *inv, size_t len, const char **why) {
    const char *v;
    size_t vn;
    *why = NULL;
    if (json_find_valid(inv, len, "partition_window", &v, &vn) != 0 || *v == 'n') return true;
    *why = "must be null or {\"start\": RFC 3339, \"end\": RFC 3339}";
    if (*v != '{') return false;
    bool bad = false;
    ctx->window_start = inv_string(v, vn, "start", &bad);
    ctx->window_end = inv_string(v, vn, "end", &bad);
    if (!ctx->window_start || !ctx->window_end) {
        *why = NULL;
        return false;
    }
    if (!bad && parse_rfc3339(ctx->window_start, &ctx->window_start_s) && parse_rfc3339(ctx->window_end, &ctx->window_end_s)) {
        if (ctx->window_end_s > ctx->window_start_s) return true;
        *why = "ends at or before its start";
    }
    free(ctx->window_start);
    free(ctx->window_end);
    ctx->window_start = ctx->window_end = NULL;
    return false;
}

/* Reads the invocation's inputs ([{"name", "format", "asset"}...]) into ctx: their names, and a
 * check step's asset. Returns false when out of memory or when the list is malformed. */
static bool inv_inputs(wm_ctx *ctx, const char *inv, size_t len) {
    const char *v;
    size_t vn;
    if (json_find_valid(inv, len, "inputs", &v, &vn) != 0 || *v == 'n') return true;
    if (*v != '[') return false;
    jscan j = {v + 1, v + vn, 0};
    for (;;) {
        js_ws(&j);
        if (j.p >= j.end || *j.p == ']') return true;
        const char *es = j.p;
        if (!js_value(&j)) return false;
        bool bad = false;
        char *name = inv_string(es, (size_t)(j.p - es), "name", &bad);
        char *asset = name ? inv_string(es, (size_t)(j.p - es), "asset", &bad) : NULL;
        if (!name || !asset || bad || *es != '{' || !grow_ptrs(&ctx->input_names, &ctx->cap_input_names, ctx->ninput_names)) {
            free(name);
            free(asset);
            return false;
        }
        ctx->input_names[ctx->ninput_names++] = name;
        if (strcmp(name, "asset") == 0 && *asset) {
            free(ctx->check_asset);
            ctx->check_asset = asset;
        } else {
            free(asset);
        }
        js_ws(&j);
        if (j.p < j.end && *j.p == ',') j.p++;
    }
}

/* Runs the step the invocation names, with the definitions of r. */
static int32_t run_step(wm_registry *r) {
    int32_t n = wm__invocation_len();
    if (n < 0) {
        char *t = host_error_text("invocation_len", n);
        wm_error(NULL, "wasmorch: reading the invocation: %s", t ? t : "invocation_len failed");
        free(t);
        return WM_FAIL;
    }
    char *inv = malloc((size_t)n + 1);
    if (!inv) return wm_error(NULL, "wasmorch: out of memory reading a %d-byte invocation", (int)n);
    int32_t got = wm__invocation_read(inv, (uint32_t)n);
    if (got < 0 || got > n) {
        char *t = host_error_text("invocation_read", got);
        wm_error(NULL, "wasmorch: reading the invocation: %s", t ? t : "invocation_read failed");
        free(t);
        free(inv);
        return WM_FAIL;
    }
    size_t len = (size_t)got;
    inv[len] = 0;
    if (!wm_json_valid(inv, len) || inv[strspn(inv, " \t\r\n")] != '{') {
        free(inv);
        return wm_error(NULL, "wasmorch: the invocation is not a JSON object");
    }

    wm_ctx ctx = {0};
    bool bad = false;
    ctx.kind = inv_string(inv, len, "kind", &bad);
    ctx.name = inv_string(inv, len, "name", &bad);
    ctx.run_id = inv_string(inv, len, "run_id", &bad);
    ctx.step_key = inv_string(inv, len, "step_key", &bad);
    ctx.partition_key = inv_string(inv, len, "partition_key", &bad);
    ctx.mapping_key = inv_string(inv, len, "mapping_key", &bad);
    bool inputs_ok = inv_inputs(&ctx, inv, len);
    const char *window_why = NULL;
    bool window_ok = inv_window(&ctx, inv, len, &window_why);
    char *window_text = NULL;
    if (!window_ok && window_why) {
        const char *wv = "";
        size_t wn = 0;
        json_find_valid(inv, len, "partition_window", &wv, &wn);
        window_text = xstrndup(wv, wn > 120 ? 120 : wn);
    }
    ctx.attempt = 1;
    const char *v;
    size_t vn;
    int64_t attempt;
    if (json_find_valid(inv, len, "attempt", &v, &vn) == 0 && json_int(v, vn, &attempt) && attempt > 0 && attempt <= INT_MAX)
        ctx.attempt = (int)attempt;
    if (json_find_valid(inv, len, "config", &v, &vn) == 0 && *v == '{') ctx.config = xstrndup(v, vn), ctx.config_len = vn;
    else ctx.config = xstrdup("{}"), ctx.config_len = 2;
    free(inv);

    int32_t status = WM_FAIL;
    if (!ctx.kind || !ctx.name || !ctx.run_id || !ctx.step_key || !ctx.partition_key || !ctx.mapping_key || !ctx.config) {
        wm_error(NULL, "wasmorch: out of memory reading the invocation");
        goto done;
    }
    if (bad) {
        wm_error(NULL, "wasmorch: the invocation's kind, name, run_id, step_key, partition_key and mapping_key must be strings");
        goto done;
    }
    if (!inputs_ok) {
        wm_error(NULL, "wasmorch: the invocation's inputs must be a list of objects with string names (or out of memory)");
        goto done;
    }
    if (!window_ok) {
        if (window_why)
            wm_error(NULL, "wasmorch: the invocation's partition_window %s, got %s", window_why, window_text ? window_text : "");
        else
            wm_error(NULL, "wasmorch: out of memory reading the invocation");
        goto done;
    }
    enum def_kind kind = DEF_ASSET;
    bool known = true;
    if (strcmp(ctx.kind, "op") == 0) kind = DEF_OP;
    else if (strcmp(ctx.kind, "check") == 0) kind = DEF_CHECK;
    else if (strcmp(ctx.kind, "asset") != 0) known = false;
    if (kind != DEF_CHECK) { /* an asset may have an input called "asset" too */
        free(ctx.check_asset);
        ctx.check_asset = NULL;
    }
    if (!known) {
        wm_error(NULL, "wasmorch: the invocation is for %s \"%s\", but the C SDK runs assets, ops and checks only", ctx.kind, ctx.name);
        goto done;
    }
    /* A check is found by name and by the asset it evaluates (its input "asset"); a host that
     * does not name the asset gets the first check of that name. */
    const wm_def *def = NULL;
    for (int i = 0; i < r->n && !def; i++)
        if (r->defs[i].kind == kind && strcmp(r->defs[i].name, ctx.name) == 0 &&
            (kind != DEF_CHECK || !ctx.check_asset || strcmp(r->defs[i].asset, ctx.check_asset) == 0))
            def = &r->defs[i];
    if (!def) {
        wm_buf names = {0};
        for (int i = 0; i < r->n; i++)
            if (r->defs[i].kind == kind) {
                if (names.len) wm_buf_puts(&names, ", ");
                wm_buf_puts(&names, r->defs[i].name);
                if (kind == DEF_CHECK) wm_buf_printf(&names, " on %s", r->defs[i].asset);
            }
        if (kind == DEF_CHECK && ctx.check_asset)
            wm_error(NULL, "wasmorch: this module defines no check \"%s\" on asset \"%s\" (it defines: %s)", ctx.name, ctx.check_asset,
                     names.data ? names.data : "none");
        else
            wm_error(NULL, "wasmorch: this module defines no %s \"%s\" (it defines: %s)", ctx.kind, ctx.name, names.data ? names.data : "none");
        wm_buf_free(&names);
        goto done;
    }
    if (kind == DEF_CHECK && !ctx.check_asset && !(ctx.check_asset = xstrdup(def->asset))) {
        wm_error(NULL, "wasmorch: out of memory reading the invocation");
        goto done;
    }

    int rc = def->fn(&ctx);
    if (rc == WM_OK) {
        /* Finish the outputs the function left open (Arrow needs its end-of-stream). */
        for (int i = 0; i < ctx.nwriters; i++)
            if (ctx.writers[i]) wm_writer_close((wm_writer *)ctx.writers[i]);
        status = ctx.hard_failed ? WM_FAIL : WM_OK;
    } else {
        if (!ctx.error_recorded && rc == WM_RETRY)
            wm_error(NULL, "%s \"%s\" asked to be retried without an error message (use wm_retry)", ctx.kind, ctx.name);
        else if (!ctx.error_recorded)
            wm_error(NULL, "%s \"%s\" failed without an error message (its function returned %d)", ctx.kind, ctx.name, rc);
        status = rc == WM_RETRY ? WM_RETRY : WM_FAIL;
    }
done:
    free(window_text);
    ctx_cleanup(&ctx);
    return status;
}

int32_t wasmorch_run(void) {
    wm_registry r = {0};
    wasmorch_register(&r);
    int32_t status;
    char *problems = (r.oom || r.nproblems || r.n == 0) ? registry_problems(&r) : NULL;
    if (problems) {
        error_set_str(problems);
        free(problems);
        status = WM_FAIL;
    } else {
        status = run_step(&r);
    }
    registry_free(&r);
    return status;
}
