//! The HTTP client side: one call to the example server, its answer and timing, and the
//! token pair the auth routes return.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use reqwest::Method;
use serde_json::Value;

use crate::pacer::Pacer;
use crate::record::{Op, Record, Recorder};

/// A client of one running server.
#[derive(Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    recorder: Recorder,
    pacer: Option<Pacer>,
}

/// One answer: the status (0 when none came: refused, reset or timed out), the error code of
/// a JSON error body, the body, when the request was sent and how long it took.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) code: Option<String>,
    pub(crate) body: Value,
    pub(crate) transport: Option<String>,
}

impl Answer {
    /// A 2xx answer.
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `status` with error code `code` (or no error code when `code` is `None`).
    pub(crate) fn is(&self, status: u16, code: Option<&str>) -> bool {
        self.status == status && self.code.as_deref() == code
    }

    /// A string field of the body.
    pub(crate) fn field(&self, name: &str) -> Option<String> {
        self.body
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// `status code` as text, for reports: `503 store_unavailable`, `0 (connection refused)`.
    pub(crate) fn describe(&self) -> String {
        match (&self.transport, &self.code) {
            (Some(t), _) => format!("0 ({t})"),
            (None, Some(code)) => format!("{} {code}", self.status),
            (None, None) => self.status.to_string(),
        }
    }
}

/// The token pair of a login or refresh.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

impl Pair {
    /// The pair in a 200 answer.
    pub(crate) fn of(answer: &Answer) -> Option<Self> {
        if answer.status != 200 {
            return None;
        }
        Some(Self {
            access: answer.field("access_token")?,
            refresh: answer.field("refresh_token")?,
        })
    }
}

impl Api {
    /// A client of the server at `base` (`http://127.0.0.1:port`): requests give up after
    /// `timeout` (reported as status 0), every answer goes to `recorder`.
    pub(crate) fn new(base: String, timeout: Duration, recorder: Recorder) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .no_proxy()
            .pool_max_idle_per_host(256)
            .build()
            .context("HTTP client")?;
        Ok(Self {
            http,
            base,
            recorder,
            pacer: None,
        })
    }

    /// The same client, each request waiting for a permit of `pacer` first.
    pub(crate) fn paced(&self, pacer: &Pacer) -> Self {
        Self {
            pacer: Some(pacer.clone()),
            ..self.clone()
        }
    }

    /// Whether the pacer of this client was stopped (its requests are no longer sent).
    pub(crate) fn stopped(&self) -> bool {
        self.pacer.as_ref().is_some_and(Pacer::stopped)
    }

    /// Sends one request as client `ip` (in `X-Forwarded-For`, which the server trusts from
    /// loopback by `AUTH_TRUSTED_PROXIES`), records it under `op` and returns the answer.
    pub(crate) async fn call(
        &self,
        op: Op,
        method: Method,
        path: &str,
        ip: Ipv4Addr,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        if let Some(pacer) = &self.pacer
            && !pacer.wait().await
        {
            return Answer {
                status: 0,
                code: None,
                body: Value::Null,
                transport: Some("not sent: the run is over".to_owned()),
            };
        }
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-forwarded-for", ip.to_string());
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let sent = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => {
                        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        let code = body.get("error").and_then(Value::as_str).map(str::to_owned);
                        Answer {
                            status,
                            code,
                            body,
                            transport: None,
                        }
                    }
                    Err(e) => transport_failure(&e),
                }
            }
            Err(e) => transport_failure(&e),
        };
        self.recorder.push(Record {
            op,
            sent,
            took: sent.elapsed(),
            status: answer.status,
            code: answer.code.clone(),
        });
        answer
    }

    /// `POST /api/auth/<route>` with a JSON body.
    pub(crate) async fn post(&self, op: Op, route: &str, ip: Ipv4Addr, body: Value) -> Answer {
        let path = format!("/api/auth/{route}");
        self.call(op, Method::POST, &path, ip, None, Some(body))
            .await
    }

    /// `POST /api/auth/<route>` with an access token and an optional JSON body.
    pub(crate) async fn post_as(
        &self,
        op: Op,
        route: &str,
        ip: Ipv4Addr,
        access: &str,
        body: Option<Value>,
    ) -> Answer {
        let path = format!("/api/auth/{route}");
        self.call(op, Method::POST, &path, ip, Some(access), body)
            .await
    }

    /// `GET <path>` with an access token.
    pub(crate) async fn get_as(&self, op: Op, path: &str, ip: Ipv4Addr, access: &str) -> Answer {
        self.call(op, Method::GET, path, ip, Some(access), None)
            .await
    }

    /// `POST /api/auth/refresh`.
    pub(crate) async fn refresh(&self, ip: Ipv4Addr, token: &str) -> Answer {
        let body = serde_json::json!({ "refresh_token": token });
        self.post(Op::Refresh, "refresh", ip, body).await
    }

    /// `GET /api/hello`, the guarded route (the session is checked in the store).
    pub(crate) async fn hello(&self, ip: Ipv4Addr, access: &str) -> Answer {
        self.get_as(Op::Hello, "/api/hello", ip, access).await
    }
}

fn transport_failure(e: &reqwest::Error) -> Answer {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "connection lost"
    };
    Answer {
        status: 0,
        code: None,
        body: Value::Null,
        transport: Some(kind.to_owned()),
    }
}
