//! A tiny JSON client for the smoke tests, and the checks of its answers.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

/// A tiny JSON client for the walkthrough.
pub(crate) struct Http {
    client: Client,
    base: String,
}

impl Http {
    pub(crate) fn new(base: &str) -> Result<Self> {
        let client = Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self {
            client,
            base: base.to_owned(),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| path.to_owned())?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{path}: not JSON: {}", String::from_utf8_lossy(&bytes)))?
        };
        Ok((status, body))
    }

    pub(crate) async fn get(
        &self,
        path: &str,
        bearer: Option<&str>,
    ) -> Result<(StatusCode, Value)> {
        self.send(Method::GET, path, bearer, None).await
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: Value,
    ) -> Result<(StatusCode, Value)> {
        self.send(Method::POST, path, bearer, Some(body)).await
    }

    pub(crate) async fn post_empty(
        &self,
        path: &str,
        bearer: Option<&str>,
    ) -> Result<(StatusCode, Value)> {
        self.send(Method::POST, path, bearer, None).await
    }
}

pub(crate) fn expect(
    status: StatusCode,
    expected: StatusCode,
    body: &Value,
    what: &str,
) -> Result<()> {
    ensure!(
        status == expected,
        "{what}: expected {expected}, got {status} {body}"
    );
    Ok(())
}

pub(crate) fn expect_error(
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    code: &str,
    what: &str,
) -> Result<()> {
    expect(status, expected, body, what)?;
    ensure!(
        body.get("error").and_then(Value::as_str) == Some(code),
        "{what}: expected error {code}, got {body}"
    );
    Ok(())
}

pub(crate) fn text(body: &Value, field: &str) -> Result<String> {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no string {field:?} in {body}"))
}
