/*
 * wasmorch.h - C SDK for wasmorch guest modules (guest ABI version 1, see abi/ABI.md).
 *
 * A module built with this SDK defines one function, wasmorch_register, that registers its assets,
 * ops, asset checks, graphs and jobs. The SDK implements the module's exports (wasmorch_abi_version, wasmorch_manifest,
 * wasmorch_run): it builds the manifest from the registrations, and for each step it reads the
 * invocation, calls the registered function with a wm_ctx, and finishes the outputs.
 *
 *     #include "wasmorch.h"
 *
 *     static int cleaned_orders(wm_ctx *ctx) {
 *         wm_reader *in;
 *         if (wm_input_open(ctx, "raw_orders", &in)) return 1;
 *         ...
 *         return 0;
 *     }
 *
 *     void wasmorch_register(wm_registry *r) {
 *         wm_asset(r, "cleaned_orders", cleaned_orders, &(wm_asset_opts){
 *             .ins = (const char *[]){"raw_orders", NULL}, .group = "orders"});
 *     }
 *
 * Build (WASI reactor; the SDK is one .c file):
 *
 *     clang --target=wasm32-wasi -O2 -mexec-model=reactor -Isdk-c -o m.wasm m.c sdk-c/wasmorch.c
 *
 * Conventions used throughout:
 *  - Functions returning int return 0 on success and nonzero on failure. On failure the SDK has
 *    already recorded a message naming what went wrong (the input, output, column or field) as
 *    the step's error, so an asset function can simply `return 1`. wm_reader_next is the one
 *    exception: it returns 1 (a batch), 0 (end of stream) or -1 (error).
 *  - An error of an input stream, an output or a batch builder fails the step even when the
 *    function then returns WM_OK, so a broken stream cannot pass for a short table.
 *  - Lists in option structs are terminated by a NULL pointer or an element whose first member
 *    is NULL ({0}); counts are used only in wm_schema, which is also what decoded data carries.
 *  - Memory handed out by the SDK belongs to the SDK unless a function says the caller frees it.
 *    Everything a step allocated is released when the step ends; a module instance runs one step.
 *  - Tables are Arrow IPC streams, decoded and encoded by the SDK itself; no Arrow library is
 *    needed. Supported column types are listed at wm_type.
 */
#ifndef WASMORCH_H
#define WASMORCH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The guest ABI version this SDK implements; wasmorch_abi_version returns it. */
#define WM_ABI_VERSION 1
/** SDK identity reported in the manifest's "sdk" object. */
#define WM_SDK_NAME "wasmorch-c"
#define WM_SDK_VERSION "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define WM_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define WM_PRINTF(fmt_index, first_arg)
#endif

#ifdef __cplusplus
#define WM_NORETURN [[noreturn]]
#else
#define WM_NORETURN _Noreturn
#endif

typedef struct wm_registry wm_registry; /**< what wasmorch_register registers into */
typedef struct wm_ctx wm_ctx;           /**< one step: identity, config, inputs, outputs */

/* ------------------------------------------------------------------------------------------ */
/* Status values                                                                              */
/* ------------------------------------------------------------------------------------------ */

/** Values an asset, op or check function returns (they become the wasmorch_run status). */
enum {
    WM_OK = 0,    /**< success: the outputs are committed */
    WM_FAIL = 1,  /**< failure; the message is the last wm_error (or an SDK error) */
    WM_RETRY = 2, /**< failure, and the step asks to be retried by its retry policy (see wm_retry) */
};

/**
 * The host's status codes (ABI.md section 3). wm_resource_call returns them when the host refuses
 * a call, so a caller can tell, say, a missing file (WM_ERR_NOT_FOUND) from a denied one.
 */
enum {
    WM_ERR_BOUNDS = -1,      /**< a range outside guest memory; the step is failed */
    WM_ERR_NOT_FOUND = -2,   /**< no such input, output, resource, file or key */
    WM_ERR_INVALID = -3,     /**< a malformed argument or request */
    WM_ERR_STATE = -4,       /**< the call is not allowed now */
    WM_ERR_LIMIT = -5,       /**< a limit was reached; the step is failed */
    WM_ERR_DENIED = -6,      /**< the resource is not granted, or the request is outside the grant */
    WM_ERR_IO = -7,          /**< the host failed to store or load data */
    WM_ERR_UNSUPPORTED = -8, /**< the host knows the call but not this use of it */
};

/** Severities of an asset check's failure (ABI.md 4.5, check_result). */
typedef enum wm_severity {
    WM_SEVERITY_WARN = 0,  /**< recorded; never blocks anything */
    WM_SEVERITY_ERROR = 1, /**< recorded; a blocking check's ERROR failure stops the steps downstream */
} wm_severity;

/** Value formats (ABI.md section 5). */
typedef enum wm_format {
    WM_ARROW = 1, /**< Arrow IPC stream */
    WM_JSON = 2,  /**< one UTF-8 JSON document */
    WM_BYTES = 3, /**< opaque bytes */
} wm_format;

/** Log levels (ABI.md section 4.6). */
typedef enum wm_level {
    WM_DEBUG = 0,
    WM_INFO = 1,
    WM_WARNING = 2,
    WM_ERROR = 3,
} wm_level;

/* ------------------------------------------------------------------------------------------ */
/* Arrow schemas                                                                              */
/* ------------------------------------------------------------------------------------------ */

/**
 * Column types the SDK reads and writes. The ABI's names (ABI.md 7.5) are in brackets. Other
 * Arrow types in an input stream make wm_input_open fail with a message naming the column.
 */
typedef enum wm_type {
    WM_TYPE_ANY = 0, /**< only as a wildcard argument of wm_batch_column */
    WM_BOOL,         /**< [bool] bit-packed; read with wm_column_bool */
    WM_INT8,         /**< [int8] */
    WM_INT16,        /**< [int16] */
    WM_INT32,        /**< [int32] */
    WM_INT64,        /**< [int64] */
    WM_UINT8,        /**< [uint8] */
    WM_UINT16,       /**< [uint16] */
    WM_UINT32,       /**< [uint32] */
    WM_UINT64,       /**< [uint64] */
    WM_FLOAT32,      /**< [float32] */
    WM_FLOAT64,      /**< [float64] */
    WM_UTF8,         /**< [utf8] 32-bit offsets */
    WM_BINARY,       /**< [binary] 32-bit offsets */
    WM_DATE32,       /**< [date32] days since 1970-01-01, int32 */
    WM_TIMESTAMP,    /**< [timestamp[unit(, tz=ZONE)]] int64 since the epoch, see wm_field.unit */
} wm_type;

/** Timestamp units; the numbers are Arrow's. */
typedef enum wm_time_unit {
    WM_SECOND = 0,
    WM_MILLISECOND = 1,
    WM_MICROSECOND = 2,
    WM_NANOSECOND = 3,
} wm_time_unit;

/** A key/value pair of strings: tags, schema and field metadata. */
typedef struct wm_kv {
    const char *key;
    const char *value;
} wm_kv;

/**
 * One column of a schema. Zero-initialised members take Arrow's defaults, so
 * `{"id", WM_INT64}` is a nullable int64 column and
 * `{"ts", WM_TIMESTAMP, .unit = WM_MICROSECOND, .timezone = "UTC"}` is timestamp[us, tz=UTC].
 */
typedef struct wm_field {
    const char *name;
    wm_type type;
    bool not_null;          /**< true: the column is declared non-nullable */
    wm_time_unit unit;      /**< WM_TIMESTAMP only */
    const char *timezone;   /**< WM_TIMESTAMP only; NULL or "" for none */
    const wm_kv *metadata;  /**< field custom metadata, num_metadata pairs */
    int num_metadata;
} wm_field;

/** An Arrow schema: num_fields fields and num_metadata schema metadata pairs. */
typedef struct wm_schema {
    const wm_field *fields;
    int num_fields;
    const wm_kv *metadata;
    int num_metadata;
} wm_schema;

/**
 * Initializer of a wm_schema from an array of fields, usable for static and automatic variables:
 * `static const wm_schema schema = WM_SCHEMA(my_fields);`.
 */
#define WM_SCHEMA(field_array) {(field_array), (int)(sizeof(field_array) / sizeof((field_array)[0])), NULL, 0}

/** Index of the column called name, or -1. */
int wm_schema_index(const wm_schema *schema, const char *name);

/** The ABI name of a type, such as "int64" or "timestamp" (without unit; see wm_field_type_name). */
const char *wm_type_name(wm_type type);

/** Writes the ABI type name of f, such as "timestamp[us, tz=UTC]", to buf; returns buf. */
const char *wm_field_type_name(const wm_field *f, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Record batches and columns                                                                 */
/* ------------------------------------------------------------------------------------------ */

/**
 * One column of a record batch, read-only. Row i of a column is null when validity is non-NULL
 * and bit i of validity is 0. Use the accessors below rather than the raw pointers when you can:
 * they check the type, and the row-level ones check the row number.
 */
typedef struct wm_column {
    const wm_field *field;   /**< the column's name and type */
    int64_t length;          /**< rows (equal to the batch's num_rows) */
    int64_t null_count;      /**< null rows */
    const uint8_t *validity; /**< validity bitmap (LSB first), or NULL when nothing is null */
    const void *values;      /**< fixed-width values, bool bits, or int32 offsets (length+1) */
    const uint8_t *data;     /**< utf8/binary bytes, indexed by the offsets */
    int64_t data_len;        /**< bytes in data */
} wm_column;

/** A record batch: num_rows rows of num_columns columns, in schema order. */
typedef struct wm_batch {
    const wm_schema *schema;
    int64_t num_rows;
    int num_columns;
    const wm_column *columns;
} wm_batch;

/**
 * Returns the column called name, checking its type unless type is WM_TYPE_ANY. When there is
 * no such column, or it has another type, it records an error naming the column (with the
 * columns it found, or both types) and returns NULL.
 */
const wm_column *wm_batch_column(wm_ctx *ctx, const wm_batch *batch, const char *name, wm_type type);

/** True when row i is null. Panics (wm_panic) when i is outside [0, length). */
bool wm_column_is_null(const wm_column *col, int64_t i);

/*
 * Typed views of a column's values, indexed by row. Each returns NULL when the column has another
 * type (date32 and timestamp columns have their own functions). Values of null rows are
 * unspecified. The pointers are aligned for their type and valid as long as the batch is.
 */
const int8_t *wm_column_i8(const wm_column *col);
const int16_t *wm_column_i16(const wm_column *col);
const int32_t *wm_column_i32(const wm_column *col);
const int64_t *wm_column_i64(const wm_column *col);
const uint8_t *wm_column_u8(const wm_column *col);
const uint16_t *wm_column_u16(const wm_column *col);
const uint32_t *wm_column_u32(const wm_column *col);
const uint64_t *wm_column_u64(const wm_column *col);
const float *wm_column_f32(const wm_column *col);
const double *wm_column_f64(const wm_column *col);
const int32_t *wm_column_date32(const wm_column *col);   /**< days since the epoch */
const int64_t *wm_column_timestamp(const wm_column *col); /**< in the field's unit */

/** The bool value of row i. Panics when the column is not bool or i is out of range. */
bool wm_column_bool(const wm_column *col, int64_t i);

/**
 * The bytes of row i of a utf8 or binary column, and their count in *len. The bytes are not
 * NUL-terminated. Panics when the column is not utf8/binary or i is out of range. The SDK does not
 * check that utf8 values are valid UTF-8.
 */
const char *wm_column_str(const wm_column *col, int64_t i, size_t *len);

/** Frees a batch made by wm_batch_builder_finish; batches from a reader belong to the reader. */
void wm_batch_free(wm_batch *batch);

/* ------------------------------------------------------------------------------------------ */
/* Registration                                                                               */
/* ------------------------------------------------------------------------------------------ */

/**
 * An asset, op or check function. Return WM_OK, WM_FAIL (after wm_error) or WM_RETRY (with
 * wm_retry).
 */
typedef int (*wm_fn)(wm_ctx *ctx);

/**
 * A named input. For assets, asset is the upstream asset key (default: name). format is the
 * format the function wants (0: for an asset, the upstream's output format; for an op, arrow).
 * optional applies to ops only.
 */
typedef struct wm_input {
    const char *name;
    const char *asset;
    wm_format format;
    bool optional;
    /** Assets only: how the input's partitions follow from the step's partition, a JSON object
     *  (ABI.md 7.7) whose "type" is identity, time_window, all, static or multi, such as
     *  "{\"type\": \"all\"}" or "{\"type\": \"time_window\", \"start_offset\": -1, \"end_offset\": -1}".
     *  NULL: the host's default (identity between equal definitions, all when either side is
     *  unpartitioned, time_window between time definitions). An Arrow input that reads several
     *  upstream partitions arrives as one stream in partition order (see
     *  wm_reader_partition_key); a JSON input, as one object of partition key to value. */
    const char *partition_mapping;
} wm_input;

/**
 * A named op output; format 0 means arrow. optional: the op may leave it unwritten. dynamic marks
 * a fan-out output (ABI.md 7.2), written once per mapping key with wm_output_open_mapped.
 */
typedef struct wm_output {
    const char *name;
    wm_format format;
    bool optional;
    bool dynamic;
} wm_output;

/** Options of wm_asset. Every member may be left zero. */
typedef struct wm_asset_opts {
    /** Upstream asset keys, NULL-terminated. Each becomes an input named after the key's last
     *  component ("orders/raw" gives the input "raw"). */
    const char *const *ins;
    /** Inputs with their own names, terminated by {NULL}; declared after those of ins. */
    const wm_input *inputs;
    /** Upstream assets that must run first but are not loaded, NULL-terminated. */
    const char *const *deps;
    const char *group;       /**< default "default" */
    const char *description;
    const wm_kv *tags;       /**< terminated by {NULL} */
    wm_format format;        /**< the output's format; 0 means arrow */
    const wm_schema *schema; /**< the declared Arrow schema of the output; the host checks it */
    const char *config_schema; /**< JSON Schema (an object) of the run config */
    /** Partitions definition, a JSON object (ABI.md 7.6) whose "type" is static, time, dynamic or
     *  multi, such as "{\"type\": \"time\", \"schedule\": \"daily\", \"start\": \"2026-01-01\"}". The
     *  SDK checks the type; the host checks the rest when it loads the module. */
    const char *partitions;
    const char *const *resources; /**< resource keys, NULL-terminated */
    const char *io_manager;
    const char *code_version;
    /** Retry policy JSON (ABI.md 7.1), such as
     *  "{\"max_retries\": 3, \"delay_seconds\": 1.5, \"backoff\": \"exponential\"}". */
    const char *retry_policy;
} wm_asset_opts;

/** Options of wm_op. */
typedef struct wm_op_opts {
    const wm_input *inputs;   /**< terminated by {NULL}; asset is ignored */
    const wm_output *outputs; /**< terminated by {NULL} */
    const char *description;
    const wm_kv *tags;
    const char *config_schema;
    const char *const *resources;
    const char *retry_policy; /**< as in wm_asset_opts */
} wm_op_opts;

/** Options of wm_check. Every member may be left zero. */
typedef struct wm_check_opts {
    const char *description;
    /** true: a failed evaluation of severity WM_SEVERITY_ERROR stops the steps downstream of the
     *  asset (and fails the asset's step). */
    bool blocking;
    const char *config_schema;    /**< JSON Schema (an object) of the check's run config */
    const char *const *resources; /**< resource keys, NULL-terminated */
} wm_check_opts;

/**
 * Registers the asset key, computed by fn; opts may be NULL. The SDK copies everything it needs,
 * so opts may point to compound literals. A problem (an invalid key or name, a duplicate, a
 * config schema that is not a JSON object) is recorded with the asset's key, and then
 * wasmorch_manifest fails with every problem, so the host refuses the module at load time.
 */
void wm_asset(wm_registry *r, const char *key, wm_fn fn, const wm_asset_opts *opts);

/** Registers the op name with named inputs and outputs; opts may be NULL. */
void wm_op(wm_registry *r, const char *name, wm_fn fn, const wm_op_opts *opts);

/**
 * Registers the asset check name on the asset key asset (ABI.md 7.3); opts may be NULL. The host
 * runs fn right after the asset materializes, in its own step: fn reads the asset's value as the
 * input "asset" (wm_input_open or wm_input_read_all), reports its verdict with wm_check_result
 * and may attach metadata with wm_metadata_json. A check name may be reused on another asset;
 * the pair must be unique. The asset may be defined in another module.
 *
 *     static int is_ok(wm_ctx *ctx) {
 *         char *v; size_t n;
 *         if (wm_input_read_all(ctx, "asset", &v, &n, NULL)) return WM_FAIL;
 *         bool ok = n == 2 && memcmp(v, "ok", 2) == 0;
 *         free(v);
 *         return wm_check_result(ctx, ok, WM_SEVERITY_ERROR);
 *     }
 *     ...
 *     wm_check(r, "is_ok", "checked", is_ok, &(wm_check_opts){.blocking = true});
 */
void wm_check(wm_registry *r, const char *name, const char *asset, wm_fn fn, const wm_check_opts *opts);

/**
 * Where one input of a graph node comes from (ABI.md 7.8): output `output` of the node `node` of
 * the same graph, or the graph's own input `graph_input` (then leave node and output NULL).
 * collect (node outputs only) gathers every mapped value of a dynamic output, or of a node mapped
 * over one, into this one input: Arrow tables concatenated in mapping-key order, JSON values as
 * an array. A list of wires is terminated by {NULL}.
 */
typedef struct wm_wire {
    const char *input; /**< the node's input name */
    const char *node;
    const char *output;
    bool collect;
    const char *graph_input;
} wm_wire;

/**
 * One node of a graph: a use of op, which names an op or graph of this module, or MODULE:NAME for
 * one of another module of the workspace. A list of nodes is terminated by {NULL}.
 */
typedef struct wm_node {
    const char *name;
    const char *op;
    const wm_wire *wires;   /**< the node's inputs, terminated by {NULL} */
    const char *config;     /**< default config, a JSON object, which run config merges over key by key */
} wm_node;

/** An output of a graph: output `output` of the node `node`, for graphs nested in others. */
typedef struct wm_graph_output {
    const char *name;
    const char *node;
    const char *output;
} wm_graph_output;

/** Options of wm_graph. Only .nodes is required. */
typedef struct wm_graph_opts {
    const char *description;
    /** The graph's input names, NULL-terminated. A job running the graph gives their values in
     *  its run config ({"inputs": {"NAME": {"value": ...}}}); a graph nested in another, its node's wires. */
    const char *const *inputs;
    const wm_node *nodes;            /**< at least one, terminated by {NULL} */
    const wm_graph_output *outputs;  /**< terminated by {NULL} */
} wm_graph_opts;

/** Options of wm_job. Give exactly one of .graph and .selection. */
typedef struct wm_job_opts {
    const char *description;
    const char *graph;     /**< the graph to run: a graph of this module, or MODULE:NAME */
    const char *selection; /**< or an asset selection, in the CLI's syntax ("group:orders", "+report") */
    const wm_kv *tags;     /**< attached to each run of the job; terminated by {NULL} */
    /** Default run config, a JSON object in Dagster's shape:
     *  {"ops": {"NODE": {"config": {...}}}, "inputs": {"NAME": {"value": ...}}}. */
    const char *config;
} wm_job_opts;

/**
 * Registers the graph name (ABI.md 7.8): ops, and other graphs, wired into named nodes. A job runs
 * it (wm_job). Nothing in it is a function of this module, so it can wire ops of other modules too.
 *
 *     wm_graph(r, "numbers", &(wm_graph_opts){
 *         .inputs = (const char *[]){"ns", NULL},
 *         .nodes = (const wm_node[]){
 *             {.name = "fan", .op = "fan_out", .wires = (const wm_wire[]){{.input = "in", .graph_input = "ns"}, {0}}},
 *             {.name = "double", .op = "mapped", .wires = (const wm_wire[]){{.input = "n", .node = "fan", .output = "chunks"}, {0}}},
 *             {.name = "total", .op = "stats:sum", .config = "{\"precision\": 2}",
 *              .wires = (const wm_wire[]){{.input = "values", .node = "double", .output = "result", .collect = true}, {0}}},
 *             {0}},
 *         .outputs = (const wm_graph_output[]){{.name = "total", .node = "total", .output = "result"}, {0}}});
 *
 * A node that reads a dynamic output, or the output of a node mapped over one, runs once per
 * mapping key. The SDK copies what it needs, so opts may point to compound literals. Problems the
 * module can see alone (invalid or duplicate names, a wire from a node or graph input the graph
 * does not have, a node config that is not a JSON object) fail wasmorch_manifest, like every
 * registration problem; whether the ops exist and their inputs, outputs and formats fit is checked
 * by the host when it loads the workspace.
 */
void wm_graph(wm_registry *r, const char *name, const wm_graph_opts *opts);

/**
 * Registers the job name (ABI.md 7.9): a graph to run (.graph) or an asset selection to
 * materialize (.selection), exactly one of them, with default run config and tags:
 *
 *     wm_job(r, "numbers_job", &(wm_job_opts){.graph = "numbers", .tags = (const wm_kv[]){{"team", "data"}, {0}},
 *                                              .config = "{\"inputs\": {\"ns\": {\"value\": [1, 2]}}}"});
 *     wm_job(r, "orders_job", &(wm_job_opts){.selection = "group:orders"});
 *
 * Problems (an invalid or duplicate name, both or neither of .graph and .selection, config that is
 * not a JSON object) fail wasmorch_manifest, like every registration problem.
 */
void wm_job(wm_registry *r, const char *name, const wm_job_opts *opts);

/**
 * Defined by the module: registers its assets, ops, checks, graphs and jobs. The SDK calls it at
 * the start of wasmorch_manifest and of wasmorch_run.
 */
extern void wasmorch_register(wm_registry *r);

/* ------------------------------------------------------------------------------------------ */
/* The step context                                                                           */
/* ------------------------------------------------------------------------------------------ */

const char *wm_kind(wm_ctx *ctx);          /**< "asset", "op" or "check" */
const char *wm_name(wm_ctx *ctx);          /**< the asset key, op name or check name */
const char *wm_run_id(wm_ctx *ctx);
const char *wm_step_key(wm_ctx *ctx);
const char *wm_partition_key(wm_ctx *ctx); /**< "" when the step is not partitioned */
int wm_attempt(wm_ctx *ctx);               /**< 1 for the first attempt */
const char *wm_mapping_key(wm_ctx *ctx);   /**< a mapped op step's dynamic mapping key, or "" */
const char *wm_check_asset(wm_ctx *ctx);   /**< the asset key a check step evaluates, or "" */

/**
 * The dimension keys of the step's partition key, split on '|' (ABI.md 7.6): for "2026-01-15|us"
 * it returns 2, with (*keys)[0] "2026-01-15" and (*keys)[1] "us". A one-dimensional key gives 1,
 * and a step that is not partitioned 0. *keys (if keys is non-NULL) receives a NULL-terminated
 * array of NUL-terminated strings that live until the step ends. Returns -1, with an error
 * recorded, when out of memory.
 */
int wm_partition_keys(wm_ctx *ctx, const char *const **keys);

/**
 * The time window [start, end) of the step's partition (the invocation's partition_window), as
 * RFC 3339 strings in the partitions' time zone, such as "2026-01-15T00:00:00+01:00" and
 * "2026-01-16T00:00:00+01:00". Returns true with *start and *end set (valid until the step ends)
 * for a time partition, or a multi-dimensional one with a time dimension; otherwise returns false
 * and sets both to "".
 */
bool wm_partition_window(wm_ctx *ctx, const char **start, const char **end);

/**
 * The same window in seconds since the Unix epoch, to compare with WM_TIMESTAMP columns (scaled
 * to their unit); false, with both 0, when the step has no window.
 */
bool wm_partition_window_unix(wm_ctx *ctx, int64_t *start, int64_t *end);

/**
 * True when the step has an input called name: the invocation lists it. An op's optional input
 * that nothing feeds is not listed, so test for it before opening it.
 */
bool wm_has_input(wm_ctx *ctx, const char *name);

/**
 * Records msg (printf-style) as the step's failure message, through the error_set host function,
 * unchanged. Returns WM_FAIL, so `return wm_error(ctx, "bad row %d", i);` fails the step.
 */
int wm_error(wm_ctx *ctx, const char *fmt, ...) WM_PRINTF(2, 3);
int wm_verror(wm_ctx *ctx, const char *fmt, va_list ap);

/**
 * Records msg (printf-style) as the step's failure message, like wm_error, and returns WM_RETRY:
 * `return wm_retry(ctx, "warehouse busy");` fails this attempt and asks the step's retry_policy
 * (ABI.md 7.1) for another. Without a policy, or once max_retries is used up, the step fails with
 * the message. wm_attempt tells which attempt is running.
 */
int wm_retry(wm_ctx *ctx, const char *fmt, ...) WM_PRINTF(2, 3);

/**
 * Reports an asset check's verdict (check_result): passed, or failed with severity
 * WM_SEVERITY_WARN or WM_SEVERITY_ERROR (the severity is ignored when passed). Returns WM_OK, so
 * `return wm_check_result(ctx, ok, WM_SEVERITY_ERROR);` ends a check function. A check function
 * that returns WM_OK without calling it has passed; one that returns WM_FAIL is recorded as a
 * failed ERROR evaluation with its message. Outside a check step, or with another severity, it
 * records an error and returns WM_FAIL. Calling it again replaces the verdict.
 */
int wm_check_result(wm_ctx *ctx, bool passed, wm_severity severity);

/** Logs one message (printf-style) at level. Returns 0, or nonzero when the host refused it
 *  (for example past the step's log limit); a refused log does not fail the step. */
int wm_log(wm_ctx *ctx, wm_level level, const char *fmt, ...) WM_PRINTF(3, 4);
int wm_vlog(wm_ctx *ctx, wm_level level, const char *fmt, va_list ap);

/**
 * Merges the JSON object json into the step's result metadata (metadata_add): the materialization
 * of an asset's result, or a check's evaluation. Values are JSON numbers, strings, booleans, arrays or objects; the host's
 * own names (rows, bytes, schema, format, duration_ms, module_digest) are refused.
 */
int wm_metadata_json(wm_ctx *ctx, const char *json);

/**
 * Prints "panic: <msg>" on stderr and traps, which fails the step; the host shows the line.
 * Use it for bugs, not for expected failures (use wm_error for those).
 */
WM_NORETURN void wm_panic(const char *fmt, ...) WM_PRINTF(1, 2);

/* ------------------------------------------------------------------------------------------ */
/* Config                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** The step's run config as JSON text (validated by the host, defaults applied); "{}" when there
 *  is none. The text is NUL-terminated; *len (if len is non-NULL) receives its length. */
const char *wm_config_json(wm_ctx *ctx, size_t *len);

/** True when the config object has the top-level member key (even if it is null). */
bool wm_config_has(wm_ctx *ctx, const char *key);

/**
 * Reads the top-level config member key. Each returns 0 with the value in *out, or records an
 * error naming the key ("config: missing required field \"name\"", "config: field \"n\" is a
 * string, want an integer") and returns nonzero. Use wm_config_has for optional members.
 * Strings are decoded (escapes resolved), NUL-terminated, and live until the step ends.
 */
int wm_config_get_string(wm_ctx *ctx, const char *key, const char **out);
int wm_config_get_int(wm_ctx *ctx, const char *key, int64_t *out);
int wm_config_get_double(wm_ctx *ctx, const char *key, double *out);
int wm_config_get_bool(wm_ctx *ctx, const char *key, bool *out);

/* ------------------------------------------------------------------------------------------ */
/* Inputs                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** A streaming reader of one Arrow input. */
typedef struct wm_reader wm_reader;

/**
 * Opens the Arrow input name and reads its schema. The reader holds one chunk of the stream at a
 * time (the host sends one record batch per chunk), so tables larger than guest memory stream
 * through. Readers still open are closed when the step ends.
 */
int wm_input_open(wm_ctx *ctx, const char *name, wm_reader **out);

/** The input's schema; valid until wm_reader_close. */
const wm_schema *wm_reader_schema(const wm_reader *r);

/**
 * Reads the next record batch. Returns 1 with *out set, 0 at the end of the stream (*out is NULL),
 * or -1 on an error, which is recorded (a malformed stream names the message, column and buffer).
 * The batch and its columns are valid until the next call or wm_reader_close: the previous batch's
 * memory is reused.
 */
int wm_reader_next(wm_reader *r, const wm_batch **out);

/**
 * The partition key of the upstream partition the last batch came from (ABI.md 4.3): an input
 * that reads several partitions (a partition mapping) arrives as one stream in partition order,
 * each chunk holding batches of one partition. An input of one partition gives that partition's
 * key, and an unpartitioned input "". Call it after wm_reader_next returned 1. The string is
 * valid until the next call; *len (if non-NULL) receives its length. Returns NULL, with an error
 * recorded, when the host refuses.
 *
 *     while ((rc = wm_reader_next(in, &batch)) > 0) {
 *         const char *hour = wm_reader_partition_key(in, NULL);
 *         if (!hour) return WM_FAIL;
 *         ...
 *     }
 */
const char *wm_reader_partition_key(wm_reader *r, size_t *len);

/** Closes the reader and frees its memory. NULL is allowed. */
void wm_reader_close(wm_reader *r);

/**
 * Reads the whole input name (any format, typically json or bytes) into a new buffer, which the
 * caller frees with free(). The buffer has a NUL byte after its *len bytes. *format (if non-NULL)
 * receives the input's format.
 */
int wm_input_read_all(wm_ctx *ctx, const char *name, char **data, size_t *len, wm_format *format);

/* ------------------------------------------------------------------------------------------ */
/* Outputs                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/** A streaming writer of one output. */
typedef struct wm_writer wm_writer;

/**
 * Opens the output name (an asset's output is "result") in format, which must be the declared
 * format. Each output is written once per step. Writers still open when the function returns
 * WM_OK are closed by the SDK; on failure the host discards every output.
 */
int wm_output_open(wm_ctx *ctx, const char *name, wm_format format, wm_writer **out);

/**
 * Opens one value of the dynamic op output name for the mapping key (ABI.md 4.4): the output
 * "name[key]". key must match [A-Za-z0-9_]+ and have at most 255 characters; another key records
 * an error naming it and returns WM_FAIL. Each key is one value, and the steps downstream run once
 * per key, each seeing it as wm_mapping_key. A step may write at most 10,000 mapped values.
 */
int wm_output_open_mapped(wm_ctx *ctx, const char *name, const char *key, wm_format format, wm_writer **out);

/**
 * Sets the Arrow schema of the stream (copied). Optional when a batch is written: the first batch
 * sets it. Needed to write a table with no batches.
 */
int wm_writer_set_schema(wm_writer *w, const wm_schema *schema);

/**
 * Writes one record batch (Arrow outputs). Its columns must match the writer's schema by name and
 * type. The batch is encoded and handed to the host at once, so it may be freed right after.
 */
int wm_writer_write(wm_writer *w, const wm_batch *batch);

/** Appends raw bytes (json and bytes outputs). */
int wm_writer_write_raw(wm_writer *w, const void *data, size_t len);

/** Merges the JSON object json into this output's materialization metadata. */
int wm_writer_metadata(wm_writer *w, const char *json);

/** Completes the output: the schema (if no batch was written) and end-of-stream are written and
 *  the host commits the value. The writer is freed, even on failure. */
int wm_writer_close(wm_writer *w);

/** Opens output name in format, writes len bytes of data and closes it. */
int wm_output_write_bytes(wm_ctx *ctx, const char *name, wm_format format, const void *data, size_t len);

/* ------------------------------------------------------------------------------------------ */
/* Building record batches                                                                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * Builds record batches row by row or column by column. Appends are checked: appending to a
 * column of another type, or a column index out of range, records an error naming the column.
 * Errors are sticky, so it is enough to check the result of wm_batch_builder_finish.
 */
typedef struct wm_batch_builder wm_batch_builder;

/** A builder for batches of schema (copied). Returns NULL (with an error) when out of memory. */
wm_batch_builder *wm_batch_builder_new(wm_ctx *ctx, const wm_schema *schema);
void wm_batch_builder_free(wm_batch_builder *b);
/** The builder's schema. */
const wm_schema *wm_batch_builder_schema(const wm_batch_builder *b);
/** Rows appended to column col so far. */
int64_t wm_batch_builder_len(const wm_batch_builder *b, int col);

int wm_append_null(wm_batch_builder *b, int col);
int wm_append_bool(wm_batch_builder *b, int col, bool v);
int wm_append_i8(wm_batch_builder *b, int col, int8_t v);
int wm_append_i16(wm_batch_builder *b, int col, int16_t v);
int wm_append_i32(wm_batch_builder *b, int col, int32_t v);
int wm_append_i64(wm_batch_builder *b, int col, int64_t v);
int wm_append_u8(wm_batch_builder *b, int col, uint8_t v);
int wm_append_u16(wm_batch_builder *b, int col, uint16_t v);
int wm_append_u32(wm_batch_builder *b, int col, uint32_t v);
int wm_append_u64(wm_batch_builder *b, int col, uint64_t v);
int wm_append_f32(wm_batch_builder *b, int col, float v);
int wm_append_f64(wm_batch_builder *b, int col, double v);
int wm_append_date32(wm_batch_builder *b, int col, int32_t days);
int wm_append_timestamp(wm_batch_builder *b, int col, int64_t v);
/** Appends a NUL-terminated string to a utf8 or binary column. */
int wm_append_str(wm_batch_builder *b, int col, const char *s);
/** Appends len bytes to a utf8 or binary column. */
int wm_append_strn(wm_batch_builder *b, int col, const void *s, size_t len);
/**
 * Appends n fixed-width values (of the column's C type: int64_t for int64 and timestamp, int32_t
 * for date32, uint8_t 0/1 for bool, ...) at once; validity may be NULL (all valid) or n bools.
 */
int wm_append_values(wm_batch_builder *b, int col, const void *values, const bool *validity, size_t n);
/** Appends row `row` of src (value or null) to column col, which must have src's type. */
int wm_append_from(wm_batch_builder *b, int col, const wm_column *src, int64_t row);
/** Appends row `row` of every column of src, whose columns must match the builder's. */
int wm_append_row(wm_batch_builder *b, const wm_batch *src, int64_t row);

/**
 * Finishes the batch: *out receives a new batch (free it with wm_batch_free) and the builder is
 * empty again, ready for the next batch. Fails when the columns have different lengths or an
 * earlier append failed.
 */
int wm_batch_builder_finish(wm_batch_builder *b, wm_batch **out);

/* ------------------------------------------------------------------------------------------ */
/* Resources                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/**
 * Calls the resource key with the JSON request req (ABI.md 4.7), such as
 * "{\"op\":\"get\",\"name\":\"API_TOKEN\"}" for an env resource. The asset, op or check must list
 * key in its .resources, and wasmorch.yaml must grant it. On success it returns 0 and *resp is
 * the JSON response, a new NUL-terminated buffer of *len bytes that the caller frees.
 *
 * When the host refuses the call it returns the host's negative status (WM_ERR_DENIED,
 * WM_ERR_NOT_FOUND, WM_ERR_INVALID, ...) and records the host's message as the step's error:
 * `resource "vars": resource_call returned ERR_DENIED: <the host's text>`. So
 * `if (wm_resource_call(...)) return WM_FAIL;` fails the step with that message, and a caller
 * that expects, say, WM_ERR_NOT_FOUND can handle it and go on. It returns WM_FAIL for an SDK
 * failure (NULL arguments, out of memory).
 */
int wm_resource_call(wm_ctx *ctx, const char *key, const char *req, char **resp, size_t *len);

/* ------------------------------------------------------------------------------------------ */
/* Small JSON helpers                                                                         */
/* ------------------------------------------------------------------------------------------ */

/** A growable byte buffer, for building JSON and messages. Zero-initialise it; free with
 *  wm_buf_free. After an allocation failure `failed` is set and appends do nothing. */
typedef struct wm_buf {
    char *data; /**< NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    bool failed;
} wm_buf;

void wm_buf_append(wm_buf *b, const void *data, size_t len);
void wm_buf_puts(wm_buf *b, const char *s);
void wm_buf_printf(wm_buf *b, const char *fmt, ...) WM_PRINTF(2, 3);
/** Appends s (len bytes) as a quoted, escaped JSON string. */
void wm_buf_json_string(wm_buf *b, const char *s, size_t len);
/** Appends v as a JSON number (shortest form that reads back exactly; null for NaN/Inf). */
void wm_buf_json_double(wm_buf *b, double v);
void wm_buf_free(wm_buf *b);

/**
 * Formats v in the shortest form that reads back as exactly v, as Go's encoding/json does
 * ("697.18", "1e+21", "1e-7"); NaN and infinities give "NaN", "+Inf", "-Inf". Returns the length.
 */
int wm_format_double(char *buf, size_t size, double v);

/**
 * Formats v in the shortest form that reads back exactly, as Go's strconv.FormatFloat(v, 'g', -1,
 * 64) and therefore Go's slog do ("697.18", "1e+06"), for log lines that match Go guests'.
 */
int wm_format_double_g(char *buf, size_t size, double v);

/** Checks that json[0..len) is one valid JSON document. */
bool wm_json_valid(const char *json, size_t len);

/**
 * Finds member key of the JSON object json[0..len): 0 with the raw value text in *val and
 * *val_len, 1 when the object has no such member, -1 when json is not a valid object.
 */
int wm_json_find(const char *json, size_t len, const char *key, const char **val, size_t *val_len);

/*
 * Decode one JSON value, such as one wm_json_find found or a whole json input or resource
 * response; white space around it is allowed. Each returns 0 with the value, or nonzero when
 * val[0..len) is not one JSON value of that type (an integer must have no fraction or exponent
 * and fit in 64 bits). wm_json_string stores a new NUL-terminated buffer in *out that the caller
 * frees, with its length in *out_len (if non-NULL); escapes are resolved, and an escaped NUL in the
 * string shows only in *out_len.
 */
int wm_json_int(const char *val, size_t len, int64_t *out);
int wm_json_double(const char *val, size_t len, double *out);
int wm_json_bool(const char *val, size_t len, bool *out);
int wm_json_string(const char *val, size_t len, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* WASMORCH_H */
