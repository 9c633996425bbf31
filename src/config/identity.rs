//! `OpenClaw`'s `IDENTITY.md`: where it is and the agent name in it.

use std::path::PathBuf;

use super::Env;

/// Where `OpenClaw` keeps the agent's identity: `$OPENCLAW_WORKSPACE/IDENTITY.md`, else
/// `$HOME/.openclaw/workspace/IDENTITY.md`; `None` when neither variable is set.
pub(crate) fn identity_md_path(env: &Env) -> Option<PathBuf> {
    if let Some(workspace) = env.get("OPENCLAW_WORKSPACE") {
        return Some(PathBuf::from(workspace).join("IDENTITY.md"));
    }
    env.get("HOME").map(|home| {
        PathBuf::from(home)
            .join(".openclaw")
            .join("workspace")
            .join("IDENTITY.md")
    })
}

/// The agent name of an `OpenClaw` `IDENTITY.md`, lower-cased: the value of the first `Name:`
/// label (bold or not, in a list item or not), on the same line or the next non-blank one,
/// with markdown emphasis stripped. A template placeholder such as `_(pick something you
/// like)_` is no name. Front matter is skipped.
pub(crate) fn identifier_from_identity_md(text: &str) -> Option<String> {
    let body = skip_front_matter(text.strip_prefix('\u{feff}').unwrap_or(text));
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        let Some(value) = name_label_value(line) else {
            continue;
        };
        let value = if value.trim().is_empty() {
            let next = lines.by_ref().map(str::trim).find(|l| !l.is_empty())?;
            // The next list item or heading: the name was left empty.
            if next.starts_with('#') || list_item_body(next).is_some() {
                return None;
            }
            next
        } else {
            value
        };
        let name = value.trim().trim_matches(['*', '_']).trim();
        let placeholder = name.is_empty()
            || (name.starts_with('(') && name.ends_with(')'))
            || name.starts_with("<!--");
        return (!placeholder).then(|| name.to_lowercase());
    }
    None
}

fn skip_front_matter(text: &str) -> &str {
    let mut lines = text.split_inclusive('\n');
    if lines.next().is_none_or(|first| first.trim_end() != "---") {
        return text;
    }
    let mut offset = text.find('\n').map_or(text.len(), |i| i + 1);
    for line in lines {
        offset += line.len();
        if matches!(line.trim_end(), "---" | "...") {
            return &text[offset..];
        }
    }
    text
}

/// The text after a list marker (`- `, `* `, `+ `), if the line is a list item.
fn list_item_body(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(['-', '*', '+'])?;
    if rest.is_empty() {
        Some(rest)
    } else if rest.starts_with([' ', '\t']) {
        Some(rest.trim_start())
    } else {
        None
    }
}

/// The rest of a `Name:` label line after the label (`- **Name:** x`, `**Name**: x`,
/// `Name: x`), or `None` for any other line.
fn name_label_value(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let line = list_item_body(line).unwrap_or(line);
    let line = line.trim_start_matches(['*', '_']);
    let label = line.get(..4)?;
    if !label.eq_ignore_ascii_case("name") {
        return None;
    }
    let rest = line[4..].trim_start_matches(['*', '_']).trim_start();
    Some(rest.strip_prefix(':')?.trim_start_matches(['*', '_']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::*;

    #[test]
    fn identity_md_location() {
        let env = Env::from_pairs([("OPENCLAW_WORKSPACE", "/ws"), ("HOME", "/home/a")]);
        assert_eq!(
            identity_md_path(&env),
            Some(PathBuf::from("/ws/IDENTITY.md"))
        );
        let env = Env::from_pairs([("HOME", "/home/a")]);
        assert_eq!(
            identity_md_path(&env),
            Some(PathBuf::from("/home/a/.openclaw/workspace/IDENTITY.md"))
        );
        assert_eq!(
            identity_md_path(&Env::from_pairs::<_, &str, &str>([])),
            None
        );
    }

    #[test]
    fn identity_samples() {
        assert_eq!(
            identifier_from_identity_md(IDENTITY_INLINE).as_deref(),
            Some("mess")
        );
        assert_eq!(
            identifier_from_identity_md(IDENTITY_NEXTLINE).as_deref(),
            Some("clawdia")
        );
        assert_eq!(identifier_from_identity_md(IDENTITY_TEMPLATE), None);
    }

    #[test]
    fn identity_variants() {
        let cases = [
            ("Name: Plain\n", Some("plain")),
            ("- Name: Listed  \r\n", Some("listed")),
            ("* **Name**: Outside\n", Some("outside")),
            ("- __Name:__ *Starred*\n", Some("starred")),
            (
                "\u{feff}---\nname: fm\n---\n- **Name:** Body\n",
                Some("body"),
            ),
            ("- **Name:**\n- **Creature:** x\n", None),
            ("- **Name:**\n", None),
            ("- **Name:** <!-- fill me -->\n", None),
            ("- **Nickname:** nope\n- **Names:** nope\n", None),
            (
                "Intro\n\n- **Name:** Mr_Bot\n- **Name:** Second\n",
                Some("mr_bot"),
            ),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                identifier_from_identity_md(text).as_deref(),
                expected,
                "{text:?}"
            );
        }
    }
}
