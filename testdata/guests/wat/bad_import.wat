;; bad_import.wat: a complete guest that imports a host function the ABI does not have.
;;
;; It imports wasmorch.not_a_function (never called); otherwise it is a valid version-1 guest
;; with the asset "importer_asset". The host must refuse it at load time, naming the import.
;; Build: wat2wasm bad_import.wat -o bad_import.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  ;; Not a function of ABI version 1: the reason this module exists.
  (import "wasmorch" "not_a_function" (func $not_a_function (param i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 80 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"importer_asset\",\"output\":{\"format\":\"json\"}}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 80)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Never called by the host tests (the module fails at load time); if it is, the step fails
  ;; with a message saying why.
  (data (i32.const 512) "bad_import.wat is a load-time fixture and runs no steps")
  (func (export "wasmorch_run") (result i32)
    (drop (call $error_set (i32.const 512) (i32.const 55)))
    (i32.const 1))
)
