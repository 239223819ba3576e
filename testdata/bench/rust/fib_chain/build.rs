//! Writes the `wasmorch::module!` call that registers the 40 assets fib_00 … fib_39 into
//! OUT_DIR/module.rs, which src/lib.rs includes: the macro takes one line per asset.
use std::fmt::Write;

fn main() {
    let mut src = String::from("wasmorch::module! {\n    asset(\"fib_00\", first).group(\"fib_chain\");\n");
    for i in 1..40 {
        writeln!(src, "    asset(\"fib_{:02}\", step).ins(&[\"fib_{:02}\"]).group(\"fib_chain\");", i, i - 1).unwrap();
    }
    src.push_str("}\n");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("module.rs");
    std::fs::write(out, src).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
