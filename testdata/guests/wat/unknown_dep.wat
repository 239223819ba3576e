;; unknown_dep.wat: a guest whose asset takes an input no module defines.
;;
;; The asset "lonely" declares ins [{"name":"ghost","asset":"ghost"}], and nothing in the
;; workspace produces "ghost", so loading the workspace must fail naming both.
;; Build: wat2wasm unknown_dep.wat -o unknown_dep.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 113 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"lonely\",\"ins\":[{\"name\":\"ghost\",\"asset\":\"ghost\"}],\"output\":{\"format\":\"json\"}}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 113)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Never called by the host tests (the module fails at load time); if it is, the step fails
  ;; with a message saying why.
  (data (i32.const 512) "unknown_dep.wat is a load-time fixture and runs no steps")
  (func (export "wasmorch_run") (result i32)
    (drop (call $error_set (i32.const 512) (i32.const 56)))
    (i32.const 1))
)
