//! `trimtab schema`: a JSON Schema (draft 2020-12) of the config file, for editors (taplo /
//! Even Better TOML read JSON Schema) and for checking files without running trimtab.
//!
//! It is not written by hand: the loader itself is run over an empty file with every key it
//! asks for recorded (`walk::recording`), with one empty element for each array or map of
//! tables, so the schema has exactly the keys, types and choices the loader reads. The
//! descriptions are the comments above each key in `config/example.toml`, which documents every
//! key, its default and its unit.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::walk::{self, Kind};

const EXAMPLE: &str = include_str!("../../config/example.toml");

/// The schema of the config file.
pub fn schema() -> Value {
    let asked = walk::recording(|| {
        let _ = super::parse("", "schema.toml");
    });
    let described = descriptions(EXAMPLE);
    let mut root = object();
    for (table, key, kind) in asked {
        let node = at(&mut root, &table);
        let props = node
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .expect("an object schema has properties");
        let entry = props.entry(key.to_string()).or_insert_with(|| leaf(&kind));
        // A table asked for first as a scalar's parent keeps what it has.
        if !matches!(kind, Kind::Table | Kind::Tables | Kind::NamedTables) {
            *entry = leaf(&kind);
        }
        let plain = format!("{}{key}", prefix(&table)).replace("[]", "");
        if let (Some(text), Some(obj)) = (described.get(&plain), entry.as_object_mut()) {
            obj.insert("description".into(), Value::String(text.clone()));
        }
    }
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    out.insert("title".into(), json!("trimtab desired state"));
    out.insert(
        "description".into(),
        json!("The desired-state file of trimtab, the reconciliation daemon (see config/example.toml)."),
    );
    if let Value::Object(root) = root {
        out.extend(root);
    }
    Value::Object(out)
}

fn prefix(table: &str) -> String {
    if table.is_empty() {
        String::new()
    } else {
        format!("{table}.")
    }
}

fn object() -> Value {
    json!({"type": "object", "properties": {}, "additionalProperties": false})
}

fn leaf(kind: &Kind) -> Value {
    match kind {
        Kind::String => json!({"type": "string"}),
        Kind::Integer => json!({"type": "integer"}),
        Kind::Number => json!({"type": "number"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Duration => json!({
            "type": "string",
            "pattern": "^([0-9]+(\\.[0-9]+)?\\s*[a-z]+\\s*)+$",
            "examples": ["250ms", "60s", "5m", "1h30m"]
        }),
        Kind::Choice(options) => json!({"type": "string", "enum": options}),
        Kind::Strings => json!({"type": "array", "items": {"type": "string"}}),
        Kind::StringMap => json!({"type": "object", "additionalProperties": {"type": "string"}}),
        Kind::NumberMap => json!({"type": "object", "additionalProperties": {"type": "number"}}),
        Kind::Table => object(),
        Kind::Tables => json!({"type": "array", "items": object()}),
        Kind::NamedTables => json!({"type": "object", "additionalProperties": object()}),
    }
}

/// The object schema at a table's schema path (`functions[].alarms`, `prices.regions.*`),
/// made on the way if missing.
fn at<'a>(root: &'a mut Value, table: &str) -> &'a mut Value {
    let mut node = root;
    for segment in table.split('.').filter(|s| !s.is_empty()) {
        node = if segment == "*" {
            let obj = node.as_object_mut().expect("object");
            let extra = obj.entry("additionalProperties").or_insert_with(object);
            if !extra.is_object() {
                *extra = object();
            }
            extra
        } else {
            let (name, array) = match segment.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (segment, false),
            };
            let props = node
                .get_mut("properties")
                .and_then(Value::as_object_mut)
                .expect("an object schema has properties");
            let child = props
                .entry(name.to_string())
                .or_insert_with(|| if array { leaf(&Kind::Tables) } else { object() });
            if array {
                child
                    .get_mut("items")
                    .expect("an array of tables has items")
            } else {
                child
            }
        };
        if node.get("properties").is_none()
            && let Some(obj) = node.as_object_mut()
        {
            obj.insert("properties".into(), json!({}));
        }
    }
    node
}

/// The comment block above each key (and table header) of a documented file, by dotted path
/// (`cloud.region`, `functions.alarms.duration.threshold_ms`).
fn descriptions(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut table = String::new();
    let mut comments: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(c) = t.strip_prefix('#') {
            comments.push(c.trim());
            continue;
        }
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').replace('"', "");
            if !comments.is_empty() {
                out.entry(table.clone())
                    .or_insert_with(|| comments.join(" "));
            }
        } else if let Some((key, _)) = t.split_once('=') {
            let key = key.trim();
            if !comments.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.entry(format!("{}{key}", prefix(&table)))
                    .or_insert_with(|| comments.join(" "));
            }
        }
        comments.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_every_section_with_types_choices_and_descriptions() {
        let s = schema();
        let p = &s["properties"];
        assert_eq!(p["interval"]["type"], "string");
        assert_eq!(
            p["cloud"]["properties"]["backend"]["enum"],
            json!(["aws", "simulated"])
        );
        assert_eq!(p["cloud"]["additionalProperties"], false);
        let f = &p["functions"]["items"]["properties"];
        assert_eq!(p["functions"]["type"], "array");
        assert_eq!(f["name"]["type"], "string");
        assert_eq!(f["reserved_concurrency"]["type"], "integer");
        assert_eq!(
            f["alarms"]["properties"]["duration"]["properties"]["threshold_ms"]["type"],
            "number"
        );
        let region = &p["prices"]["properties"]["regions"]["additionalProperties"];
        assert_eq!(
            region["properties"]["dynamodb_write_per_million"]["type"],
            "number"
        );
        assert_eq!(
            p["simulated"]["properties"]["functions"]["items"]["properties"]["memory_mb"]["type"],
            "integer"
        );
        assert!(
            p["cloud"]["properties"]["region"]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{}",
            p["cloud"]
        );
    }
}
