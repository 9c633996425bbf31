//! The tool definitions: Gmail, Slack, GitHub and Notion, with input schemas shaped
//! like Scalekit's (required fields, enums, nested objects, arrays, bounds).

use serde_json::{Value, json};

use super::Tool;

fn email_list(description: &str) -> Value {
    json!({
        "type": "array",
        "description": description,
        "items": {"type": "string", "minLength": 3, "maxLength": 320},
        "maxItems": 100
    })
}

/// Every tool, in catalog order (provider, then name).
pub(super) fn all() -> Vec<Tool> {
    vec![
        Tool {
            name: "github_create_issue",
            provider: "GITHUB",
            description: "Create an issue in a GitHub repository.\nThe issue is opened as the connected user.",
            category: "issues",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "owner": {"type": "string", "description": "Account that owns the repository", "minLength": 1, "maxLength": 39},
                    "repo": {"type": "string", "description": "Repository name, without the owner", "minLength": 1, "maxLength": 100},
                    "title": {"type": "string", "description": "Issue title", "minLength": 1, "maxLength": 256},
                    "body": {"type": "string", "description": "Issue body in Markdown"},
                    "labels": {"type": "array", "description": "Label names to add", "items": {"type": "string"}},
                    "assignees": {"type": "array", "description": "Logins to assign", "items": {"type": "string"}, "maxItems": 10}
                },
                "required": ["owner", "repo", "title"],
                "additionalProperties": false
            }),
            is_default: true,
        },
        Tool {
            name: "github_list_repos",
            provider: "GITHUB",
            description: "List the repositories the connected user can access.",
            category: "repositories",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "visibility": {"type": "string", "enum": ["all", "public", "private"], "description": "Which repositories to list", "default": "all"},
                    "sort": {"type": "string", "enum": ["created", "updated", "pushed", "full_name"], "default": "full_name"},
                    "per_page": {"type": "integer", "minimum": 1, "maximum": 100, "default": 30}
                },
                "additionalProperties": false
            }),
            is_default: true,
        },
        Tool {
            name: "gmail_fetch_mails",
            provider: "GMAIL",
            description: "Fetch emails from the connected Gmail inbox.\nSupports Gmail search syntax in query.",
            category: "email",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Gmail search query, e.g. \"from:alice is:unread\"", "maxLength": 1000},
                    "max_results": {"type": "integer", "description": "How many messages to return", "minimum": 1, "maximum": 100, "default": 10},
                    "label_ids": {"type": "array", "description": "Only messages with all these labels", "items": {"type": "string", "enum": ["INBOX", "UNREAD", "STARRED", "IMPORTANT", "SENT", "DRAFT", "SPAM", "TRASH"]}},
                    "include_spam_trash": {"type": "boolean", "default": false}
                },
                "additionalProperties": false
            }),
            is_default: true,
        },
        Tool {
            name: "gmail_get_message",
            provider: "GMAIL",
            description: "Get one email by its message id.",
            category: "email",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "message_id": {"type": "string", "description": "The Gmail message id", "minLength": 1},
                    "format": {"type": "string", "enum": ["full", "metadata", "minimal"], "default": "full"}
                },
                "required": ["message_id"],
                "additionalProperties": false
            }),
            is_default: false,
        },
        Tool {
            name: "gmail_send_email",
            provider: "GMAIL",
            description: "Send an email from the connected Gmail account.",
            category: "email",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "to": {"type": "array", "description": "Recipients", "items": {"type": "string", "minLength": 3, "maxLength": 320}, "minItems": 1, "maxItems": 100},
                    "cc": email_list("Carbon-copy recipients"),
                    "bcc": email_list("Blind carbon-copy recipients"),
                    "subject": {"type": "string", "maxLength": 998},
                    "body": {"type": "string", "description": "The message body"},
                    "content_type": {"type": "string", "enum": ["text/plain", "text/html"], "default": "text/plain"},
                    "attachments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "filename": {"type": "string", "minLength": 1},
                                "mime_type": {"type": "string"},
                                "content_base64": {"type": "string"}
                            },
                            "required": ["filename", "content_base64"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["to", "subject", "body"],
                "additionalProperties": false
            }),
            is_default: true,
        },
        Tool {
            name: "notion_page_create",
            provider: "NOTION",
            description: "Create a Notion page under a page or in a database.",
            category: "pages",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "parent": {
                        "type": "object",
                        "description": "Where the page goes",
                        "properties": {
                            "type": {"type": "string", "enum": ["page_id", "database_id"]},
                            "id": {"type": "string", "minLength": 1}
                        },
                        "required": ["type", "id"],
                        "additionalProperties": false
                    },
                    "title": {"type": "string", "minLength": 1, "maxLength": 2000},
                    "content": {"type": "string", "description": "Page text, one paragraph per line"},
                    "icon": {"type": "string", "description": "An emoji"}
                },
                "required": ["parent", "title"],
                "additionalProperties": false
            }),
            is_default: false,
        },
        Tool {
            name: "notion_page_get",
            provider: "NOTION",
            description: "Get a Notion page's properties and content.",
            category: "pages",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "page_id": {"type": "string", "description": "The page id (32 hex digits, dashes optional)", "minLength": 32, "maxLength": 36}
                },
                "required": ["page_id"],
                "additionalProperties": false
            }),
            is_default: true,
        },
        Tool {
            name: "notion_search",
            provider: "NOTION",
            description: "Search the pages and databases shared with the integration.",
            category: "search",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Text to look for in titles"},
                    "filter": {
                        "type": "object",
                        "properties": {
                            "property": {"type": "string", "enum": ["object"]},
                            "value": {"type": "string", "enum": ["page", "database"]}
                        },
                        "required": ["property", "value"],
                        "additionalProperties": false
                    },
                    "sort": {
                        "type": "object",
                        "properties": {
                            "direction": {"type": "string", "enum": ["ascending", "descending"]},
                            "timestamp": {"type": "string", "enum": ["last_edited_time"]}
                        },
                        "required": ["direction", "timestamp"],
                        "additionalProperties": false
                    },
                    "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
                },
                "additionalProperties": false
            }),
            is_default: true,
        },
        Tool {
            name: "slack_list_channels",
            provider: "SLACK",
            description: "List the channels in the connected Slack workspace.",
            category: "channels",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "types": {"type": "array", "items": {"type": "string", "enum": ["public_channel", "private_channel", "mpim", "im"]}, "default": ["public_channel"]},
                    "exclude_archived": {"type": "boolean", "default": true},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
                },
                "additionalProperties": false
            }),
            is_default: true,
        },
        Tool {
            name: "slack_send_message",
            provider: "SLACK",
            description: "Send a message to a Slack channel or user as the connected user.",
            category: "messages",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "channel": {"type": "string", "description": "Channel id or name (#general) or user id", "minLength": 1},
                    "text": {"type": "string", "description": "Message text (mrkdwn)", "maxLength": 40000},
                    "thread_ts": {"type": "string", "description": "Reply in this thread"},
                    "blocks": {
                        "type": "array",
                        "description": "Block Kit blocks",
                        "maxItems": 50,
                        "items": {
                            "type": "object",
                            "properties": {
                                "type": {"type": "string", "enum": ["section", "divider", "header", "context"]},
                                "text": {
                                    "type": "object",
                                    "properties": {
                                        "type": {"type": "string", "enum": ["plain_text", "mrkdwn"]},
                                        "text": {"type": "string"}
                                    },
                                    "required": ["type", "text"]
                                }
                            },
                            "required": ["type"]
                        }
                    },
                    "unfurl_links": {"type": "boolean"}
                },
                "required": ["channel", "text"],
                "additionalProperties": false
            }),
            is_default: true,
        },
    ]
}
