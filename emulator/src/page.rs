//! The human side: the hosted consent page behind a magic link
//! (`GET`/`POST /magicLink/<uuid>`) and the page verification mode ends on.

use hyper::Method;

use crate::ctx::{Ctx, Req};
use crate::state::{LinkOutcome, LinkProblem};
use crate::wire::{self, Resp};

/// `GET /magicLink/<uuid>` shows the consent page; `POST` with `decision=allow` or
/// `decision=deny` decides. Links are single-use either way.
pub(crate) fn magic_link(ctx: &Ctx, req: &Req) -> Resp {
    let uuid = req.path.trim_start_matches("/magicLink/");
    let now = crate::types::now();
    match req.method {
        Method::GET => {
            let outcome = ctx.shared.state().link_page(uuid, now);
            match outcome {
                LinkOutcome::Open { link, provider } => wire::html(
                    200,
                    page(
                        "Connect your account",
                        &format!(
                            "<p><strong>scalekit-emulator</strong> asks to connect the \
                             <strong>{provider}</strong> connection \
                             <code>{connector}</code> for <code>{identifier}</code>.</p>\
                             <form method=\"post\" action=\"/magicLink/{uuid}\">\
                             <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
                             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
                             </form>\
                             <p class=\"small\">This emulated consent stands in for the provider's \
                             OAuth screen. The link is single-use.</p>",
                            provider = escape(&provider),
                            connector = escape(&link.connector),
                            identifier = escape(&link.identifier),
                            uuid = escape(&link.uuid),
                        ),
                    ),
                ),
                LinkOutcome::Unusable(problem) => unusable(problem),
                _ => unusable(LinkProblem::Unknown),
            }
        }
        Method::POST => {
            let decision = form_urlencoded::parse(&req.body)
                .find(|(name, _)| name == "decision")
                .map(|(_, value)| value.into_owned());
            let allow = match decision.as_deref() {
                Some("allow") => true,
                Some("deny") => false,
                _ => {
                    return wire::html(
                        400,
                        page(
                            "Bad request",
                            "<p>Choose <strong>Allow</strong> or <strong>Deny</strong>.</p>",
                        ),
                    );
                }
            };
            let outcome = ctx.shared.state().decide_link(uuid, allow, now);
            decided(&outcome)
        }
        _ => wire::html(
            405,
            page("Method not allowed", "<p>Use the link's page.</p>"),
        ),
    }
}

/// The page after Allow or Deny.
fn decided(outcome: &LinkOutcome) -> Resp {
    match outcome {
        LinkOutcome::Approved {
            link,
            verification: None,
        } => wire::html(
            200,
            page(
                "Connected",
                &format!(
                    "<p><code>{}</code> is connected for <code>{}</code>.</p>\
                     <p>Connected, you can close this window.</p>",
                    escape(&link.connector),
                    escape(&link.identifier)
                ),
            ),
        ),
        LinkOutcome::Approved {
            link,
            verification: Some(verification),
        } => {
            if let Some(redirect) = &verification.redirect {
                let mut resp = wire::html(
                    303,
                    page(
                        "Verifying",
                        &format!("<p><a href=\"{0}\">Continue</a></p>", escape(redirect)),
                    ),
                );
                wire::set_header(&mut resp, "location", redirect);
                return resp;
            }
            wire::html(
                200,
                page(
                    "Waiting for verification",
                    &format!(
                        "<p><code>{}</code> for <code>{}</code> is authorized and now waits \
                         for user verification (<code>PENDING_VERIFICATION</code>).</p>\
                         <p>auth_request_id: <code>{}</code></p>",
                        escape(&link.connector),
                        escape(&link.identifier),
                        escape(&verification.auth_request_id)
                    ),
                ),
            )
        }
        LinkOutcome::Denied { link } => wire::html(
            200,
            page(
                "Access denied",
                &format!(
                    "<p>You denied access. Nothing changed for <code>{}</code> / \
                     <code>{}</code>. You can close this window.</p>",
                    escape(&link.connector),
                    escape(&link.identifier)
                ),
            ),
        ),
        LinkOutcome::Unusable(problem) => unusable(*problem),
        LinkOutcome::Open { .. } => unusable(LinkProblem::Unknown),
    }
}

/// The error page for a link that cannot be used.
fn unusable(problem: LinkProblem) -> Resp {
    let (status, title, text) = match problem {
        LinkProblem::Used => (
            410,
            "Link already used",
            "This link was already used. Ask for a new one.",
        ),
        LinkProblem::Expired => (
            410,
            "Link expired",
            "This link has expired. Ask for a new one.",
        ),
        LinkProblem::AccountGone => (
            404,
            "Account not found",
            "The connected account for this link no longer exists.",
        ),
        LinkProblem::Unknown => (404, "Link not found", "This link is not valid."),
    };
    wire::html(status, page(title, &format!("<p>{text}</p>")))
}

/// `GET /connect/success`: where `post_user_verify_redirect_url` points.
pub(crate) fn verified(req: &Req) -> Resp {
    if req.method != Method::GET {
        return wire::html(405, page("Method not allowed", "<p>Use GET.</p>"));
    }
    wire::html(
        200,
        page(
            "Connected",
            "<p>Verified and connected, you can close this window.</p>",
        ),
    )
}

/// A complete, self-contained HTML page.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Scalekit emulator</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;\
         padding:0 1rem;line-height:1.5}}button{{font-size:1rem;padding:.5rem 1.5rem;\
         margin-right:.5rem}}code{{background:#f3f3f3;padding:0 .25rem}}\
         .small{{color:#666;font-size:.85rem}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n"
    )
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
