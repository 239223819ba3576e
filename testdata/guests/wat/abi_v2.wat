;; abi_v2.wat: a complete guest that says it was built for ABI version 2.
;;
;; wasmorch_abi_version returns 2, and the manifest repeats version 2 as ABI.md section 10
;; asks; otherwise the module is complete (its manifest declares the asset "future_asset"). A
;; host supporting only version 1 must refuse it at load time, before reading the manifest, and
;; show both versions.
;; Build: wat2wasm abi_v2.wat -o abi_v2.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 78 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":2,\"assets\":[{\"key\":\"future_asset\",\"output\":{\"format\":\"json\"}}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 2))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 78)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Never called by the host tests (the module fails at load time); if it is, the step fails
  ;; with a message saying why.
  (data (i32.const 512) "abi_v2.wat is a load-time fixture and runs no steps")
  (func (export "wasmorch_run") (result i32)
    (drop (call $error_set (i32.const 512) (i32.const 51)))
    (i32.const 1))
)
