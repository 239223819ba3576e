package wasmorch

import (
	"fmt"
)

// hostABI is the wasmorch import module seen from Go: one method per host function the SDK uses,
// with slices and strings in place of (ptr, len) pairs, returning the raw status codes.
//
// abi_wasip1.go implements it with //go:wasmimport calls, and the tests implement it in memory.
// Keeping this seam thin is what lets everything above it (invocation parsing, input decoding,
// calling the asset function, output encoding) run and be tested natively.
type hostABI interface {
	lastErrorLen() int32
	lastErrorRead(buf []byte) int32

	invocationLen() int32
	invocationRead(buf []byte) int32

	inputOpen(name string) int32
	inputFormat(handle int32) int32
	inputNext(handle int32) int64
	inputRead(handle int32, buf []byte) int32
	inputClose(handle int32) int32
	inputPartitionKey(handle int32, buf []byte) int32

	outputOpen(name string, f format) int32
	outputWrite(handle int32, p []byte) int32
	outputClose(handle int32) int32

	errorSet(msg string) int32
	metadataAdd(js []byte) int32
	checkResult(passed, severity int32) int32
	resourceCall(key string, req []byte) int64
	responseRead(buf []byte) int32
	log(level int32, msg string) int32
	manifestWrite(p []byte) int32
}

// HostError is a host call that returned a negative status code. Message is the host's last error
// (ABI.md section 4.1), which says what was wrong.
type HostError struct {
	Call    string // host function name, such as "input_open"
	Code    int32  // negative status code, such as -2
	Message string // the host's last_error message; may be empty
}

// Error returns, for example, `input_open returned ERR_NOT_FOUND: no input "x"`.
func (e *HostError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s returned %s", e.Call, statusName(e.Code))
	}
	return fmt.Sprintf("%s returned %s: %s", e.Call, statusName(e.Code), e.Message)
}

// Status returns the ABI name of the code, such as "ERR_NOT_FOUND".
func (e *HostError) Status() string { return statusName(e.Code) }

// hostError turns a negative status from call into a *HostError carrying the host's message.
// It must be called right after the failed call, before another call can replace the message.
func hostError(h hostABI, call string, code int64) error {
	return &HostError{Call: call, Code: int32(code), Message: lastError(h)}
}

func lastError(h hostABI) string {
	n := h.lastErrorLen()
	if n <= 0 {
		return ""
	}
	buf := make([]byte, n)
	m := h.lastErrorRead(buf)
	if m < 0 {
		return ""
	}
	return string(buf[:m])
}
