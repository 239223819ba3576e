;; no_exports.wat: valid WebAssembly that is not a wasmorch guest.
;;
;; It exports its memory and an ordinary function, but none of wasmorch_abi_version,
;; wasmorch_manifest or wasmorch_run, so the host must refuse it at load time and say which
;; export is missing.
;; Build: wat2wasm no_exports.wat -o no_exports.wasm

(module
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
