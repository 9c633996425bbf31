//! The async runtime, built here and nowhere else: one single-threaded tokio runtime per
//! run (the work is a handful of concurrent requests), and the fan-out that runs several
//! requests at once on it.

use std::future::Future;

/// A single-threaded runtime with I/O and timers. Fails only when the system refuses the
/// resources (a file descriptor for the I/O driver).
pub(crate) fn new() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Runs a future to completion on a new runtime.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
    new().expect("the tokio runtime starts").block_on(future)
}

/// Runs every future concurrently on the current task and returns their outputs in the
/// order given. A panic in one unwinds through the caller, as if it had run alone; nothing
/// is spawned, so the futures may borrow (no `Arc`, no `'static`).
pub(crate) async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    futures_util::future::join_all(futures).await
}
