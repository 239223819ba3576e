// Package resources implements the host capabilities a wasmorch workspace grants to guests by
// key: the things a step reaches through the `resource_call` host function (abi/ABI.md section
// 4.7) instead of through WASI. A guest gets no files, network or environment by default; the
// workspace file (wasmorch.yaml) grants resources by key, an asset lists the keys it uses under
// `resources` in its manifest, and every call is checked against both.
//
// There are four kinds, each built from a config struct that mirrors its wasmorch.yaml entry:
//
//   - env ([NewEnv]): read-only access to a listed set of host environment variables (secrets).
//   - files ([NewFiles]): a directory, jailed with [os.Root]; read-only or read-write.
//   - http ([NewHTTP]): HTTP(S) requests to an allow-list of hosts, with method, size and time
//     limits and static headers (for example an auth token) the guest cannot override.
//   - kv ([NewKV]): one namespace of a key-value store behind [KVBackend]: the instance's store
//     (Badger keeps it durably), or [NewMemoryKV], an
//     in-memory backend.
//
// Every resource takes a JSON request and returns a JSON response ([Resource]). A [Registry]
// holds the workspace's grants, checks each call against the calling asset's declared keys and
// names the resource key in every error. Errors wrap one of the sentinels [ErrDenied],
// [ErrInvalidRequest], [ErrNotFound], [ErrTooLarge] or [ErrIO], which the runtime maps to ABI
// status codes; the message is what the guest reads back through last_error.
//
// What this package must not do:
//
//   - give a guest a host directory through WASI mounts. wazero's WithDirMount,
//     WithReadOnlyDirMount and WithFSMount can be escaped with ../ and symlinks (wazero issues
//     2321 and 2323). A files resource is host functions over [os.Root], which the kernel jails
//     (openat with the path resolved component by component, symlinks included).
//   - touch a path outside a files root: every file operation goes through the resource's
//     [os.Root]; no path is ever joined to the root by hand. Absolute paths, ".." that climbs
//     above the root and symlinks that point outside it are refused with [ErrDenied].
//   - know about wazero or guest memory. It takes and returns byte slices; reading the key and
//     request out of guest memory, keeping the response for response_read and mapping errors to
//     status codes is the runtime's job.
//
// Every resource and the Registry are safe for concurrent use: the steps of a run share them.
package resources
