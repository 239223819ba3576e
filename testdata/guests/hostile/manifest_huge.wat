;; manifest_huge.wat: hands the host a manifest one byte over the manifest limit.
;;
;; Memory is 257 pages (16 MiB and 64 KiB), so the range is inside memory: what is wrong is only
;; the length. wasmorch_manifest calls manifest_write(0, 16 MiB + 1) and returns 1 when it fails.
;; The host must refuse the module at load, before reading the bytes, with
;; "manifest_write: the manifest is 16777217 bytes, the limit is 16777216" (abi.MaxManifest).
;; Build: wat2wasm manifest_huge.wat -o manifest_huge.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  (memory (export "memory") 257)

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 0) (i32.const 16777217)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Never called: the module fails at load.
  (data (i32.const 512) "manifest_huge.wat is a load-time fixture and runs no steps")
  (func (export "wasmorch_run") (result i32)
    (drop (call $error_set (i32.const 512) (i32.const 58)))
    (i32.const 1))
)
