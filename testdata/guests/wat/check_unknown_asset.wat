;; check_unknown_asset.wat: a guest that declares an asset check on an asset no module defines.
;;
;; The check "positive" targets "ghost", and nothing in the workspace produces "ghost", so
;; loading the workspace must fail naming the module, the check and the asset.
;; Build: wat2wasm check_unknown_asset.wat -o check_unknown_asset.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 125 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"checked_here\",\"output\":{\"format\":\"json\"}}],\"checks\":[{\"name\":\"positive\",\"asset\":\"ghost\"}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 125)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Never called by the host tests (the module fails at load time); if it is, the step fails
  ;; with a message saying why.
  (data (i32.const 512) "check_unknown_asset.wat: a load-time fixture; runs no steps")
  (func (export "wasmorch_run") (result i32)
    (drop (call $error_set (i32.const 512) (i32.const 59)))
    (i32.const 1))
)
