//! The authorize flow: get or create the connected account, mint a magic link, show it (and
//! a QR code), and wait until the user approves. `authorize` runs it; `token`, `exec`,
//! `request` and `tools run` run it when an account needs authorization.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::context::{Context, Target};
use crate::error::{CliError, ErrorKind, PendingLink};
use crate::output::{self, render_qr, safe};
use crate::scalekit::Client;
use crate::scalekit::types::{AccountStatus, ConnectedAccount, MagicLink, format_timestamp};

/// How often the account is polled while waiting.
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// How the flow shows the link and whether it waits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowOptions {
    pub(crate) wait: bool,
    pub(crate) timeout: Duration,
    pub(crate) qr: QrChoice,
    pub(crate) open: bool,
    pub(crate) force: bool,
    /// Whether a person is at the terminal (for `--open`).
    pub(crate) interactive: bool,
    /// The caller's lookup just answered 404: create the account without asking again (a
    /// 409 on create covers an account that appeared meanwhile).
    pub(crate) account_missing: bool,
}

/// `--qr` / `--no-qr`: whether to draw the QR code even when stderr is not a terminal, or
/// never.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QrChoice {
    pub(crate) always: bool,
    pub(crate) never: bool,
}

/// How the flow ended.
#[derive(Debug)]
pub(crate) enum FlowOutcome {
    /// The account was already `ACTIVE` (and no `--force`).
    AlreadyActive,
    /// The user approved while we waited.
    Authorized,
    /// `--no-wait`: the link was shown; authorization is still required.
    LinkIssued {
        status: AccountStatus,
        link: Option<MagicLink>,
    },
}

/// The authorize flow (docs/cli.md, `authorize`, steps 1–4).
pub(crate) async fn flow(
    ctx: &Context,
    client: &Client,
    target: &Target,
    options: FlowOptions,
) -> anyhow::Result<FlowOutcome> {
    // 1. Find the account without pulling its secrets; create it on 404 (or when the
    //    caller's own lookup just said 404: a 404 is an answer, asked once).
    let known = if options.account_missing {
        None
    } else {
        client
            .account_details(&target.connection_name, &target.identifier)
            .await?
    };
    let account = match known {
        Some(account) => account,
        None => {
            client
                .create_account(&target.connection_name, &target.identifier)
                .await?
        }
    };
    if account.status == AccountStatus::Active && !options.force {
        return Ok(FlowOutcome::AlreadyActive);
    }
    // 2. Mint and show a link, unless the user already approved and only verification is left.
    let mut link = None;
    let mut shown_rows = None;
    if account.status == AccountStatus::PendingVerification {
        ctx.out.info(&format!(
            "{} was approved and is waiting for user verification (PENDING_VERIFICATION); \
             no new link is needed",
            target.service
        ));
    } else {
        let minted = mint(client, target).await?;
        shown_rows = show_link(ctx, target, &minted, options, None, None);
        link = Some(minted);
    }
    // 3. --no-wait stops here.
    if !options.wait {
        return Ok(FlowOutcome::LinkIssued {
            status: account.status,
            link,
        });
    }
    // 4. Wait.
    wait(ctx, client, target, options, &account, link, shown_rows).await?;
    ctx.out.success(&format!("{} authorized", target.service));
    Ok(FlowOutcome::Authorized)
}

/// Mints a magic link; the account may have been deleted meanwhile (404): then create it
/// and try once more. A link that is not a clean `https://` URL is an error (exit 1): it is
/// never shown, opened or drawn (SECURITY.md, "Output from outside").
pub(crate) async fn mint(client: &Client, target: &Target) -> anyhow::Result<MagicLink> {
    let link = if let Some(link) = client
        .magic_link(&target.connection_name, &target.identifier)
        .await?
    {
        link
    } else {
        client
            .create_account(&target.connection_name, &target.identifier)
            .await?;
        client
            .magic_link(&target.connection_name, &target.identifier)
            .await?
            .ok_or_else(|| {
                CliError::failed(format!(
                    "Scalekit cannot find the account it just created for {} ({} / {})",
                    target.service, target.connection_name, target.identifier
                ))
            })?
    };
    if let Some(problem) = safe::link_problem(&link.link) {
        return Err(CliError::failed(format!(
            "Scalekit returned a magic link for {} that is not a clean https:// URL ({problem}); \
             not showing, opening or drawing it",
            target.service
        ))
        .with_hint("check SCALEKIT_ENV_URL: it should be your Scalekit environment")
        .into());
    }
    Ok(link)
}

/// Prints the link block (and QR code) to stderr. Shown even with `--quiet`: the link is
/// the point of the command. With a QR code, the link and its expiry come after it, so they
/// stay on screen once it is drawn. On a terminal, a block given `replaces` (the rows of the
/// previous link's block, nothing printed since) is drawn in its place; `preface` is a line
/// above the link (why there is a new one). Returns the rows drawn, for the next replacement.
fn show_link(
    ctx: &Context,
    target: &Target,
    link: &MagicLink,
    options: FlowOptions,
    replaces: Option<usize>,
    preface: Option<&str>,
) -> Option<usize> {
    // The link passed `safe::link_problem` in `mint`; the names may come from config.toml.
    let who = format!(
        "{} (connection {}, identifier {})",
        safe::line(&target.service),
        safe::line(&target.connection_name),
        safe::line(&target.identifier),
    );
    let expiry = link.expiry.map(|expiry| {
        format!(
            "The link expires at {} (in {}).\n",
            format_timestamp(expiry),
            human_duration(until(expiry))
        )
    });
    let draw_qr = !options.qr.never && (options.qr.always || ctx.out.stderr_is_terminal());
    // With a QR code, every line but the code's is kept to one row at 80 columns, so that
    // the whole block and the spinner fit an 80x24 terminal.
    let mut text = match render_qr(&link.link).filter(|_| draw_qr) {
        Some(qr) => format!(
            "{}\n{qr}\nAuthorize {who}:\n{}\n",
            preface.unwrap_or("Scan the QR code with a phone, or open the link below."),
            link.link
        ),
        None => format!(
            "{}Authorize {who} by opening this link:\n\n{}\n\n",
            preface.map(|p| format!("{p}\n")).unwrap_or_default(),
            link.link
        ),
    };
    text.push_str(expiry.as_deref().unwrap_or_default());
    let rows = ctx.out.replace_notice(replaces, &text);
    if options.open && options.interactive {
        if output::over_ssh(&ctx.env) {
            ctx.out
                .info("not opening a browser over SSH; open the link on your own machine");
            return None;
        } else if let Err(err) = output::open_in_browser(&link.link) {
            ctx.out.warn(&format!("could not open a browser: {err}"));
            return None;
        }
    }
    rows
}

/// Polls `/details` until the account is `ACTIVE` (newly, when `--force` re-authorizes an
/// active one). A link is never offered once it is known to be used up or expired: when it
/// expires, or when the account moves (`updated_at`) without being approved, which is what
/// a used link (Deny at the consent screen) does, a fresh one replaces it. Timeout: exit 4.
/// Ctrl-C: exit 130.
async fn wait(
    ctx: &Context,
    client: &Client,
    target: &Target,
    options: FlowOptions,
    initial: &ConnectedAccount,
    mut link: Option<MagicLink>,
    mut shown_rows: Option<usize>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + options.timeout;
    let spinner = ctx.out.spinner();
    if spinner.is_none() {
        // A line below the link block: it is not replaced in place any more.
        shown_rows = None;
        ctx.out.info(&format!(
            "Waiting up to {} for approval…",
            human_duration(options.timeout)
        ));
    }
    let poll_interval = ctx.poll_interval(DEFAULT_POLL_INTERVAL)?;
    let mut said_verification = initial.status == AccountStatus::PendingVerification;
    // The account's `updated_at` when the current link was minted.
    let mut minted_at = initial.updated_at;
    let result = async {
        loop {
            if let Some(bar) = &spinner {
                let left = deadline.saturating_duration_since(Instant::now());
                let state = if said_verification { "user verification" } else { "approval" };
                bar.set_message(format!(
                    "waiting for {state} of {} ({} left, Ctrl-C to stop)",
                    target.service,
                    human_duration(left)
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(timeout_error(target, options.timeout, link.as_ref()));
            }
            tokio::select! {
                () = tokio::time::sleep(poll_interval.min(deadline - now)) => {}
                _ = tokio::signal::ctrl_c() => return Err(CliError::interrupted().into()),
            }
            let account = tokio::select! {
                account = client.account_details(&target.connection_name, &target.identifier) => account?,
                _ = tokio::signal::ctrl_c() => return Err(CliError::interrupted().into()),
            };
            let Some(account) = account else {
                // Deleted while we waited: create it again and show a fresh link.
                let created = client.create_account(&target.connection_name, &target.identifier).await?;
                let minted = mint(client, target).await?;
                shown_rows = hide(spinner.as_ref(), || {
                    show_link(ctx, target, &minted, options, shown_rows, None)
                });
                link = Some(minted);
                minted_at = created.updated_at;
                continue;
            };
            match account.status {
                AccountStatus::Active if !options.force || renewed(initial, &account) => {
                    return Ok(());
                }
                AccountStatus::PendingVerification if !said_verification => {
                    said_verification = true;
                    shown_rows = None;
                    hide(spinner.as_ref(), || {
                        ctx.out.info(&format!(
                            "{} was approved; Scalekit is waiting for the user's identity \
                             verification (PENDING_VERIFICATION). Still waiting…",
                            target.service
                        ));
                    });
                }
                _ => {}
            }
            if account.status == AccountStatus::PendingVerification {
                continue;
            }
            let expired = link
                .as_ref()
                .and_then(|l| l.expiry)
                .is_some_and(|expiry| until(expiry).is_zero());
            let used = link.is_some() && account.updated_at != minted_at;
            if expired || used {
                // Never offered again: a fresh link takes its place.
                let minted = mint(client, target).await?;
                let why = if used {
                    format!(
                        "That link was used, but {} is not authorized; here is a new one.",
                        target.service
                    )
                } else {
                    "The link expired before it was used; here is a new one.".to_owned()
                };
                shown_rows = hide(spinner.as_ref(), || {
                    show_link(ctx, target, &minted, options, shown_rows, Some(&why))
                });
                link = Some(minted);
                minted_at = account.updated_at;
            }
        }
    }
    .await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    result
}

/// Whether an account that was `ACTIVE` before `--force` was authorized again: a new token
/// (its expiry moved), or, for credentials without an expiry, an update.
fn renewed(initial: &ConnectedAccount, now: &ConnectedAccount) -> bool {
    match initial.token_expires_at {
        Some(before) => now.token_expires_at.is_some_and(|after| after != before),
        None => now.updated_at != initial.updated_at,
    }
}

fn hide<T>(spinner: Option<&indicatif::ProgressBar>, f: impl FnOnce() -> T) -> T {
    match spinner {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

fn timeout_error(target: &Target, timeout: Duration, link: Option<&MagicLink>) -> anyhow::Error {
    let mut err = CliError::new(
        ErrorKind::AuthorizationRequired,
        format!(
            "timed out after {} waiting for {} to be authorized",
            human_duration(timeout),
            target.service
        ),
    )
    .with_hint(format!("scalekit-auth authorize {}", target.service));
    if let Some(link) = link.filter(|l| l.expiry.is_none_or(|e| !until(e).is_zero())) {
        err = err.with_link(pending_link(link));
    }
    err.into()
}

/// The link as an error attachment.
pub(crate) fn pending_link(link: &MagicLink) -> PendingLink {
    PendingLink {
        link: link.link.clone(),
        expires_at: link.expiry.map(format_timestamp),
    }
}

/// Time left until `t` (zero when past).
pub(crate) fn until(t: OffsetDateTime) -> Duration {
    let left = t - OffsetDateTime::now_utc();
    left.try_into().unwrap_or(Duration::ZERO)
}

/// "4m 30s", "59s".
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use std::time::Duration;

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_secs(59)), "59s");
        assert_eq!(human_duration(Duration::from_secs(300)), "5m");
        assert_eq!(human_duration(Duration::from_millis(270_600)), "4m 31s");
    }
}
