//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout.
//!
//! rmcp's own stdio transport drops a line that is not JSON without a word; the contract
//! (docs/cli.md, `mcp`) wants the protocol's error answer instead, so the server reads the
//! lines itself: a line that is not JSON gets a parse error (-32700), JSON that is not a
//! JSON-RPC message gets an invalid-request error (-32600, with its `id` when it has one), and
//! the server reads on. A line longer than [`MAX_LINE_BYTES`] is dropped with -32600 too.
//! Writes are whole lines under one lock, so concurrent answers never interleave.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Stdin, Stdout};
use tokio::sync::Mutex;

/// The longest message read; anything longer is answered with an error and skipped.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

pub(crate) struct Stdio {
    reader: BufReader<Stdin>,
    writer: Arc<Mutex<Option<Stdout>>>,
    /// The line read so far (kept across cancelled reads).
    line: Vec<u8>,
    /// Skipping the rest of a line that grew past [`MAX_LINE_BYTES`].
    discarding: bool,
}

impl Stdio {
    pub(crate) fn new() -> Self {
        Self {
            reader: BufReader::new(tokio::io::stdin()),
            writer: Arc::new(Mutex::new(Some(tokio::io::stdout()))),
            line: Vec::new(),
            discarding: false,
        }
    }

    /// The next whole line (without its newline); `Err(())` for one that was too long; `None`
    /// at the end of input. Cancel-safe: bytes are consumed only once copied into `self.line`.
    async fn next_line(&mut self) -> Option<Result<Vec<u8>, ()>> {
        loop {
            let Ok(chunk) = self.reader.fill_buf().await else {
                return None;
            };
            if chunk.is_empty() {
                // End of input: a last line without a newline still counts.
                let line = std::mem::take(&mut self.line);
                return (!line.is_empty() && !self.discarding).then_some(Ok(line));
            }
            let (taken, complete) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (chunk.len(), false),
            };
            if !self.discarding {
                let end = if complete { taken - 1 } else { taken };
                self.line.extend_from_slice(&chunk[..end]);
                if self.line.len() > MAX_LINE_BYTES {
                    self.line = Vec::new();
                    self.discarding = true;
                }
            }
            self.reader.consume(taken);
            if complete {
                let line = std::mem::take(&mut self.line);
                if std::mem::take(&mut self.discarding) {
                    return Some(Err(()));
                }
                return Some(Ok(line));
            }
        }
    }

    /// Answers a line that is not a message, on a task of its own: the write must not be
    /// lost if this read is cancelled.
    fn answer_error(&self, id: &Value, code: i64, message: &str) {
        let doc = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
        let writer = self.writer.clone();
        tokio::spawn(async move {
            let _ = write_line(&writer, doc.to_string().into_bytes()).await;
        });
    }
}

async fn write_line(writer: &Mutex<Option<Stdout>>, mut bytes: Vec<u8>) -> std::io::Result<()> {
    bytes.push(b'\n');
    let mut guard = writer.lock().await;
    let Some(out) = guard.as_mut() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "stdout is closed",
        ));
    };
    out.write_all(&bytes).await?;
    out.flush().await
}

impl Transport<RoleServer> for Stdio {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let writer = self.writer.clone();
        async move {
            let bytes = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            write_line(&writer, bytes).await
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let Ok(line) = self.next_line().await? else {
                crate::mcp::log("skipped a message longer than 16 MiB");
                self.answer_error(&Value::Null, -32600, "Invalid Request: message too long");
                continue;
            };
            let text = line.strip_suffix(b"\r").unwrap_or(&line);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Ok(value) = serde_json::from_slice::<Value>(text) else {
                crate::mcp::log("answered a line that is not JSON with a parse error");
                self.answer_error(&Value::Null, -32700, "Parse error");
                continue;
            };
            let id = value
                .get("id")
                .filter(|id| id.is_string() || id.is_i64() || id.is_u64())
                .cloned()
                .unwrap_or(Value::Null);
            if let Ok(message) = serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value) {
                return Some(message);
            }
            crate::mcp::log("answered a JSON line that is not a JSON-RPC message");
            self.answer_error(&id, -32600, "Invalid Request");
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        let mut guard = self.writer.lock().await;
        if let Some(mut out) = guard.take() {
            out.flush().await?;
        }
        Ok(())
    }
}
