//! What every request did: the operation, when it was sent, how long it took, the answer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The operations the scenarios perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Op {
    RegisterPhone,
    RegisterEmail,
    Activate,
    SmsStart,
    SmsVerify,
    PasswordLogin,
    Refresh,
    Hello,
    Me,
    Sessions,
    Logout,
    LogoutOthers,
    PhoneChange,
    PhoneConfirm,
    EmailChange,
    EmailConfirm,
    PasswordChange,
    PasswordReset,
    PasswordResetConfirm,
    BadRequest,
}

impl Op {
    /// The name used in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::RegisterPhone => "register_phone",
            Self::RegisterEmail => "register_email",
            Self::Activate => "activate",
            Self::SmsStart => "sms_start",
            Self::SmsVerify => "sms_verify",
            Self::PasswordLogin => "password_login",
            Self::Refresh => "refresh",
            Self::Hello => "hello",
            Self::Me => "me",
            Self::Sessions => "sessions",
            Self::Logout => "logout",
            Self::LogoutOthers => "logout_others",
            Self::PhoneChange => "phone_change",
            Self::PhoneConfirm => "phone_confirm",
            Self::EmailChange => "email_change",
            Self::EmailConfirm => "email_confirm",
            Self::PasswordChange => "password_change",
            Self::PasswordReset => "password_reset",
            Self::PasswordResetConfirm => "password_reset_confirm",
            Self::BadRequest => "bad_request",
        }
    }
}

/// One request.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) op: Op,
    pub(crate) sent: Instant,
    pub(crate) took: Duration,
    /// 0 when no answer came.
    pub(crate) status: u16,
    pub(crate) code: Option<String>,
}

impl Record {
    /// When the answer came (or the request gave up).
    pub(crate) fn done(&self) -> Instant {
        self.sent + self.took
    }

    /// A 2xx answer.
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// 503 `store_unavailable`.
    pub(crate) fn store_unavailable(&self) -> bool {
        self.status == 503 && self.code.as_deref() == Some("store_unavailable")
    }

    /// `503 store_unavailable`, `200`, `0`: the answer as text.
    pub(crate) fn answer(&self) -> String {
        match &self.code {
            Some(code) => format!("{} {code}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// Collects the records of every request, shared by all clients.
#[derive(Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Vec<Record>>>);

impl Recorder {
    /// Adds one record.
    pub(crate) fn push(&self, record: Record) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    /// A copy of every record so far.
    pub(crate) fn snapshot(&self) -> Vec<Record> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests so far.
    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// Latency figures of a set of requests, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Latency {
    pub(crate) count: usize,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

impl Latency {
    /// The figures of `records`.
    pub(crate) fn of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
        let mut ms: Vec<f64> = records
            .into_iter()
            .map(|r| r.took.as_secs_f64() * 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| -> f64 {
            if ms.is_empty() {
                return 0.0;
            }
            let rank = ((ms.len() as f64) * q).ceil() as usize;
            ms.get(rank.saturating_sub(1).min(ms.len() - 1))
                .copied()
                .unwrap_or(0.0)
        };
        Self {
            count: ms.len(),
            p50_ms: round(at(0.50)),
            p99_ms: round(at(0.99)),
            max_ms: round(ms.last().copied().unwrap_or(0.0)),
        }
    }
}

/// Answers counted by `status code`, e.g. `{"200": 10, "503 store_unavailable": 4}`.
pub(crate) fn answers<'a>(records: impl IntoIterator<Item = &'a Record>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for r in records {
        *counts.entry(r.answer()).or_insert(0) += 1;
    }
    counts
}

/// `x` to one decimal.
pub(crate) fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Milliseconds between two instants (`to` before `from` gives a negative figure).
pub(crate) fn ms_between(from: Instant, to: Instant) -> f64 {
    if to >= from {
        round(to.duration_since(from).as_secs_f64() * 1000.0)
    } else {
        -round(from.duration_since(to).as_secs_f64() * 1000.0)
    }
}
