;; oob.wat: a guest that passes out-of-bounds ranges to host functions, one asset per call.
;;
;; Memory is one 64 KiB page. Every asset's output is json. wasmorch_run reads the fifth letter
;; of the asset's name from the invocation (which starts with
;; {"abi_version":1,"kind":"asset","name":" -- 40 bytes, so the letter is at offset 44) and makes
;; one bad call, ignores its result and returns 0. The host must answer ERR_BOUNDS without
;; touching memory and fail the step although the guest returned 0:
;;   oob_asset               (a) log(1, 0xFFFFFFF0, 4096): a pointer past the end
;;   oob_b_invocation_read   (b) invocation_read(0xFFFFFFF0, 16)
;;   oob_c_output_open       (c) output_open(0xFFFFFFF0, 6, json): the output's name
;;   oob_d_output_write      (d) output_open("result"), then output_write(h, 0xFFFFFFF0, 16)
;;   oob_e_output_metadata   (e) output_open("result"), then output_metadata(h, 0, 0x10001):
;;                               a length one byte past the end
;;   oob_f_error_set         (f) error_set(100, 0xFFFFFF00): a length that wraps past 2^32
;;   oob_g_metadata_add      (g) metadata_add(0, 0x10001)
;;   oob_h_last_error_read   (h) last_error_read(0xFFFFFFF0, 16); no error yet, so 0 bytes
;;   oob_i_input_open        (i) input_open(0xFFFFFFF0, 2): the input's name
;;   oob_j_input_read        (j) input_open("in"), input_next, input_read(h, 0xFFFFFFF0, 16);
;;                               its input "in" is oob_source's value, 1 byte
;;   oob_k_resource_key      (k) resource_call(0xFFFFFFF0, 4, 0, 2): the resource key
;;   oob_l_resource_request  (l) resource_call(4000, 3, 0x10000, 1): the request
;;   oob_m_response_read     (m) response_read(0xFFFFFFF0, 16); no response, so 0 bytes
;;   oob_n_partition_key     (n) input_open("in"), input_partition_key(h, 0xFFFFFFF0, 16)
;;   oob_source              (s) healthy: writes the JSON value 1
;; Build: wat2wasm oob.wat -o oob.wasm

(module
  (import "wasmorch" "manifest_write" (func $manifest_write (param i32 i32) (result i32)))
  (import "wasmorch" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "wasmorch" "invocation_read" (func $invocation_read (param i32 i32) (result i32)))
  (import "wasmorch" "output_open" (func $output_open (param i32 i32 i32) (result i32)))
  (import "wasmorch" "output_write" (func $output_write (param i32 i32 i32) (result i32)))
  (import "wasmorch" "output_metadata" (func $output_metadata (param i32 i32 i32) (result i32)))
  (import "wasmorch" "output_close" (func $output_close (param i32) (result i32)))
  (import "wasmorch" "error_set" (func $error_set (param i32 i32) (result i32)))
  (import "wasmorch" "metadata_add" (func $metadata_add (param i32 i32) (result i32)))
  (import "wasmorch" "last_error_read" (func $last_error_read (param i32 i32) (result i32)))
  (import "wasmorch" "input_open" (func $input_open (param i32 i32) (result i32)))
  (import "wasmorch" "input_next" (func $input_next (param i32) (result i64)))
  (import "wasmorch" "input_read" (func $input_read (param i32 i32 i32) (result i32)))
  (import "wasmorch" "input_partition_key" (func $input_partition_key (param i32 i32 i32) (result i32)))
  (import "wasmorch" "resource_call" (func $resource_call (param i32 i32 i32 i32) (result i64)))
  (import "wasmorch" "response_read" (func $response_read (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The manifest, 1004 bytes of JSON at offset 1024.
  (data (i32.const 1024) "{\"abi_version\":1,\"assets\":[{\"key\":\"oob_asset\",\"group\":\"faults\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_b_invocation_read\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_c_output_open\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_d_output_write\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_e_output_metadata\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_f_error_set\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_g_metadata_add\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_h_last_error_read\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_i_input_open\",\"ins\":[{\"name\":\"in\",\"asset\":\"oob_source\"}],\"output\":{\"format\":\"json\"}},{\"key\":\"oob_j_input_read\",\"ins\":[{\"name\":\"in\",\"asset\":\"oob_source\"}],\"output\":{\"format\":\"json\"}},{\"key\":\"oob_k_resource_key\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_l_resource_request\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_m_response_read\",\"output\":{\"format\":\"json\"}},{\"key\":\"oob_n_partition_key\",\"ins\":[{\"name\":\"in\",\"asset\":\"oob_source\"}],\"output\":{\"format\":\"json\"}},{\"key\":\"oob_source\",\"output\":{\"format\":\"json\"}}]}")
  (global $manifest_len i32 (i32.const 1004))

  (data (i32.const 4000) "result") ;; 6 bytes
  (data (i32.const 4010) "in")     ;; 2 bytes
  (data (i32.const 4020) "1")      ;; the healthy value

  (func (export "wasmorch_abi_version") (result i32)
    (i32.const 1))

  ;; Hands the manifest to the host; a negative status from manifest_write fails the export.
  (func (export "wasmorch_manifest") (result i32)
    (if (result i32) (i32.lt_s (call $manifest_write (i32.const 1024) (global.get $manifest_len)) (i32.const 0))
      (then (i32.const 1))
      (else (i32.const 0))))

  (func $open_result (result i32)
    (call $output_open (i32.const 4000) (i32.const 6) (i32.const 2)))

  (func $open_in (result i32)
    (call $input_open (i32.const 4010) (i32.const 2)))

  (func (export "wasmorch_run") (result i32)
    (local $letter i32)
    (local $h i32)
    (drop (call $invocation_read (i32.const 8192) (i32.const 64)))
    (local.set $letter (i32.load8_u (i32.const 8236))) ;; 8192 + 44
    (block $done
      (if (i32.eq (local.get $letter) (i32.const 0x61)) ;; a
        (then (drop (call $log (i32.const 1) (i32.const 0xFFFFFFF0) (i32.const 4096))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x62)) ;; b
        (then (drop (call $invocation_read (i32.const 0xFFFFFFF0) (i32.const 16))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x63)) ;; c
        (then (drop (call $output_open (i32.const 0xFFFFFFF0) (i32.const 6) (i32.const 2))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x64)) ;; d
        (then
          (local.set $h (call $open_result))
          (drop (call $output_write (local.get $h) (i32.const 0xFFFFFFF0) (i32.const 16)))
          (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x65)) ;; e
        (then
          (local.set $h (call $open_result))
          (drop (call $output_metadata (local.get $h) (i32.const 0) (i32.const 0x10001)))
          (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x66)) ;; f
        (then (drop (call $error_set (i32.const 100) (i32.const 0xFFFFFF00))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x67)) ;; g
        (then (drop (call $metadata_add (i32.const 0) (i32.const 0x10001))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x68)) ;; h
        (then (drop (call $last_error_read (i32.const 0xFFFFFFF0) (i32.const 16))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x69)) ;; i
        (then (drop (call $input_open (i32.const 0xFFFFFFF0) (i32.const 2))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x6a)) ;; j
        (then
          (local.set $h (call $open_in))
          (drop (call $input_next (local.get $h)))
          (drop (call $input_read (local.get $h) (i32.const 0xFFFFFFF0) (i32.const 16)))
          (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x6b)) ;; k
        (then (drop (call $resource_call (i32.const 0xFFFFFFF0) (i32.const 4) (i32.const 0) (i32.const 2))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x6c)) ;; l
        (then (drop (call $resource_call (i32.const 4000) (i32.const 3) (i32.const 0x10000) (i32.const 1))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x6d)) ;; m
        (then (drop (call $response_read (i32.const 0xFFFFFFF0) (i32.const 16))) (br $done)))
      (if (i32.eq (local.get $letter) (i32.const 0x6e)) ;; n
        (then
          (local.set $h (call $open_in))
          (drop (call $input_partition_key (local.get $h) (i32.const 0xFFFFFFF0) (i32.const 16)))
          (br $done)))
      ;; s: oob_source writes 1.
      (local.set $h (call $open_result))
      (drop (call $output_write (local.get $h) (i32.const 4020) (i32.const 1)))
      (drop (call $output_close (local.get $h))))
    (i32.const 0))
)
