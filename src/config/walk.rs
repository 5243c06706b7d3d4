//! A walker over the parsed TOML tree that reads typed, spanned values and reports every
//! problem it meets instead of stopping at the first.
//!
//! serde's derive with `deny_unknown_fields` gives up at the first bad key or type, so a user
//! fixes one mistake per run. Here each section is a table whose known keys are taken out one by
//! one; a wrong type is reported and the key treated as unset, and whatever is left when the
//! section is finished is an unknown key, reported with a suggestion from the keys that were
//! asked for. The result is the same contract as `deny_unknown_fields`, with all the errors.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{Diags, hint, suggest};
use super::duration;

/// Keys of the root that are not tables: written after a `[section]` header, TOML puts them in
/// that section, which deserves a better hint than "unknown key".
const TOP_LEVEL_SCALARS: &[&str] = &["interval", "jitter"];

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;
/// A string map read from an inline or standard table, in key order, with spans.
pub(crate) type Pairs<T> = Vec<(Spanned<String>, Spanned<T>)>;

/// What a key holds, as the JSON Schema of the config describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    String,
    Integer,
    Number,
    Bool,
    Duration,
    Choice(Vec<&'static str>),
    Strings,
    StringMap,
    NumberMap,
    Table,
    Tables,
    NamedTables,
}

/// A key some reader asked for: the table's schema path, the key, what it holds.
pub(crate) type Asked = (String, &'static str, Kind);

thread_local! {
    /// While set, every key asked for is recorded, and absent arrays and maps of tables yield
    /// one empty element so their keys are asked for too (see `config::schema`).
    static RECORD: std::cell::RefCell<Option<Vec<Asked>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` recording every key asked for.
pub(crate) fn recording(f: impl FnOnce()) -> Vec<Asked> {
    RECORD.with(|r| *r.borrow_mut() = Some(Vec::new()));
    f();
    RECORD.with(|r| r.borrow_mut().take().unwrap_or_default())
}

fn is_recording() -> bool {
    RECORD.with(|r| r.borrow().is_some())
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// One TOML table being read.
pub(crate) struct Section<'i> {
    /// Dotted path from the root, e.g. `functions.alarms.duration`; empty for the root.
    path: String,
    /// The same for the schema: `functions[].alarms.duration`, `prices.regions.*`.
    schema: String,
    /// Whether this table is an element of an array of tables (`[[path]]`).
    array: bool,
    /// Where the table is written (its header), or `None` when the file leaves it out.
    pub span: Option<Range<usize>>,
    entries: DeTable<'i>,
    known: Vec<&'static str>,
    /// Values already taken by a reader, so another reader can look at them ([`Section::peek`]).
    taken: Vec<(&'static str, Value<'i>)>,
}

fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn wrong_type(d: &mut Diags<'_>, path: &str, expected: &str, v: &Value<'_>) {
    let found = kind(v.get_ref());
    d.error(
        &v.span(),
        format!("`{path}`: expected {expected}, found {found}"),
    );
}

fn string(d: &mut Diags<'_>, path: &str, v: Value<'_>) -> Option<Spanned<String>> {
    match v.get_ref() {
        DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
        _ => {
            wrong_type(d, path, "a string", &v);
            None
        }
    }
}

fn integer(d: &mut Diags<'_>, path: &str, v: &Value<'_>) -> Option<i64> {
    match v.get_ref() {
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Some(n),
            Err(_) => {
                d.error(&v.span(), format!("`{path}`: integer {i} is too large"));
                None
            }
        },
        _ => {
            wrong_type(d, path, "an integer", v);
            None
        }
    }
}

fn number(d: &mut Diags<'_>, path: &str, v: &Value<'_>) -> Option<f64> {
    let n = match v.get_ref() {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|n| n as f64),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
        _ => {
            wrong_type(d, path, "a number", v);
            return None;
        }
    };
    match n {
        Some(n) if n.is_finite() => Some(n),
        _ => {
            let text = super::check::shown(d.source(&v.span()));
            d.error(
                &v.span(),
                format!("`{path}`: expected a finite number, found {text}"),
            );
            None
        }
    }
}

impl<'i> Section<'i> {
    /// The document root.
    pub fn root(table: Spanned<DeTable<'i>>) -> Self {
        let span = table.span();
        Self {
            path: String::new(),
            schema: String::new(),
            array: false,
            span: Some(span),
            entries: table.into_inner(),
            known: Vec::new(),
            taken: Vec::new(),
        }
    }

    fn absent(path: String, schema: String) -> Self {
        Self {
            path,
            schema,
            array: false,
            span: None,
            entries: DeTable::default(),
            known: Vec::new(),
            taken: Vec::new(),
        }
    }

    /// Dotted path of the table, e.g. `alarms.duration`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Dotted path of a key in this table, for messages.
    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Where a key is, for messages: "in [cloud]", "in [[functions]]", "at the top level".
    pub fn location(&self) -> String {
        match (self.path.is_empty(), self.array) {
            (true, _) => "at the top level".to_string(),
            (false, true) => format!("in [[{}]]", self.path),
            (false, false) => format!("in [{}]", self.path),
        }
    }

    /// Where to point a problem about the table as a whole: its header, or the file's start.
    pub fn offset(&self) -> usize {
        self.span.as_ref().map_or(0, |s| s.start)
    }

    /// Whether the key is written, whatever its value; read it afterwards as usual.
    pub fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    fn note(&self, key: &'static str, kind: Kind) {
        RECORD.with(|r| {
            if let Some(v) = r.borrow_mut().as_mut() {
                v.push((self.schema.clone(), key, kind));
            }
        });
    }

    fn take(&mut self, key: &'static str) -> Option<Value<'i>> {
        self.known.push(key);
        let v = self.entries.remove(key)?;
        self.taken.push((key, v.clone()));
        Some(v)
    }

    /// An integer written under `key`, whoever reads it, without reading it: for a check one
    /// reader makes against another reader's key. Reports nothing; `None` unless it is an
    /// integer.
    pub fn peek_int(&self, key: &str) -> Option<Spanned<i64>> {
        let v = self
            .entries
            .get(key)
            .or_else(|| self.taken.iter().find(|(k, _)| *k == key).map(|(_, v)| v))?;
        match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| Spanned::new(v.span(), n)),
            _ => None,
        }
    }

    pub fn string(&mut self, d: &mut Diags<'_>, key: &'static str) -> Option<Spanned<String>> {
        self.note(key, Kind::String);
        let v = self.take(key)?;
        string(d, &self.key_path(key), v)
    }

    pub fn int(&mut self, d: &mut Diags<'_>, key: &'static str) -> Option<Spanned<i64>> {
        self.note(key, Kind::Integer);
        let v = self.take(key)?;
        integer(d, &self.key_path(key), &v).map(|n| Spanned::new(v.span(), n))
    }

    /// An integer or a float.
    pub fn number(&mut self, d: &mut Diags<'_>, key: &'static str) -> Option<Spanned<f64>> {
        self.note(key, Kind::Number);
        let v = self.take(key)?;
        number(d, &self.key_path(key), &v).map(|n| Spanned::new(v.span(), n))
    }

    pub fn bool(&mut self, d: &mut Diags<'_>, key: &'static str) -> Option<Spanned<bool>> {
        self.note(key, Kind::Bool);
        let v = self.take(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Spanned::new(v.span(), *b)),
            _ => {
                wrong_type(d, &self.key_path(key), "a boolean (true or false)", &v);
                None
            }
        }
    }

    pub fn duration(&mut self, d: &mut Diags<'_>, key: &'static str) -> Option<Spanned<Duration>> {
        self.note(key, Kind::Duration);
        let v = self.take(key)?;
        let path = self.key_path(key);
        let DeValue::String(text) = v.get_ref() else {
            let expected = format!("a duration string ({})", duration::FORMS);
            wrong_type(d, &path, &expected, &v);
            return None;
        };
        match duration::parse(text) {
            Some(parsed) => Some(Spanned::new(v.span(), parsed)),
            None => {
                let forms = duration::FORMS;
                let msg = format!(
                    "`{path}`: invalid duration \"{text}\"; write a number and a unit, {forms}"
                );
                d.error(&v.span(), msg);
                None
            }
        }
    }

    /// A string that must be one of `options` (spelled as in the file).
    pub fn choice<T: Clone>(
        &mut self,
        d: &mut Diags<'_>,
        key: &'static str,
        options: &[(&'static str, T)],
    ) -> Option<Spanned<T>> {
        let s = self.string(d, key);
        self.note(key, Kind::Choice(options.iter().map(|(n, _)| *n).collect()));
        let s = s?;
        if let Some((_, value)) = options.iter().find(|(name, _)| *name == s.get_ref()) {
            return Some(Spanned::new(s.span(), value.clone()));
        }
        let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
        let msg = match suggest(s.get_ref(), &names) {
            Some(close) => format!(
                "`{}`: invalid value \"{}\"; expected one of: {}; did you mean `{close}`?",
                self.key_path(key),
                s.get_ref(),
                names.join(", ")
            ),
            None => format!(
                "`{}`: invalid value \"{}\"; expected one of: {}",
                self.key_path(key),
                s.get_ref(),
                names.join(", ")
            ),
        };
        d.error(&s.span(), msg);
        None
    }

    /// An array of strings; wrongly typed elements are reported and dropped.
    pub fn strings(
        &mut self,
        d: &mut Diags<'_>,
        key: &'static str,
    ) -> Option<Spanned<Vec<Spanned<String>>>> {
        self.note(key, Kind::Strings);
        let v = self.take(key)?;
        let path = self.key_path(key);
        let span = v.span();
        match v.into_inner() {
            DeValue::Array(items) => {
                let items = items
                    .iter()
                    .cloned()
                    .filter_map(|item| string(d, &path, item));
                Some(Spanned::new(span, items.collect()))
            }
            other => {
                wrong_type(d, &path, "an array of strings", &Spanned::new(span, other));
                None
            }
        }
    }

    fn pairs<T>(
        &mut self,
        d: &mut Diags<'_>,
        key: &'static str,
        mut read: impl FnMut(&mut Diags<'_>, &str, Value<'i>) -> Option<T>,
    ) -> Option<Spanned<Pairs<T>>> {
        let v = self.take(key)?;
        let path = self.key_path(key);
        let span = v.span();
        match v.into_inner() {
            DeValue::Table(table) => {
                let mut out = Vec::new();
                for (k, v) in table {
                    let (key_span, name) = (k.span(), k.into_inner().into_owned());
                    let value_span = v.span();
                    if let Some(value) = read(d, &format!("{path}.{name}"), v) {
                        out.push((
                            Spanned::new(key_span, name),
                            Spanned::new(value_span, value),
                        ));
                    }
                }
                // Keep file order: the table's own order is alphabetical.
                out.sort_by_key(|(k, _)| k.span().start);
                Some(Spanned::new(span, out))
            }
            other => {
                wrong_type(d, &path, "a table", &Spanned::new(span, other));
                None
            }
        }
    }

    /// A table of string values, e.g. `tags = { team = "voice" }`.
    pub fn string_map(
        &mut self,
        d: &mut Diags<'_>,
        key: &'static str,
    ) -> Option<Spanned<Pairs<String>>> {
        self.note(key, Kind::StringMap);
        self.pairs(d, key, |d, path, v| {
            string(d, path, v).map(Spanned::into_inner)
        })
    }

    /// A table of numbers, e.g. `rate_limits = { "lambda:control-plane" = 5 }`.
    pub fn number_map(
        &mut self,
        d: &mut Diags<'_>,
        key: &'static str,
    ) -> Option<Spanned<Pairs<f64>>> {
        self.note(key, Kind::NumberMap);
        self.pairs(d, key, |d, path, v| number(d, path, &v))
    }

    /// A sub-table; an empty one when the file leaves it out, so readers need no special case.
    pub fn section(&mut self, d: &mut Diags<'_>, key: &'static str) -> Section<'i> {
        self.note(key, Kind::Table);
        let path = self.key_path(key);
        let schema = join(&self.schema, key);
        match self.take(key) {
            Some(v) => Section::table(d, &path, &schema, v)
                .unwrap_or_else(|| Section::absent(path, schema)),
            None => Section::absent(path, schema),
        }
    }

    /// The table `v`, read at `path`; `None` (reported) when it is not a table.
    fn table(d: &mut Diags<'_>, path: &str, schema: &str, v: Value<'i>) -> Option<Self> {
        let span = v.span();
        match v.into_inner() {
            DeValue::Table(entries) => Some(Section {
                path: path.to_string(),
                schema: schema.to_string(),
                array: false,
                span: Some(span),
                entries,
                known: Vec::new(),
                taken: Vec::new(),
            }),
            other => {
                wrong_type(d, path, "a table", &Spanned::new(span, other));
                None
            }
        }
    }

    /// A table of named sub-tables, e.g. `[prices.regions."ap-south-1"]`, in file order; each
    /// sub-table must be finished by its reader.
    pub fn named_sections(
        &mut self,
        d: &mut Diags<'_>,
        key: &'static str,
    ) -> Vec<(Spanned<String>, Section<'i>)> {
        self.note(key, Kind::NamedTables);
        let schema = format!("{}.*", join(&self.schema, key));
        if is_recording() && !self.has(key) {
            let name = Spanned::new(0..0, "*".to_string());
            return vec![(name, Section::absent(self.key_path(key), schema))];
        }
        let read =
            |d: &mut Diags<'_>, path: &str, v: Value<'i>| Section::table(d, path, &schema, v);
        self.pairs(d, key, read)
            .map(|p| {
                let pairs = p.into_inner();
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, v.into_inner()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An array of tables (`[[key]]`), in file order.
    pub fn sections(&mut self, d: &mut Diags<'_>, key: &'static str) -> Vec<Section<'i>> {
        self.note(key, Kind::Tables);
        let path = self.key_path(key);
        let schema = format!("{}[]", join(&self.schema, key));
        let Some(v) = self.take(key) else {
            if is_recording() {
                let mut one = Section::absent(path, schema);
                one.array = true;
                return vec![one];
            }
            return Vec::new();
        };
        let span = v.span();
        let expected = format!("an array of tables ([[{path}]])");
        let items = match v.into_inner() {
            DeValue::Array(items) => items,
            other => {
                wrong_type(d, &path, &expected, &Spanned::new(span, other));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items.iter().cloned() {
            let span = item.span();
            match item.into_inner() {
                DeValue::Table(entries) => out.push(Section {
                    path: path.clone(),
                    schema: schema.clone(),
                    array: true,
                    span: Some(span),
                    entries,
                    known: Vec::new(),
                    taken: Vec::new(),
                }),
                other => wrong_type(d, &path, &expected, &Spanned::new(span, other)),
            }
        }
        out
    }

    /// Reports every key that no reader asked for.
    pub fn finish(self, d: &mut Diags<'_>) {
        let location = self.location();
        for (key, _) in self.entries {
            let misplaced =
                !self.path.is_empty() && TOP_LEVEL_SCALARS.contains(&key.get_ref().as_ref());
            let hint = match suggest(key.get_ref(), &self.known) {
                None if misplaced => "; top-level keys go before the first [section]".to_string(),
                _ => hint(key.get_ref(), &self.known),
            };
            d.error(
                &key.span(),
                format!("unknown key `{}` {location}{hint}", key.get_ref()),
            );
        }
    }
}

/// The root's sections, each taken from the root the first time a reader asks for it and kept,
/// so that several readers (the framework and controllers) can each take their own keys of one
/// section. Everything is finished together at the end, which reports the keys nobody read.
pub(crate) struct Sections<'i> {
    root: Section<'i>,
    taken: Vec<(&'static str, Section<'i>)>,
}

impl<'i> Sections<'i> {
    pub fn new(root: Section<'i>) -> Self {
        Self {
            root,
            taken: Vec::new(),
        }
    }

    /// The root table itself, for top-level scalars and arrays of tables.
    pub fn root(&mut self) -> &mut Section<'i> {
        &mut self.root
    }

    /// The sub-table `key` of the root (an empty one when the file leaves it out).
    pub fn get(&mut self, d: &mut Diags<'_>, key: &'static str) -> &mut Section<'i> {
        if let Some(i) = self.taken.iter().position(|(k, _)| *k == key) {
            return &mut self.taken[i].1;
        }
        let section = self.root.section(d, key);
        self.taken.push((key, section));
        let last = self.taken.len() - 1;
        &mut self.taken[last].1
    }

    /// Reports every key nobody read, in every section and at the root.
    pub fn finish(self, d: &mut Diags<'_>) {
        for (_, section) in self.taken {
            section.finish(d);
        }
        self.root.finish(d);
    }
}
