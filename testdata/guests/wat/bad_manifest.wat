;; bad_manifest.wat: a complete guest whose manifest is not valid JSON.
;;
;; The manifest has a trailing comma after "key":"x", so the host must refuse the module at load
;; time with a JSON syntax error that gives the position.
;; Build: wat2wasm bad_manifest.wat -o bad_manifest.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 41 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"x\",}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 41)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Never called by the host tests (the module fails at load time); if it is, the step fails
  ;; with a message saying why.
  (data (i32.const 512) "bad_manifest.wat is a load-time fixture and runs no steps")
  (func (export "wasmorch_run") (result i32)
    (drop (call $error_set (i32.const 512) (i32.const 57)))
    (i32.const 1))
)
