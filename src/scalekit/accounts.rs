//! The connected-account endpoints (docs/scalekit-wire.md §6–§12): look up, create, link, list,
//! delete.

use reqwest::{Method, StatusCode};

use super::Client;
use super::decode::{account_from, decode_answer, expect_success};
use super::error::ApiError;
use super::types::{ConnectedAccount, ListPage, MagicLink};

/// Page size for listing connected accounts (Scalekit validates `< 100`).
const LIST_PAGE_SIZE: u32 = 50;
/// A list that claims more pages than this is looping; stop with an error.
const MAX_LIST_PAGES: usize = 1000;
/// A list whose answers add up to more than this many bytes, or more accounts than
/// [`MAX_LIST_ACCOUNTS`], is refused rather than held in memory (SECURITY.md, "Memory").
const MAX_LIST_BYTES: usize = 32 * 1024 * 1024;
const MAX_LIST_ACCOUNTS: usize = 50_000;

impl Client {
    /// `GET /api/v1/connected_accounts/auth`: the account with its credentials.
    /// `Ok(None)` when Scalekit has no such account (404).
    pub(crate) async fn account_auth(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<Option<ConnectedAccount>, ApiError> {
        self.get_account("/api/v1/connected_accounts/auth", connector, identifier)
            .await
    }

    /// `GET /api/v1/connected_accounts/details`: the account without credentials.
    /// `Ok(None)` when Scalekit has no such account (404).
    pub(crate) async fn account_details(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<Option<ConnectedAccount>, ApiError> {
        self.get_account("/api/v1/connected_accounts/details", connector, identifier)
            .await
    }

    async fn get_account(
        &self,
        path: &str,
        connector: &str,
        identifier: &str,
    ) -> Result<Option<ConnectedAccount>, ApiError> {
        let query = [("connector", connector), ("identifier", identifier)];
        let answer = self.api(&Method::GET, path, &query, None).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        expect_success(&Method::GET, path, &answer)?;
        account_from(&Method::GET, path, &answer).map(Some)
    }

    /// `POST /api/v1/connected_accounts`: creates a pending account (the Node SDK's
    /// get-or-create body). Any 2xx is success; a 409 (it appeared meanwhile) is answered
    /// with the existing account's details.
    pub(crate) async fn create_account(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<ConnectedAccount, ApiError> {
        let path = "/api/v1/connected_accounts";
        let body = serde_json::json!({
            "connector": connector,
            "identifier": identifier,
            "connected_account": {"authorization_details": {"oauth_token": {}}},
        });
        let answer = self.api(&Method::POST, path, &[], Some(&body)).await?;
        if answer.status == StatusCode::CONFLICT
            && let Some(account) = self.account_details(connector, identifier).await?
        {
            return Ok(account);
        }
        expect_success(&Method::POST, path, &answer)?;
        account_from(&Method::POST, path, &answer)
    }

    /// `POST /api/v1/connected_accounts/magic_link`. `Ok(None)` when the account is gone (404).
    pub(crate) async fn magic_link(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<Option<MagicLink>, ApiError> {
        let path = "/api/v1/connected_accounts/magic_link";
        let body = serde_json::json!({"connector": connector, "identifier": identifier});
        let answer = self.api(&Method::POST, path, &[], Some(&body)).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        expect_success(&Method::POST, path, &answer)?;
        let link: MagicLink = decode_answer(&Method::POST, path, &answer)?;
        if link.link.is_empty() {
            return Err(ApiError::Decode {
                method: "POST".into(),
                path: path.into(),
                detail: "the answer has no link".into(),
            });
        }
        Ok(Some(link))
    }

    /// `GET /api/v1/connected_accounts`, following `next_page_token` to the last page;
    /// optionally only one connection's (`connector`) or one identifier's accounts.
    pub(crate) async fn list_accounts(
        &self,
        connector: Option<&str>,
        identifier: Option<&str>,
    ) -> Result<Vec<ConnectedAccount>, ApiError> {
        let path = "/api/v1/connected_accounts";
        let page_size = LIST_PAGE_SIZE.to_string();
        let mut accounts = Vec::new();
        let mut page_token = String::new();
        let mut total_bytes = 0;
        for _ in 0..MAX_LIST_PAGES {
            let mut query = vec![("page_size", page_size.as_str())];
            if let Some(connector) = connector {
                query.push(("connector", connector));
            }
            if let Some(identifier) = identifier {
                query.push(("identifier", identifier));
            }
            if !page_token.is_empty() {
                query.push(("page_token", page_token.as_str()));
            }
            let answer = self.api(&Method::GET, path, &query, None).await?;
            expect_success(&Method::GET, path, &answer)?;
            total_bytes += answer.body.len();
            let page: ListPage = decode_answer(&Method::GET, path, &answer)?;
            drop(answer);
            // A list never needs an account's credentials: keep none of them.
            accounts.extend(page.connected_accounts.into_iter().map(|mut account| {
                account.authorization_details = None;
                account
            }));
            if total_bytes > MAX_LIST_BYTES || accounts.len() > MAX_LIST_ACCOUNTS {
                return Err(ApiError::Decode {
                    method: "GET".into(),
                    path: path.into(),
                    detail: format!(
                        "the list is longer than this tool holds ({MAX_LIST_ACCOUNTS} accounts or \
                         {} MiB of answers); narrow it with --identifier",
                        MAX_LIST_BYTES >> 20
                    ),
                });
            }
            if page.next_page_token.is_empty() || page.next_page_token == page_token {
                return Ok(accounts);
            }
            page_token = page.next_page_token;
        }
        Err(ApiError::Decode {
            method: "GET".into(),
            path: path.into(),
            detail: format!("more than {MAX_LIST_PAGES} pages; the page tokens seem to loop"),
        })
    }

    /// `POST /api/v1/connected_accounts:delete` (the colon unescaped, docs/scalekit-wire.md §11).
    /// `Ok(true)` when Scalekit deleted the account, `Ok(false)` when it had none (404).
    pub(crate) async fn delete_account(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<bool, ApiError> {
        let path = "/api/v1/connected_accounts:delete";
        let body = serde_json::json!({"connector": connector, "identifier": identifier});
        let answer = self.api(&Method::POST, path, &[], Some(&body)).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        expect_success(&Method::POST, path, &answer)?;
        Ok(true)
    }
}
