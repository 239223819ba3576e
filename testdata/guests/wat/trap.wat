;; trap.wat: a valid, complete guest whose one asset traps.
;;
;; The manifest declares the asset "trap_asset" (output format json). wasmorch_run executes
;; `unreachable`, so the host must fail the step with a wasm trap ("wasm trap: unreachable" and
;; a stack trace) and stay healthy for the next step.
;; Build: wat2wasm trap.wat -o trap.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 93 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"trap_asset\",\"group\":\"faults\",\"output\":{\"format\":\"json\"}}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 93)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  (func (export "wasmorch_run") (result i32)
    unreachable)
)
