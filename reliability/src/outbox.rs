//! Reading the example server's outbox files (`AUTH_SMS_OUTBOX`, `AUTH_EMAIL_OUTBOX`): one
//! JSON line per message, `{"to", "code" | "token", ...}`. The server appends the line before
//! it answers the request that sent it, so a client reads its code right after the answer.

use std::collections::HashMap;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// An outbox file, read incrementally; the latest secret (`code` or `token`) per recipient.
#[derive(Clone)]
pub(crate) struct Outbox {
    inner: Arc<Mutex<State>>,
}

struct State {
    path: PathBuf,
    field: &'static str,
    offset: u64,
    partial: Vec<u8>,
    latest: HashMap<String, String>,
}

impl Outbox {
    /// The SMS outbox at `path` (codes).
    pub(crate) fn sms(path: &Path) -> Self {
        Self::new(path, "code")
    }

    /// The mail outbox at `path` (tokens).
    pub(crate) fn mail(path: &Path) -> Self {
        Self::new(path, "token")
    }

    fn new(path: &Path, field: &'static str) -> Self {
        Self {
            inner: Arc::new(Mutex::new(State {
                path: path.to_owned(),
                field,
                offset: 0,
                partial: Vec::new(),
                latest: HashMap::new(),
            })),
        }
    }

    /// Takes the latest code or token sent to `to`, waiting up to `wait` for it to appear.
    pub(crate) async fn take(&self, to: &str, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(secret) = self.try_take(to) {
                return Some(secret);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn try_take(&self, to: &str) -> Option<String> {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(secret) = state.latest.remove(to) {
            return Some(secret);
        }
        state.read_new();
        state.latest.remove(to)
    }
}

impl State {
    /// Reads what was appended since the last read (a file not there yet reads as empty).
    fn read_new(&mut self) {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut fresh = Vec::new();
        let Ok(read) = file.read_to_end(&mut fresh) else {
            return;
        };
        self.offset += read as u64;
        self.partial.extend_from_slice(&fresh);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let Ok(record) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            let to = record.get("to").and_then(Value::as_str);
            let secret = record.get(self.field).and_then(Value::as_str);
            if let (Some(to), Some(secret)) = (to, secret) {
                let _previous = self.latest.insert(to.to_owned(), secret.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[tokio::test]
    async fn takes_the_latest_code_per_phone_across_partial_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sms.jsonl");
        let outbox = Outbox::sms(&path);
        assert_eq!(outbox.take("+15550000001", Duration::ZERO).await, None);
        let mut file = std::fs::File::create(&path).unwrap();
        writeln!(file, r#"{{"to":"+15550000001","code":"111111"}}"#).unwrap();
        write!(file, r#"{{"to":"+15550000002","co"#).unwrap();
        file.flush().unwrap();
        assert_eq!(
            outbox.take("+15550000001", Duration::ZERO).await.as_deref(),
            Some("111111")
        );
        assert_eq!(outbox.take("+15550000001", Duration::ZERO).await, None);
        writeln!(file, r#"de":"222222"}}"#).unwrap();
        writeln!(file, r#"{{"to":"+15550000002","code":null}}"#).unwrap();
        writeln!(file, r#"{{"to":"+15550000002","code":"333333"}}"#).unwrap();
        file.flush().unwrap();
        assert_eq!(
            outbox
                .take("+15550000002", Duration::from_millis(50))
                .await
                .as_deref(),
            Some("333333")
        );
    }
}
