//! Partitions (ABI.md sections 7.6 and 7.7): how an asset splits into slices that materialize
//! one by one ([`Partitions`]), which upstream partitions an input reads ([`PartitionMapping`]),
//! and what a partitioned step learns about its slice ([`PartitionWindow`],
//! [`split_partition_key`]).
//!
//! The SDK only writes definitions into the manifest and catches the mistakes it can see
//! alone (an empty key list, a key that could not be a storage path component, a nested multi
//! definition). The host parses them again when it loads the module: it knows time zones, cron
//! syntax and the upstream assets of other modules, and names the field of anything it refuses.

use std::fmt;

use crate::json::{quote, Object};
use crate::registry::{valid_name, NAME_RULE};

/// The character that joins the dimension keys of a multi-dimensional partition key, in
/// dimension order: `2026-01-15|us|web`.
pub const MULTI_KEY_SEPARATOR: char = '|';

/// The longest partition key, in bytes (the host's limit).
const MAX_KEY_LEN: usize = 255;

/// How an asset is split into partitions (ABI.md section 7.6): calendar or cron time windows,
/// a static list of keys, a dynamic set of keys added at run time, or several named dimensions
/// of those.
///
/// Build one with a constructor and, for time partitions, the builder methods
/// [`end`](Partitions::end), [`timezone`](Partitions::timezone),
/// [`end_offset`](Partitions::end_offset) and [`format`](Partitions::format); give it to an
/// asset with [`AssetDef::partitions`](crate::AssetDef::partitions).
///
/// ```
/// use wasmorch::Partitions;
/// let days = Partitions::daily("2026-01-01").end("2026-02-01").timezone("Europe/Paris");
/// assert_eq!(
///     days.to_json(),
///     r#"{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01","timezone":"Europe/Paris"}"#
/// );
/// let sales = Partitions::multi(vec![
///     ("date", Partitions::daily("2026-01-01")),
///     ("region", Partitions::static_keys(&["us", "eu"])),
///     ("customer", Partitions::dynamic("customers")),
/// ]);
/// assert_eq!(sales.dimension_names(), vec!["date", "region", "customer"]);
/// ```
///
/// A builder method that does not apply to the kind of definition (`.end(...)` on static
/// partitions) is a registration problem, reported with the module's other problems.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partitions {
    kind: Kind,
    /// Builder methods applied to a definition they do not fit, as messages.
    misuse: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Time(TimeDef),
    Static(Vec<String>),
    Dynamic(String),
    Multi(Vec<(String, Partitions)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct TimeDef {
    /// `schedule` (hourly, daily, weekly, monthly) or `cron`.
    cadence: Cadence,
    start: String,
    end: Option<String>,
    timezone: Option<String>,
    end_offset: i32,
    format: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cadence {
    Schedule(&'static str),
    Cron(String),
}

impl Partitions {
    fn new(kind: Kind) -> Self {
        Partitions {
            kind,
            misuse: Vec::new(),
        }
    }

    fn schedule(schedule: &'static str, start: &str) -> Self {
        Partitions::new(Kind::Time(TimeDef {
            cadence: Cadence::Schedule(schedule),
            start: start.to_string(),
            end: None,
            timezone: None,
            end_offset: 0,
            format: None,
        }))
    }

    /// One partition per hour from `start` (`2026-01-01` or `2026-01-01T06:00`), keyed
    /// `2026-01-01-06:00` unless [`format`](Partitions::format) says otherwise.
    pub fn hourly(start: &str) -> Self {
        Partitions::schedule("hourly", start)
    }

    /// One partition per day from `start`, from midnight to midnight in the time zone, keyed
    /// `2026-01-15`. A day on which the clocks change lasts 23 or 25 hours.
    pub fn daily(start: &str) -> Self {
        Partitions::schedule("daily", start)
    }

    /// One partition per week from `start`, Monday to Monday, keyed by the Monday: `2026-01-12`.
    pub fn weekly(start: &str) -> Self {
        Partitions::schedule("weekly", start)
    }

    /// One partition per calendar month from `start`, keyed `2026-01`.
    pub fn monthly(start: &str) -> Self {
        Partitions::schedule("monthly", start)
    }

    /// One partition per interval between two fire times of the cron expression, from
    /// `start`, keyed `2026-01-01T06:00` unless [`format`](Partitions::format) says otherwise.
    ///
    /// ```
    /// use wasmorch::Partitions;
    /// let quarter_days = Partitions::cron("0 */6 * * *", "2026-01-01T00:00");
    /// assert_eq!(
    ///     quarter_days.to_json(),
    ///     r#"{"type":"time","cron":"0 */6 * * *","start":"2026-01-01T00:00"}"#
    /// );
    /// ```
    pub fn cron(expression: &str, start: &str) -> Self {
        Partitions::new(Kind::Time(TimeDef {
            cadence: Cadence::Cron(expression.to_string()),
            start: start.to_string(),
            end: None,
            timezone: None,
            end_offset: 0,
            format: None,
        }))
    }

    /// A fixed list of keys, in order. A key is 1 to 255 bytes and holds no `/`, `\`, `|` or
    /// control character, since keys become storage path components.
    pub fn static_keys(keys: &[&str]) -> Self {
        Partitions::new(Kind::Static(keys.iter().map(|k| k.to_string()).collect()))
    }

    /// A named set of keys that is added to and removed from at run time (with the CLI or by a
    /// sensor), stored by the host. Assets with the same name share the set.
    pub fn dynamic(name: &str) -> Self {
        Partitions::new(Kind::Dynamic(name.to_string()))
    }

    /// Two or more named dimensions, each a time, static or dynamic definition. A key joins
    /// one key of each dimension with `|`, in dimension order; [`split_partition_key`] and
    /// [`Context::partition_dimension`](crate::Context::partition_dimension) take it apart.
    pub fn multi<'a, I>(dimensions: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, Partitions)>,
    {
        Partitions::new(Kind::Multi(
            dimensions
                .into_iter()
                .map(|(name, p)| (name.to_string(), p))
                .collect(),
        ))
    }

    /// Applies `f` to a time definition, or records that `method` does not fit this kind.
    fn time(mut self, method: String, f: impl FnOnce(&mut TimeDef)) -> Self {
        match &mut self.kind {
            Kind::Time(t) => f(t),
            _ => {
                let msg = format!(
                    "{} applies to time partitions, not to {} partitions",
                    method,
                    self.type_name()
                );
                self.misuse.push(msg);
            }
        }
        self
    }

    /// The end of time partitions: the last partition is the last window that ends at or before
    /// it. Without an end, the partitions grow with time (see
    /// [`end_offset`](Partitions::end_offset)).
    pub fn end(self, end: &str) -> Self {
        self.time(format!(".end({:?})", end), |t| {
            t.end = Some(end.to_string())
        })
    }

    /// The IANA time zone of time partitions, such as `Europe/Paris`; the host's default is
    /// `UTC`. Windows begin at local midnight (or on the local hour), and start and end are
    /// read in this zone.
    pub fn timezone(self, timezone: &str) -> Self {
        self.time(format!(".timezone({:?})", timezone), |t| {
            t.timezone = Some(timezone.to_string())
        })
    }

    /// For time partitions without an end: 0 (the default) makes the last partition the last
    /// complete window, 1 adds the window that is in progress, and a negative offset holds back
    /// complete windows. The host refuses it together with an end.
    pub fn end_offset(self, offset: i32) -> Self {
        self.time(format!(".end_offset({})", offset), |t| {
            t.end_offset = offset
        })
    }

    /// The layout of the keys of time partitions, written as a Go time layout: `2006` is the
    /// year, `01` the month, `02` the day, `15` the hour and `04` the minute. The defaults are
    /// `2006-01-02-15:04` (hourly), `2006-01-02` (daily and weekly), `2006-01` (monthly) and
    /// `2006-01-02T15:04` (cron).
    pub fn format(self, layout: &str) -> Self {
        self.time(format!(".format({:?})", layout), |t| {
            t.format = Some(layout.to_string())
        })
    }

    /// The definition's `type` in the manifest: `time`, `static`, `dynamic` or `multi`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Time(_) => "time",
            Kind::Static(_) => "static",
            Kind::Dynamic(_) => "dynamic",
            Kind::Multi(_) => "multi",
        }
    }

    /// The names of the dimensions of a multi definition, in order; empty for the other kinds.
    pub fn dimension_names(&self) -> Vec<&str> {
        match &self.kind {
            Kind::Multi(dims) => dims.iter().map(|(n, _)| n.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// The definition as the manifest writes it (ABI.md section 7.6). Fields left at their
    /// defaults (no end, the `UTC` zone, an end offset of 0, the default format) are omitted.
    pub fn to_json(&self) -> String {
        match &self.kind {
            Kind::Time(t) => {
                let mut o = Object::new().string("type", "time");
                o = match &t.cadence {
                    Cadence::Schedule(s) => o.string("schedule", s),
                    Cadence::Cron(c) => o.string("cron", c),
                };
                o = o.string("start", &t.start);
                if let Some(e) = &t.end {
                    o = o.string("end", e);
                }
                if let Some(tz) = &t.timezone {
                    o = o.string("timezone", tz);
                }
                if t.end_offset != 0 {
                    o = o.int("end_offset", t.end_offset.into());
                }
                if let Some(f) = &t.format {
                    o = o.string("format", f);
                }
                o.finish()
            }
            Kind::Static(keys) => Object::new()
                .string("type", "static")
                .raw("keys", &json_strings(keys.iter()))
                .finish(),
            Kind::Dynamic(name) => Object::new()
                .string("type", "dynamic")
                .string("name", name)
                .finish(),
            Kind::Multi(dims) => {
                let dims: Vec<String> = dims
                    .iter()
                    .map(|(name, p)| {
                        Object::new()
                            .string("name", name)
                            .raw("partitions", &p.to_json())
                            .finish()
                    })
                    .collect();
                Object::new()
                    .string("type", "multi")
                    .raw("dimensions", &format!("[{}]", dims.join(",")))
                    .finish()
            }
        }
    }

    /// The problems the SDK can see, each prefixed with its JSON path below `path`.
    pub(crate) fn problems(&self, path: &str) -> Vec<String> {
        let mut p: Vec<String> = self
            .misuse
            .iter()
            .map(|m| format!("{}: {}", path, m))
            .collect();
        match &self.kind {
            Kind::Time(t) => {
                if t.start.is_empty() {
                    p.push(format!("{}.start: time partitions need a start", path));
                }
                if let Cadence::Cron(c) = &t.cadence {
                    if c.trim().is_empty() {
                        p.push(format!("{}.cron: the cron expression is empty", path));
                    }
                }
                if t.end.as_deref().map_or(false, |e| !e.is_empty()) && t.end_offset != 0 {
                    p.push(format!(
                        "{}.end_offset: end_offset {} has no effect with an end; give one or \
                         the other",
                        path, t.end_offset
                    ));
                }
                if t.timezone.as_deref() == Some("Local") {
                    p.push(format!(
                        "{}.timezone: \"Local\" depends on the machine; give an IANA time zone \
                         such as \"Europe/Paris\"",
                        path
                    ));
                }
                if t.format.as_deref() == Some("") {
                    p.push(format!(
                        "{}.format: the format is empty; leave it out for the default",
                        path
                    ));
                }
            }
            Kind::Static(keys) => {
                if keys.is_empty() {
                    p.push(format!(
                        "{}.keys: static partitions need at least one key",
                        path
                    ));
                }
                for (i, k) in keys.iter().enumerate() {
                    if let Some(why) = key_problem(k) {
                        p.push(format!("{}.keys[{}]: {}", path, i, why));
                    } else if let Some(j) = keys[..i].iter().position(|o| o == k) {
                        p.push(format!(
                            "{}.keys[{}]: duplicate key {:?} (also keys[{}])",
                            path, i, k, j
                        ));
                    }
                }
            }
            Kind::Dynamic(name) => {
                if !valid_name(name) {
                    p.push(format!(
                        "{}.name: {:?} is not a valid dynamic partitions name ({})",
                        path, name, NAME_RULE
                    ));
                }
            }
            Kind::Multi(dims) => {
                if dims.len() < 2 {
                    p.push(format!(
                        "{}.dimensions: multi partitions need at least 2 dimensions, got {}",
                        path,
                        dims.len()
                    ));
                }
                for (i, (name, sub)) in dims.iter().enumerate() {
                    let at = format!("{}.dimensions[{}]", path, i);
                    if !valid_name(name) {
                        p.push(format!(
                            "{}.name: {:?} is not a valid dimension name ({})",
                            at, name, NAME_RULE
                        ));
                    } else if let Some(j) = dims[..i].iter().position(|(n, _)| n == name) {
                        p.push(format!(
                            "{}.name: duplicate dimension name {:?} (also dimensions[{}])",
                            at, name, j
                        ));
                    }
                    if let Kind::Multi(_) = sub.kind {
                        p.push(format!(
                            "{}.partitions: multi partitions cannot be nested in a multi \
                             dimension",
                            at
                        ));
                    } else {
                        p.extend(sub.problems(&format!("{}.partitions", at)));
                    }
                }
            }
        }
        p
    }
}

/// Which partitions of an upstream asset an input reads, for each partition of the asset that
/// reads it (ABI.md section 7.7). Give one to an input with
/// [`AssetDef::input_mapped`](crate::AssetDef::input_mapped) or
/// [`AssetDef::partition_mapping`](crate::AssetDef::partition_mapping).
///
/// Without a mapping the host picks the default: `Identity` between equal definitions,
/// `TimeWindow` between two time definitions, `All` when either side is unpartitioned, and
/// `Multi` (each dimension with its own default) between two multi definitions.
///
/// An input that reads several upstream partitions gets them as one value: one Arrow stream
/// with the partitions' batches in partition order (read them with their keys through
/// [`PartitionedBatches`](crate::PartitionedBatches)), or, for JSON, one object
/// `{"KEY": value, ...}` in partition order.
///
/// ```
/// use wasmorch::PartitionMapping;
/// assert_eq!(PartitionMapping::time_window().to_json(), r#"{"type":"time_window"}"#);
/// assert_eq!(
///     PartitionMapping::time_window_offsets(-1, -1).to_json(),
///     r#"{"type":"time_window","start_offset":-1,"end_offset":-1}"#
/// );
/// assert_eq!(
///     PartitionMapping::static_map(&[("europe", "eu"), ("americas", "us")]).to_json(),
///     r#"{"type":"static","map":{"americas":"us","europe":"eu"}}"#
/// );
/// assert_eq!(
///     PartitionMapping::multi(vec![("channel", PartitionMapping::All)]).to_json(),
///     r#"{"type":"multi","dimensions":{"channel":{"type":"all"}}}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionMapping {
    /// The upstream partition with the same key.
    Identity,
    /// The upstream partitions whose windows fall in the downstream partition's window, its
    /// start and end shifted by whole periods of the upstream definition. Without offsets a
    /// daily asset reading hourly partitions gets its day's 24 hours. Offsets -1 and -1 give a
    /// daily asset reading daily partitions the previous day, but shift a day of hourly
    /// partitions back by one hour only.
    TimeWindow {
        /// Periods added to the start of the window (negative: earlier).
        start_offset: i32,
        /// Periods added to the end of the window (negative: earlier).
        end_offset: i32,
    },
    /// Every upstream partition.
    All,
    /// For each downstream key, the upstream keys it reads.
    Static(Vec<(String, Vec<String>)>),
    /// A mapping per dimension name of multi-dimensional definitions; a dimension not named
    /// uses its default.
    Multi(Vec<(String, PartitionMapping)>),
}

impl PartitionMapping {
    /// [`PartitionMapping::Identity`].
    pub fn identity() -> Self {
        PartitionMapping::Identity
    }

    /// [`PartitionMapping::All`].
    pub fn all() -> Self {
        PartitionMapping::All
    }

    /// [`PartitionMapping::TimeWindow`] without offsets: the upstream windows inside the
    /// downstream window.
    pub fn time_window() -> Self {
        PartitionMapping::time_window_offsets(0, 0)
    }

    /// [`PartitionMapping::TimeWindow`] with the window's start and end shifted by whole
    /// periods of the upstream definition: for a daily asset reading a daily asset,
    /// `time_window_offsets(-1, -1)` reads yesterday's partition.
    pub fn time_window_offsets(start_offset: i32, end_offset: i32) -> Self {
        PartitionMapping::TimeWindow {
            start_offset,
            end_offset,
        }
    }

    /// [`PartitionMapping::Static`] with one upstream key per downstream key, as
    /// `(downstream, upstream)` pairs.
    pub fn static_map(pairs: &[(&str, &str)]) -> Self {
        PartitionMapping::Static(
            pairs
                .iter()
                .map(|(d, u)| (d.to_string(), vec![u.to_string()]))
                .collect(),
        )
    }

    /// [`PartitionMapping::Static`] with several upstream keys per downstream key, read in
    /// upstream partition order.
    ///
    /// ```
    /// use wasmorch::PartitionMapping;
    /// let m = PartitionMapping::static_map_many(&[("emea", &["eu", "africa"]), ("amer", &["us"])]);
    /// assert_eq!(m.to_json(), r#"{"type":"static","map":{"amer":"us","emea":["eu","africa"]}}"#);
    /// ```
    pub fn static_map_many(pairs: &[(&str, &[&str])]) -> Self {
        PartitionMapping::Static(
            pairs
                .iter()
                .map(|(d, us)| (d.to_string(), us.iter().map(|u| u.to_string()).collect()))
                .collect(),
        )
    }

    /// [`PartitionMapping::Multi`]: a mapping for each named dimension.
    pub fn multi<'a, I>(dimensions: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, PartitionMapping)>,
    {
        PartitionMapping::Multi(
            dimensions
                .into_iter()
                .map(|(name, m)| (name.to_string(), m))
                .collect(),
        )
    }

    /// The mapping's `type` in the manifest: `identity`, `time_window`, `all`, `static` or
    /// `multi`.
    pub fn type_name(&self) -> &'static str {
        match self {
            PartitionMapping::Identity => "identity",
            PartitionMapping::TimeWindow { .. } => "time_window",
            PartitionMapping::All => "all",
            PartitionMapping::Static(_) => "static",
            PartitionMapping::Multi(_) => "multi",
        }
    }

    /// The mapping as the manifest writes it (ABI.md section 7.7). Offsets of 0 are omitted;
    /// the members of `map` and `dimensions` are sorted by name, as Go writes a map, and an
    /// upstream key list of one key is written as that key.
    pub fn to_json(&self) -> String {
        let o = Object::new().string("type", self.type_name());
        match self {
            PartitionMapping::Identity | PartitionMapping::All => o.finish(),
            PartitionMapping::TimeWindow {
                start_offset,
                end_offset,
            } => {
                let mut o = o;
                if *start_offset != 0 {
                    o = o.int("start_offset", (*start_offset).into());
                }
                if *end_offset != 0 {
                    o = o.int("end_offset", (*end_offset).into());
                }
                o.finish()
            }
            PartitionMapping::Static(map) => {
                let mut sorted: Vec<&(String, Vec<String>)> = map.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                let map = sorted.into_iter().fold(Object::new(), |m, (d, us)| {
                    if us.len() == 1 {
                        m.string(d, &us[0])
                    } else {
                        m.raw(d, &json_strings(us.iter()))
                    }
                });
                o.raw("map", &map.finish()).finish()
            }
            PartitionMapping::Multi(dims) => {
                let mut sorted: Vec<&(String, PartitionMapping)> = dims.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                let dims = sorted
                    .into_iter()
                    .fold(Object::new(), |d, (name, m)| d.raw(name, &m.to_json()));
                o.raw("dimensions", &dims.finish()).finish()
            }
        }
    }

    /// The problems the SDK can see, each prefixed with its JSON path below `path`.
    pub(crate) fn problems(&self, path: &str) -> Vec<String> {
        let mut p = Vec::new();
        match self {
            PartitionMapping::Identity
            | PartitionMapping::All
            | PartitionMapping::TimeWindow { .. } => {}
            PartitionMapping::Static(map) => {
                if map.is_empty() {
                    p.push(format!(
                        "{}.map: a static mapping needs a non-empty map of downstream to \
                         upstream keys",
                        path
                    ));
                }
                for (i, (down, ups)) in map.iter().enumerate() {
                    let at = format!("{}.map[{:?}]", path, down);
                    if let Some(why) = key_problem(down) {
                        p.push(format!("{}: {}", at, why));
                    } else if map[..i].iter().any(|(d, _)| d == down) {
                        p.push(format!("{}: the downstream key is mapped twice", at));
                    }
                    if ups.is_empty() {
                        p.push(format!("{}: no upstream key is given", at));
                    }
                    for u in ups {
                        if let Some(why) = key_problem(u) {
                            p.push(format!("{}: {}", at, why));
                        }
                    }
                }
            }
            PartitionMapping::Multi(dims) => {
                if dims.is_empty() {
                    p.push(format!(
                        "{}.dimensions: a multi mapping needs at least one dimension; leave \
                         the mapping out for the default",
                        path
                    ));
                }
                for (i, (name, sub)) in dims.iter().enumerate() {
                    let at = format!("{}.dimensions.{}", path, name);
                    if !valid_name(name) {
                        p.push(format!(
                            "{}: {:?} is not a valid dimension name ({})",
                            at, name, NAME_RULE
                        ));
                    } else if dims[..i].iter().any(|(n, _)| n == name) {
                        p.push(format!("{}: the dimension is mapped twice", at));
                    }
                    if let PartitionMapping::Multi(_) = sub {
                        p.push(format!(
                            "{}.type: multi mappings cannot be nested in a multi mapping",
                            at
                        ));
                    } else {
                        p.extend(sub.problems(&at));
                    }
                }
            }
        }
        p
    }
}

/// The time window of a time-partitioned step: `[start, end)` as RFC 3339 timestamps in the
/// definition's time zone, such as `2026-03-08T00:00:00-05:00` to `2026-03-09T00:00:00-04:00`
/// (a 23-hour day). See [`Context::partition_window`](crate::Context::partition_window).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartitionWindow {
    /// The first instant of the window (included).
    pub start: String,
    /// The first instant after the window (excluded).
    pub end: String,
}

impl PartitionWindow {
    /// A window from `start` to `end`.
    pub fn new(start: &str, end: &str) -> Self {
        PartitionWindow {
            start: start.to_string(),
            end: end.to_string(),
        }
    }
}

impl fmt::Display for PartitionWindow {
    /// `[start, end)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// The dimension keys of a multi-dimensional partition key, in dimension order: the key split
/// at every `|`. A key of one dimension gives itself, and the empty key (an unpartitioned
/// step or input) gives nothing.
///
/// ```
/// use wasmorch::split_partition_key;
/// assert_eq!(split_partition_key("2026-01-15|us|web"), vec!["2026-01-15", "us", "web"]);
/// assert_eq!(split_partition_key("2026-01-15"), vec!["2026-01-15"]);
/// assert!(split_partition_key("").is_empty());
/// ```
pub fn split_partition_key(key: &str) -> Vec<&str> {
    if key.is_empty() {
        Vec::new()
    } else {
        key.split(MULTI_KEY_SEPARATOR).collect()
    }
}

/// Why `key` cannot be a partition key, in the host's words, or `None`: keys are storage path
/// components, and `|` joins the dimensions of multi keys.
fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("partition key is empty".to_string());
    }
    if key.len() > MAX_KEY_LEN {
        let shown: String = key.chars().take(40).collect();
        return Some(format!(
            "partition key {:?}... is {} bytes long (at most {})",
            shown,
            key.len(),
            MAX_KEY_LEN
        ));
    }
    if key == "." || key == ".." {
        return Some(format!(
            "partition key {:?} is not allowed (it would name a directory)",
            key
        ));
    }
    if key.starts_with(' ') || key.ends_with(' ') {
        return Some(format!(
            "partition key {:?} begins or ends with a space",
            key
        ));
    }
    for c in key.chars() {
        match c {
            '/' | '\\' => {
                return Some(format!(
                    "partition key {:?} contains {:?} (keys become storage path components)",
                    key, c
                ))
            }
            MULTI_KEY_SEPARATOR => {
                return Some(format!(
                    "partition key {:?} contains '|' (reserved to join multi-dimensional keys)",
                    key
                ))
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                return Some(format!(
                    "partition key {:?} contains the control character U+{:04X}",
                    key, c as u32
                ))
            }
            _ => {}
        }
    }
    None
}

/// `["a","b"]`.
fn json_strings<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let items: Vec<String> = items.map(|s| quote(s)).collect();
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_definitions_match_abi_7_6() {
        let cases = [
            (
                Partitions::hourly("2026-01-01")
                    .end("2026-02-01")
                    .timezone("UTC"),
                r#"{"type":"time","schedule":"hourly","start":"2026-01-01","end":"2026-02-01","timezone":"UTC"}"#,
            ),
            (
                Partitions::daily("2026-01-01"),
                r#"{"type":"time","schedule":"daily","start":"2026-01-01"}"#,
            ),
            (
                Partitions::weekly("2026-01-05").end_offset(1),
                r#"{"type":"time","schedule":"weekly","start":"2026-01-05","end_offset":1}"#,
            ),
            (
                Partitions::monthly("2025-01")
                    .end_offset(-2)
                    .format("2006/01"),
                r#"{"type":"time","schedule":"monthly","start":"2025-01","end_offset":-2,"format":"2006/01"}"#,
            ),
            (
                Partitions::cron("0 */6 * * *", "2026-01-01T00:00")
                    .format("2006-01-02T15:04")
                    .timezone("America/New_York")
                    .end("2026-01-02T00:00"),
                r#"{"type":"time","cron":"0 */6 * * *","start":"2026-01-01T00:00","end":"2026-01-02T00:00","timezone":"America/New_York","format":"2006-01-02T15:04"}"#,
            ),
        ];
        for (p, want) in cases {
            assert_eq!(p.to_json(), want);
            assert_eq!(p.type_name(), "time");
            assert!(p.problems("partitions").is_empty(), "{:?}", p.problems("p"));
            crate::json::JsonValue::parse(&p.to_json()).unwrap();
        }
    }

    #[test]
    fn static_dynamic_and_multi_definitions_match_abi_7_6() {
        assert_eq!(
            Partitions::static_keys(&["us", "eu", "a \"quoted\" key"]).to_json(),
            r#"{"type":"static","keys":["us","eu","a \"quoted\" key"]}"#
        );
        assert_eq!(
            Partitions::dynamic("customers").to_json(),
            r#"{"type":"dynamic","name":"customers"}"#
        );
        let four = Partitions::multi(vec![
            ("date", Partitions::daily("2026-01-01").end("2026-02-01")),
            ("region", Partitions::static_keys(&["us", "eu"])),
            ("channel", Partitions::static_keys(&["web"])),
            ("customer", Partitions::dynamic("customers")),
        ]);
        assert_eq!(
            four.to_json(),
            concat!(
                r#"{"type":"multi","dimensions":["#,
                r#"{"name":"date","partitions":{"type":"time","schedule":"daily","start":"2026-01-01","end":"2026-02-01"}},"#,
                r#"{"name":"region","partitions":{"type":"static","keys":["us","eu"]}},"#,
                r#"{"name":"channel","partitions":{"type":"static","keys":["web"]}},"#,
                r#"{"name":"customer","partitions":{"type":"dynamic","name":"customers"}}]}"#
            )
        );
        assert_eq!(
            four.dimension_names(),
            vec!["date", "region", "channel", "customer"]
        );
        assert!(four.problems("partitions").is_empty());
        assert!(Partitions::daily("2026-01-01").dimension_names().is_empty());
    }

    #[test]
    fn definition_problems_name_the_field() {
        let long = "k".repeat(256);
        let bad = Partitions::multi(vec![
            (
                "date",
                Partitions::daily("").end("2026-02-01").end_offset(1),
            ),
            (
                "region",
                Partitions::static_keys(&["us", "us", "a/b", "x|y", "", " a", ".", &long, "t\tab"])
                    .timezone("UTC"),
            ),
            ("region", Partitions::dynamic("not a name")),
            (
                "1st",
                Partitions::cron(" ", "2026-01-01")
                    .timezone("Local")
                    .format(""),
            ),
            (
                "nested",
                Partitions::multi(vec![("a", Partitions::dynamic("x"))]),
            ),
        ]);
        assert_eq!(
            bad.problems("partitions"),
            vec![
                "partitions.dimensions[0].partitions.start: time partitions need a start",
                "partitions.dimensions[0].partitions.end_offset: end_offset 1 has no effect with an end; give one or the other",
                "partitions.dimensions[1].partitions: .timezone(\"UTC\") applies to time partitions, not to static partitions",
                "partitions.dimensions[1].partitions.keys[1]: duplicate key \"us\" (also keys[0])",
                "partitions.dimensions[1].partitions.keys[2]: partition key \"a/b\" contains '/' (keys become storage path components)",
                "partitions.dimensions[1].partitions.keys[3]: partition key \"x|y\" contains '|' (reserved to join multi-dimensional keys)",
                "partitions.dimensions[1].partitions.keys[4]: partition key is empty",
                "partitions.dimensions[1].partitions.keys[5]: partition key \" a\" begins or ends with a space",
                "partitions.dimensions[1].partitions.keys[6]: partition key \".\" is not allowed (it would name a directory)",
                &format!("partitions.dimensions[1].partitions.keys[7]: partition key \"{}\"... is 256 bytes long (at most 255)", "k".repeat(40)),
                "partitions.dimensions[1].partitions.keys[8]: partition key \"t\\tab\" contains the control character U+0009",
                "partitions.dimensions[2].name: duplicate dimension name \"region\" (also dimensions[1])",
                "partitions.dimensions[2].partitions.name: \"not a name\" is not a valid dynamic partitions name (want [A-Za-z_][A-Za-z0-9_]*)",
                "partitions.dimensions[3].name: \"1st\" is not a valid dimension name (want [A-Za-z_][A-Za-z0-9_]*)",
                "partitions.dimensions[3].partitions.cron: the cron expression is empty",
                "partitions.dimensions[3].partitions.timezone: \"Local\" depends on the machine; give an IANA time zone such as \"Europe/Paris\"",
                "partitions.dimensions[3].partitions.format: the format is empty; leave it out for the default",
                "partitions.dimensions[4].partitions: multi partitions cannot be nested in a multi dimension",
            ]
        );
        assert_eq!(
            Partitions::multi(vec![("only", Partitions::dynamic("x"))]).problems("p"),
            vec!["p.dimensions: multi partitions need at least 2 dimensions, got 1"]
        );
        assert_eq!(
            Partitions::static_keys(&[]).problems("p"),
            vec!["p.keys: static partitions need at least one key"]
        );
        assert_eq!(
            Partitions::dynamic("d")
                .end_offset(2)
                .format("x")
                .problems("p"),
            vec![
                "p: .end_offset(2) applies to time partitions, not to dynamic partitions",
                "p: .format(\"x\") applies to time partitions, not to dynamic partitions",
            ]
        );
    }

    #[test]
    fn mappings_match_abi_7_7() {
        let cases = [
            (PartitionMapping::identity(), r#"{"type":"identity"}"#),
            (PartitionMapping::all(), r#"{"type":"all"}"#),
            (PartitionMapping::time_window(), r#"{"type":"time_window"}"#),
            (
                PartitionMapping::time_window_offsets(-1, 0),
                r#"{"type":"time_window","start_offset":-1}"#,
            ),
            (
                PartitionMapping::time_window_offsets(0, 2),
                r#"{"type":"time_window","end_offset":2}"#,
            ),
            (
                PartitionMapping::static_map(&[("us", "americas"), ("eu", "europe")]),
                r#"{"type":"static","map":{"eu":"europe","us":"americas"}}"#,
            ),
            (
                PartitionMapping::static_map_many(&[("all", &["a", "b"]), ("one", &["c"])]),
                r#"{"type":"static","map":{"all":["a","b"],"one":"c"}}"#,
            ),
            (
                PartitionMapping::multi(vec![
                    ("region", PartitionMapping::all()),
                    ("date", PartitionMapping::time_window_offsets(-1, -1)),
                    ("kind", PartitionMapping::static_map(&[("x", "y")])),
                ]),
                r#"{"type":"multi","dimensions":{"date":{"type":"time_window","start_offset":-1,"end_offset":-1},"kind":{"type":"static","map":{"x":"y"}},"region":{"type":"all"}}}"#,
            ),
        ];
        for (m, want) in cases {
            assert_eq!(m.to_json(), want);
            assert!(m.problems("partition_mapping").is_empty());
            crate::json::JsonValue::parse(&m.to_json()).unwrap();
        }
    }

    #[test]
    fn mapping_problems_name_the_field() {
        let bad = PartitionMapping::multi(vec![
            ("date", PartitionMapping::multi(vec![])),
            ("date", PartitionMapping::all()),
            ("bad name", PartitionMapping::Static(vec![])),
            (
                "kind",
                PartitionMapping::static_map_many(&[("a", &[]), ("a", &["b|c"]), ("x/y", &["z"])]),
            ),
        ]);
        assert_eq!(
            bad.problems("partition_mapping"),
            vec![
                "partition_mapping.dimensions.date.type: multi mappings cannot be nested in a multi mapping",
                "partition_mapping.dimensions.date: the dimension is mapped twice",
                "partition_mapping.dimensions.bad name: \"bad name\" is not a valid dimension name (want [A-Za-z_][A-Za-z0-9_]*)",
                "partition_mapping.dimensions.bad name.map: a static mapping needs a non-empty map of downstream to upstream keys",
                "partition_mapping.dimensions.kind.map[\"a\"]: no upstream key is given",
                "partition_mapping.dimensions.kind.map[\"a\"]: the downstream key is mapped twice",
                "partition_mapping.dimensions.kind.map[\"a\"]: partition key \"b|c\" contains '|' (reserved to join multi-dimensional keys)",
                "partition_mapping.dimensions.kind.map[\"x/y\"]: partition key \"x/y\" contains '/' (keys become storage path components)",
            ]
        );
        assert_eq!(
            PartitionMapping::multi(vec![]).problems("m"),
            vec!["m.dimensions: a multi mapping needs at least one dimension; leave the mapping out for the default"]
        );
    }

    #[test]
    fn keys_split_at_the_separator() {
        assert_eq!(split_partition_key("a|b|c|d"), vec!["a", "b", "c", "d"]);
        assert_eq!(split_partition_key("a"), vec!["a"]);
        assert!(split_partition_key("").is_empty());
        let w = PartitionWindow::new("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
        assert_eq!(
            w.to_string(),
            "[2026-01-01T00:00:00Z, 2026-01-02T00:00:00Z)"
        );
    }
}
