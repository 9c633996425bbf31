//! State shared by the server tasks and the [`crate::Emulator`] handle.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::state::State;
use crate::types::Options;

/// State shared by the server tasks and the [`crate::Emulator`] handle.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// The options the emulator started with; [`crate::Emulator::reset`] returns to them.
    pub(crate) initial: Options,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    pub(crate) started: Instant,
    pub(crate) verbose: AtomicBool,
    pub(crate) connections: AtomicU64,
}

impl Shared {
    /// Locks the state. A panic elsewhere while holding the lock leaves plain data
    /// behind, so a poisoned lock is used as is.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
