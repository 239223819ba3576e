;; spin.wat: three steps that never end, in three shapes, for the step time limit.
;;
;; wasmorch_run reads the sixth letter of the asset's name from the invocation (which starts with
;; {"abi_version":1,"kind":"asset","name":" -- 40 bytes, so the letter is at offset 45):
;;   spin_loop       (l) a loop whose back-edge branches to itself forever: a loop header
;;   spin_recursion  (r) no loop opcode at all: $fan(d) calls $fan(d-1) twice, from d = 62, so it
;;                       makes 2^63 calls but never nests deeper than 63 frames
;;   spin_mutual     (m) no loop opcode either: $ping(d) calls $pong(d-1) twice and $pong calls
;;                       $ping(d-1) twice, the same tree split over two functions
;; None of them overflows the stack or touches memory. The host must stop each at its time limit
;; ("step exceeded its time limit of ..."), through the fuel checks the instrumenter adds at loop
;; headers (spin_loop) and at function entries (the two recursions).
;; Build: wat2wasm spin.wat -o spin.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "invocation_read" (func $invocation_read (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest, 230 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"spin_loop\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}},{\"key\":\"spin_recursion\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}},{\"key\":\"spin_mutual\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}}]}")
  (global $manifest_len i32 (i32.const 230))

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (global.get $manifest_len)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  (func $fan (param $d i32)
    (if (local.get $d)
      (then
        (call $fan (i32.sub (local.get $d) (i32.const 1)))
        (call $fan (i32.sub (local.get $d) (i32.const 1))))))

  (func $ping (param $d i32)
    (if (local.get $d)
      (then
        (call $pong (i32.sub (local.get $d) (i32.const 1)))
        (call $pong (i32.sub (local.get $d) (i32.const 1))))))

  (func $pong (param $d i32)
    (if (local.get $d)
      (then
        (call $ping (i32.sub (local.get $d) (i32.const 1)))
        (call $ping (i32.sub (local.get $d) (i32.const 1))))))

  (func (export "wasmorch_run") (result i32)
    (local $letter i32)
    (drop (call $invocation_read (i32.const 8192) (i32.const 64)))
    (local.set $letter (i32.load8_u (i32.const 8237))) ;; 8192 + 45
    (if (i32.eq (local.get $letter) (i32.const 0x6c)) ;; l
      (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $letter) (i32.const 0x72)) ;; r
      (then (call $fan (i32.const 62))))
    (if (i32.eq (local.get $letter) (i32.const 0x6d)) ;; m
      (then (call $ping (i32.const 62))))
    (i32.const 1))
)
