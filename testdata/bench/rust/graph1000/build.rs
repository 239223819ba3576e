//! Writes the `wasmorch::module!` call that registers the 1,000 assets of graph1000 (100 stages
//! of hub_KKK and leaf_KKK_0 … leaf_KKK_8) into OUT_DIR/module.rs, which src/lib.rs includes.
use std::fmt::Write;

fn main() {
    let mut src = String::from("wasmorch::module! {\n");
    for k in 0..100 {
        if k == 0 {
            src.push_str("    asset(\"hub_000\", root).group(\"graph1000\");\n");
        } else {
            let ins: Vec<String> = (0..9).map(|j| format!("\"leaf_{:03}_{}\"", k - 1, j)).collect();
            writeln!(src, "    asset(\"hub_{:03}\", FanIn).ins(&[{}]).group(\"graph1000\");", k, ins.join(", ")).unwrap();
        }
        for j in 0..9 {
            writeln!(src, "    asset(\"leaf_{:03}_{}\", fan_out).ins(&[\"hub_{:03}\"]).group(\"graph1000\");", k, j, k).unwrap();
        }
    }
    src.push_str("}\n");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("module.rs");
    std::fs::write(out, src).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
