// Package config checks the run config of assets and ops against the JSON Schema each declares in
// its manifest (`config_schema`, abi/ABI.md sections 7.1 and 7.2), applies the schema's defaults,
// and resolves secrets given as environment-variable references.
//
// The host calls it once per run, before any step runs, so that a run with a bad config fails at
// once with every mistake listed (path, expected type and actual value), as Dagster does, instead
// of failing step by step.
//
// # Schemas
//
// [Compile] accepts the subset of JSON Schema that configs need: type (one name or an array of
// names among object, string, integer, number, boolean, array and null), properties, required,
// additionalProperties (a boolean or a schema; true when absent), default, enum, const, minimum,
// maximum, exclusiveMinimum and exclusiveMaximum (numbers, not the draft-04 booleans), minLength,
// maxLength, pattern (Go RE2 syntax, unanchored as in JSON Schema), items (one schema), minItems
// and maxItems. The annotations description, title, examples, deprecated, readOnly, writeOnly,
// $comment and $schema are accepted and ignored. A boolean schema (true or false) is accepted
// anywhere a schema is. Every other keyword ($ref, oneOf, anyOf, allOf, not, if, format,
// patternProperties, ...) is refused with an error naming it and its JSON pointer: a check that
// silently skips part of a schema is worse than none. Compile also checks each default against
// its own schema.
//
// # Defaults
//
// Defaults are applied while validating, top-down:
//
//   - a missing property that has a default gets a copy of it, and the copy is then processed like
//     a given value (its own nested defaults are filled in, its env references resolved);
//   - a missing property without a default that is listed in required, and whose schema declares
//     type "object" and properties and can be built from defaults alone (every field it requires
//     has a default or can itself be built that way), is created as {} and filled in. A nested
//     block of settings that are all optional or defaulted therefore need not be written out:
//     this is Dagster's rule that a Shape whose fields are all optional is itself optional, and
//     it fits the Go SDK's ConfigFrom, which marks nested struct fields required. An object
//     without declared properties (a free-form map) is never created this way;
//   - any other missing property stays missing: a missing required one is an error
//     (`missing required field "name"`, reported at the path of the object), a missing optional
//     one is simply absent from the result, as in JSON Schema.
//
// Integer-typed values written as 3.0 or 1e2 are accepted (JSON Schema counts them as integers)
// and rewritten as 3 and 100, so that guests decoding into integer types do not fail.
//
// # Secrets
//
// A value may be an environment-variable reference, an object of exactly the shape
// {"env": "NAME"}. [Prepare] and [ResolveEnv] replace it with the variable's value in the resolved
// config (the one the guest receives) and with the reference {"env": "NAME"} kept in the redacted
// config (the one that may be stored in the run record and the event log). Error messages never
// quote a value that came from the environment; they name the variable instead.
//
// Where the schema expects a number, an integer or a boolean (and not a string), the variable's
// text is converted, as Dagster's IntSource and BoolSource do: "42" becomes 42, "true" becomes
// true; text that does not convert is a type error. Where the schema's type list includes
// "object", {"env": "NAME"} is taken literally as an object with a field named env; everywhere
// else (including places with no declared type) it is a reference.
//
// # Paths
//
// Error paths use dots for fields and brackets for array indexes: ops.raw_orders.config.limit,
// config.items[2]. A field name that is empty or contains '.', '[', ']', '"' or white space is
// written quoted in brackets: config["a.b"].
//
// # What this package must not do
//
// It knows nothing about runs, the run store, the event log, workspaces or wasm: it turns bytes and
// decoded JSON into resolved JSON and a list of errors. Storing the redacted config, choosing
// which steps are in a run and giving the resolved config to the guest are the caller's job. It
// reads the environment only through the lookup function it is given.
package config
