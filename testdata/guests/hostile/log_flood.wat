;; log_flood.wat: floods the log, for the per-step log caps.
;;
;; wasmorch_run reads the eleventh letter of the asset's name from the invocation (which starts
;; with {"abi_version":1,"kind":"asset","name":" -- 40 bytes, so the letter is at offset 50):
;;   log_flood_lines   (l) calls log(INFO, "") until it returns an error, then 100,000 times
;;                         more, then returns 0: empty lines, which no byte cap would stop
;;   log_flood_bytes   (b) calls log(INFO, 8 KiB) until it returns an error, then 1,000 times
;;                         more: 2,048 lines fill the 16 MiB byte cap
;;   log_flood_64k     (6) the same with 64 KiB lines, the longest a log line may be: 256 lines
;;   log_flood_stdout  (s) writes "x\n" to stdout (fd 1) 200,000 times through WASI fd_write, then
;;                         returns 0: captured stdout lines count against the same caps
;; Every line logged is made of the letter a. Each step then writes the JSON value 1 as its
;; output. The caps drop lines rather than fail the step (docs/RATIONALE.md, "Log floods"), so
;; each step succeeds, and the run stores at most the cap of log events and one warning "the
;; step's log limit of ... is reached".
;; Build: wat2wasm log_flood.wat -o log_flood.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "invocation_read" (func $invocation_read (param i32 i32) (result i32)))
  (import "wasmorch" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "wasmorch" "output_open" (func $output_open (param i32 i32 i32) (result i32)))
  (import "wasmorch" "output_write" (func $output_write (param i32 i32 i32) (result i32)))
  (import "wasmorch" "output_close" (func $output_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)

  ;; The manifest, 311 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"log_flood_lines\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}},{\"key\":\"log_flood_bytes\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}},{\"key\":\"log_flood_stdout\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}},{\"key\":\"log_flood_64k\",\"group\":\"hostile\",\"output\":{\"format\":\"json\"}}]}")
  (global $manifest_len i32 (i32.const 311))
  ;; "x\n" at 3000, and one iovec {ptr 3000, len 2} at 3008 for fd_write.
  (data (i32.const 3000) "x\n")
  (data (i32.const 3008) "\b8\0b\00\00\02\00\00\00")
  (data (i32.const 2000) "result")
  (data (i32.const 2010) "1")

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (global.get $manifest_len)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  ;; Logs len bytes at 65536 until log fails, then `more` times regardless.
  (func $flood (param $len i32) (param $more i32)
    (loop $until_refused
      (br_if $until_refused (i32.ge_s (call $log (i32.const 1) (i32.const 65536) (local.get $len)) (i32.const 0))))
    (loop $again
      (drop (call $log (i32.const 1) (i32.const 65536) (local.get $len)))
      (local.set $more (i32.sub (local.get $more) (i32.const 1)))
      (br_if $again (i32.gt_s (local.get $more) (i32.const 0)))))

  (func (export "wasmorch_run") (result i32)
    (local $letter i32)
    (local $n i32)
    ;; The lines are the letter a, which JSON stores as it is.
    (memory.fill (i32.const 65536) (i32.const 0x61) (i32.const 65536))
    (drop (call $invocation_read (i32.const 8192) (i32.const 64)))
    (local.set $letter (i32.load8_u (i32.const 8242))) ;; 8192 + 50
    (if (i32.eq (local.get $letter) (i32.const 0x6c)) ;; l
      (then (call $flood (i32.const 0) (i32.const 100000))))
    (if (i32.eq (local.get $letter) (i32.const 0x62)) ;; b
      (then (call $flood (i32.const 8192) (i32.const 1000))))
    (if (i32.eq (local.get $letter) (i32.const 0x36)) ;; 6
      (then (call $flood (i32.const 65536) (i32.const 1000))))
    (if (i32.eq (local.get $letter) (i32.const 0x73)) ;; s
      (then
        (local.set $n (i32.const 200000))
        (loop $print
          (drop (call $fd_write (i32.const 1) (i32.const 3008) (i32.const 1) (i32.const 3016)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $print (i32.gt_s (local.get $n) (i32.const 0))))))
    (local.set $n (call $output_open (i32.const 2000) (i32.const 6) (i32.const 2)))
    (drop (call $output_write (local.get $n) (i32.const 2010) (i32.const 1)))
    (drop (call $output_close (local.get $n)))
    (i32.const 0))
)
