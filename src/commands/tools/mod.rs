//! `tools`: search and list Scalekit's tool catalog, show a tool's schema, run a tool.

mod run;

use serde_json::{Map, Value};

use super::Context;
use crate::cli::{ToolsCommand, ToolsListArgs, ToolsSchemaArgs, ToolsSearchArgs};
use crate::error::ExitStatus;
use crate::flows::tools::{self as flow, find_tool, unknown_tool};
use crate::output::{format_table, safe};
use crate::scalekit::tools::{Pages, Tool, ToolFilter};

pub(crate) async fn run(ctx: &Context, command: ToolsCommand) -> anyhow::Result<ExitStatus> {
    match command {
        ToolsCommand::Search(args) => search(ctx, &args).await,
        ToolsCommand::List(args) => list(ctx, &args).await,
        ToolsCommand::Schema(args) => schema(ctx, &args).await,
        ToolsCommand::Run(args) => run::run(ctx, &args).await,
    }
}

async fn search(ctx: &Context, args: &ToolsSearchArgs) -> anyhow::Result<ExitStatus> {
    let query = flow::check_query(&args.query)?;
    let config = ctx.config()?;
    let client = ctx.client(&config)?;
    let tools = flow::search(&client, query, args.provider.as_deref(), args.limit).await?;
    print_tools(
        ctx,
        &tools,
        args.json,
        &format!("no tools match \"{}\"", safe::line(query)),
    )
}

async fn list(ctx: &Context, args: &ToolsListArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let connector = match &args.service {
        Some(name) => Some(ctx.service(&config, name)?.1.connection_name.clone()),
        None => None,
    };
    let client = ctx.client(&config)?;
    let filter = ToolFilter {
        provider: args.provider.as_deref(),
        connector: connector.as_deref(),
        ..ToolFilter::default()
    };
    let tools = client.list_tools(&filter, Pages::All).await?;
    print_tools(ctx, &tools, args.json, "no tools")
}

/// The table (name, provider, first line of the description) or the JSON array.
fn print_tools(
    ctx: &Context,
    tools: &[Tool],
    json: bool,
    none: &str,
) -> anyhow::Result<ExitStatus> {
    if json {
        ctx.out.json(&flow::tool_docs(tools))?;
        return Ok(ExitStatus::Success);
    }
    if tools.is_empty() {
        ctx.out.info(none);
        return Ok(ExitStatus::Success);
    }
    // Every cell goes through `safe::line` in `format_table`: they come from Scalekit.
    let rows: Vec<[String; 3]> = tools
        .iter()
        .map(|t| {
            [
                t.name.clone(),
                t.provider.clone(),
                first_line(&t.description).to_owned(),
            ]
        })
        .collect();
    ctx.out
        .data(&format_table(&["NAME", "PROVIDER", "DESCRIPTION"], &rows))?;
    Ok(ExitStatus::Success)
}

fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or_default().trim()
}

async fn schema(ctx: &Context, args: &ToolsSchemaArgs) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let client = ctx.client(&config)?;
    let Some(tool) = find_tool(&client, &args.tool).await? else {
        return Err(unknown_tool(&client, &args.tool).await.into());
    };
    if args.json {
        ctx.out.json(&tool.definition)?;
        return Ok(ExitStatus::Success);
    }
    ctx.out.data(&describe(&tool))?;
    Ok(ExitStatus::Success)
}

/// The human form of a definition: name, provider, description, then each parameter. Every
/// string in it comes from Scalekit and goes through `safe::line`.
fn describe(tool: &Tool) -> String {
    let mut text = safe::line(&tool.name).into_owned();
    if !tool.provider.is_empty() {
        text.push_str(&format!(" ({})", safe::line(&tool.provider)));
    }
    text.push('\n');
    for line in tool.description.trim().lines() {
        text.push_str(&format!("  {}\n", safe::line(line.trim_end())));
    }
    let Some(schema) = tool.input_schema().and_then(Value::as_object) else {
        text.push_str("\nNo input schema.\n");
        return text;
    };
    let empty = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if properties.is_empty() {
        text.push_str("\nNo parameters.\n");
        return text;
    }
    text.push_str("\nParameters:\n");
    // Required ones first, in the order `required` gives them; then the others by name.
    let names = required
        .iter()
        .copied()
        .filter(|n| properties.contains_key(*n))
        .chain(
            properties
                .keys()
                .map(String::as_str)
                .filter(|n| !required.contains(n)),
        );
    for name in names {
        let property = &properties[name];
        let mut facts = vec![type_of(property)];
        if required.contains(&name) {
            facts.push("required".to_owned());
        }
        if let Some(values) = property.get("enum").and_then(Value::as_array) {
            let values: Vec<String> = values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            facts.push(format!("one of: {}", values.join(", ")));
        }
        text.push_str(&format!(
            "  {}  {}\n",
            safe::line(name),
            safe::line(&facts.join(", "))
        ));
        if let Some(description) = property.get("description").and_then(Value::as_str) {
            for line in description.trim().lines() {
                text.push_str(&format!("      {}\n", safe::line(line.trim_end())));
            }
        }
    }
    text
}

/// `string`, `array of string`, `integer or null`, `object`…; `any` when the schema does not
/// say.
fn type_of(schema: &Value) -> String {
    let names: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        return if schema.get("$ref").is_some() {
            "object".to_owned()
        } else {
            "any".to_owned()
        };
    }
    names
        .iter()
        .map(|name| match (*name, schema.get("items")) {
            ("array", Some(items)) if items.get("type").is_some() => {
                format!("array of {}", type_of(items))
            }
            (name, _) => name.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn definitions_read_for_people() {
        let tool = Tool {
            name: "gmail_send_email".into(),
            provider: "GMAIL".into(),
            description: "Send an email.\nFrom the user's account.".into(),
            definition: json!({
                "name": "gmail_send_email",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "cc": {"type": "array", "items": {"type": "string"}},
                        "to": {"type": "string", "description": "Recipient\u{1b}[2J"},
                        "format": {"type": ["string", "null"], "enum": ["html", "text"]}
                    },
                    "required": ["to"]
                }
            }),
        };
        assert_eq!(
            describe(&tool),
            "gmail_send_email (GMAIL)\n  Send an email.\n  From the user's account.\n\n\
             Parameters:\n  to  string, required\n      Recipient\\e[2J\n  \
             cc  array of string\n  format  string or null, one of: html, text\n"
        );
        assert_eq!(first_line("\n  one\ntwo"), "one");
        assert_eq!(type_of(&json!({})), "any");
    }
}
