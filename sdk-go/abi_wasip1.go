//go:build wasip1

package wasmorch

// This file is the wasm-only half of the SDK's ABI spelling (see abi.go): the host functions
// imported from the "wasmorch" module and the three exports. Nothing else in the SDK touches
// pointers or the wasm calling convention; wasmHost adapts these calls to hostABI.
//
// Pointers are passed as unsafe.Pointer so the garbage collector keeps the buffer alive during
// the call; lengths are uint32 because the ABI reads them as unsigned. Every host function of
// ABI version 1 is declared, even those the SDK does not call yet, so abi_drift_test.go can
// check the whole table; the linker leaves unused imports out of the module.

import (
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

//go:wasmimport wasmorch last_error_len
func hostLastErrorLen() int32

//go:wasmimport wasmorch last_error_read
func hostLastErrorRead(buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport wasmorch invocation_len
func hostInvocationLen() int32

//go:wasmimport wasmorch invocation_read
func hostInvocationRead(buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport wasmorch input_open
func hostInputOpen(name unsafe.Pointer, nameLen uint32) int32

//go:wasmimport wasmorch input_format
func hostInputFormat(handle int32) int32

//go:wasmimport wasmorch input_next
func hostInputNext(handle int32) int64

//go:wasmimport wasmorch input_read
func hostInputRead(handle int32, buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport wasmorch input_close
func hostInputClose(handle int32) int32

//go:wasmimport wasmorch input_partition_key
func hostInputPartitionKey(handle int32, buf unsafe.Pointer, n uint32) int32

//go:wasmimport wasmorch output_open
func hostOutputOpen(name unsafe.Pointer, nameLen uint32, format int32) int32

//go:wasmimport wasmorch output_write
func hostOutputWrite(handle int32, p unsafe.Pointer, pLen uint32) int32

//go:wasmimport wasmorch output_metadata
func hostOutputMetadata(handle int32, js unsafe.Pointer, jsLen uint32) int32

//go:wasmimport wasmorch output_close
func hostOutputClose(handle int32) int32

//go:wasmimport wasmorch error_set
func hostErrorSet(msg unsafe.Pointer, msgLen uint32) int32

//go:wasmimport wasmorch metadata_add
func hostMetadataAdd(js unsafe.Pointer, jsLen uint32) int32

//go:wasmimport wasmorch check_result
func hostCheckResult(passed int32, severity int32) int32

//go:wasmimport wasmorch log
func hostLog(level int32, msg unsafe.Pointer, msgLen uint32) int32

//go:wasmimport wasmorch resource_call
func hostResourceCall(key unsafe.Pointer, keyLen uint32, req unsafe.Pointer, reqLen uint32) int64

//go:wasmimport wasmorch response_read
func hostResponseRead(buf unsafe.Pointer, bufLen uint32) int32

//go:wasmimport wasmorch manifest_write
func hostManifestWrite(p unsafe.Pointer, pLen uint32) int32

//go:wasmexport wasmorch_abi_version
func exportABIVersion() int32 { return abiVersion }

//go:wasmexport wasmorch_manifest
func exportManifest() int32 { return defaultRegistry.writeManifest(wasmHost{}) }

//go:wasmexport wasmorch_run
func exportRun() int32 { return defaultRegistry.run(wasmHost{}, memory.DefaultAllocator) }

// wasmHost is hostABI over the imported functions.
type wasmHost struct{}

func bytesArg(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}

func stringArg(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func (wasmHost) lastErrorLen() int32 { return hostLastErrorLen() }

func (wasmHost) lastErrorRead(buf []byte) int32 {
	p, n := bytesArg(buf)
	return hostLastErrorRead(p, n)
}

func (wasmHost) invocationLen() int32 { return hostInvocationLen() }

func (wasmHost) invocationRead(buf []byte) int32 {
	p, n := bytesArg(buf)
	return hostInvocationRead(p, n)
}

func (wasmHost) inputOpen(name string) int32 {
	p, n := stringArg(name)
	return hostInputOpen(p, n)
}

func (wasmHost) inputFormat(handle int32) int32 { return hostInputFormat(handle) }

func (wasmHost) inputNext(handle int32) int64 { return hostInputNext(handle) }

func (wasmHost) inputRead(handle int32, buf []byte) int32 {
	p, n := bytesArg(buf)
	return hostInputRead(handle, p, n)
}

func (wasmHost) inputClose(handle int32) int32 { return hostInputClose(handle) }

func (wasmHost) inputPartitionKey(handle int32, buf []byte) int32 {
	p, n := bytesArg(buf)
	return hostInputPartitionKey(handle, p, n)
}

func (wasmHost) outputOpen(name string, f format) int32 {
	p, n := stringArg(name)
	return hostOutputOpen(p, n, int32(f))
}

func (wasmHost) outputWrite(handle int32, b []byte) int32 {
	p, n := bytesArg(b)
	return hostOutputWrite(handle, p, n)
}

func (wasmHost) outputClose(handle int32) int32 { return hostOutputClose(handle) }

func (wasmHost) errorSet(msg string) int32 {
	p, n := stringArg(msg)
	return hostErrorSet(p, n)
}

func (wasmHost) checkResult(passed, severity int32) int32 { return hostCheckResult(passed, severity) }

func (wasmHost) resourceCall(key string, req []byte) int64 {
	kp, kn := stringArg(key)
	rp, rn := bytesArg(req)
	return hostResourceCall(kp, kn, rp, rn)
}

func (wasmHost) responseRead(buf []byte) int32 {
	p, n := bytesArg(buf)
	return hostResponseRead(p, n)
}

func (wasmHost) metadataAdd(js []byte) int32 {
	p, n := bytesArg(js)
	return hostMetadataAdd(p, n)
}

func (wasmHost) log(level int32, msg string) int32 {
	p, n := stringArg(msg)
	return hostLog(level, p, n)
}

func (wasmHost) manifestWrite(b []byte) int32 {
	p, n := bytesArg(b)
	return hostManifestWrite(p, n)
}
