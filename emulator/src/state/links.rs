//! Magic links, the consent decision and verification mode's second step.

use time::OffsetDateTime;

use super::State;
use crate::rules::{random_alphanumeric, timestamp};
use crate::types::MagicLinkInfo;

/// A minted magic link.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub(crate) uuid: String,
    /// The account it was minted for; a deleted and re-created account is another.
    pub(crate) account_id: String,
    pub(crate) connector: String,
    pub(crate) identifier: String,
    pub(crate) expiry: OffsetDateTime,
    pub(crate) used: bool,
    pub(crate) state: Option<String>,
    pub(crate) user_verify_url: Option<String>,
}

/// Why a link cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkProblem {
    /// No such link.
    Unknown,
    /// Already allowed or denied.
    Used,
    /// Past its expiry.
    Expired,
    /// Its account was deleted.
    AccountGone,
}

/// What happened to a link when it was shown, allowed or denied.
#[derive(Clone, Debug)]
pub(crate) enum LinkOutcome {
    /// The link cannot be used.
    Unusable(LinkProblem),
    /// The link is usable (only from [`State::link_page`]).
    Open { link: Link, provider: String },
    /// Deny: the account keeps its status and credentials; only `updated_at` moves.
    Denied { link: Link },
    /// Allow: `ACTIVE`, or `PENDING_VERIFICATION` with a verification to complete.
    Approved {
        link: Link,
        verification: Option<Verification>,
    },
}

impl LinkOutcome {
    /// Whether this is a successful Allow.
    pub(crate) fn is_approved(&self) -> bool {
        matches!(self, Self::Approved { .. })
    }
}

/// A pending user verification (verification mode).
#[derive(Clone, Debug)]
pub(crate) struct Verification {
    pub(crate) auth_request_id: String,
    /// `user_verify_url` with `auth_request_id` and `state` added, when one was given.
    pub(crate) redirect: Option<String>,
}

/// Why `POST …/user/verify` failed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum VerifyError {
    NotFound,
    IdentifierMismatch,
}

impl State {
    /// Mints a link for the account at `index`; returns the URL and its expiry.
    pub(crate) fn mint_link(
        &mut self,
        index: usize,
        state: Option<String>,
        user_verify_url: Option<String>,
        now: OffsetDateTime,
    ) -> (String, OffsetDateTime) {
        let account = &self.accounts[index];
        let ttl = time::Duration::try_from(self.settings.link_ttl).unwrap_or(time::Duration::MAX);
        let expiry = now.checked_add(ttl).unwrap_or(now);
        let uuid = uuid::Uuid::new_v4().to_string();
        let url = self.link_url(&uuid);
        self.links.push(Link {
            uuid,
            account_id: account.id.clone(),
            connector: account.connector.clone(),
            identifier: account.identifier.clone(),
            expiry,
            used: false,
            state,
            user_verify_url,
        });
        (url, expiry)
    }

    fn link_url(&self, uuid: &str) -> String {
        format!("{}/magicLink/{uuid}", self.base_url)
    }

    /// See [`crate::Emulator::magic_links`].
    pub(crate) fn magic_links(&self) -> Vec<MagicLinkInfo> {
        self.links
            .iter()
            .map(|link| MagicLinkInfo {
                link: self.link_url(&link.uuid),
                connector: link.connector.clone(),
                identifier: link.identifier.clone(),
                expiry: timestamp(link.expiry),
                used: link.used,
            })
            .collect()
    }

    /// Finds a usable link by URL or uuid, or says why it is not usable.
    fn usable_link(&self, link: &str, now: OffsetDateTime) -> Result<usize, LinkProblem> {
        let uuid = link
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let Some(index) = self.links.iter().position(|l| l.uuid == uuid) else {
            return Err(LinkProblem::Unknown);
        };
        let found = &self.links[index];
        if found.used {
            return Err(LinkProblem::Used);
        }
        if now > found.expiry {
            return Err(LinkProblem::Expired);
        }
        if !self.accounts.iter().any(|a| a.id == found.account_id) {
            return Err(LinkProblem::AccountGone);
        }
        Ok(index)
    }

    /// What the consent page shows for a link (`Open`, or why not).
    pub(crate) fn link_page(&self, link: &str, now: OffsetDateTime) -> LinkOutcome {
        match self.usable_link(link, now) {
            Ok(index) => {
                let link = self.links[index].clone();
                let provider = self
                    .accounts
                    .iter()
                    .find(|a| a.id == link.account_id)
                    .map(|a| a.provider.clone())
                    .unwrap_or_default();
                LinkOutcome::Open { link, provider }
            }
            Err(problem) => LinkOutcome::Unusable(problem),
        }
    }

    /// Allow or Deny on a link's consent page. Either way the link is used up.
    pub(crate) fn decide_link(
        &mut self,
        link: &str,
        allow: bool,
        now: OffsetDateTime,
    ) -> LinkOutcome {
        let index = match self.usable_link(link, now) {
            Ok(index) => index,
            Err(problem) => return LinkOutcome::Unusable(problem),
        };
        self.links[index].used = true;
        let link = self.links[index].clone();
        if !allow {
            // The attempt is recorded on the account (`updated_at`); its status and
            // credentials stay as they were.
            if let Some(account) = self.accounts.iter_mut().find(|a| a.id == link.account_id) {
                account.updated_at = now;
            }
            return LinkOutcome::Denied { link };
        }
        let Some(account) = self.accounts.iter_mut().find(|a| a.id == link.account_id) else {
            return LinkOutcome::Unusable(LinkProblem::AccountGone);
        };
        if !self.settings.verification_mode {
            account.activate(now);
            return LinkOutcome::Approved {
                link,
                verification: None,
            };
        }
        "PENDING_VERIFICATION".clone_into(&mut account.status);
        account.updated_at = now;
        let auth_request_id = random_alphanumeric(32);
        self.verifications
            .insert(auth_request_id.clone(), account.id.clone());
        let redirect = link
            .user_verify_url
            .as_deref()
            .filter(|url| !url.is_empty())
            .map(|url| {
                let mut query = form_urlencoded::Serializer::new(String::new());
                query.append_pair("auth_request_id", &auth_request_id);
                if let Some(state) = link.state.as_deref().filter(|s| !s.is_empty()) {
                    query.append_pair("state", state);
                }
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}{}", query.finish())
            });
        LinkOutcome::Approved {
            link,
            verification: Some(Verification {
                auth_request_id,
                redirect,
            }),
        }
    }

    /// `POST …/user/verify`: completes a verification and activates the account.
    pub(crate) fn verify_user(
        &mut self,
        auth_request_id: &str,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        let account_id = self
            .verifications
            .get(auth_request_id)
            .ok_or(VerifyError::NotFound)?;
        let account = self
            .accounts
            .iter_mut()
            .find(|a| &a.id == account_id)
            .ok_or(VerifyError::NotFound)?;
        if account.identifier != identifier {
            return Err(VerifyError::IdentifierMismatch);
        }
        account.activate(now);
        self.verifications.remove(auth_request_id);
        Ok(())
    }
}
