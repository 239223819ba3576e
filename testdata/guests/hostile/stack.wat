;; stack.wat: unbounded recursion, for the native call stack's ceiling.
;;
;; The asset "stack_overflow" (json) calls $down(0), which calls $down(n+1) and adds 1 to its
;; result, so every frame stays live (no tail call) and the recursion has no base case. wazero
;; grows the call stack up to its ceiling (about 400 MB for the instance, outside the memory
;; limit) and then traps. The host must fail the step with "wasm trap: stack overflow" and free
;; the stack with the instance.
;; Build: wat2wasm stack.wat -o stack.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest, 98 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"stack_overflow\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}}]}")
  (global $manifest_len i32 (i32.const 98))

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (global.get $manifest_len)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  (func $down (param $n i64) (result i64)
    (i64.add (call $down (i64.add (local.get $n) (i64.const 1))) (i64.const 1)))

  (func (export "wasmorch_run") (result i32)
    (i32.wrap_i64 (call $down (i64.const 0))))
)
