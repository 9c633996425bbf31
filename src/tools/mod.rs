//! Scalekit's tools, on this side: checking params against a tool's schema and suggesting
//! close names. Pure: no network, no terminal; commands and flows use it.

pub(crate) mod check;

/// Names as prose: "a", "a or b", "a, b or c"; empty for none.
pub(crate) fn or_list<S: AsRef<str>>(names: &[S]) -> String {
    match names {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", init.join(", "), last.as_ref())
        }
    }
}

/// Up to `max` names from `candidates` that look like `wanted` (a typo, a missing prefix, a
/// part of the name), closest first.
pub(crate) fn close_names<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<String> {
    let wanted = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let distance = edit_distance(&wanted, &lower);
            let contains =
                wanted.len() >= 3 && (lower.contains(&wanted) || wanted.contains(&lower));
            let near = distance <= (wanted.chars().count() / 5).max(2);
            (contains || near).then_some((if contains { 0 } else { distance }, name))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(max)
        .map(|(_, n)| n.to_owned())
        .collect()
}

/// Levenshtein distance over characters, capped for long inputs (names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(200).collect();
    let b: Vec<char> = b.chars().take(200).collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_find_typos_and_parts() {
        let names = [
            "gmail_fetch_mails",
            "gmail_send_email",
            "slack_send_message",
            "notion_page_get",
        ];
        assert_eq!(
            close_names("gmail_fetch_mail", names, 3),
            vec!["gmail_fetch_mails"]
        );
        assert_eq!(
            close_names("send", names, 3),
            vec!["gmail_send_email", "slack_send_message"]
        );
        assert!(close_names("zzzzzzzz", names, 3).is_empty());
        assert_eq!(
            close_names("NOTION_PAGE_GET", names, 1),
            vec!["notion_page_get"]
        );
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
