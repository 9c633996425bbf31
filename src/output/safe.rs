//! Outside text made safe for a terminal (SECURITY.md, "Output from outside"). Links,
//! statuses, identifiers, providers, connection and service names and server messages come
//! from outside: a raw escape sequence in one of them could retitle the window, write the
//! clipboard (OSC 52), draw a fake link (OSC 8) or move the cursor over what we printed. Every
//! such string is passed through [`line`] before it reaches stderr or a table. `--json` output
//! is not: serde escapes control characters itself, and the value must stay exact.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` as one line with every control character made visible: `\e` (ESC), `\r`, `\n`,
/// `\t`, `\0`, `\x07` for the other C0 controls and DEL, `\u{9b}` for C1 controls, and
/// `\u{202e}` for the characters that reorder or break a line without being controls
/// (bidi embeddings, overrides and isolates; line and paragraph separators). Everything else,
/// a backslash included, is kept as it is. Borrows when there is nothing to escape.
pub(crate) fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible_layout(c)
}

/// Characters that change how a line is laid out while showing nothing: the bidi controls
/// (a "Trojan Source" override makes `moc.live` read as `evil.com`) and the Unicode line and
/// paragraph separators.
fn is_invisible_layout(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

fn escape(c: char, out: &mut String) {
    match c {
        '\u{1b}' => out.push_str("\\e"),
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if u32::from(c) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// Why a magic link from Scalekit must not be shown, opened or drawn, or `None` when it is a
/// clean link: an `https://` URL (or `http://` to a loopback address, for a local emulator)
/// with a host, no user info, and no whitespace, control, bidi or backslash character
/// anywhere (a browser reads `\\` as `/`, so `https://a.com\\@evil.com` would not go where it
/// seems to).
pub(crate) fn link_problem(link: &str) -> Option<&'static str> {
    if link
        .chars()
        .any(|c| needs_escape(c) || c.is_whitespace() || c == '\\')
    {
        return Some("it contains whitespace, a control character or a backslash");
    }
    let Ok(url) = url::Url::parse(link) else {
        return Some("it is not a URL");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Some("it carries a user name or password");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some("it has no host");
    }
    let loopback = crate::config::is_loopback(&url);
    match url.scheme() {
        "https" => None,
        "http" if loopback => None,
        "http" => Some("it is plain http:// to a host that is not this machine"),
        _ => Some("it is not an https:// URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "gmail_u3134a mess ✓ C:\\path é 中文 🦊";
        assert!(matches!(line(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn controls_become_visible() {
        assert_eq!(
            line("a\u{1b}]52;c;SGVsbG8=\u{7}b"),
            "a\\e]52;c;SGVsbG8=\\x07b"
        );
        assert_eq!(line("x\r\ny\tz\0"), "x\\r\\ny\\tz\\0");
        assert_eq!(line("\u{1b}[2J\u{7f}"), "\\e[2J\\x7f");
        assert_eq!(line("\u{9b}31m\u{85}"), "\\u{9b}31m\\u{85}");
        assert_eq!(
            line("a\u{202e}moc.live\u{202c}"),
            "a\\u{202e}moc.live\\u{202c}"
        );
        assert_eq!(
            line("\u{2066}\u{2069}\u{2028}\u{200f}"),
            "\\u{2066}\\u{2069}\\u{2028}\\u{200f}"
        );
    }

    #[test]
    fn no_output_holds_a_raw_control() {
        // Every char from NUL to past the C1 block, and the layout characters: what comes out
        // is printable ASCII or a char that needs no escape.
        let all: String = (0u32..0x2100).filter_map(char::from_u32).collect();
        let shown = line(&all);
        assert!(!shown.chars().any(needs_escape), "{shown}");
    }

    #[test]
    fn only_clean_https_links_pass() {
        for good in [
            "https://acme.scalekit.dev/magicLink/2cbe56de-eec4-41d2-abed-90a5b82286c4",
            "http://127.0.0.1:8787/magicLink/x",
            "http://localhost:1/x",
            "http://[::1]:2/x",
            "https://x.example/?a=b#c",
        ] {
            assert_eq!(link_problem(good), None, "{good}");
        }
        for bad in [
            "https://acme.scalekit.dev/x\u{1b}]8;;https://evil\u{7}",
            "https://acme.scalekit.dev/x\ny",
            "https://acme.scalekit.dev/ x",
            "https://acme.scalekit.dev/\u{202e}x",
            "https://acme.scalekit.dev\\@evil.com/",
            "https://user@acme.scalekit.dev/",
            "https://u:p@acme.scalekit.dev/",
            "http://acme.scalekit.dev/x",
            "http://127.0.0.1.evil.com/x",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,x",
            "ftp://acme.scalekit.dev/",
            "//acme.scalekit.dev/x",
            "",
            "not a url",
        ] {
            assert!(link_problem(bad).is_some(), "{bad:?} passed");
        }
    }
}
