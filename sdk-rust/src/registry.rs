//! Registering assets and ops: [`asset`], [`op`] and [`Module`].

use std::fmt;

use crate::arrow::Schema;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::host::{Format, OUTPUT_RESULT};
use crate::json::JsonValue;
use crate::value::{FromInput, InputStream, IntoOutput, OutputStream};

/// Why a step function did not produce its outputs.
pub(crate) enum CallError {
    /// Input `index` could not be loaded.
    Input(usize, Error),
    /// The function returned an error.
    Function(Error),
}

/// A step function with its inputs loaded and outputs type-erased.
pub(crate) type StepFn =
    Box<dyn Fn(&mut Context, Vec<InputStream>) -> Result<Vec<Box<dyn ErasedOutput>>, CallError>>;

/// An output value whose type is erased; implemented for every [`IntoOutput`].
#[doc(hidden)]
pub trait ErasedOutput {
    /// Writes the value.
    fn write_boxed(self: Box<Self>, out: &mut OutputStream<'_>) -> Result<()>;
}

impl<T: IntoOutput> ErasedOutput for T {
    fn write_boxed(self: Box<Self>, out: &mut OutputStream<'_>) -> Result<()> {
        (*self).write_output(out)
    }
}

/// The parameters of a step function after its [`Context`]: a tuple of [`FromInput`] types.
/// Implemented for tuples of up to eight inputs.
pub trait Inputs: Sized {
    /// The format of each input.
    #[doc(hidden)]
    fn formats() -> Vec<Format>;
    /// Decodes every input; the error names the index of the one that failed.
    #[doc(hidden)]
    fn load(streams: Vec<InputStream>) -> Result<Self, (usize, Error)>;
}

/// A function that can be an asset or op: `Fn(&mut Context, I1, ..., In) -> Result<R>`, where
/// each `Ii` is a [`FromInput`] type. Implemented for functions of up to eight inputs; `Args`
/// is the tuple of input types and is inferred.
pub trait Handler<Args: Inputs>: 'static {
    /// What the function returns when it succeeds.
    type Output;
    /// Calls the function.
    #[doc(hidden)]
    fn call(&self, ctx: &mut Context, args: Args) -> Result<Self::Output>;
}

/// What an op function returns: one [`IntoOutput`] value for an op with one output, or a tuple
/// of two to six of them, one per output named with [`OpDef::outs`], in order.
pub trait OpOutputs: 'static {
    /// The format of each output.
    #[doc(hidden)]
    fn formats() -> Vec<Format>;
    /// The values, one per output.
    #[doc(hidden)]
    fn into_outputs(self) -> Vec<Box<dyn ErasedOutput>>;
}

impl<T: IntoOutput> OpOutputs for T {
    fn formats() -> Vec<Format> {
        vec![T::FORMAT]
    }
    fn into_outputs(self) -> Vec<Box<dyn ErasedOutput>> {
        vec![Box::new(self)]
    }
}

macro_rules! tuples {
    ($($n:literal: ($($t:ident $v:ident),*);)*) => {$(
        impl<$($t: FromInput),*> Inputs for ($($t,)*) {
            fn formats() -> Vec<Format> {
                vec![$($t::FORMAT),*]
            }
            #[allow(unused_variables, unused_mut)]
            fn load(streams: Vec<InputStream>) -> Result<Self, (usize, Error)> {
                let mut streams = streams.into_iter().enumerate();
                Ok(($({
                    let (i, s) = streams.next().expect("one stream per input");
                    $t::from_input(s).map_err(|e| (i, e))?
                },)*))
            }
        }

        impl<F, R, $($t: FromInput),*> Handler<($($t,)*)> for F
        where
            F: Fn(&mut Context $(, $t)*) -> Result<R> + 'static,
        {
            type Output = R;
            fn call(&self, ctx: &mut Context, ($($v,)*): ($($t,)*)) -> Result<R> {
                self(ctx $(, $v)*)
            }
        }
    )*};
}

tuples! {
    0: ();
    1: (A a);
    2: (A a, B b);
    3: (A a, B b, C c);
    4: (A a, B b, C c, D d);
    5: (A a, B b, C c, D d, E e);
    6: (A a, B b, C c, D d, E e, G g);
    7: (A a, B b, C c, D d, E e, G g, H h);
    8: (A a, B b, C c, D d, E e, G g, H h, J j);
}

macro_rules! op_tuples {
    ($(($($t:ident $v:ident),*);)*) => {$(
        impl<$($t: IntoOutput),*> OpOutputs for ($($t,)*) {
            fn formats() -> Vec<Format> {
                vec![$($t::FORMAT),*]
            }
            fn into_outputs(self) -> Vec<Box<dyn ErasedOutput>> {
                let ($($v,)*) = self;
                vec![$(Box::new($v)),*]
            }
        }
    )*};
}

op_tuples! {
    (A a, B b);
    (A a, B b, C c);
    (A a, B b, C c, D d);
    (A a, B b, C c, D d, E e);
    (A a, B b, C c, D d, E e, G g);
}

/// An input of an asset: its name and the upstream asset it is loaded from.
#[derive(Clone, Debug)]
pub(crate) struct AssetIn {
    pub name: String,
    pub asset: String,
    /// The name was derived from the key by `.ins`.
    pub from_ins: bool,
}

/// A registered asset, built with [`asset`] and its builder methods.
pub struct AssetDef {
    pub(crate) key: String,
    pub(crate) ins: Vec<AssetIn>,
    pub(crate) deps: Vec<String>,
    pub(crate) group: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) schema: Option<Schema>,
    pub(crate) config_schema: Option<String>,
    pub(crate) resources: Vec<String>,
    pub(crate) io_manager: Option<String>,
    pub(crate) code_version: Option<String>,
    pub(crate) in_formats: Vec<Format>,
    pub(crate) out_format: Format,
    pub(crate) run: StepFn,
}

/// Registers `f` as the software-defined asset `key`.
///
/// `f` takes `&mut Context` and then one parameter per input declared with
/// [`ins`](AssetDef::ins) or [`input`](AssetDef::input), in order, and returns
/// `Result<R>` where `R` is the asset's value ([`IntoOutput`]). The parameter types decide the
/// formats the manifest declares. Mistakes (an invalid key, a wrong number of inputs, ...) are
/// reported by the manifest, which makes the host refuse the module with a message naming the
/// asset; [`Module::manifest_json`] shows them in a native test.
///
/// ```
/// use wasmorch::prelude::*;
/// fn cleaned(_ctx: &mut Context, raw: Table) -> Result<Table> {
///     Ok(raw)
/// }
/// let def = asset("orders/cleaned", cleaned)
///     .ins(&["orders/raw"])
///     .group("orders")
///     .description("Orders without incomplete rows.");
/// let mut module = Module::new();
/// module.add(def);
/// assert!(module.manifest_json().unwrap().contains(r#""ins":[{"name":"raw","asset":"orders/raw","format":"arrow"}]"#));
/// ```
pub fn asset<F, Args>(key: &str, f: F) -> AssetDef
where
    Args: Inputs,
    F: Handler<Args>,
    F::Output: IntoOutput,
{
    AssetDef {
        key: key.to_string(),
        ins: Vec::new(),
        deps: Vec::new(),
        group: None,
        description: None,
        tags: Vec::new(),
        schema: None,
        config_schema: None,
        resources: Vec::new(),
        io_manager: None,
        code_version: None,
        in_formats: Args::formats(),
        out_format: <F::Output as IntoOutput>::FORMAT,
        run: erase(f, |r: F::Output| vec![Box::new(r) as Box<dyn ErasedOutput>]),
    }
}

fn erase<F, Args, O>(f: F, outputs: O) -> StepFn
where
    Args: Inputs,
    F: Handler<Args>,
    O: Fn(F::Output) -> Vec<Box<dyn ErasedOutput>> + 'static,
{
    Box::new(move |ctx, streams| {
        let args = Args::load(streams).map_err(|(i, e)| CallError::Input(i, e))?;
        let out = f.call(ctx, args).map_err(CallError::Function)?;
        Ok(outputs(out))
    })
}

fn strings<'a>(items: &'a [&str]) -> impl Iterator<Item = String> + 'a {
    items.iter().map(|s| s.to_string())
}

impl AssetDef {
    /// Declares one input per upstream asset key, in parameter order. The input's name is the
    /// key's last component (`"orders/raw"` gives the input `raw`); use
    /// [`input`](AssetDef::input) to choose another.
    pub fn ins(mut self, keys: &[&str]) -> Self {
        for k in keys {
            let name = k.rsplit('/').next().unwrap_or(k);
            self.ins.push(AssetIn {
                name: name.to_string(),
                asset: k.to_string(),
                from_ins: true,
            });
        }
        self
    }

    /// Declares the next input: its name and the upstream asset it is loaded from.
    pub fn input(mut self, name: &str, asset_key: &str) -> Self {
        self.ins.push(AssetIn {
            name: name.to_string(),
            asset: asset_key.to_string(),
            from_ins: false,
        });
        self
    }

    /// Declares upstream assets that must materialize first but are not loaded.
    pub fn deps(mut self, keys: &[&str]) -> Self {
        self.deps.extend(strings(keys));
        self
    }

    /// Puts the asset in a group; the host's default is `default`.
    pub fn group(mut self, name: &str) -> Self {
        self.group = Some(name.to_string());
        self
    }

    /// Sets the human-readable description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = Some(text.to_string());
        self
    }

    /// Adds a string tag; a later value for the same name wins.
    pub fn tag(mut self, name: &str, value: &str) -> Self {
        self.tags.retain(|(k, _)| k != name);
        self.tags.push((name.to_string(), value.to_string()));
        self
    }

    /// Declares the Arrow schema of the asset's value, which must then be an Arrow type. The
    /// host checks every output against it.
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Declares the JSON Schema (an object) of the asset's run config. The host validates the
    /// config and applies its defaults before the step runs.
    pub fn config_schema(mut self, json_schema: &str) -> Self {
        self.config_schema = Some(json_schema.to_string());
        self
    }

    /// Declares the resource keys the asset needs; the workspace must grant them.
    pub fn resources(mut self, keys: &[&str]) -> Self {
        self.resources.extend(strings(keys));
        self
    }

    /// Names the IO manager that stores the asset's value; the workspace default is `fs`.
    pub fn io_manager(mut self, key: &str) -> Self {
        self.io_manager = Some(key.to_string());
        self
    }

    /// Overrides the module digest as the asset's code version.
    pub fn code_version(mut self, version: &str) -> Self {
        self.code_version = Some(version.to_string());
        self
    }

    /// The asset key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The problems with this registration, each prefixed `asset "key": `.
    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut add = |msg: String| p.push(format!("asset \"{}\": {}", self.key, msg));
        if !valid_key(&self.key) {
            add(format!("invalid asset key \"{}\": {}", self.key, KEY_RULE));
        }
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for input in &self.ins {
            if !valid_key(&input.asset) {
                add(format!(
                    "input \"{}\": invalid upstream asset key \"{}\": {}",
                    input.name, input.asset, KEY_RULE
                ));
            } else if !valid_name(&input.name) && input.from_ins {
                add(format!(
                    "input from .ins(&[\"{}\"]): its last component \"{}\" is not a valid input \
                     name ({}); use .input(name, \"{}\")",
                    input.asset, input.name, NAME_RULE, input.asset
                ));
            } else if !valid_name(&input.name) {
                add(format!(
                    "input \"{}\": not a valid input name ({})",
                    input.name, NAME_RULE
                ));
            } else if let Some((_, other)) = seen.iter().find(|(n, _)| *n == input.name) {
                add(format!(
                    "input name \"{}\" is declared twice (assets \"{}\" and \"{}\"); use .input \
                     to give one another name",
                    input.name, other, input.asset
                ));
            } else if input.asset == self.key {
                add(format!(
                    "input \"{}\": an asset cannot take itself as an input",
                    input.name
                ));
            }
            seen.push((&input.name, &input.asset));
        }
        if self.ins.len() != self.in_formats.len() {
            let names: Vec<&str> = self.ins.iter().map(|i| i.name.as_str()).collect();
            add(format!(
                "the function takes {} input{} after &mut Context, but {} input{} declared \
                 with .ins/.input ({})",
                self.in_formats.len(),
                plural(self.in_formats.len(), "", "s"),
                self.ins.len(),
                plural(self.ins.len(), " is", "s are"),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
        for d in &self.deps {
            if !valid_key(d) {
                add(format!("deps: invalid asset key \"{}\": {}", d, KEY_RULE));
            }
        }
        if let Some(g) = &self.group {
            if !valid_name(g) {
                add(format!("invalid group name \"{}\" ({})", g, NAME_RULE));
            }
        }
        if self.schema.is_some() && self.out_format != Format::Arrow {
            add(format!(
                "a schema is declared, but the function's result travels as {}; a schema \
                 describes Arrow results only",
                self.out_format
            ));
        }
        if let Some(problem) = self
            .config_schema
            .as_deref()
            .and_then(config_schema_problem)
        {
            add(problem);
        }
        resource_problems(&self.resources, &mut add);
        if let Some(m) = &self.io_manager {
            if !valid_name(m) {
                add(format!("invalid IO manager key \"{}\" ({})", m, NAME_RULE));
            }
        }
        p
    }
}

impl fmt::Debug for AssetDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetDef")
            .field("key", &self.key)
            .field("ins", &self.ins)
            .field("output", &self.out_format)
            .finish()
    }
}

/// A registered op, built with [`op`] and its builder methods.
pub struct OpDef {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) ins: Vec<String>,
    pub(crate) outs: Option<Vec<String>>,
    pub(crate) config_schema: Option<String>,
    pub(crate) resources: Vec<String>,
    pub(crate) in_formats: Vec<Format>,
    pub(crate) out_formats: Vec<Format>,
    pub(crate) run: StepFn,
}

/// Registers `f` as the op `name`: a step with named inputs and one or more named outputs,
/// which graphs and jobs wire together by name (ABI.md section 7.2).
///
/// `f` takes `&mut Context` and one parameter per input named with [`ins`](OpDef::ins), and
/// returns one value per output named with [`outs`](OpDef::outs): a single [`IntoOutput`]
/// value, or a tuple of them. Every output is written when `f` succeeds.
///
/// ```
/// use wasmorch::prelude::*;
/// fn halves(_ctx: &mut Context, input: Table) -> Result<(Table, Table)> {
///     Ok((input.clone(), input))
/// }
/// let mut module = Module::new();
/// module.add(op("halves", halves).ins(&["input"]).outs(&["first", "second"]));
/// assert!(module.manifest_json().unwrap().contains(
///     r#""outs":[{"name":"first","format":"arrow"},{"name":"second","format":"arrow"}]"#
/// ));
/// ```
pub fn op<F, Args>(name: &str, f: F) -> OpDef
where
    Args: Inputs,
    F: Handler<Args>,
    F::Output: OpOutputs,
{
    OpDef {
        name: name.to_string(),
        description: None,
        tags: Vec::new(),
        ins: Vec::new(),
        outs: None,
        config_schema: None,
        resources: Vec::new(),
        in_formats: Args::formats(),
        out_formats: <F::Output as OpOutputs>::formats(),
        run: erase(f, OpOutputs::into_outputs),
    }
}

impl OpDef {
    /// Names the inputs, in parameter order.
    pub fn ins(mut self, names: &[&str]) -> Self {
        self.ins.extend(strings(names));
        self
    }

    /// Names the outputs, in the order of the returned tuple. Without it an op has one output,
    /// `result`.
    pub fn outs(mut self, names: &[&str]) -> Self {
        self.outs
            .get_or_insert_with(Vec::new)
            .extend(strings(names));
        self
    }

    /// Sets the human-readable description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = Some(text.to_string());
        self
    }

    /// Adds a string tag; a later value for the same name wins.
    pub fn tag(mut self, name: &str, value: &str) -> Self {
        self.tags.retain(|(k, _)| k != name);
        self.tags.push((name.to_string(), value.to_string()));
        self
    }

    /// Declares the JSON Schema (an object) of the op's run config.
    pub fn config_schema(mut self, json_schema: &str) -> Self {
        self.config_schema = Some(json_schema.to_string());
        self
    }

    /// Declares the resource keys the op needs.
    pub fn resources(mut self, keys: &[&str]) -> Self {
        self.resources.extend(strings(keys));
        self
    }

    /// The op's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The output names: those given to [`outs`](OpDef::outs), or `result`.
    pub(crate) fn out_names(&self) -> Vec<String> {
        self.outs
            .clone()
            .unwrap_or_else(|| vec![OUTPUT_RESULT.to_string()])
    }

    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut add = |msg: String| p.push(format!("op \"{}\": {}", self.name, msg));
        if !valid_name(&self.name) {
            add(format!("invalid op name \"{}\" ({})", self.name, NAME_RULE));
        }
        let outs = self.out_names();
        for (what, names) in [("input", &self.ins), ("output", &outs)] {
            for (i, n) in names.iter().enumerate() {
                if !valid_name(n) {
                    add(format!("invalid {} name \"{}\" ({})", what, n, NAME_RULE));
                } else if names[..i].contains(n) {
                    add(format!("the {} name \"{}\" is declared twice", what, n));
                }
            }
        }
        if self.ins.len() != self.in_formats.len() {
            add(format!(
                "the function takes {} input{} after &mut Context, but .ins names {}",
                self.in_formats.len(),
                plural(self.in_formats.len(), "", "s"),
                self.ins.len()
            ));
        }
        if outs.len() != self.out_formats.len() {
            add(format!(
                "the function returns {} value{}, but the op has {} output{} ({})",
                self.out_formats.len(),
                plural(self.out_formats.len(), "", "s"),
                outs.len(),
                plural(outs.len(), "", "s"),
                outs.join(", ")
            ));
        }
        if let Some(problem) = self
            .config_schema
            .as_deref()
            .and_then(config_schema_problem)
        {
            add(problem);
        }
        resource_problems(&self.resources, &mut add);
        p
    }
}

impl fmt::Debug for OpDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpDef")
            .field("name", &self.name)
            .field("ins", &self.ins)
            .field("outs", &self.out_names())
            .finish()
    }
}

/// An asset or op definition, for [`Module::add`].
#[derive(Debug)]
pub enum Definition {
    /// An asset.
    Asset(AssetDef),
    /// An op.
    Op(OpDef),
}

impl From<AssetDef> for Definition {
    fn from(d: AssetDef) -> Self {
        Definition::Asset(d)
    }
}

impl From<OpDef> for Definition {
    fn from(d: OpDef) -> Self {
        Definition::Op(d)
    }
}

/// Everything a WebAssembly module defines. [`module!`](crate::module) builds one and exports
/// it; native tests can build one to check the manifest.
#[derive(Debug, Default)]
pub struct Module {
    pub(crate) assets: Vec<AssetDef>,
    pub(crate) ops: Vec<OpDef>,
}

impl Module {
    /// An empty module.
    pub fn new() -> Self {
        Module::default()
    }

    /// Adds an asset or op.
    pub fn add(&mut self, def: impl Into<Definition>) -> &mut Self {
        match def.into() {
            Definition::Asset(a) => self.assets.push(a),
            Definition::Op(o) => self.ops.push(o),
        }
        self
    }

    /// The registered assets.
    pub fn assets(&self) -> &[AssetDef] {
        &self.assets
    }

    /// The registered ops.
    pub fn ops(&self) -> &[OpDef] {
        &self.ops
    }

    /// Every problem with the registrations, in registration order; empty when the module is
    /// valid.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.assets.is_empty() && self.ops.is_empty() {
            p.push(
                "the module registers no assets or ops; list them in wasmorch::module!".to_string(),
            );
        }
        for (i, a) in self.assets.iter().enumerate() {
            p.extend(a.problems());
            if self.assets[..i].iter().any(|b| b.key == a.key) {
                p.push(format!(
                    "asset \"{}\": the key is registered twice; asset keys must be unique \
                     within a module",
                    a.key
                ));
            }
        }
        for (i, o) in self.ops.iter().enumerate() {
            p.extend(o.problems());
            if self.ops[..i].iter().any(|b| b.name == o.name) {
                p.push(format!(
                    "op \"{}\": the name is registered twice; op names must be unique within \
                     a module",
                    o.name
                ));
            }
        }
        p
    }

    /// The manifest JSON (ABI.md section 7) that `wasmorch_manifest` hands to the host, or the
    /// registration problems joined by `"; "`.
    pub fn manifest_json(&self) -> Result<String> {
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(Error::msg(problems.join("; ")));
        }
        Ok(crate::manifest::manifest_json(self))
    }

    pub(crate) fn find_asset(&self, key: &str) -> Option<&AssetDef> {
        self.assets.iter().find(|a| a.key == key)
    }

    pub(crate) fn find_op(&self, name: &str) -> Option<&OpDef> {
        self.ops.iter().find(|o| o.name == name)
    }
}

const NAME_RULE: &str = "want [A-Za-z_][A-Za-z0-9_]*";
const KEY_RULE: &str =
    "an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* \
                        joined by \"/\", such as \"orders/raw\"";

/// A name of ABI.md section 7: `^[A-Za-z_][A-Za-z0-9_]*$`.
pub(crate) fn valid_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An asset key of ABI.md section 7: components `^[A-Za-z0-9_][A-Za-z0-9_-]*$` joined by `/`.
pub(crate) fn valid_key(s: &str) -> bool {
    !s.is_empty()
        && s.split('/').all(|part| {
            let mut bytes = part.bytes();
            matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

fn config_schema_problem(schema: &str) -> Option<String> {
    match JsonValue::parse(schema) {
        Err(e) => Some(format!("config schema: {}", e)),
        Ok(JsonValue::Object(_)) => None,
        Ok(other) => Some(format!(
            "config schema: a config schema must be a JSON object, got {}",
            other.type_name()
        )),
    }
}

fn resource_problems(keys: &[String], add: &mut impl FnMut(String)) {
    for k in keys {
        if !valid_name(k) {
            add(format!("invalid resource key \"{}\" ({})", k, NAME_RULE));
        }
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::Table;
    use crate::value::{BatchReader, Bytes, Json};

    fn two(_: &mut Context, _a: Table, _b: Json) -> Result<Bytes> {
        Ok(Bytes::default())
    }

    fn none(_: &mut Context) -> Result<Json> {
        Ok(Json("{}".into()))
    }

    fn stream(_: &mut Context, r: BatchReader) -> Result<BatchReader> {
        Ok(r)
    }

    #[test]
    fn names_and_keys() {
        for k in ["a", "orders/raw", "0-x/_y", "a-b"] {
            assert!(valid_key(k), "{}", k);
        }
        for k in ["", "/a", "a/", "a//b", "-a", "a b", "é"] {
            assert!(!valid_key(k), "{}", k);
        }
        assert!(valid_name("_a1") && valid_name("raw_orders"));
        assert!(!valid_name("1a") && !valid_name("a-b") && !valid_name(""));
    }

    #[test]
    fn formats_come_from_the_function_type() {
        let a = asset("x", two).ins(&["t", "j"]);
        assert_eq!(a.in_formats, vec![Format::Arrow, Format::Json]);
        assert_eq!(a.out_format, Format::Bytes);
        let s = asset("s", stream).ins(&["up"]);
        assert_eq!(s.in_formats, vec![Format::Arrow]);
        assert_eq!(s.out_format, Format::Arrow);
    }

    #[test]
    fn problems_name_the_asset() {
        let mut m = Module::new();
        m.add(asset("bad key", none))
            .add(asset("x", two).ins(&["a/b-c", "d"]))
            .add(asset("y", two).input("t", "y").input("t", "z"))
            .add(
                asset("z", none)
                    .ins(&["w"])
                    .group("my group")
                    .schema(Schema::default()),
            )
            .add(
                asset("z", none)
                    .config_schema("[1]")
                    .resources(&["ok", "not ok"]),
            )
            .add(op("o", two).ins(&["a"]).outs(&["x", "x"]))
            .add(op("o", none));
        let p = m.problems();
        let want = [
            "asset \"bad key\": invalid asset key \"bad key\": an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by \"/\", such as \"orders/raw\"",
            "asset \"x\": input from .ins(&[\"a/b-c\"]): its last component \"b-c\" is not a valid input name (want [A-Za-z_][A-Za-z0-9_]*); use .input(name, \"a/b-c\")",
            "asset \"y\": input \"t\": an asset cannot take itself as an input",
            "asset \"y\": input name \"t\" is declared twice (assets \"y\" and \"z\"); use .input to give one another name",
            "asset \"z\": the function takes 0 inputs after &mut Context, but 1 input is declared with .ins/.input (w)",
            "asset \"z\": invalid group name \"my group\" (want [A-Za-z_][A-Za-z0-9_]*)",
            "asset \"z\": a schema is declared, but the function's result travels as json; a schema describes Arrow results only",
            "asset \"z\": config schema: a config schema must be a JSON object, got array",
            "asset \"z\": invalid resource key \"not ok\" (want [A-Za-z_][A-Za-z0-9_]*)",
            "asset \"z\": the key is registered twice; asset keys must be unique within a module",
            "op \"o\": the output name \"x\" is declared twice",
            "op \"o\": the function takes 2 inputs after &mut Context, but .ins names 1",
            "op \"o\": the function returns 1 value, but the op has 2 outputs (x, x)",
            "op \"o\": the name is registered twice; op names must be unique within a module",
        ];
        assert_eq!(p, want);
        assert!(m
            .manifest_json()
            .unwrap_err()
            .message()
            .contains("; op \"o\""));
        assert_eq!(
            Module::new().problems(),
            vec!["the module registers no assets or ops; list them in wasmorch::module!"]
        );
    }
}
