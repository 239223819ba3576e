//! The Rust guest of the fib_chain benchmark (bench/README.md, a): 40 assets fib_00 … fib_39
//! in a chain, each returning its upstream plus fibonacci(10). build.rs writes the registrations.

use wasmorch::prelude::*;

/// fibonacci(10), computed iteratively as the spec says (55).
fn fib10() -> i64 {
    let (mut a, mut b) = (0i64, 1i64);
    for _ in 0..10 {
        let next = a + b;
        a = b;
        b = next;
    }
    a
}

fn first(_ctx: &mut Context) -> Result<Json> {
    Ok(Json::from(fib10().to_string()))
}

fn step(_ctx: &mut Context, upstream: JsonValue) -> Result<Json> {
    let up = upstream.as_i64().context("upstream is not an integer")?;
    Ok(Json::from((up + fib10()).to_string()))
}

include!(concat!(env!("OUT_DIR"), "/module.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_valid() {
        assert_eq!(wasmorch_module().problems(), Vec::<String>::new());
    }

    #[test]
    fn chain_values() {
        let mut ctx = Context::for_test();
        let mut v = first(&mut ctx).unwrap();
        for _ in 1..40 {
            v = step(&mut ctx, v.parse().unwrap()).unwrap();
        }
        assert_eq!(v.0, "2200");
    }
}
