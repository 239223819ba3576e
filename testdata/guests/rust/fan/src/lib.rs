//! Two ops for the host's cross-language graph test: `fan_out` writes the dynamic output
//! `chunks[a]` = 1, `chunks[b]` = 2, `chunks[c]` = 3, and `mapped` runs once per key, writing
//! `{"key": <mapping key>, "n2": 2n}`.

use wasmorch::prelude::*;

wasmorch::module! {
    op("fan_out", fan_out).outs(&["chunks"]);
    op("mapped", mapped).ins(&["n"]);
}

fn fan_out(_ctx: &mut Context) -> Result<Dynamic<JsonValue>> {
    let mut chunks = Dynamic::new();
    for (key, n) in [("a", 1i64), ("b", 2), ("c", 3)] {
        chunks.push(key, JsonValue::from(n))?;
    }
    Ok(chunks)
}

fn mapped(ctx: &mut Context, n: JsonValue) -> Result<Json> {
    let n = n.as_i64().with_context(|| format!("mapped: n must be an integer, got {}", n))?;
    Ok(Json::from(Object::new().string("key", ctx.mapping_key()).int("n2", n * 2)))
}
