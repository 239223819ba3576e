;; scribble.wat: a guest whose one asset writes to its memory forever.
;;
;; The manifest declares the asset "scribble" (output format json). wasmorch_run grows memory by
;; 16 pages, then stores to every word of it, round after round, and never returns. The host
;; keeps guest memory outside the Go heap (host/internal/runtime/linearmem.go); closing the
;; runtime under this guest must not unmap memory it is still writing, and the step must end
;; when its context is cancelled.
;; Build: wat2wasm scribble.wat -o scribble.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest is 91 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"scribble\",\"group\":\"faults\",\"output\":{\"format\":\"json\"}}]}")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (i32.const 91)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  (func (export "wasmorch_run") (result i32)
    (local $addr i32)
    (local $end i32)
    (drop (memory.grow (i32.const 16)))
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (loop $forever
      (local.set $addr (i32.const 4096))
      (loop $round
        (i32.store (local.get $addr) (local.get $addr))
        (local.set $addr (i32.add (local.get $addr) (i32.const 4)))
        (br_if $round (i32.lt_u (local.get $addr) (local.get $end))))
      (br $forever))
    (i32.const 0))
)
