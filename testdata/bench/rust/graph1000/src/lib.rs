//! The Rust guest of the graph1000 benchmark (bench/README.md, b): 100 stages, each a hub
//! hub_KKK and 9 leaves leaf_KKK_J reading it; hub_KKK (k ≥ 1) reads the 9 leaves of stage k-1.
//! Every asset returns 1 + the largest of its inputs, so its depth. build.rs writes the
//! registrations.

use wasmorch::prelude::*;
use wasmorch::{Format, FromInput, Handler, InputStream, Inputs};

fn root(_ctx: &mut Context) -> Result<Json> {
    Ok(Json::from("1"))
}

fn fan_out(_ctx: &mut Context, hub: JsonValue) -> Result<Json> {
    let hub = hub.as_i64().context("hub is not an integer")?;
    Ok(Json::from((hub + 1).to_string()))
}

/// The 9 inputs of a hub. The SDK's `Handler` takes functions of up to eight inputs, so the hub
/// is a type with its own `Inputs` (one JSON value per input, in declaration order) and `Handler`.
struct Leaves(Vec<JsonValue>);

const LEAVES: usize = 9;

impl Inputs for Leaves {
    fn formats() -> Vec<Format> {
        vec![JsonValue::FORMAT; LEAVES]
    }
    fn optional() -> Vec<bool> {
        vec![false; LEAVES]
    }
    fn load(streams: Vec<Option<InputStream>>) -> std::result::Result<Self, (usize, Error)> {
        let mut values = Vec::with_capacity(streams.len());
        for (i, s) in streams.into_iter().enumerate() {
            let v = match s {
                Some(s) => JsonValue::from_input(s),
                None => JsonValue::from_absent(),
            };
            values.push(v.map_err(|e| (i, e))?);
        }
        Ok(Leaves(values))
    }
}

/// hub_KKK for k ≥ 1: 1 + the largest of its 9 leaves.
struct FanIn;

impl Handler<Leaves> for FanIn {
    type Output = Json;
    fn call(&self, _ctx: &mut Context, leaves: Leaves) -> Result<Json> {
        let mut top = i64::MIN;
        for v in &leaves.0 {
            top = top.max(v.as_i64().context("a leaf is not an integer")?);
        }
        Ok(Json::from((top + 1).to_string()))
    }
}

include!(concat!(env!("OUT_DIR"), "/module.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_valid() {
        let m = wasmorch_module();
        assert_eq!(m.problems(), Vec::<String>::new());
    }

    #[test]
    fn hub_is_one_more_than_its_largest_leaf() {
        let leaves = Leaves((0..9).map(|i| JsonValue::parse(&i.to_string()).unwrap()).collect());
        assert_eq!(FanIn.call(&mut Context::for_test(), leaves).unwrap().0, "9");
    }
}
