//! The environment's connections and the record of tool executions.

use time::OffsetDateTime;

use super::State;
use crate::rules::{derive_provider, random_alphanumeric};
use crate::types::{Execution, SeedConnection};

/// One connection (`GET /api/v1/connections/app`).
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    pub(crate) key_id: String,
    pub(crate) provider_key: String,
    pub(crate) connection_type: String,
    pub(crate) status: String,
    pub(crate) enabled: bool,
    pub(crate) created_at: OffsetDateTime,
}

impl Connection {
    fn from_seed(seed: SeedConnection, now: OffsetDateTime) -> Self {
        Self {
            provider_key: seed
                .provider_key
                .unwrap_or_else(|| derive_provider(&seed.key_id)),
            key_id: seed.key_id,
            connection_type: seed.connection_type.unwrap_or_else(|| "OAUTH".to_owned()),
            status: seed.status.unwrap_or_else(|| "COMPLETED".to_owned()),
            enabled: seed.enabled.unwrap_or(true),
            created_at: now,
        }
    }
}

impl State {
    /// Adds a connection, replacing one with the same `key_id` (in place).
    pub(crate) fn seed_connection(&mut self, seed: SeedConnection, now: OffsetDateTime) {
        let connection = Connection::from_seed(seed, now);
        match self
            .connections
            .iter_mut()
            .find(|c| c.key_id == connection.key_id)
        {
            Some(existing) => *existing = connection,
            None => self.connections.push(connection),
        }
    }

    /// Removes a connection; false when there is none with this name.
    pub(crate) fn remove_connection(&mut self, key_id: &str) -> bool {
        let before = self.connections.len();
        self.connections.retain(|c| c.key_id != key_id);
        self.connections.len() != before
    }

    /// The provider key of a connection name: the connection's, or derived from the
    /// name when no such connection is configured (as for accounts).
    pub(crate) fn provider_of(&self, connector: &str) -> String {
        self.connections
            .iter()
            .find(|c| c.key_id == connector)
            .map_or_else(|| derive_provider(connector), |c| c.provider_key.clone())
    }

    /// A fresh `execution_id`.
    pub(crate) fn new_execution_id() -> String {
        format!("exec_{}", random_alphanumeric(24))
    }

    /// Records a tool execution that ran.
    pub(crate) fn record_execution(&mut self, execution: Execution) {
        self.executions.push(execution);
    }

    /// See [`crate::Emulator::executions`].
    pub(crate) fn executions(&self) -> Vec<Execution> {
        self.executions.clone()
    }

    /// See [`crate::Emulator::clear_executions`].
    pub(crate) fn clear_executions(&mut self) {
        self.executions.clear();
    }
}
