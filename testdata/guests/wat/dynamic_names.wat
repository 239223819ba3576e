;; dynamic_names.wat: ops that open outputs with bad names, for the host's output-name checks.
;;
;; Every op declares a dynamic json output "chunks" and a plain json output "plain". wasmorch_run
;; reads the first letter of the op's name from the invocation (which starts with
;; {"abi_version":1,"kind":"op","name":" -- 37 bytes) and opens:
;;   a_nokey    -> "chunks"        (a dynamic output without a key)
;;   b_plainkey -> "plain[x]"      (a plain output with a key)
;;   c_badkey   -> "chunks[a-b]"   (a key outside [A-Za-z0-9_])
;;   d_unknown  -> "other[x]"      (no such output)
;; It returns 1 when output_open fails, so the step fails with the host's last error.
;; Build: wat2wasm dynamic_names.wat -o dynamic_names.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "invocation_read" (func $invocation_read (param i32 i32) (result i32)))
  (import "wasmorch" "output_open" (func $output_open (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "{\"abi_version\":1,\"ops\":[{\"name\":\"a_nokey\",\"outs\":[{\"name\":\"chunks\",\"format\":\"json\",\"dynamic\":true},{\"name\":\"plain\",\"format\":\"json\",\"optional\":true}]},{\"name\":\"b_plainkey\",\"outs\":[{\"name\":\"chunks\",\"format\":\"json\",\"dynamic\":true},{\"name\":\"plain\",\"format\":\"json\",\"optional\":true}]},{\"name\":\"c_badkey\",\"outs\":[{\"name\":\"chunks\",\"format\":\"json\",\"dynamic\":true},{\"name\":\"plain\",\"format\":\"json\",\"optional\":true}]},{\"name\":\"d_unknown\",\"outs\":[{\"name\":\"chunks\",\"format\":\"json\",\"dynamic\":true},{\"name\":\"plain\",\"format\":\"json\",\"optional\":true}]}]}")
  (global $manifest_len i32 (i32.const 535))

  (data (i32.const 3000) "chunks")
  (data (i32.const 3100) "plain[x]")
  (data (i32.const 3200) "chunks[a-b]")
  (data (i32.const 3300) "other[x]")

  (func (export "wasmorch_abi_version") (result i32) (i32.const 1))

  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (global.get $manifest_len)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  (func (export "wasmorch_run") (result i32)
    (local $letter i32)
    (local $h i32)
    (drop (call $invocation_read (i32.const 8192) (i32.const 64)))
    (local.set $letter (i32.load8_u (i32.const 8229)))
    (local.set $h
      (if (result i32) (i32.eq (local.get $letter) (i32.const 97)) ;; 'a'
        (then (call $output_open (i32.const 3000) (i32.const 6) (i32.const 2)))
        (else (if (result i32) (i32.eq (local.get $letter) (i32.const 98)) ;; 'b'
          (then (call $output_open (i32.const 3100) (i32.const 8) (i32.const 2)))
          (else (if (result i32) (i32.eq (local.get $letter) (i32.const 99)) ;; 'c'
            (then (call $output_open (i32.const 3200) (i32.const 11) (i32.const 2)))
            (else (call $output_open (i32.const 3300) (i32.const 8) (i32.const 2)))))))))
    (if (result i32) (i32.lt_s (local.get $h) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))
)
