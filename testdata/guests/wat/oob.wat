;; oob.wat: a guest that passes an out-of-bounds range to a host function.
;;
;; The manifest declares the asset "oob_asset" (output format json). wasmorch_run calls log with
;; ptr 0xFFFFFFF0 and len 4096, then returns 0.
;; Build: wat2wasm oob.wat -o oob.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 92 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"oob_asset\",\"group\":\"faults\",\"output\":{\"format\":\"json\"}}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 92)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Asks the host to read 4096 bytes at 0xFFFFFFF0, far past the single 64 KiB page of memory.
  ;; The host must answer ERR_BOUNDS without touching memory and fail the step even though the
  ;; guest then returns 0.
  (func (export "wasmorch_run") (result i32)
    (drop (call $log (i32.const 1) (i32.const 0xFFFFFFF0) (i32.const 4096)))
    (i32.const 0))
)
