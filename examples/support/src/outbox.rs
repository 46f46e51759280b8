//! Outbox files: one JSON object per line, appended, so a script can read what was "sent"
//! (`tail -n1 sms.jsonl | jq -r .code`). The file is created readable by its owner only,
//! since it holds codes and tokens.

use std::path::Path;

use tokio::io::AsyncWriteExt as _;

/// Appends `record` as one line to `path`, creating the file (mode 0600) if needed. The line
/// is written with a single `write_all` on a file opened for appending, so concurrent
/// messages do not interleave within a line.
pub(crate) async fn append_line(path: &Path, record: &serde_json::Value) -> std::io::Result<()> {
    let mut line = record.to_string();
    line.push('\n');
    let mut options = tokio::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(line.as_bytes()).await?;
    file.flush().await
}

/// Now, as the `sent_at` of an outbox line (RFC 3339, milliseconds, UTC).
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
