//! The built-in table of well-known providers' API hosts, and how a service or connection
//! name picks a provider.

/// A well-known provider: the names that identify it and its API hosts.
pub(super) struct Provider {
    /// Shown in messages.
    pub(super) name: &'static str,
    /// A service or connection name that is one of these, or starts with one followed by
    /// `_`, `-`, `:`, a space or a digit, uses this provider (`gmail_u3134a`, `github-connect`).
    pub(super) aliases: &'static [&'static str],
    /// Host patterns, optionally with a path prefix (see [`HostPattern`]).
    pub(super) hosts: &'static [&'static str],
}

/// Google's APIs share `*.googleapis.com` (and `www.googleapis.com` serves several of them
/// under path prefixes), so each Google product lists its own hosts first and the shared
/// wildcard last: the specific match wins, and a URL only the wildcard matches is ambiguous
/// when two Google services are configured.
pub(super) const PROVIDERS: &[Provider] = &[
    Provider {
        name: "Gmail",
        aliases: &["gmail"],
        hosts: &[
            "gmail.googleapis.com",
            "www.googleapis.com/gmail",
            "www.googleapis.com/upload/gmail",
            "*.googleapis.com",
        ],
    },
    Provider {
        name: "Google Drive",
        aliases: &["gdrive", "googledrive", "google_drive", "google-drive"],
        hosts: &[
            "drive.googleapis.com",
            "www.googleapis.com/drive",
            "www.googleapis.com/upload/drive",
            "*.googleapis.com",
        ],
    },
    Provider {
        name: "Google Calendar",
        aliases: &[
            "gcal",
            "googlecalendar",
            "google_calendar",
            "google-calendar",
        ],
        hosts: &["www.googleapis.com/calendar", "*.googleapis.com"],
    },
    Provider {
        name: "Google Sheets",
        aliases: &["gsheets", "googlesheets", "google_sheets", "google-sheets"],
        hosts: &["sheets.googleapis.com", "*.googleapis.com"],
    },
    Provider {
        name: "Google Docs",
        aliases: &["gdocs", "googledocs", "google_docs", "google-docs"],
        hosts: &["docs.googleapis.com", "*.googleapis.com"],
    },
    Provider {
        name: "Google",
        aliases: &["google", "youtube", "bigquery", "googlemeet", "gmeet"],
        hosts: &["*.googleapis.com"],
    },
    Provider {
        name: "Slack",
        aliases: &["slack"],
        hosts: &["slack.com/api", "files.slack.com"],
    },
    Provider {
        name: "GitHub",
        aliases: &["github", "gh"],
        hosts: &["api.github.com", "uploads.github.com"],
    },
    Provider {
        name: "GitLab",
        aliases: &["gitlab"],
        hosts: &["gitlab.com/api"],
    },
    Provider {
        name: "Notion",
        aliases: &["notion"],
        hosts: &["api.notion.com"],
    },
    Provider {
        name: "Linear",
        aliases: &["linear"],
        hosts: &["api.linear.app"],
    },
    Provider {
        name: "HubSpot",
        aliases: &["hubspot"],
        hosts: &["api.hubapi.com", "api.hubspot.com"],
    },
    Provider {
        name: "Salesforce",
        aliases: &["salesforce", "sfdc"],
        hosts: &["*.salesforce.com", "*.my.salesforce.com"],
    },
    Provider {
        name: "Zendesk",
        aliases: &["zendesk"],
        hosts: &["*.zendesk.com"],
    },
    Provider {
        name: "Atlassian (Jira, Confluence)",
        aliases: &["jira", "confluence", "atlassian"],
        hosts: &["*.atlassian.net", "api.atlassian.com"],
    },
    Provider {
        name: "Microsoft Graph",
        aliases: &[
            "microsoft",
            "msgraph",
            "outlook",
            "onedrive",
            "sharepoint",
            "office365",
            "microsoftteams",
            "msteams",
        ],
        hosts: &["graph.microsoft.com"],
    },
    Provider {
        name: "Asana",
        aliases: &["asana"],
        hosts: &["app.asana.com/api"],
    },
    Provider {
        name: "Airtable",
        aliases: &["airtable"],
        hosts: &["api.airtable.com"],
    },
    Provider {
        name: "Dropbox",
        aliases: &["dropbox"],
        hosts: &["api.dropboxapi.com", "content.dropboxapi.com"],
    },
    Provider {
        name: "Discord",
        aliases: &["discord"],
        hosts: &["discord.com/api"],
    },
    Provider {
        name: "Figma",
        aliases: &["figma"],
        hosts: &["api.figma.com"],
    },
    Provider {
        name: "Box",
        aliases: &["box"],
        hosts: &["api.box.com", "upload.box.com"],
    },
    Provider {
        name: "Intercom",
        aliases: &["intercom"],
        hosts: &["api.intercom.io"],
    },
    Provider {
        name: "Trello",
        aliases: &["trello"],
        hosts: &["api.trello.com"],
    },
    Provider {
        name: "ClickUp",
        aliases: &["clickup"],
        hosts: &["api.clickup.com"],
    },
    Provider {
        name: "monday.com",
        aliases: &["monday"],
        hosts: &["api.monday.com"],
    },
    Provider {
        name: "Zoom",
        aliases: &["zoom"],
        hosts: &["api.zoom.us"],
    },
    Provider {
        name: "Calendly",
        aliases: &["calendly"],
        hosts: &["api.calendly.com"],
    },
    Provider {
        name: "Freshdesk",
        aliases: &["freshdesk"],
        hosts: &["*.freshdesk.com"],
    },
    Provider {
        name: "Pipedrive",
        aliases: &["pipedrive"],
        hosts: &["api.pipedrive.com", "*.pipedrive.com"],
    },
    Provider {
        name: "X (Twitter)",
        aliases: &["twitter"],
        hosts: &["api.twitter.com", "api.x.com"],
    },
    Provider {
        name: "LinkedIn",
        aliases: &["linkedin"],
        hosts: &["api.linkedin.com"],
    },
];

/// Whether a service or connection name identifies a provider by one of its aliases.
pub(super) fn name_matches(name: &str, alias: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == alias
        || name.strip_prefix(alias).is_some_and(|rest| {
            rest.starts_with(|c: char| matches!(c, '_' | '-' | ':' | ' ') || c.is_ascii_digit())
        })
}
