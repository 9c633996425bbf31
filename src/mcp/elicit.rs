//! URL elicitation for `authorize`: when the client declared it can open URLs for the user
//! (MCP `elicitation.url`), the server asks it to show the magic link. The request is sent on
//! a task of its own, so the tool call answers at once with the link as text: the server
//! never waits on a person. The client's answer (accepted, declined) is only logged.

use std::time::Duration;

use reqwest::Url;
use rmcp::model::ProtocolVersion;
use rmcp::service::ElicitationMode;
use rmcp::{Peer, RoleServer};
use time::OffsetDateTime;

use crate::error::CliError;
use crate::flows::authorization::until;
use crate::flows::context::Target;

/// How long an unanswered elicitation is kept when the link gives no expiry.
const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// A magic link as the Trust rules accept it (`output::safe::link_problem`, the check every
/// command makes), parsed. Anything else is neither shown nor offered.
pub(super) fn checked_link(link: &str) -> Result<Url, CliError> {
    let refused =
        || CliError::failed("Scalekit sent a magic link that is not a safe https:// URL; refused");
    if crate::output::safe::link_problem(link).is_some() {
        return Err(refused());
    }
    Url::parse(link).map_err(|_| refused())
}

/// Offers the link through URL elicitation when the client supports it; says what happened:
/// `"offered"` or `"unsupported"`.
pub(super) fn offer(
    peer: &Peer<RoleServer>,
    target: &Target,
    url: Url,
    expiry: Option<OffsetDateTime>,
) -> &'static str {
    // Protocol 2026-07-28 forbids requests from the server to the client.
    let modern = peer.peer_info().is_some_and(|info| {
        info.protocol_version.as_str() >= ProtocolVersion::V_2026_07_28.as_str()
    });
    if modern
        || !peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Url)
    {
        return "unsupported";
    }
    let wait = expiry.map_or(DEFAULT_WAIT, until).min(DEFAULT_WAIT);
    let message = format!(
        "Authorize {} (connection {}, identifier {}): open the link and approve access.",
        target.service, target.connection_name, target.identifier
    );
    let id = format!("scalekit-auth-{:016x}", fastrand::u64(..));
    let peer = peer.clone();
    let service = target.service.clone();
    tokio::spawn(async move {
        match peer
            .elicit_url_with_timeout(message, url, id, Some(wait))
            .await
        {
            Ok(action) => super::log(&format!(
                "authorize {service}: the client answered {action:?}"
            )),
            Err(err) => super::log(&format!(
                "authorize {service}: URL elicitation failed: {err}"
            )),
        }
    });
    "offered"
}
