//! Registering assets, ops and checks: [`asset`], [`op`], [`check`] and [`Module`]. Graphs
//! and jobs are in `graph.rs`.

use std::fmt;

use crate::arrow::Schema;
use crate::checks::CheckResult;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::graph::{GraphDef, JobDef};
use crate::host::{Format, OUTPUT_RESULT};
use crate::json::JsonValue;
use crate::partitions::{PartitionMapping, Partitions};
use crate::retry::RetryPolicy;
use crate::value::{Dynamic, FromInput, InputStream, IntoOutput, OutputStream};

/// Why a step function did not produce its outputs.
pub(crate) enum CallError {
    /// Input `index` could not be loaded.
    Input(usize, Error),
    /// The function returned an error.
    Function(Error),
}

/// A step function with its inputs loaded (`None` for an input the step has no value for) and
/// its result type-erased.
pub(crate) type StepFn<O = Vec<OutValue>> =
    Box<dyn Fn(&mut Context, Vec<Option<InputStream>>) -> Result<O, CallError>>;

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

/// What a step writes to one of its outputs.
#[doc(hidden)]
pub enum OutValue {
    /// One value, written under the output's name.
    One(Box<dyn ErasedOutput>),
    /// Nothing: an optional output left unwritten.
    Absent,
    /// A dynamic output's values, each written as `NAME[KEY]`.
    Mapped(MappedValues),
}

/// The values of a dynamic output with their mapping keys, type-erased.
#[doc(hidden)]
pub type MappedValues = Box<dyn Iterator<Item = Result<(String, Box<dyn ErasedOutput>)>>>;

/// The parameters of a step function after its [`Context`]: a tuple of [`FromInput`] types.
/// Implemented for tuples of up to eight inputs.
pub trait Inputs: Sized {
    /// The format of each input.
    #[doc(hidden)]
    fn formats() -> Vec<Format>;
    /// Whether each input is optional (an `Option<T>` parameter).
    #[doc(hidden)]
    fn optional() -> Vec<bool>;
    /// Decodes every input; the error names the index of the one that failed.
    #[doc(hidden)]
    fn load(streams: Vec<Option<InputStream>>) -> Result<Self, (usize, Error)>;
}

/// The parameters of a check function after its [`Context`]: nothing, or the asset's value as
/// one [`FromInput`] type.
pub trait CheckInputs: Inputs {}

impl CheckInputs for () {}
impl<T: FromInput> CheckInputs for (T,) {}

/// A function that can be an asset, op or check: `Fn(&mut Context, I1, ..., In) -> Result<R>`,
/// where each `Ii` is a [`FromInput`] type. Implemented for functions of up to eight inputs;
/// `Args` is the tuple of input types and is inferred.
pub trait Handler<Args: Inputs>: 'static {
    /// What the function returns when it succeeds.
    type Output;
    /// Calls the function.
    #[doc(hidden)]
    fn call(&self, ctx: &mut Context, args: Args) -> Result<Self::Output>;
}

/// One output of an op: an [`IntoOutput`] value, `Option` of one (an optional output, left
/// unwritten when `None`), or [`Dynamic`] (a fan-out output, written once per mapping key).
pub trait OpOutput: 'static {
    /// The format the value travels as.
    #[doc(hidden)]
    const FORMAT: Format;
    /// Whether the output may be left unwritten (`optional` in the manifest).
    #[doc(hidden)]
    const OPTIONAL: bool = false;
    /// Whether the output is written once per mapping key (`dynamic` in the manifest).
    #[doc(hidden)]
    const DYNAMIC: bool = false;
    /// The value, type-erased.
    #[doc(hidden)]
    fn into_out_value(self) -> OutValue;
}

impl<T: IntoOutput> OpOutput for T {
    const FORMAT: Format = T::FORMAT;
    fn into_out_value(self) -> OutValue {
        OutValue::One(Box::new(self))
    }
}

impl<T: IntoOutput> OpOutput for Option<T> {
    const FORMAT: Format = T::FORMAT;
    const OPTIONAL: bool = true;
    fn into_out_value(self) -> OutValue {
        match self {
            Some(v) => OutValue::One(Box::new(v)),
            None => OutValue::Absent,
        }
    }
}

impl<T: IntoOutput> OpOutput for Dynamic<T> {
    const FORMAT: Format = T::FORMAT;
    const DYNAMIC: bool = true;
    fn into_out_value(self) -> OutValue {
        OutValue::Mapped(Box::new(self.into_items().map(|item| {
            item.map(|(k, v)| (k, Box::new(v) as Box<dyn ErasedOutput>))
        })))
    }
}

/// How an op output is declared: its format and flags.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutSpec {
    /// The format.
    pub format: Format,
    /// `optional` in the manifest.
    pub optional: bool,
    /// `dynamic` in the manifest.
    pub dynamic: bool,
}

fn out_spec<T: OpOutput>() -> OutSpec {
    OutSpec {
        format: T::FORMAT,
        optional: T::OPTIONAL,
        dynamic: T::DYNAMIC,
    }
}

/// What an op function returns: one [`OpOutput`] value for an op with one output, or a tuple
/// of two to six of them, one per output named with [`OpDef::outs`], in order.
pub trait OpOutputs: 'static {
    /// The declaration of each output.
    #[doc(hidden)]
    fn specs() -> Vec<OutSpec>;
    /// The values, one per output.
    #[doc(hidden)]
    fn into_outputs(self) -> Vec<OutValue>;
}

impl<T: OpOutput> OpOutputs for T {
    fn specs() -> Vec<OutSpec> {
        vec![out_spec::<T>()]
    }
    fn into_outputs(self) -> Vec<OutValue> {
        vec![self.into_out_value()]
    }
}

macro_rules! tuples {
    ($($n:literal: ($($t:ident $v:ident),*);)*) => {$(
        impl<$($t: FromInput),*> Inputs for ($($t,)*) {
            fn formats() -> Vec<Format> {
                vec![$($t::FORMAT),*]
            }
            fn optional() -> Vec<bool> {
                vec![$($t::OPTIONAL),*]
            }
            #[allow(unused_variables, unused_mut)]
            fn load(streams: Vec<Option<InputStream>>) -> Result<Self, (usize, Error)> {
                let mut streams = streams.into_iter().enumerate();
                Ok(($({
                    let (i, s) = streams.next().expect("one stream per input");
                    match s {
                        Some(s) => $t::from_input(s),
                        None => $t::from_absent(),
                    }
                    .map_err(|e| (i, e))?
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
        impl<$($t: OpOutput),*> OpOutputs for ($($t,)*) {
            fn specs() -> Vec<OutSpec> {
                vec![$(out_spec::<$t>()),*]
            }
            fn into_outputs(self) -> Vec<OutValue> {
                let ($($v,)*) = self;
                vec![$($v.into_out_value()),*]
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
    /// Which upstream partitions it reads; `None` for the host's default.
    pub mapping: Option<PartitionMapping>,
    /// The format of an input the function reads through its [`Context`] (declared with
    /// `.context_input`); `None` for an input that is one of the function's parameters.
    pub context_format: Option<Format>,
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
    pub(crate) retry_policy: Option<RetryPolicy>,
    pub(crate) partitions: Option<Partitions>,
    /// Inputs named in `.partition_mapping` that were not declared before it.
    pub(crate) unknown_mapped: Vec<String>,
    /// The formats of the function's parameters after `&mut Context`, in order.
    pub(crate) in_formats: Vec<Format>,
    pub(crate) in_optional: Vec<bool>,
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
        retry_policy: None,
        partitions: None,
        unknown_mapped: Vec::new(),
        in_formats: Args::formats(),
        in_optional: Args::optional(),
        out_format: <F::Output as IntoOutput>::FORMAT,
        run: erase(f, |r: F::Output| vec![OutValue::One(Box::new(r))]),
    }
}

fn erase<F, Args, O, R>(f: F, outputs: O) -> StepFn<R>
where
    Args: Inputs,
    F: Handler<Args>,
    O: Fn(F::Output) -> R + 'static,
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
                mapping: None,
                context_format: None,
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
            mapping: None,
            context_format: None,
        });
        self
    }

    /// Declares the next input, as [`input`](AssetDef::input) does, with the upstream
    /// partitions it reads for each partition of this asset (ABI.md section 7.7).
    ///
    /// ```
    /// use wasmorch::prelude::*;
    /// /// One day of events, from the day's 24 hourly partitions.
    /// fn daily(ctx: &mut Context, hourly: PartitionedBatches) -> Result<Table> {
    ///     let schema = hourly.schema().clone();
    ///     let mut batches = Vec::new();
    ///     for item in hourly {
    ///         let (hour, batch) = item?;
    ///         ctx.debug(format!("{}: {} rows", hour, batch.num_rows()));
    ///         batches.push(batch);
    ///     }
    ///     Table::new(schema, batches)
    /// }
    /// let def = asset("daily_events", daily)
    ///     .partitions(Partitions::daily("2026-01-01"))
    ///     .input_mapped("hourly", "hourly_events", PartitionMapping::time_window());
    /// let mut module = Module::new();
    /// module.add(asset("hourly_events", |_: &mut Context| -> Result<Table> { unimplemented!() })
    ///     .partitions(Partitions::hourly("2026-01-01")));
    /// module.add(def);
    /// assert!(module.manifest_json().unwrap().contains(
    ///     r#""ins":[{"name":"hourly","asset":"hourly_events","format":"arrow","partition_mapping":{"type":"time_window"}}]"#
    /// ));
    /// ```
    pub fn input_mapped(self, name: &str, asset_key: &str, mapping: PartitionMapping) -> Self {
        self.input(name, asset_key).partition_mapping(name, mapping)
    }

    /// Declares the next input as one the function does not take as a parameter but reads
    /// itself, in the given format, through [`Context::input`] or [`Context::input_batches`]
    /// ([`Context::input_names`] lists the step's inputs). One function can then serve assets
    /// with different inputs.
    ///
    /// ```
    /// use wasmorch::prelude::*;
    /// /// Counts the rows of every input.
    /// fn count_rows(ctx: &mut Context) -> Result<JsonValue> {
    ///     let mut total = 0;
    ///     for name in ctx.input_names() {
    ///         total += ctx.input::<Table>(name)?.num_rows() as i64;
    ///     }
    ///     Ok(JsonValue::from(total))
    /// }
    /// let def = asset("row_count", count_rows)
    ///     .context_input("orders", "orders", Format::Arrow)
    ///     .context_input("refunds", "refunds", Format::Arrow);
    /// ```
    pub fn context_input(mut self, name: &str, asset_key: &str, format: Format) -> Self {
        self.ins.push(AssetIn {
            name: name.to_string(),
            asset: asset_key.to_string(),
            from_ins: false,
            mapping: None,
            context_format: Some(format),
        });
        self
    }

    /// Sets the partition mapping of the input `input`, declared before with
    /// [`ins`](AssetDef::ins), [`input`](AssetDef::input) or
    /// [`context_input`](AssetDef::context_input): which upstream partitions it reads for each
    /// partition of this asset. Without one, the host uses the default mapping (see
    /// [`PartitionMapping`]).
    pub fn partition_mapping(mut self, input: &str, mapping: PartitionMapping) -> Self {
        match self.ins.iter_mut().find(|i| i.name == input) {
            Some(i) => i.mapping = Some(mapping),
            None => self.unknown_mapped.push(input.to_string()),
        }
        self
    }

    /// Splits the asset into partitions that materialize one by one (ABI.md section 7.6). The
    /// step of a partition learns its key from [`Context::partition_key`], and the window of a
    /// time partition from [`Context::partition_window`].
    ///
    /// ```
    /// use wasmorch::prelude::*;
    /// fn report(ctx: &mut Context) -> Result<Json> {
    ///     let region = ctx.partition_dimension("region").unwrap_or_default();
    ///     Ok(Json::from(Object::new().string("region", region)))
    /// }
    /// let def = asset("report", report).partitions(Partitions::multi(vec![
    ///     ("date", Partitions::daily("2026-01-01")),
    ///     ("region", Partitions::static_keys(&["us", "eu"])),
    /// ]));
    /// ```
    pub fn partitions(mut self, partitions: Partitions) -> Self {
        self.partitions = Some(partitions);
        self
    }

    /// The inputs that are parameters of the function, in order, with their formats (as far as
    /// the parameters go), and the inputs read through the context with theirs.
    pub(crate) fn input_formats(&self) -> Vec<(&AssetIn, Format)> {
        let mut params = self.in_formats.iter();
        self.ins
            .iter()
            .filter_map(|i| match i.context_format {
                Some(f) => Some((i, f)),
                None => params.next().map(|f| (i, *f)),
            })
            .collect()
    }

    /// The inputs that are parameters of the function, in order.
    pub(crate) fn param_ins(&self) -> impl Iterator<Item = &AssetIn> {
        self.ins.iter().filter(|i| i.context_format.is_none())
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

    /// Gives the asset a retry policy: the host runs a failed step again, up to
    /// `max_retries` times. See [`RetryPolicy`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
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
        let params: Vec<&str> = self.param_ins().map(|i| i.name.as_str()).collect();
        if params.len() != self.in_formats.len() {
            add(format!(
                "the function takes {} input{} after &mut Context, but {} input{} declared \
                 with .ins/.input ({})",
                self.in_formats.len(),
                plural(self.in_formats.len(), "", "s"),
                params.len(),
                plural(params.len(), " is", "s are"),
                if params.is_empty() {
                    "none".to_string()
                } else {
                    params.join(", ")
                }
            ));
        }
        for input in &self.ins {
            if let Some(m) = &input.mapping {
                for problem in m.problems("partition_mapping") {
                    add(format!("input \"{}\": {}", input.name, problem));
                }
            }
        }
        for name in &self.unknown_mapped {
            let names: Vec<&str> = self.ins.iter().map(|i| i.name.as_str()).collect();
            add(format!(
                ".partition_mapping(\"{}\", ...): the asset has no input \"{}\" declared before \
                 it (it has: {})",
                name,
                name,
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
        if let Some(p) = &self.partitions {
            p.problems("partitions").into_iter().for_each(&mut add);
        }
        for (input, optional) in self.param_ins().zip(&self.in_optional) {
            if *optional {
                add(format!(
                    "input \"{}\": an asset's inputs are never optional, so its parameter \
                     cannot be an Option; take the value itself",
                    input.name
                ));
            }
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
        if let Some(r) = &self.retry_policy {
            r.problems().into_iter().for_each(&mut add);
        }
        p
    }
}

impl fmt::Debug for AssetDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetDef")
            .field("key", &self.key)
            .field("ins", &self.ins)
            .field("partitions", &self.partitions)
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
    pub(crate) retry_policy: Option<RetryPolicy>,
    pub(crate) in_formats: Vec<Format>,
    pub(crate) in_optional: Vec<bool>,
    pub(crate) out_specs: Vec<OutSpec>,
    pub(crate) run: StepFn,
}

/// Registers `f` as the op `name`: a step with named inputs and one or more named outputs,
/// which graphs and jobs wire together by name (ABI.md section 7.2).
///
/// `f` takes `&mut Context` and one parameter per input named with [`ins`](OpDef::ins), and
/// returns one value per output named with [`outs`](OpDef::outs): a single [`OpOutput`]
/// value, or a tuple of them. Every output is written when `f` succeeds. The types decide the
/// manifest's declarations:
///
/// | parameter or result | declared as |
/// |---|---|
/// | `T` ([`FromInput`] / [`IntoOutput`]) | an input or output of `T`'s format |
/// | `Option<T>` parameter | an `optional` input: `None` when the step has no value for it |
/// | `Option<T>` result | an `optional` output: `None` leaves it unwritten |
/// | [`Dynamic<T>`] result | a `dynamic` (fan-out) output, written once per mapping key |
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
        retry_policy: None,
        in_formats: Args::formats(),
        in_optional: Args::optional(),
        out_specs: <F::Output as OpOutputs>::specs(),
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

    /// Declares the resource keys the op needs; the workspace must grant them.
    pub fn resources(mut self, keys: &[&str]) -> Self {
        self.resources.extend(strings(keys));
        self
    }

    /// Gives the op a retry policy; see [`RetryPolicy`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
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
        if outs.len() != self.out_specs.len() {
            add(format!(
                "the function returns {} value{}, but the op has {} output{} ({})",
                self.out_specs.len(),
                plural(self.out_specs.len(), "", "s"),
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
        if let Some(r) = &self.retry_policy {
            r.problems().into_iter().for_each(&mut add);
        }
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

/// A registered asset check, built with [`check`] and its builder methods.
pub struct CheckDef {
    pub(crate) name: String,
    pub(crate) asset: String,
    pub(crate) description: Option<String>,
    pub(crate) blocking: bool,
    pub(crate) config_schema: Option<String>,
    pub(crate) resources: Vec<String>,
    /// The format of the asset's value, if the function takes it, and whether it is an
    /// `Option`.
    pub(crate) in_format: Option<(Format, bool)>,
    pub(crate) run: StepFn<CheckResult>,
}

/// Registers `f` as the asset check `name` on the asset `asset_key` (ABI.md section 7.3).
///
/// The host runs the check right after the asset materializes, in the same run, and records
/// every evaluation. `f` takes `&mut Context` and, optionally, the asset's value as one
/// parameter of any [`FromInput`] type that matches the asset's format (the value arrives as
/// input `asset`), and returns a [`CheckResult`]. A [blocking](CheckDef::blocking) check whose
/// evaluation fails with severity `ERROR` fails the asset's step and skips everything
/// downstream. An `Err` is an evaluation that failed to run; the host records it as a failed
/// `ERROR` evaluation.
///
/// The asset may be defined by another module of the workspace; a check on an asset of this
/// module is also checked against it (the value's format).
///
/// ```
/// use wasmorch::prelude::*;
/// fn orders(_ctx: &mut Context) -> Result<Bytes> {
///     Ok(Bytes::from("ok"))
/// }
/// /// The value is `ok`.
/// fn is_ok(_ctx: &mut Context, value: Bytes) -> Result<CheckResult> {
///     Ok(CheckResult::new(value.0 == b"ok")
///         .with_metadata(Object::new().int("length", value.0.len() as i64)))
/// }
/// let mut module = Module::new();
/// module
///     .add(asset("orders", orders))
///     .add(check("is_ok", "orders", is_ok).blocking(true).description("The value is ok."));
/// assert!(module.manifest_json().unwrap().contains(
///     r#""checks":[{"name":"is_ok","asset":"orders","description":"The value is ok.","blocking":true}]"#
/// ));
/// ```
pub fn check<F, Args>(name: &str, asset_key: &str, f: F) -> CheckDef
where
    Args: CheckInputs,
    F: Handler<Args, Output = CheckResult>,
{
    CheckDef {
        name: name.to_string(),
        asset: asset_key.to_string(),
        description: None,
        blocking: false,
        config_schema: None,
        resources: Vec::new(),
        in_format: Args::formats().into_iter().zip(Args::optional()).next(),
        run: erase(f, |r| r),
    }
}

impl CheckDef {
    /// Makes a failed `ERROR` evaluation stop the steps downstream of the asset.
    pub fn blocking(mut self, blocking: bool) -> Self {
        self.blocking = blocking;
        self
    }

    /// Sets the human-readable description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = Some(text.to_string());
        self
    }

    /// Declares the JSON Schema (an object) of the check's run config.
    pub fn config_schema(mut self, json_schema: &str) -> Self {
        self.config_schema = Some(json_schema.to_string());
        self
    }

    /// Declares the resource keys the check needs; the workspace must grant them.
    pub fn resources(mut self, keys: &[&str]) -> Self {
        self.resources.extend(strings(keys));
        self
    }

    /// The check's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key of the asset it checks.
    pub fn asset_key(&self) -> &str {
        &self.asset
    }

    /// The problems with this registration, each prefixed `check "name" on asset "key": `;
    /// `asset` is the checked asset when this module defines it.
    fn problems(&self, asset: Option<&AssetDef>) -> Vec<String> {
        let mut p = Vec::new();
        let mut add = |msg: String| {
            p.push(format!(
                "check \"{}\" on asset \"{}\": {}",
                self.name, self.asset, msg
            ))
        };
        if !valid_name(&self.name) {
            add(format!(
                "invalid check name \"{}\" ({})",
                self.name, NAME_RULE
            ));
        }
        if !valid_key(&self.asset) {
            add(format!(
                "invalid asset key \"{}\": {}",
                self.asset, KEY_RULE
            ));
        }
        if let Some((format, optional)) = self.in_format {
            if optional {
                add(
                    "the asset's value is always there, so the parameter cannot be an Option; \
                     take the value itself"
                        .to_string(),
                );
            }
            if let Some(a) = asset {
                if a.out_format != format {
                    add(format!(
                        "the function takes the asset's value as {}, but the asset's result \
                         travels as {}",
                        format, a.out_format
                    ));
                }
            }
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

impl fmt::Debug for CheckDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckDef")
            .field("name", &self.name)
            .field("asset", &self.asset)
            .field("blocking", &self.blocking)
            .finish()
    }
}

/// An asset, op, check, graph or job definition, for [`Module::add`].
#[derive(Debug)]
pub enum Definition {
    /// An asset.
    Asset(AssetDef),
    /// An op.
    Op(OpDef),
    /// An asset check.
    Check(CheckDef),
    /// A graph.
    Graph(GraphDef),
    /// A job.
    Job(JobDef),
}

impl From<GraphDef> for Definition {
    fn from(d: GraphDef) -> Self {
        Definition::Graph(d)
    }
}

impl From<JobDef> for Definition {
    fn from(d: JobDef) -> Self {
        Definition::Job(d)
    }
}

impl From<CheckDef> for Definition {
    fn from(d: CheckDef) -> Self {
        Definition::Check(d)
    }
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
    pub(crate) checks: Vec<CheckDef>,
    pub(crate) graphs: Vec<GraphDef>,
    pub(crate) jobs: Vec<JobDef>,
}

impl Module {
    /// An empty module.
    pub fn new() -> Self {
        Module::default()
    }

    /// Adds an asset, op, check, graph or job.
    pub fn add(&mut self, def: impl Into<Definition>) -> &mut Self {
        match def.into() {
            Definition::Asset(a) => self.assets.push(a),
            Definition::Op(o) => self.ops.push(o),
            Definition::Check(c) => self.checks.push(c),
            Definition::Graph(g) => self.graphs.push(g),
            Definition::Job(j) => self.jobs.push(j),
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

    /// The registered asset checks.
    pub fn checks(&self) -> &[CheckDef] {
        &self.checks
    }

    /// The declared graphs.
    pub fn graphs(&self) -> &[GraphDef] {
        &self.graphs
    }

    /// The declared jobs.
    pub fn jobs(&self) -> &[JobDef] {
        &self.jobs
    }

    /// Every problem with the registrations, in registration order; empty when the module is
    /// valid.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.assets.is_empty()
            && self.ops.is_empty()
            && self.checks.is_empty()
            && self.graphs.is_empty()
            && self.jobs.is_empty()
        {
            p.push(
                "the module registers no assets, ops, checks, graphs or jobs; list them in \
                 wasmorch::module!"
                    .to_string(),
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
        for (i, c) in self.checks.iter().enumerate() {
            p.extend(c.problems(self.find_asset(&c.asset)));
            if self.checks[..i]
                .iter()
                .any(|d| d.name == c.name && d.asset == c.asset)
            {
                p.push(format!(
                    "check \"{}\" on asset \"{}\": the check is registered twice; a check's \
                     name must be unique per asset",
                    c.name, c.asset
                ));
            }
        }
        let is_graph = |name: &str| self.graphs.iter().any(|g| g.name == name);
        let is_op_or_graph = |name: &str| self.find_op(name).is_some() || is_graph(name);
        for (i, g) in self.graphs.iter().enumerate() {
            p.extend(g.problems(&is_op_or_graph));
            if self.graphs[..i].iter().any(|h| h.name == g.name) {
                p.push(format!(
                    "graph \"{}\": the name is registered twice; graph names must be unique \
                     within a module",
                    g.name
                ));
            }
            if self.find_op(&g.name).is_some() {
                p.push(format!(
                    "graph \"{}\": an op of this module has the same name; a node could not \
                     tell them apart",
                    g.name
                ));
            }
        }
        for (i, j) in self.jobs.iter().enumerate() {
            p.extend(j.problems(&is_graph));
            if self.jobs[..i].iter().any(|k| k.name == j.name) {
                p.push(format!(
                    "job \"{}\": the name is registered twice; job names must be unique \
                     within a module",
                    j.name
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

    /// The check `name`: on `asset_key` when that is given, else the only check of that name.
    pub(crate) fn find_check(&self, name: &str, asset_key: &str) -> Option<&CheckDef> {
        let mut named = self
            .checks
            .iter()
            .filter(|c| c.name == name && (asset_key.is_empty() || c.asset == asset_key));
        match (named.next(), named.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }
}

pub(crate) const NAME_RULE: &str = "want [A-Za-z_][A-Za-z0-9_]*";
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
    use crate::{Dynamic, PartitionMapping, Partitions};

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
            vec!["the module registers no assets, ops, checks, graphs or jobs; list them in wasmorch::module!"]
        );
    }

    fn bytes_asset(_: &mut Context) -> Result<Bytes> {
        Ok(Bytes::from("ok"))
    }

    fn check_bytes(_: &mut Context, v: Bytes) -> Result<CheckResult> {
        Ok(CheckResult::new(v.0 == b"ok"))
    }

    fn check_json(_: &mut Context, _v: JsonValue) -> Result<CheckResult> {
        Ok(CheckResult::pass())
    }

    fn check_nothing(_: &mut Context) -> Result<CheckResult> {
        Ok(CheckResult::fail().with_severity(crate::Severity::Warn))
    }

    fn check_optional(_: &mut Context, _v: Option<Bytes>) -> Result<CheckResult> {
        Ok(CheckResult::pass())
    }

    #[test]
    fn checks_take_zero_or_one_input() {
        let c = check("is_ok", "checked", check_bytes);
        assert_eq!(c.in_format, Some((Format::Bytes, false)));
        assert_eq!(check("warns", "checked", check_nothing).in_format, None);
        assert_eq!(
            check("o", "checked", check_optional).in_format,
            Some((Format::Bytes, true))
        );
        assert_eq!((c.name(), c.asset_key()), ("is_ok", "checked"));
    }

    #[test]
    fn bad_check_registrations() {
        let mut m = Module::new();
        m.add(asset("checked", bytes_asset))
            .add(check("is_ok", "checked", check_bytes).blocking(true))
            .add(check("is_ok", "checked", check_bytes))
            .add(check("is_ok", "other/asset", check_bytes))
            .add(check("as_json", "checked", check_json))
            .add(check("maybe", "checked", check_optional))
            .add(check("bad-name", "not a key", check_nothing))
            .add(
                check("cfg", "checked", check_nothing)
                    .config_schema("1")
                    .resources(&["a b"]),
            );
        assert_eq!(
            m.problems(),
            vec![
                "check \"is_ok\" on asset \"checked\": the check is registered twice; a check's name must be unique per asset",
                "check \"as_json\" on asset \"checked\": the function takes the asset's value as json, but the asset's result travels as bytes",
                "check \"maybe\" on asset \"checked\": the asset's value is always there, so the parameter cannot be an Option; take the value itself",
                "check \"bad-name\" on asset \"not a key\": invalid check name \"bad-name\" (want [A-Za-z_][A-Za-z0-9_]*)",
                "check \"bad-name\" on asset \"not a key\": invalid asset key \"not a key\": an asset key is one or more components matching [A-Za-z0-9_][A-Za-z0-9_-]* joined by \"/\", such as \"orders/raw\"",
                "check \"cfg\" on asset \"checked\": config schema: a config schema must be a JSON object, got number",
                "check \"cfg\" on asset \"checked\": invalid resource key \"a b\" (want [A-Za-z_][A-Za-z0-9_]*)",
            ]
        );
        // A check on an asset of another module is allowed; only this module's assets are
        // checked for the value's format. A module of checks alone is valid.
        let mut only = Module::new();
        only.add(check("is_ok", "elsewhere/asset", check_json));
        assert!(only.problems().is_empty(), "{:?}", only.problems());
        assert!(only.find_check("is_ok", "").is_some());
        assert!(only.find_check("is_ok", "elsewhere/asset").is_some());
        assert!(only.find_check("is_ok", "x").is_none());
        // Two checks of one name on different assets need the asset to tell them apart.
        let mut two = Module::new();
        two.add(check("c", "a", check_nothing))
            .add(check("c", "b", check_nothing));
        assert!(two.problems().is_empty());
        assert!(two.find_check("c", "").is_none());
        assert_eq!(two.find_check("c", "b").unwrap().asset_key(), "b");
    }

    fn optional_in(_: &mut Context, _a: Option<Json>) -> Result<Bytes> {
        Ok(Bytes::default())
    }

    fn fan(_: &mut Context, _a: Option<Table>) -> Result<(Dynamic<Json>, Option<Bytes>, Bytes)> {
        Ok((Dynamic::new(), None, Bytes::default()))
    }

    #[test]
    fn op_declarations_come_from_the_types() {
        let o = op("fan", fan)
            .ins(&["maybe"])
            .outs(&["parts", "extra", "n"]);
        assert_eq!(o.in_optional, vec![true]);
        assert_eq!(
            o.out_specs,
            vec![
                OutSpec {
                    format: Format::Json,
                    optional: false,
                    dynamic: true
                },
                OutSpec {
                    format: Format::Bytes,
                    optional: true,
                    dynamic: false
                },
                OutSpec {
                    format: Format::Bytes,
                    optional: false,
                    dynamic: false
                },
            ]
        );
        let mut m = Module::new();
        m.add(o);
        assert!(m.problems().is_empty(), "{:?}", m.problems());
    }

    #[test]
    fn bad_optional_and_retry_registrations() {
        let bad_retry = RetryPolicy {
            max_retries: 1000,
            ..RetryPolicy::default()
        };
        let mut m = Module::new();
        m.add(asset("a", optional_in).ins(&["up"]).retry_policy(bad_retry))
            .add(op("o", optional_in).ins(&["x"]).retry_policy(RetryPolicy {
                delay_seconds: -0.5,
                ..RetryPolicy::default()
            }));
        assert_eq!(
            m.problems(),
            vec![
                "asset \"a\": input \"up\": an asset's inputs are never optional, so its parameter cannot be an Option; take the value itself",
                "asset \"a\": retry policy: max_retries 1000 is out of range (0..100)",
                "op \"o\": retry policy: delay_seconds must be a finite number of seconds, not negative; got -0.5",
            ]
        );
    }

    #[test]
    fn context_inputs_are_not_parameters() {
        let a = asset("mixed", two)
            .input("t", "up")
            .context_input("c", "up2", Format::Json)
            .input("j", "up3");
        let formats: Vec<(&str, Format)> = a
            .input_formats()
            .into_iter()
            .map(|(i, f)| (i.name.as_str(), f))
            .collect();
        assert_eq!(
            formats,
            vec![
                ("t", Format::Arrow),
                ("c", Format::Json),
                ("j", Format::Json)
            ]
        );
        let params: Vec<&str> = a.param_ins().map(|i| i.name.as_str()).collect();
        assert_eq!(params, vec!["t", "j"]);
        let mut m = Module::new();
        m.add(a)
            .add(asset("only_ctx", none).context_input("x", "up", Format::Bytes));
        assert!(m.problems().is_empty(), "{:?}", m.problems());
    }

    #[test]
    fn partition_registration_problems() {
        let mut m = Module::new();
        m.add(
            asset("p", none)
                .context_input("a", "up", Format::Arrow)
                .partition_mapping("a", PartitionMapping::static_map(&[("x|y", "z")]))
                .partition_mapping("zz", PartitionMapping::All)
                .partitions(Partitions::static_keys(&[]).end("2026-01-01")),
        )
        .add(
            asset("short", two)
                .context_input("c", "up", Format::Bytes)
                .input("t", "x"),
        );
        assert_eq!(
            m.problems(),
            vec![
                "asset \"p\": input \"a\": partition_mapping.map[\"x|y\"]: partition key \"x|y\" contains '|' (reserved to join multi-dimensional keys)",
                "asset \"p\": .partition_mapping(\"zz\", ...): the asset has no input \"zz\" declared before it (it has: a)",
                "asset \"p\": partitions: .end(\"2026-01-01\") applies to time partitions, not to static partitions",
                "asset \"p\": partitions.keys: static partitions need at least one key",
                "asset \"short\": the function takes 2 inputs after &mut Context, but 1 input is declared with .ins/.input (t)",
            ]
        );
    }
}
