package host

// Options for the limits that are not per step. The per-step limits (WithStepTimeout,
// WithMemoryLimit, WithMaxOutputBytes) sit with the other options in instance.go;
// docs/SECURITY.md ("Limits") lists every limit with its default.

// WithMaxModuleBytes caps the size of each module file a workspace lists (default 64 MiB,
// runtime.DefaultMaxModuleBytes). A larger file is refused when the workspace loads, before it
// is read or compiled, with an error that names the module, its path, its size and the limit.
//
// Compilation is the one thing a module makes the host do without a time limit, and its time
// and memory grow with the module's size (about 9 s for a 14 MB Go guest with arrow-go, cold).
// The default admits Go guests that import arrow-go (8 to 15 MB) several times over, and Rust
// and C guests are far smaller; raise it for larger toolchains (such as an interpreter with its
// standard library compiled in).
func WithMaxModuleBytes(n int64) Option {
	return func(o *options) { o.limits.MaxModuleBytes = n }
}
