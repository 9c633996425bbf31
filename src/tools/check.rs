//! Checks a tool's params against its `input_schema` (a JSON Schema) before anything is sent,
//! so that an agent learns every mistake at once instead of one failed run at a time.
//!
//! What is checked (docs/cli.md, "Parameter checking"): `required`, `type` (one or a list;
//! `integer` is a number without a fraction; `null`), `enum` and `const`, and unknown fields:
//! a field the schema does not declare is a problem even without
//! `additionalProperties: false`, because a tool ignores it silently. Recursive through
//! `properties`, `additionalProperties`, `items` / `prefixItems` and local `$ref`s, with
//! `allOf` / `anyOf` / `oneOf` read leniently. Numeric bounds, lengths, formats and patterns
//! are not checked: Scalekit does. Whatever the checker cannot understand (an unknown type
//! name, a `$ref` it cannot resolve, a schema that is not an object) accepts the value: a
//! wrong "invalid" would block a run that works.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Deeper than this (nesting, or `$ref`s that point back at themselves) is not checked.
const MAX_DEPTH: usize = 64;
/// At most this many (schema, value) pairs are visited: nested `anyOf`s over self-references
/// would otherwise take exponential time. Past it, the rest is accepted.
const MAX_STEPS: usize = 100_000;

/// One problem with the params: where (a JSON path from `$`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) path: String,
    pub(crate) message: String,
}

/// Every problem of `value` against `schema`, in document order; empty when it is valid.
pub(crate) fn check(schema: &Value, value: &Value) -> Vec<Problem> {
    let mut checker = Checker {
        root: schema,
        problems: Vec::new(),
        steps: 0,
    };
    checker.value(schema, value, "$", 0, true);
    checker.problems
}

struct Checker<'s> {
    root: &'s Value,
    problems: Vec<Problem>,
    steps: usize,
}

impl<'s> Checker<'s> {
    fn problem(&mut self, path: &str, message: String) {
        self.problems.push(Problem {
            path: path.to_owned(),
            message,
        });
    }

    /// Checks `value` at `path`. `strict_fields`: whether fields this schema does not declare
    /// are problems (off inside `allOf`/`anyOf`/`oneOf` branches, which see only a part of
    /// the declared fields).
    fn value(
        &mut self,
        schema: &'s Value,
        value: &Value,
        path: &str,
        depth: usize,
        strict_fields: bool,
    ) {
        self.steps += 1;
        if depth > MAX_DEPTH || self.steps > MAX_STEPS {
            return;
        }
        // `true`, and anything that is not a schema, accepts.
        let schema = match schema {
            Value::Bool(false) => {
                self.problem(path, "is not allowed here".to_owned());
                return;
            }
            Value::Object(schema) => schema,
            _ => return,
        };
        if let Some(reference) = schema.get("$ref") {
            // One that cannot be resolved accepts (see the module comment).
            if let Some(target) = reference.as_str().and_then(|r| self.resolve(r)) {
                self.value(target, value, path, depth + 1, strict_fields);
            }
            return;
        }
        if !self.type_matches(schema, value, path) {
            // Nothing inside a value of the wrong type is worth reporting.
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.iter().any(|a| same(a, value))
        {
            let list: Vec<String> = allowed.iter().map(short).collect();
            self.problem(
                path,
                format!("must be one of {}; got {}", list.join(", "), short(value)),
            );
        }
        if let Some(expected) = schema.get("const")
            && !same(expected, value)
        {
            self.problem(
                path,
                format!("must be {}; got {}", short(expected), short(value)),
            );
        }
        self.combinators(schema, value, path, depth);
        match value {
            Value::Object(fields) => self.object(schema, fields, path, depth, strict_fields),
            Value::Array(items) => self.array(schema, items, path, depth),
            _ => {}
        }
    }

    /// Whether the value has one of the schema's types (reporting a problem when not).
    /// No `type`, or a type name this checker does not know: any value matches.
    fn type_matches(&mut self, schema: &Map<String, Value>, value: &Value, path: &str) -> bool {
        let mut names: Vec<&str> = match schema.get("type") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => return true,
        };
        if names.is_empty() || names.iter().any(|n| !KNOWN_TYPES.contains(n)) {
            return true;
        }
        // OpenAPI's `nullable: true` (common in generated tool schemas).
        if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
            names.push("null");
        }
        if names.iter().any(|name| has_type(value, name)) {
            return true;
        }
        names.dedup();
        self.problem(
            path,
            format!(
                "expected {}, got {}",
                super::or_list(&names),
                describe(value)
            ),
        );
        false
    }

    /// `allOf`: every branch; `anyOf` / `oneOf`: at least one branch (which one is not
    /// enforced). Branches never report unknown fields; [`Self::object`] counts their
    /// properties as declared.
    fn combinators(
        &mut self,
        schema: &'s Map<String, Value>,
        value: &Value,
        path: &str,
        depth: usize,
    ) {
        if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
            for branch in branches {
                self.value(branch, value, path, depth + 1, false);
            }
        }
        for key in ["anyOf", "oneOf"] {
            let Some(branches) = schema.get(key).and_then(Value::as_array) else {
                continue;
            };
            if branches.is_empty() {
                continue;
            }
            let mut fits = false;
            for branch in branches {
                let mut trial = Checker {
                    root: self.root,
                    problems: Vec::new(),
                    steps: self.steps,
                };
                trial.value(branch, value, path, depth + 1, false);
                self.steps = trial.steps;
                if trial.problems.is_empty() {
                    fits = true;
                    break;
                }
            }
            if !fits {
                self.problem(
                    path,
                    format!(
                        "matches none of the {} allowed forms ({key})",
                        branches.len()
                    ),
                );
            }
        }
    }

    fn object(
        &mut self,
        schema: &'s Map<String, Value>,
        fields: &Map<String, Value>,
        path: &str,
        depth: usize,
        strict_fields: bool,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    self.problem(&child(path, name), "is required but missing".to_owned());
                }
            }
        }
        let declared = self.declared(schema, depth);
        for (name, field) in fields {
            let field_path = child(path, name);
            if let Some(field_schema) = properties.and_then(|p| p.get(name)) {
                self.value(field_schema, field, &field_path, depth + 1, true);
                continue;
            }
            match schema.get("additionalProperties") {
                Some(extra @ Value::Object(_)) => {
                    self.value(extra, field, &field_path, depth + 1, true);
                }
                Some(Value::Bool(false)) => {
                    self.problem(&field_path, unknown_field(properties));
                }
                Some(Value::Bool(true)) => {}
                _ if !strict_fields => {}
                _ => match &declared {
                    Declared::Names(names) if !names.iter().any(|n| n == name) => {
                        self.problem(&field_path, unknown_field(properties));
                    }
                    Declared::Names(_) | Declared::Anything => {}
                },
            }
        }
    }

    /// The field names an object schema declares, for the unknown-field check: its own
    /// `properties` and those of its `allOf`/`anyOf`/`oneOf` branches. `Anything` when the
    /// schema declares no properties at all (a free-form object), or when a branch cannot be
    /// read (an unresolvable `$ref`, `patternProperties`, `additionalProperties: true`).
    fn declared(&self, schema: &'s Map<String, Value>, depth: usize) -> Declared {
        let mut names = Vec::new();
        let mut seen_properties = false;
        let mut stack: Vec<(&Map<String, Value>, usize)> = vec![(schema, depth)];
        while let Some((schema, depth)) = stack.pop() {
            if depth > MAX_DEPTH || schema.contains_key("patternProperties") {
                return Declared::Anything;
            }
            if let Some(Value::Bool(true) | Value::Object(_)) = schema.get("additionalProperties") {
                return Declared::Anything;
            }
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                seen_properties = true;
                names.extend(properties.keys().cloned());
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                for branch in schema
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let branch = match branch.get("$ref").and_then(Value::as_str) {
                        Some(reference) => match self.resolve(reference) {
                            Some(target) => target,
                            None => return Declared::Anything,
                        },
                        None => branch,
                    };
                    if let Value::Object(branch) = branch {
                        stack.push((branch, depth + 1));
                    }
                }
            }
        }
        if seen_properties {
            Declared::Names(names)
        } else {
            Declared::Anything
        }
    }

    fn array(&mut self, schema: &'s Map<String, Value>, items: &[Value], path: &str, depth: usize) {
        // Positional schemas: `prefixItems` (2020-12) or `items` as an array (draft 4–2019).
        let positional = schema
            .get("prefixItems")
            .or_else(|| schema.get("items").filter(|i| i.is_array()))
            .and_then(Value::as_array);
        let rest = if schema.contains_key("prefixItems") {
            schema.get("items")
        } else if positional.is_some() {
            schema.get("additionalItems")
        } else {
            schema.get("items")
        };
        let positional = positional.map_or(&[][..], Vec::as_slice);
        for (index, item) in items.iter().enumerate() {
            let item_schema = positional.get(index).or(rest);
            if let Some(item_schema) = item_schema {
                self.value(
                    item_schema,
                    item,
                    &format!("{path}[{index}]"),
                    depth + 1,
                    true,
                );
            }
        }
    }

    /// A local `$ref` (`#`, `#/$defs/x`, `#/definitions/x`, any JSON pointer into the root
    /// schema). Remote references are not fetched.
    fn resolve(&self, reference: &str) -> Option<&'s Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        // JSON pointers in a URI fragment may be percent-encoded; the common ones are not.
        self.root.pointer(pointer)
    }
}

enum Declared {
    Names(Vec<String>),
    Anything,
}

const KNOWN_TYPES: [&str; 7] = [
    "object", "array", "string", "number", "integer", "boolean", "null",
];

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// JSON equality, except that numbers compare by value (`1` equals `1.0`).
#[allow(clippy::float_cmp)] // exact equality is what JSON Schema's enum and const mean
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y)) if x == y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// What a value is, for "expected X, got Y".
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => format!("string {}", short(value)),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A value as JSON, cut short when long.
fn short(value: &Value) -> String {
    const MAX: usize = 60;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        return text;
    }
    let mut cut: String = text.chars().take(MAX).collect();
    cut.push('…');
    cut
}

fn unknown_field(properties: Option<&Map<String, Value>>) -> String {
    let mut message = "is not a field of the schema".to_owned();
    if let Some(properties) = properties.filter(|p| !p.is_empty()) {
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        let _ = write!(message, " (known: {})", names.join(", "));
    }
    message
}

/// `$.a`, `$.a.b`, `$["odd key"]`.
fn child(path: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{name}")
    } else {
        format!("{path}[{}]", Value::from(name))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(schema: &Value, value: &Value) -> Vec<(String, String)> {
        check(schema, value)
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect()
    }

    fn paths(schema: &Value, value: &Value) -> Vec<String> {
        check(schema, value).into_iter().map(|p| p.path).collect()
    }

    /// A realistic mail-sending schema: required fields, an enum, a nested object, an array of
    /// objects.
    fn send_mail() -> Value {
        json!({
            "type": "object",
            "properties": {
                "to": {"type": "array", "items": {"type": "string"}},
                "subject": {"type": "string"},
                "priority": {"type": "string", "enum": ["low", "normal", "high"]},
                "max_results": {"type": "integer"},
                "options": {
                    "type": "object",
                    "properties": {"html": {"type": "boolean"}, "reply_to": {"type": ["string", "null"]}},
                    "required": ["html"]
                },
                "attachments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "size": {"type": "number"}},
                        "required": ["name"]
                    }
                }
            },
            "required": ["to", "subject"]
        })
    }

    #[test]
    fn a_valid_document_has_no_problems() {
        let params = json!({
            "to": ["a@b.c"], "subject": "hi", "priority": "high", "max_results": 5,
            "options": {"html": true, "reply_to": null},
            "attachments": [{"name": "x.pdf", "size": 1.5}]
        });
        assert_eq!(problems(&send_mail(), &params), vec![]);
    }

    #[test]
    fn every_problem_is_listed_with_its_path() {
        let params = json!({
            "to": "a@b.c", "priority": "urgent", "max_results": 2.5, "cc": [],
            "options": {"reply_to": 7, "color": "red"},
            "attachments": [{"name": "x"}, {"size": "big"}, 3]
        });
        let got = paths(&send_mail(), &params);
        assert_eq!(
            got,
            vec![
                "$.subject",
                "$.attachments[1].name",
                "$.attachments[1].size",
                "$.attachments[2]",
                "$.cc",
                "$.max_results",
                "$.options.html",
                "$.options.color",
                "$.options.reply_to",
                "$.priority",
                "$.to",
            ]
        );
        let all = problems(&send_mail(), &params);
        let message = |path: &str| &all.iter().find(|(p, _)| p == path).unwrap().1;
        assert_eq!(message("$.subject"), "is required but missing");
        assert_eq!(message("$.max_results"), "expected integer, got number 2.5");
        assert_eq!(
            message("$.priority"),
            r#"must be one of "low", "normal", "high"; got "urgent""#
        );
        assert_eq!(
            message("$.options.reply_to"),
            "expected string or null, got number 7"
        );
        assert!(message("$.cc").starts_with("is not a field of the schema (known: "));
        assert_eq!(message("$.to"), r#"expected array, got string "a@b.c""#);
        assert_eq!(message("$.attachments[2]"), "expected object, got number 3");
    }

    #[test]
    fn integers_and_numbers() {
        let schema = json!({"type": "integer"});
        assert!(check(&schema, &json!(3)).is_empty());
        assert!(check(&schema, &json!(-3)).is_empty());
        assert!(check(&schema, &json!(3.0)).is_empty(), "3.0 is an integer");
        assert!(check(&schema, &json!(u64::MAX)).is_empty());
        assert_eq!(check(&schema, &json!("3")).len(), 1);
        let schema = json!({"type": "number"});
        assert!(check(&schema, &json!(3)).is_empty());
        assert!(check(&schema, &json!(0.5)).is_empty());
        assert_eq!(check(&schema, &json!(true)).len(), 1);
        // Enums compare numbers by value.
        assert!(check(&json!({"enum": [1, 2]}), &json!(2.0)).is_empty());
        assert_eq!(check(&json!({"enum": [1, 2]}), &json!(3)).len(), 1);
    }

    #[test]
    fn type_lists_null_and_nullable() {
        let schema = json!({"type": ["integer", "string"]});
        assert!(check(&schema, &json!("x")).is_empty());
        assert!(check(&schema, &json!(1)).is_empty());
        assert_eq!(
            problems(&schema, &json!(null)),
            vec![("$".into(), "expected integer or string, got null".into())]
        );
        assert!(check(&json!({"type": "null"}), &json!(null)).is_empty());
        assert!(check(&json!({"type": "string", "nullable": true}), &json!(null)).is_empty());
        assert_eq!(check(&json!({"type": "string"}), &json!(null)).len(), 1);
    }

    #[test]
    fn unknown_or_odd_schemas_accept() {
        for schema in [
            json!(true),
            json!({}),
            json!({"type": "date"}),
            json!({"type": []}),
            json!("not a schema"),
            json!(42),
            json!(null),
            json!({"type": ["string", "uuid"]}),
        ] {
            assert!(check(&schema, &json!({"a": 1})).is_empty(), "{schema}");
        }
        assert_eq!(
            problems(&json!(false), &json!({})),
            vec![("$".into(), "is not allowed here".into())]
        );
        // A boolean schema for one property.
        let schema = json!({"type": "object", "properties": {"a": true, "b": false}});
        assert_eq!(paths(&schema, &json!({"a": [1], "b": 1})), vec!["$.b"]);
    }

    #[test]
    fn unknown_fields_are_problems_only_where_properties_are_declared() {
        // Free-form object: anything goes.
        assert!(check(&json!({"type": "object"}), &json!({"x": 1})).is_empty());
        // Declared properties: others are problems, even without additionalProperties: false.
        let schema = json!({"type": "object", "properties": {"a": {}}});
        assert_eq!(paths(&schema, &json!({"a": 1, "b": 2})), vec!["$.b"]);
        // additionalProperties: true or a schema opens it up (and the schema is checked).
        let schema = json!({"properties": {"a": {}}, "additionalProperties": true});
        assert!(check(&schema, &json!({"b": 2})).is_empty());
        let schema = json!({"properties": {"a": {}}, "additionalProperties": {"type": "string"}});
        assert_eq!(paths(&schema, &json!({"b": 2, "c": "x"})), vec!["$.b"]);
        // additionalProperties: false without properties: every field is unknown.
        let schema = json!({"type": "object", "additionalProperties": false});
        assert_eq!(paths(&schema, &json!({"b": 2})), vec!["$.b"]);
        // patternProperties cannot be checked here: accept.
        let schema = json!({"properties": {"a": {}}, "patternProperties": {"^x": {}}});
        assert!(check(&schema, &json!({"x1": 2})).is_empty());
    }

    #[test]
    fn missing_properties_and_required_only() {
        // `required` without `properties`: required fields still count.
        let schema = json!({"type": "object", "required": ["id"]});
        assert_eq!(paths(&schema, &json!({})), vec!["$.id"]);
        assert!(check(&schema, &json!({"id": 1, "other": 2})).is_empty());
        // Malformed parts are skipped, not trusted.
        let schema = json!({"type": "object", "required": "id", "properties": []});
        assert!(check(&schema, &json!({"x": 1})).is_empty());
    }

    #[test]
    fn refs_resolve_locally_or_are_accepted() {
        let schema = json!({
            "type": "object",
            "properties": {
                "owner": {"$ref": "#/$defs/person"},
                "reviewers": {"type": "array", "items": {"$ref": "#/definitions/person"}},
                "remote": {"$ref": "https://example.com/schema.json"},
                "broken": {"$ref": "#/$defs/missing"}
            },
            "$defs": {"person": {"type": "object", "properties": {"login": {"type": "string"}}, "required": ["login"]}},
            "definitions": {"person": {"$ref": "#/$defs/person"}}
        });
        let params = json!({
            "owner": {"login": 5},
            "reviewers": [{"login": "a"}, {}],
            "remote": 1, "broken": [1]
        });
        assert_eq!(
            paths(&schema, &params),
            vec!["$.owner.login", "$.reviewers[1].login"]
        );
    }

    #[test]
    fn self_referencing_schemas_end() {
        let schema = json!({"$ref": "#"});
        assert!(check(&schema, &json!({})).is_empty());
        let schema = json!({"type": "object", "properties": {"child": {"$ref": "#"}}});
        let mut deep = json!({});
        for _ in 0..100 {
            deep = json!({"child": deep});
        }
        assert!(check(&schema, &deep).is_empty());
        let mut bad = json!({"nope": 1});
        for _ in 0..10 {
            bad = json!({"child": bad});
        }
        assert_eq!(check(&schema, &bad).len(), 1);
        let schema = json!({"allOf": [{"$ref": "#"}]});
        assert!(check(&schema, &json!({})).is_empty());
        // Branching self-references would take exponential time without the step budget.
        let schema = json!({"anyOf": [{"$ref": "#"}, {"$ref": "#"}, {"$ref": "#"}]});
        let started = std::time::Instant::now();
        let _ = check(&schema, &json!({"a": 1}));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn combinators_are_read_leniently() {
        let schema = json!({
            "type": "object",
            "properties": {"kind": {"enum": ["a", "b"]}},
            "allOf": [{"properties": {"x": {"type": "string"}}, "required": ["x"]}],
            "anyOf": [
                {"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"b": {"type": "integer"}}, "required": ["b"]}
            ]
        });
        assert!(check(&schema, &json!({"kind": "a", "x": "1", "a": 1})).is_empty());
        assert!(check(&schema, &json!({"x": "1", "b": 2})).is_empty());
        let got = problems(&schema, &json!({"x": 1, "c": 1}));
        let got_paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(got_paths, vec!["$.x", "$", "$.c"], "{got:?}");
        assert_eq!(got[1].1, "matches none of the 2 allowed forms (anyOf)");
        // A oneOf of types.
        let schema =
            json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]});
        assert!(check(&schema, &json!("a")).is_empty());
        assert!(check(&schema, &json!(["a"])).is_empty());
        assert_eq!(check(&schema, &json!([1])).len(), 1);
    }

    #[test]
    fn arrays_positional_and_rest() {
        let schema = json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": {"type": "boolean"}});
        assert!(check(&schema, &json!(["a", 1, true, false])).is_empty());
        assert_eq!(
            paths(&schema, &json!([1, "a", 3])),
            vec!["$[0]", "$[1]", "$[2]"]
        );
        let schema =
            json!({"type": "array", "items": [{"type": "string"}], "additionalItems": false});
        assert_eq!(paths(&schema, &json!(["a", 1])), vec!["$[1]"]);
        let schema =
            json!({"type": "array", "items": {"type": "array", "items": {"type": "integer"}}});
        assert_eq!(paths(&schema, &json!([[1], [2, "x"]])), vec!["$[1][1]"]);
    }

    #[test]
    fn odd_field_names_get_quoted_paths() {
        let schema = json!({"type": "object", "properties": {"a b": {"type": "string"}}, "required": ["1st", "x\u{1b}"]});
        let got = paths(&schema, &json!({"a b": 1}));
        assert_eq!(got, vec![r#"$["1st"]"#, r#"$["x\u001b"]"#, r#"$["a b"]"#]);
    }

    #[test]
    fn const_and_long_values_are_cut() {
        assert!(check(&json!({"const": {"a": [1]}}), &json!({"a": [1.0]})).is_empty());
        let long = "x".repeat(500);
        let got = problems(&json!({"enum": ["a"]}), &json!(long));
        assert!(got[0].1.ends_with('…') && got[0].1.len() < 120, "{got:?}");
    }

    mod arbitrary {
        use proptest::prelude::*;
        use serde_json::{Map, Value};

        use super::super::check;

        /// Keys a JSON Schema uses, plus property names and strangers.
        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => prop::sample::select(vec![
                    "type", "properties", "required", "enum", "const", "items", "prefixItems",
                    "additionalItems", "additionalProperties", "patternProperties", "$ref",
                    "$defs", "definitions", "allOf", "anyOf", "oneOf", "nullable", "a", "b",
                ])
                .prop_map(str::to_owned),
                1 => any::<String>(),
            ]
        }

        /// Values that look like schemas (and like params): type names, local refs, nesting.
        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                prop::sample::select(vec![
                    "object",
                    "array",
                    "string",
                    "number",
                    "integer",
                    "boolean",
                    "null",
                    "#",
                    "#/$defs/a",
                    "#/properties/a",
                    "#/definitions",
                    "#/",
                    "a",
                    "",
                ])
                .prop_map(Value::from),
                any::<String>().prop_map(Value::from),
            ];
            leaf.prop_recursive(6, 64, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::vec((key(), inner), 0..6)
                        .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: if std::env::var_os("PROPTEST_CASES").is_some() {
                    ProptestConfig::default().cases
                } else {
                    256
                },
                ..ProptestConfig::default()
            })]

            /// Any schema against any value: no panic, no hang, and every problem has a path
            /// from the root.
            #[test]
            fn any_schema_and_value_never_panic(schema in json(), value in json()) {
                for problem in check(&schema, &value) {
                    prop_assert!(problem.path.starts_with('$'));
                    prop_assert!(!problem.message.is_empty());
                }
            }
        }
    }
}
