// Package abi holds the wasmorch guest ABI as Go values: names, signatures, status codes and
// format codes. ABI.md beside this file is normative; this package mirrors it so that the host
// registers exactly these functions and tests can prove that SDKs and the host agree.
//
// This package must stay free of dependencies: SDKs and tools import it.
package abi

// Version is the ABI version this host implements. Guests report theirs through ExportABIVersion.
const Version = 1

// MinVersion and MaxVersion bound the versions this host accepts.
const (
	MinVersion = 1
	MaxVersion = 1
)

// ImportModule is the module name every wasmorch host function is imported from.
const ImportModule = "wasmorch"

// Exports a guest module must provide.
const (
	ExportMemory     = "memory"
	ExportABIVersion = "wasmorch_abi_version"
	ExportManifest   = "wasmorch_manifest"
	ExportRun        = "wasmorch_run"
	// ExportInitialize is the optional WASI reactor initializer, called once per instance.
	ExportInitialize = "_initialize"
	// ExportStart marks a WASI command module, which the host refuses.
	ExportStart = "_start"
)

// Status codes returned by host functions (ABI.md section 3).
const (
	OK             int32 = 0
	ErrBounds      int32 = -1
	ErrNotFound    int32 = -2
	ErrInvalid     int32 = -3
	ErrState       int32 = -4
	ErrLimit       int32 = -5
	ErrDenied      int32 = -6
	ErrIO          int32 = -7
	ErrUnsupported int32 = -8
)

// StatusName returns the ABI name of a status code, such as "ERR_BOUNDS".
func StatusName(code int32) string {
	switch code {
	case OK:
		return "OK"
	case ErrBounds:
		return "ERR_BOUNDS"
	case ErrNotFound:
		return "ERR_NOT_FOUND"
	case ErrInvalid:
		return "ERR_INVALID"
	case ErrState:
		return "ERR_STATE"
	case ErrLimit:
		return "ERR_LIMIT"
	case ErrDenied:
		return "ERR_DENIED"
	case ErrIO:
		return "ERR_IO"
	case ErrUnsupported:
		return "ERR_UNSUPPORTED"
	}
	return "UNKNOWN_STATUS"
}

// Results of wasmorch_run (ABI.md section 6).
const (
	RunSuccess    int32 = 0
	RunFailure    int32 = 1
	RunRetryLater int32 = 2
)

// Format is a value's format code (ABI.md section 5).
type Format int32

// Formats.
const (
	FormatArrow Format = 1
	FormatJSON  Format = 2
	FormatBytes Format = 3
)

// String returns the format's name as manifests spell it.
func (f Format) String() string {
	switch f {
	case FormatArrow:
		return "arrow"
	case FormatJSON:
		return "json"
	case FormatBytes:
		return "bytes"
	}
	return "unknown"
}

// ParseFormat turns a manifest's format name into a Format; ok is false for unknown names.
func ParseFormat(name string) (f Format, ok bool) {
	switch name {
	case "arrow":
		return FormatArrow, true
	case "json":
		return FormatJSON, true
	case "bytes":
		return FormatBytes, true
	}
	return 0, false
}

// Log levels accepted by the log host function.
const (
	LevelDebug int32 = 0
	LevelInfo  int32 = 1
	LevelWarn  int32 = 2
	LevelError int32 = 3
)

// Check severities accepted by check_result.
const (
	SeverityWarn  int32 = 0
	SeverityError int32 = 1
)

// ReservedMetadata are the metadata entries the host sets on every materialization; a guest's
// output_metadata or metadata_add naming one of them is refused.
var ReservedMetadata = []string{"rows", "bytes", "schema", "format", "duration_ms", "module_digest"}

// OutputResult is the name of an asset's single output.
const OutputResult = "result"

// Fixed limits (ABI.md section 9).
const (
	MaxLogMessage   = 64 << 10
	MaxErrorMessage = 64 << 10
	MaxManifest     = 16 << 20
	MaxStepLogBytes = 16 << 20
	// MaxStepLogLines caps a step's log lines (log calls, and lines on stdout and stderr).
	MaxStepLogLines = 100_000
	// MaxManifestDepth caps how deeply a manifest nests JSON objects and arrays.
	MaxManifestDepth = 128
	MaxOpenHandles   = 64
)

// ValueType is a WebAssembly value type in a host function signature.
type ValueType byte

// Value types used by the ABI.
const (
	I32 ValueType = 0x7f
	I64 ValueType = 0x7e
)

func (v ValueType) String() string {
	switch v {
	case I32:
		return "i32"
	case I64:
		return "i64"
	}
	return "?"
}

// Func is the signature of a host function.
type Func struct {
	Name    string
	Params  []ValueType
	Results []ValueType
}

// Host function names (ABI.md section 4).
const (
	FnLastErrorLen   = "last_error_len"
	FnLastErrorRead  = "last_error_read"
	FnInvocationLen  = "invocation_len"
	FnInvocationRead = "invocation_read"
	FnInputOpen      = "input_open"
	FnInputFormat    = "input_format"
	FnInputNext      = "input_next"
	FnInputRead      = "input_read"
	FnInputClose     = "input_close"
	FnInputPartition = "input_partition_key"
	FnOutputOpen     = "output_open"
	FnOutputWrite    = "output_write"
	FnOutputMetadata = "output_metadata"
	FnOutputClose    = "output_close"
	FnErrorSet       = "error_set"
	FnMetadataAdd    = "metadata_add"
	FnCheckResult    = "check_result"
	FnLog            = "log"
	FnResourceCall   = "resource_call"
	FnResponseRead   = "response_read"
	FnManifestWrite  = "manifest_write"
)

func sig(name string, params []ValueType, results ...ValueType) Func {
	return Func{Name: name, Params: params, Results: results}
}

// Imports lists every host function of this ABI version with its signature, in ABI.md order.
// The host registers exactly these; drift tests compare SDK modules against them.
var Imports = []Func{
	sig(FnLastErrorLen, nil, I32),
	sig(FnLastErrorRead, []ValueType{I32, I32}, I32),
	sig(FnInvocationLen, nil, I32),
	sig(FnInvocationRead, []ValueType{I32, I32}, I32),
	sig(FnInputOpen, []ValueType{I32, I32}, I32),
	sig(FnInputFormat, []ValueType{I32}, I32),
	sig(FnInputNext, []ValueType{I32}, I64),
	sig(FnInputRead, []ValueType{I32, I32, I32}, I32),
	sig(FnInputClose, []ValueType{I32}, I32),
	sig(FnInputPartition, []ValueType{I32, I32, I32}, I32),
	sig(FnOutputOpen, []ValueType{I32, I32, I32}, I32),
	sig(FnOutputWrite, []ValueType{I32, I32, I32}, I32),
	sig(FnOutputMetadata, []ValueType{I32, I32, I32}, I32),
	sig(FnOutputClose, []ValueType{I32}, I32),
	sig(FnErrorSet, []ValueType{I32, I32}, I32),
	sig(FnMetadataAdd, []ValueType{I32, I32}, I32),
	sig(FnCheckResult, []ValueType{I32, I32}, I32),
	sig(FnLog, []ValueType{I32, I32, I32}, I32),
	sig(FnResourceCall, []ValueType{I32, I32, I32, I32}, I64),
	sig(FnResponseRead, []ValueType{I32, I32}, I32),
	sig(FnManifestWrite, []ValueType{I32, I32}, I32),
}

// Exports lists the functions a guest must export, with their signatures.
var Exports = []Func{
	sig(ExportABIVersion, nil, I32),
	sig(ExportManifest, nil, I32),
	sig(ExportRun, nil, I32),
}

// Import returns the signature of the named host function.
func Import(name string) (Func, bool) {
	for _, f := range Imports {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// MappingKeyPattern is what a dynamic mapping key must match (ABI.md 4.4).
const MappingKeyPattern = `^[A-Za-z0-9_]+$`

// ValidMappingKey reports whether key may be a dynamic mapping key: 1 to 255 characters of
// MappingKeyPattern.
func ValidMappingKey(key string) bool {
	if len(key) == 0 || len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// SplitMappedName splits an output name of the form NAME[KEY] into NAME and KEY. ok is false
// when name has no well-formed mapping key.
func SplitMappedName(name string) (base, key string, ok bool) {
	i := 0
	for i < len(name) && name[i] != '[' {
		i++
	}
	if i == 0 || i >= len(name)-1 || name[len(name)-1] != ']' {
		return name, "", false
	}
	base, key = name[:i], name[i+1:len(name)-1]
	if !ValidMappingKey(key) {
		return name, "", false
	}
	return base, key, true
}

// MappedName is the inverse of SplitMappedName: NAME[KEY].
func MappedName(base, key string) string { return base + "[" + key + "]" }
