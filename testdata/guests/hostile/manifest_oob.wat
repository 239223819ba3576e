;; manifest_oob.wat: hands the host a manifest range outside its memory.
;;
;; wasmorch_manifest calls manifest_write(0xFFFFFFF0, 64) with one 64 KiB page of memory, then
;; returns 0 as if it had succeeded. The host must refuse the module at load with
;; "host call manifest_write: range [4294967280, 4294967344) is outside guest memory (65536 bytes)".
;; Build: wat2wasm manifest_oob.wat -o manifest_oob.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  (func (export "wasmorch_manifest") (result i32)
    (drop (call $manifest_write (i32.const 0xFFFFFFF0) (i32.const 64)))
    (i32.const 0))

  ;; Never called: the module fails at load.
  (data (i32.const 512) "manifest_oob.wat is a load-time fixture and runs no steps")
  (func (export "wasmorch_run") (result i32)
    (drop (call $error_set (i32.const 512) (i32.const 57)))
    (i32.const 1))
)
