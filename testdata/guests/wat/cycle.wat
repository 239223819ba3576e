;; cycle.wat: a guest whose two assets depend on each other.
;;
;; "cyc_a" lists "cyc_b" under deps and "cyc_b" lists "cyc_a", so the asset graph has a cycle and
;; loading the workspace must fail naming both assets.
;; Build: wat2wasm cycle.wat -o cycle.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 148 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"cyc_a\",\"deps\":[\"cyc_b\"],\"output\":{\"format\":\"json\"}},{\"key\":\"cyc_b\",\"deps\":[\"cyc_a\"],\"output\":{\"format\":\"json\"}}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 148)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Never called by the host tests (the module fails at load time); if it is, the step fails
  ;; with a message saying why.
  (data (i32.const 512) "cycle.wat is a load-time fixture and runs no steps")
  (func (export "wasmorch_run") (result i32)
    (drop (call $error_set (i32.const 512) (i32.const 50)))
    (i32.const 1))
)
