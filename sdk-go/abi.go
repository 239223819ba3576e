package wasmorch

// This file and abi_wasip1.go are the only places in the SDK that spell the wasmorch ABI
// (abi/ABI.md, version 1). The constants live here, without a build constraint, because the
// dispatcher and its native tests need them; the import and export names live in abi_wasip1.go
// because //go:wasmimport and //go:wasmexport need literals and compile only for wasm.
// abi_drift_test.go checks both files against abi/abi.go.

// abiVersion is the ABI version this SDK is built for; wasmorch_abi_version returns it and the
// manifest repeats it.
const abiVersion = 1

// importModule is the module every host function is imported from. abi_wasip1.go repeats it in
// each //go:wasmimport directive.
const importModule = "wasmorch"

// SDK identity reported in the manifest's "sdk" object.
const (
	sdkName    = "wasmorch-go"
	sdkVersion = "0.1.0"
)

// Status codes returned by host functions (ABI.md section 3).
const (
	statusOK             int32 = 0
	statusErrBounds      int32 = -1
	statusErrNotFound    int32 = -2
	statusErrInvalid     int32 = -3
	statusErrState       int32 = -4
	statusErrLimit       int32 = -5
	statusErrDenied      int32 = -6
	statusErrIO          int32 = -7
	statusErrUnsupported int32 = -8
)

// statusName returns the ABI name of a status code, such as "ERR_BOUNDS".
func statusName(code int32) string {
	switch code {
	case statusOK:
		return "OK"
	case statusErrBounds:
		return "ERR_BOUNDS"
	case statusErrNotFound:
		return "ERR_NOT_FOUND"
	case statusErrInvalid:
		return "ERR_INVALID"
	case statusErrState:
		return "ERR_STATE"
	case statusErrLimit:
		return "ERR_LIMIT"
	case statusErrDenied:
		return "ERR_DENIED"
	case statusErrIO:
		return "ERR_IO"
	case statusErrUnsupported:
		return "ERR_UNSUPPORTED"
	}
	return "UNKNOWN_STATUS"
}

// Results of wasmorch_run (ABI.md section 6).
const (
	runSuccess    int32 = 0
	runFailure    int32 = 1
	runRetryLater int32 = 2
)

// format is a value's format code (ABI.md section 5).
type format int32

const (
	formatArrow format = 1
	formatJSON  format = 2
	formatBytes format = 3
)

// String returns the format's name as manifests and invocations spell it.
func (f format) String() string {
	switch f {
	case formatArrow:
		return "arrow"
	case formatJSON:
		return "json"
	case formatBytes:
		return "bytes"
	}
	return "unknown"
}

// Log levels accepted by the log host function (ABI.md section 4.6).
const (
	levelDebug int32 = 0
	levelInfo  int32 = 1
	levelWarn  int32 = 2
	levelError int32 = 3
)

// outputResult is the name of an asset's single output.
const outputResult = "result"

// Invocation kinds this SDK runs (ABI.md section 8).
const (
	invocationKindAsset = "asset"
	invocationKindOp    = "op"
	invocationKindCheck = "check"
)

// reservedMetadataKeys are the metadata entries the host adds itself; metadata_add refuses them
// (ABI.md section 4.4). The test Context refuses them too, so native tests catch the mistake.
var reservedMetadataKeys = []string{"rows", "bytes", "schema", "format", "duration_ms", "module_digest"}

// Fixed limits (ABI.md section 9).
const (
	maxLogMessage   = 64 << 10
	maxErrorMessage = 64 << 10
	maxManifest     = 16 << 20
)

// Dynamic mapping keys (ABI.md section 4.4): a dynamic op output is opened once per key as
// NAME[KEY], where KEY is 1 to maxMappingKeyLen characters of mappingKeyPattern.
const (
	mappingKeyPattern = `^[A-Za-z0-9_]+$`
	maxMappingKeyLen  = 255
)

// validMappingKey reports whether key may be a dynamic mapping key. It is the same check as
// abi.ValidMappingKey, which the SDK cannot import (it is its own module).
func validMappingKey(key string) bool {
	if len(key) == 0 || len(key) > maxMappingKeyLen {
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

// Partition keys (ABI.md 7.6): a key of one dimension has at most maxPartitionKeyLen bytes, and
// partitionKeySeparator joins the dimension keys of a multi-dimensional key. abi/abi.go does not
// define them; abi_drift_test.go checks them against host/internal/partitions instead.
const (
	maxPartitionKeyLen    = 255
	partitionKeySeparator = "|"
)

// mappedName is the output name a dynamic output's value for key is opened as: NAME[KEY].
func mappedName(base, key string) string { return base + "[" + key + "]" }
