//! A tool call's arguments, checked the way the tool's schema declares them: a wrong type or
//! an argument the tool does not take is a usage error (the CLI's exit 2), never ignored.

use rmcp::model::JsonObject;
use serde_json::Value;

use crate::error::CliError;
use crate::output::shown;

/// A call's arguments, checked as the tool's schema declares them.
pub(super) struct Args<'a> {
    map: &'a JsonObject,
}

impl<'a> Args<'a> {
    pub(super) fn new(map: &'a JsonObject) -> Self {
        Self { map }
    }

    /// The raw value, for arguments that are not strings (`params`, `headers`).
    pub(super) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    /// Refuses an argument the tool does not take (a typo would otherwise be ignored).
    pub(super) fn only(&self, known: &[&str]) -> Result<(), CliError> {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| shown(k))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(CliError::usage(format!(
            "unknown argument{} {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", ")
        ))
        .with_hint(if known.is_empty() {
            "this tool takes no arguments".to_owned()
        } else {
            format!("it takes: {}", known.join(", "))
        }))
    }

    pub(super) fn string(&self, name: &str) -> Result<Option<&str>, CliError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(CliError::usage(format!("{name} must be a string"))),
        }
    }

    pub(super) fn required(&self, name: &str) -> Result<&str, CliError> {
        self.string(name)?
            .ok_or_else(|| CliError::usage(format!("the {name} argument is required")))
    }

    pub(super) fn integer(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, CliError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_u64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(CliError::usage(format!(
                    "{name} must be an integer from {min} to {max}"
                ))),
            },
        }
    }
}
