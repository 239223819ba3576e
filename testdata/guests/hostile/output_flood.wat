;; output_flood.wat: writes output without end, for the output limit.
;;
;; The asset "output_flood" (bytes) opens its output "result" and writes the first 64 KiB of its
;; memory again and again until output_write returns an error (ERR_LIMIT once the step's output
;; limit, limits.output, would be passed), then returns 0 as if nothing happened. The host must
;; fail the step with 'output "result": the step wrote more than its output limit of N bytes'
;; and store nothing: the IO manager discards what it had written.
;; Build: wat2wasm output_flood.wat -o output_flood.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "output_open" (func $output_open (param i32 i32 i32) (result i32)))
  (import "wasmorch" "output_write" (func $output_write (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest, 97 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"output_flood\",\"group\":\"hostile\",\"output\":{\"format\":\"bytes\"}}]}")
  (global $manifest_len i32 (i32.const 97))
  (data (i32.const 2000) "result")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (global.get $manifest_len)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  (func (export "wasmorch_run") (result i32)
    (local $h i32)
    (local.set $h (call $output_open (i32.const 2000) (i32.const 6) (i32.const 3)))
    (loop $write
      (br_if $write (i32.ge_s (call $output_write (local.get $h) (i32.const 0) (i32.const 65536)) (i32.const 0))))
    (i32.const 0))
)
