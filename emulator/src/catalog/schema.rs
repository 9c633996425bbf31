//! The JSON Schema subset the catalog's `input_schema`s use, checked the way Scalekit
//! checks `params` before running a tool: `type`, `properties`, `required`,
//! `additionalProperties: false`, `enum`, `items`, `minimum`/`maximum`,
//! `minLength`/`maxLength` and `minItems`/`maxItems`.

use serde_json::Value;

/// One problem with the params: the dotted path of the parameter and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) field: String,
    pub(crate) description: String,
    /// The schema keyword that failed (`required`, `type`, `enum`, …).
    pub(crate) constraint: &'static str,
}

/// Every problem with `value` against `schema`, ordered by field. Empty: valid.
pub(crate) fn check(schema: &Value, value: &Value) -> Vec<Violation> {
    let mut found = Vec::new();
    walk(schema, value, "", &mut found);
    found.sort_by(|a, b| a.field.cmp(&b.field));
    found
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn push(found: &mut Vec<Violation>, path: &str, constraint: &'static str, description: String) {
    found.push(Violation {
        field: if path.is_empty() {
            "params".to_owned()
        } else {
            path.to_owned()
        },
        description,
        constraint,
    });
}

/// A length bound (`minItems`, `maxLength`, …) of the schema.
fn bound(schema: &Value, key: &str) -> Option<usize> {
    schema
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, wanted: &str) -> bool {
    match wanted {
        "number" => value.is_number(),
        "integer" => {
            value.is_i64()
                || value.is_u64()
                || value
                    .as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.is_finite())
        }
        other => type_name(value) == other,
    }
}

fn walk(schema: &Value, value: &Value, path: &str, found: &mut Vec<Violation>) {
    if let Some(wanted) = schema.get("type").and_then(Value::as_str)
        && !has_type(value, wanted)
    {
        push(
            found,
            path,
            "type",
            format!("must be of type {wanted}, not {}", type_name(value)),
        );
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed.iter().map(Value::to_string).collect();
        push(
            found,
            path,
            "enum",
            format!("must be one of {}", names.join(", ")),
        );
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(name) {
                    push(
                        found,
                        &join(path, name),
                        "required",
                        "is required".to_owned(),
                    );
                }
            }
            if let Some(properties) = properties {
                for (name, sub) in properties {
                    if let Some(item) = map.get(name) {
                        walk(sub, item, &join(path, name), found);
                    }
                }
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                for name in map.keys() {
                    if !properties.is_some_and(|p| p.contains_key(name)) {
                        push(
                            found,
                            &join(path, name),
                            "additionalProperties",
                            "is not a parameter of this tool".to_owned(),
                        );
                    }
                }
            }
        }
        Value::Array(items) => {
            let count = items.len();
            if let Some(min) = bound(schema, "minItems")
                && count < min
            {
                push(
                    found,
                    path,
                    "minItems",
                    format!("must have at least {min} item(s)"),
                );
            }
            if let Some(max) = bound(schema, "maxItems")
                && count > max
            {
                push(
                    found,
                    path,
                    "maxItems",
                    format!("must have at most {max} item(s)"),
                );
            }
            if let Some(sub) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    walk(sub, item, &format!("{path}[{index}]"), found);
                }
            }
        }
        Value::String(text) => {
            let len = text.chars().count();
            if let Some(min) = bound(schema, "minLength")
                && len < min
            {
                push(
                    found,
                    path,
                    "minLength",
                    format!("must be at least {min} character(s)"),
                );
            }
            if let Some(max) = bound(schema, "maxLength")
                && len > max
            {
                push(
                    found,
                    path,
                    "maxLength",
                    format!("must be at most {max} character(s)"),
                );
            }
        }
        Value::Number(number) => {
            let n = number.as_f64().unwrap_or_default();
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                push(found, path, "minimum", format!("must be at least {min}"));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                push(found, path, "maximum", format!("must be at most {max}"));
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check;

    #[test]
    fn nested_required_enum_items_and_unknown_fields() {
        let schema = json!({
            "type": "object",
            "properties": {
                "to": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 3}},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "n": {"type": "integer", "minimum": 1, "maximum": 5},
                "opts": {
                    "type": "object",
                    "properties": {"x": {"type": "boolean"}},
                    "required": ["x"],
                    "additionalProperties": false
                }
            },
            "required": ["to"],
            "additionalProperties": false
        });
        assert!(check(&schema, &json!({"to": ["abc"]})).is_empty());
        assert!(check(&schema, &json!({"to": ["abc"], "n": 2.0})).is_empty());
        let found = check(
            &schema,
            &json!({"to": ["ab", 1], "kind": "c", "n": 9, "opts": {"y": 1}, "zz": 0}),
        );
        let fields: Vec<(&str, &str)> = found
            .iter()
            .map(|v| (v.field.as_str(), v.constraint))
            .collect();
        assert_eq!(
            fields,
            [
                ("kind", "enum"),
                ("n", "maximum"),
                ("opts.x", "required"),
                ("opts.y", "additionalProperties"),
                ("to[0]", "minLength"),
                ("to[1]", "type"),
                ("zz", "additionalProperties"),
            ]
        );
        let found = check(&schema, &json!({}));
        assert_eq!(found[0].field, "to");
        assert_eq!(found[0].description, "is required");
        assert_eq!(check(&schema, &json!([]))[0].field, "params");
    }
}
