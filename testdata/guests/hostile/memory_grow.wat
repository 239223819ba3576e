;; memory_grow.wat: grows linear memory one page at a time until memory.grow fails.
;;
;; The asset "memory_grow" (json) starts with one 64 KiB page and declares no maximum. wasmorch_run
;; calls memory.grow 1 until it returns -1 (the step's memory limit, limits.memory), then executes
;; unreachable, as a language runtime aborts when its allocator gets no memory. The host must
;; fail the step with "wasm trap: unreachable" and note that linear memory had reached the limit.
;; Build: wat2wasm memory_grow.wat -o memory_grow.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest, 95 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"memory_grow\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}}]}")
  (global $manifest_len i32 (i32.const 95))

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (global.get $manifest_len)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  (func (export "wasmorch_run") (result i32)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable)
)
