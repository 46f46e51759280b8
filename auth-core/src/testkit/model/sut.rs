//! The system under test: an [`Auth`] on the store being checked, a manual clock and a fake
//! SMS outbox, driven step by step and compared with the reference model after each one.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};

use crate::api::{ChangePasswordRequest, ClientInfo, RegisterRequest, TokenPair};
use crate::challenge::ChallengePurpose;
use crate::ids::{ChallengeId, SessionId, UserId};
use crate::limits::{self, Counters};
use crate::session::SessionStatus;
use crate::store::Store;
use crate::testkit::{FakeSms, ManualClock};
use crate::token::access::Principal;
use crate::{Auth, AuthError, OneTimeCode, Password, Phone};

use super::StoreUnderTest;
use super::reference::{
    AccountKey, CLIENTS, EMAILS, Expect, Key, ModelState, Out, PASSWORDS, PHONES, Purpose, SLOTS,
    Step, USERNAMES, WEAK, WEAK_PASSWORD,
};

/// A session as the system under test knows it: its id and every token it was handed.
struct SutSession {
    id: SessionId,
    /// Refresh token by generation.
    refresh: Vec<String>,
    /// Access tokens, oldest first.
    access: Vec<String>,
}

/// A challenge as the system under test knows it: its id and the code the SMS carried.
struct SutChallenge {
    id: ChallengeId,
    code: Option<OneTimeCode>,
}

/// One case's service and what it was handed so far.
pub(crate) struct Sut {
    handle: tokio::runtime::Handle,
    auth: Auth,
    clock: ManualClock,
    sms: FakeSms,
    store: Arc<dyn Store>,
    teardown: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
    base: DateTime<Utc>,
    users: [Option<UserId>; SLOTS],
    sessions: Vec<SutSession>,
    challenges: Vec<SutChallenge>,
}

type Checked = Result<(), String>;

fn client(index: u8) -> ClientInfo {
    ClientInfo::new(
        Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, index + 1))),
        Some("model/1.0"),
    )
}

fn password(index: u8) -> Password {
    if index == WEAK {
        return Password::new(WEAK_PASSWORD);
    }
    Password::new(
        PASSWORDS
            .get(usize::from(index))
            .copied()
            .unwrap_or(WEAK_PASSWORD),
    )
}

/// A phone of the model, parsed once (parsing is slow in debug builds).
fn phone(index: u8) -> Result<Phone, String> {
    static PARSED: std::sync::OnceLock<Vec<Result<Phone, String>>> = std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| {
            PHONES
                .iter()
                .map(|text| {
                    Phone::parse(text, false).map_err(|e| format!("model phone {text}: {e}"))
                })
                .collect()
        })
        .get(usize::from(index))
        .cloned()
        .unwrap_or_else(|| Err(format!("no model phone #{index}")))
}

/// Whether two errors are the same answer (the text of `invalid_request` and
/// `weak_password` aside).
fn same_error(expected: &AuthError, got: &AuthError) -> bool {
    match (expected, got) {
        (AuthError::InvalidRequest(_), AuthError::InvalidRequest(_))
        | (AuthError::WeakPassword(_), AuthError::WeakPassword(_)) => true,
        _ => expected == got,
    }
}

/// A code other than `code` (its first digit changed).
fn wrong_code(code: Option<&OneTimeCode>) -> OneTimeCode {
    let Some(code) = code else {
        return OneTimeCode::new("111111");
    };
    let text = code.expose();
    let mut chars = text.chars();
    let first = chars.next().and_then(|c| c.to_digit(10)).unwrap_or(0);
    let changed = char::from_digit((first + 1) % 10, 10).unwrap_or('0');
    OneTimeCode::new(format!("{changed}{}", chars.as_str()))
}

/// The current token of a session with its tag changed: a forgery naming that session.
fn forge(token: &str) -> String {
    let mut forged = token.to_owned();
    let last = forged.pop();
    forged.push(if last == Some('A') { 'B' } else { 'A' });
    forged
}

impl Sut {
    /// A service on a fresh store from `make`.
    pub(crate) fn new(
        handle: tokio::runtime::Handle,
        made: StoreUnderTest,
    ) -> Result<Self, String> {
        let base = Utc::now().trunc_subsecs(0);
        let clock = ManualClock::starting_at(base);
        let sms = FakeSms::new();
        let auth = Auth::builder(super::model_config())
            .store_arc(Arc::clone(&made.store))
            .sms(sms.clone())
            .clock(clock.clone())
            .build()
            .map_err(|e| format!("model configuration: {e}"))?;
        Ok(Self {
            handle,
            auth,
            clock,
            sms,
            store: made.store,
            teardown: made.teardown,
            base,
            users: [None; SLOTS],
            sessions: Vec::new(),
            challenges: Vec::new(),
        })
    }

    fn at(&self, secs: i64) -> DateTime<Utc> {
        self.base + chrono::Duration::seconds(secs)
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }

    /// Compares an answer with the expected one: `Ok(Some(value, out))` when both succeeded,
    /// `Ok(None)` when both failed alike.
    fn outcome<T: std::fmt::Debug>(
        expect: &Expect,
        got: Result<T, AuthError>,
    ) -> Result<Option<(T, Out)>, String> {
        if let Err(e @ (AuthError::Internal | AuthError::StoreUnavailable)) = &got {
            return Err(format!("the service answered {e:?} ({})", e.code()));
        }
        match (&expect.result, got) {
            (Ok(out), Ok(value)) => Ok(Some((value, out.clone()))),
            (Err(e), Err(g)) if same_error(e, &g) => Ok(None),
            (expected, got) => Err(format!("expected {expected:?}, got {got:?}")),
        }
    }

    fn session(&self, index: usize) -> Result<&SutSession, String> {
        self.sessions
            .get(index)
            .ok_or_else(|| format!("no session #{index}"))
    }

    fn access_token(&self, index: usize, access: Option<usize>) -> Result<String, String> {
        let s = self.session(index)?;
        let a = access.unwrap_or(s.access.len().saturating_sub(1));
        s.access
            .get(a)
            .cloned()
            .ok_or_else(|| format!("no access token #{a} of session #{index}"))
    }

    /// The principal of a session's access token, as a guard would get it.
    fn principal(
        &self,
        index: usize,
        access: Option<usize>,
    ) -> Result<Result<Principal, AuthError>, String> {
        let token = self.access_token(index, access)?;
        Ok(self.block_on(self.auth.authenticate(&token)))
    }

    fn user_of_session(&self, model: &ModelState, index: usize) -> Result<UserId, String> {
        let slot = model
            .sessions
            .get(index)
            .map(|s| s.slot)
            .ok_or_else(|| format!("the model has no session #{index}"))?;
        self.users
            .get(slot)
            .copied()
            .flatten()
            .ok_or_else(|| format!("session #{index}'s user (slot {slot}) has no id"))
    }

    /// Takes a token pair the model expected as `out`: a new session's first pair, or a pair
    /// of a known session (its refresh token must be the one of its generation).
    fn take_pair(&mut self, model: &ModelState, pair: &TokenPair, out: &Out) -> Checked {
        let Out::Pair {
            session,
            generation,
            refresh_expires_in,
        } = *out
        else {
            return Err(format!("expected {out:?}, got a token pair"));
        };
        let refresh = pair.refresh_token.expose().to_owned();
        let access = pair.access_token.expose().to_owned();
        if session == self.sessions.len() {
            if generation != 0 || self.sessions.iter().any(|s| s.id == pair.session_id) {
                return Err(format!(
                    "a new session reused an id or a generation: {pair:?}"
                ));
            }
            self.sessions.push(SutSession {
                id: pair.session_id,
                refresh: vec![refresh],
                access: vec![access],
            });
        } else {
            let s = self
                .sessions
                .get_mut(session)
                .ok_or_else(|| format!("no session #{session}"))?;
            if s.id != pair.session_id {
                return Err(format!(
                    "pair of session {} for session #{session}",
                    pair.session_id
                ));
            }
            let g = usize::try_from(generation).unwrap_or(usize::MAX);
            match s.refresh.get(g) {
                Some(known) if *known != refresh => {
                    return Err(format!(
                        "generation {generation} of session #{session} came back as another token"
                    ));
                }
                Some(_) => {}
                None if g == s.refresh.len() => s.refresh.push(refresh),
                None => return Err(format!("generation {generation} skipped one")),
            }
            s.access.push(access);
        }
        let user = self.user_of_session(model, session)?;
        if pair.user_id != user {
            return Err(format!("pair of user {} for {user}", pair.user_id));
        }
        if pair.refresh_expires_in != refresh_expires_in || pair.expires_in != 600 {
            return Err(format!(
                "expires_in {} / refresh_expires_in {}; the model says 600 / {refresh_expires_in}",
                pair.expires_in, pair.refresh_expires_in
            ));
        }
        Ok(())
    }

    /// Takes a challenge the model expected: its code when it was sent.
    fn take_challenge(
        &mut self,
        id: ChallengeId,
        sent_before: usize,
        out: &Out,
        phone: u8,
    ) -> Checked {
        let Out::Challenge { index, delivered } = *out else {
            return Err(format!("expected {out:?}, got a challenge"));
        };
        if index != self.challenges.len() {
            return Err(format!("challenge #{index} out of order"));
        }
        let sent = self.sms.sent();
        if sent.len() != sent_before + usize::from(delivered) {
            return Err(format!(
                "{} SMS sent; the model says {}",
                sent.len() - sent_before,
                usize::from(delivered)
            ));
        }
        let code = if delivered {
            let message = sent.last().ok_or("no SMS")?;
            if message.to.as_str() != PHONES.get(usize::from(phone)).copied().unwrap_or_default() {
                return Err(format!("the code went to {}", message.to.as_str()));
            }
            Some(message.code.clone().ok_or("an SMS without its code")?)
        } else {
            None
        };
        self.challenges.push(SutChallenge { id, code });
        Ok(())
    }

    fn challenge_input(
        &self,
        index: usize,
        right: bool,
    ) -> Result<(ChallengeId, OneTimeCode), String> {
        let c = self
            .challenges
            .get(index)
            .ok_or_else(|| format!("no challenge #{index}"))?;
        let code = match (&c.code, right) {
            (Some(code), true) => code.clone(),
            (code, _) => wrong_code(code.as_ref()),
        };
        Ok((c.id, code))
    }

    /// The refresh token `lag` generations behind a session's current one.
    fn refresh_token(&self, index: usize, lag: u64) -> Result<String, String> {
        let s = self.session(index)?;
        let lag = usize::try_from(lag).unwrap_or(usize::MAX);
        let g = s
            .refresh
            .len()
            .checked_sub(1 + lag)
            .ok_or_else(|| format!("session #{index} has no token {lag} behind"))?;
        s.refresh
            .get(g)
            .cloned()
            .ok_or_else(|| format!("no generation {g}"))
    }

    /// Applies a step to the service and compares its answer with the model's (the state
    /// after the step).
    pub(crate) fn apply(&mut self, step: &Step, model: &ModelState) -> Checked {
        let expect = model.last.clone().ok_or("the model expected nothing")?;
        let session = expect.session.ok_or("no session resolved");
        let challenge = expect.challenge.ok_or("no challenge resolved");
        match *step {
            Step::Register { slot, client: c } => {
                let slot = usize::from(slot);
                let request = if slot < 2 {
                    RegisterRequest {
                        phone: PHONES.get(slot).map(|p| (*p).to_owned()),
                        username: USERNAMES.get(slot).map(|u| (*u).to_owned()),
                        ..Default::default()
                    }
                } else {
                    RegisterRequest {
                        email: EMAILS.get(slot - 2).map(|e| (*e).to_owned()),
                        password: Some(password(0)),
                        ..Default::default()
                    }
                };
                let account = request
                    .parse(self.auth.config())
                    .map_err(|e| format!("model registration refused: {e}"))?;
                let got = self.block_on(self.auth.register(account, &client(c)));
                if let Some((response, _)) = Self::outcome(&expect, got)? {
                    if self.users.iter().flatten().any(|u| *u == response.user_id) {
                        return Err("a registration reused a user id".to_owned());
                    }
                    if let Some(u) = self.users.get_mut(slot) {
                        *u = Some(response.user_id);
                    }
                }
            }
            Step::SmsStart {
                phone: p,
                client: c,
            }
            | Step::ResetStart {
                phone: p,
                client: c,
            } => {
                let before = self.sms.count();
                let number = phone(p)?;
                let got = if matches!(step, Step::SmsStart { .. }) {
                    self.block_on(self.auth.start_sms_login(&number, &client(c)))
                } else {
                    self.block_on(self.auth.request_password_reset_sms(&number, &client(c)))
                };
                match Self::outcome(&expect, got)? {
                    Some((sent, out)) => self.take_challenge(sent.challenge_id, before, &out, p)?,
                    None if self.sms.count() != before => {
                        return Err("a refused request sent an SMS".to_owned());
                    }
                    None => {}
                }
            }
            Step::SmsVerify {
                right, client: c, ..
            } => {
                let (id, code) = self.challenge_input(challenge?, right)?;
                let got = self.block_on(self.auth.verify_sms(id, &code, &client(c)));
                if let Some((pair, out)) = Self::outcome(&expect, got)? {
                    self.take_pair(model, &pair, &out)?;
                }
            }
            Step::PasswordLogin {
                login, client: c, ..
            } => {
                use super::reference::LoginId;
                let identifier = match login {
                    LoginId::Email(n) => crate::LoginIdentifier::Email(
                        crate::Email::parse(
                            EMAILS.get(usize::from(n)).copied().unwrap_or_default(),
                        )
                        .map_err(|e| e.to_string())?,
                    ),
                    LoginId::Username(n) => crate::LoginIdentifier::Username(
                        crate::Username::parse(
                            USERNAMES.get(usize::from(n)).copied().unwrap_or_default(),
                        )
                        .map_err(|e| e.to_string())?,
                    ),
                    LoginId::UnknownEmail => crate::LoginIdentifier::Email(
                        crate::Email::parse(super::reference::UNKNOWN_EMAIL)
                            .map_err(|e| e.to_string())?,
                    ),
                };
                let pw = password(expect.password.ok_or("no password resolved")?);
                let got =
                    self.block_on(self.auth.login_with_password(&identifier, &pw, &client(c)));
                if let Some((pair, out)) = Self::outcome(&expect, got)? {
                    self.take_pair(model, &pair, &out)?;
                }
            }
            Step::Refresh { lag, client: c, .. } => {
                let token = self.refresh_token(session?, lag)?;
                let got = self.block_on(self.auth.refresh(&token, &client(c)));
                if let Some((pair, out)) = Self::outcome(&expect, got)? {
                    self.take_pair(model, &pair, &out)?;
                }
            }
            Step::RefreshRace { lag, client: c, .. } => {
                let token = self.refresh_token(session?, lag)?;
                let (a, b) = self.block_on(async {
                    let race = |auth: Auth, token: String| {
                        tokio::spawn(async move { auth.refresh(&token, &client(c)).await })
                    };
                    tokio::join!(
                        race(self.auth.clone(), token.clone()),
                        race(self.auth.clone(), token)
                    )
                });
                let a = a.map_err(|e| format!("a racing refresh did not finish: {e}"))?;
                let b = b.map_err(|e| format!("a racing refresh did not finish: {e}"))?;
                let second = match (&a, &b) {
                    (Ok(pa), Ok(pb)) => {
                        if pa.refresh_token.expose() != pb.refresh_token.expose() {
                            return Err("two racing refreshes of one token got different tokens: \
                                 a double spend"
                                .to_owned());
                        }
                        Some(pb.access_token.expose().to_owned())
                    }
                    _ => None,
                };
                let first = Self::outcome(&expect, a).map_err(|e| format!("first racer: {e}"))?;
                Self::outcome(&expect, b).map_err(|e| format!("second racer: {e}"))?;
                if let Some((pair, out)) = first {
                    self.take_pair(model, &pair, &out)?;
                }
                if let Some(access) = second {
                    let got = self.block_on(self.auth.authenticate(&access));
                    if let Err(e) = got {
                        return Err(format!(
                            "the second racer's access token does not work: {e:?}"
                        ));
                    }
                }
            }
            Step::ForgedRefresh { client: c, .. } => {
                let token = match expect.session {
                    Some(index) => forge(&self.refresh_token(index, 0)?),
                    None => "not-a-refresh-token".to_owned(),
                };
                let got = self.block_on(self.auth.refresh(&token, &client(c)));
                Self::outcome(&expect, got)?;
            }
            Step::Authenticate { .. } => {
                let session = session?;
                let got = self.principal(session, expect.access)?;
                if let Some((principal, _)) = Self::outcome(&expect, got)? {
                    self.check_principal(model, session, &principal)?;
                }
            }
            Step::Logout { .. } => {
                let got = match self.principal(session?, expect.access)? {
                    Ok(p) => self.block_on(self.auth.logout(&p, &client(0))),
                    Err(e) => Err(e),
                };
                Self::outcome(&expect, got)?;
            }
            Step::LogoutOthers { .. } => {
                let got = match self.principal(session?, expect.access)? {
                    Ok(p) => self
                        .block_on(self.auth.logout_all_other_sessions(&p, &client(0)))
                        .map(|r| r.revoked),
                    Err(e) => Err(e),
                };
                if let Some((n, out)) = Self::outcome(&expect, got)?
                    && out != Out::Count(n)
                {
                    return Err(format!("revoked {n} sessions; the model says {out:?}"));
                }
            }
            Step::RevokeSession { .. } => {
                let target_id = self.session(expect.target.ok_or("no target resolved")?)?.id;
                let got = match self.principal(session?, expect.access)? {
                    Ok(p) => self.block_on(self.auth.revoke_own_session(&p, target_id, &client(0))),
                    Err(e) => Err(e),
                };
                Self::outcome(&expect, got)?;
            }
            Step::ChangePassword { new, client: c, .. } => {
                let session = session?;
                let request = ChangePasswordRequest {
                    old_password: expect.password.map(password),
                    new_password: password(new),
                };
                let got = match self.principal(session, expect.access)? {
                    Ok(p) => self.block_on(self.auth.change_password(&p, request, &client(c))),
                    Err(e) => Err(e),
                };
                Self::outcome(&expect, got)?;
            }
            Step::ResetConfirm {
                right,
                new,
                client: c,
                ..
            } => {
                let (id, code) = self.challenge_input(challenge?, right)?;
                let got = self.block_on(self.auth.confirm_password_reset_sms(
                    id,
                    &code,
                    &password(new),
                    &client(c),
                ));
                Self::outcome(&expect, got)?;
            }
            Step::Disable { slot } | Step::Enable { slot } => {
                let id = self
                    .users
                    .get(usize::from(slot))
                    .copied()
                    .flatten()
                    .unwrap_or_else(UserId::new_random);
                let got = if matches!(step, Step::Disable { .. }) {
                    self.block_on(self.auth.disable_user(id)).map(Some)
                } else {
                    self.block_on(self.auth.enable_user(id)).map(|()| None)
                };
                if let Some((n, out)) = Self::outcome(&expect, got)? {
                    let ok = match (n, &out) {
                        (Some(n), Out::Count(m)) => n == *m,
                        (None, Out::Unit) => true,
                        _ => false,
                    };
                    if !ok {
                        return Err(format!("answered {n:?}; the model says {out:?}"));
                    }
                }
            }
            Step::Advance { secs } => self.clock.advance(std::time::Duration::from_secs(secs)),
        }
        Ok(())
    }

    fn check_principal(&self, model: &ModelState, index: usize, principal: &Principal) -> Checked {
        let user = self.user_of_session(model, index)?;
        let id = self.session(index)?.id;
        if principal.user_id != user || principal.session_id != Some(id) {
            return Err(format!(
                "the access token of session #{index} speaks for {principal:?}"
            ));
        }
        Ok(())
    }

    /// The store key of a model counter.
    fn counter_key(&self, key: &Key) -> Result<String, String> {
        let ip = |c: u8| Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, c + 1)));
        let purpose = |p: Purpose| match p {
            Purpose::Login => ChallengePurpose::Login,
            Purpose::Reset => ChallengePurpose::PasswordReset,
        };
        let account = |a: &AccountKey| -> Result<String, String> {
            Ok(match a {
                AccountKey::Slot(slot) => format!(
                    "user:{}",
                    self.users
                        .get(*slot)
                        .copied()
                        .flatten()
                        .ok_or("a counter of an account without id")?
                ),
                AccountKey::Unknown(identifier) => format!("unknown:{identifier}"),
            })
        };
        let raw = match key {
            Key::SmsCooldown(p) => format!("sms:phone:{}:cooldown", phone(*p)?.as_str()),
            Key::SmsFailures(p, pur) => limits::sms_failures_key(&phone(*p)?, purpose(*pur)),
            Key::PasswordFailures(a) => limits::password_failures_key(&account(a)?),
            Key::PasswordIp(c) => limits::password_ip_key(ip(*c)),
            Key::RefreshIp(c) => limits::refresh_ip_key(ip(*c)),
            Key::RefreshSession(i) => limits::refresh_session_key(self.session(*i)?.id),
            other => return Err(format!("{other:?} is not a failure count")),
        };
        let counters = Counters {
            store: self.store.as_ref(),
            key: &self.auth.inner.counter_key,
        };
        Ok(counters.key(&raw))
    }

    /// Checks what the store holds against the model, and that every session's latest access
    /// token works exactly when the model says so.
    pub(crate) fn check(&self, model: &ModelState) -> Checked {
        let now = self.at(model.now);
        if crate::Clock::now(&self.clock) != now {
            return Err("the clocks parted".to_owned());
        }
        for (slot, m) in model.users.iter().enumerate() {
            let id = self.users.get(slot).copied().flatten();
            let (Some(m), Some(id)) = (m, id) else {
                if m.is_some() != id.is_some() {
                    return Err(format!(
                        "account slot {slot}: registered in one of the two only"
                    ));
                }
                continue;
            };
            let u = self
                .block_on(self.store.user_by_id(id))
                .map_err(|e| format!("user_by_id: {e}"))?
                .ok_or_else(|| format!("account slot {slot} is gone"))?;
            let changed = m.credentials_changed_at.map(|t| self.at(t));
            let disabled = u.status == crate::UserStatus::Disabled;
            if disabled != m.disabled
                || u.login_count != m.login_count
                || u.credentials_changed_at != changed
                || u.password_hash.is_some() != m.password.is_some()
            {
                return Err(format!(
                    "account slot {slot}: stored status {:?}, {} logins, credentials changed \
                     {:?}, password {}; the model says {m:?}",
                    u.status,
                    u.login_count,
                    u.credentials_changed_at,
                    u.password_hash.is_some()
                ));
            }
        }
        for (i, m) in model.sessions.iter().enumerate() {
            let s = self.session(i)?;
            if s.refresh.len() != usize::try_from(m.generation + 1).unwrap_or(0) {
                return Err(format!(
                    "session #{i}: a rotation whose token was never handed out"
                ));
            }
            let stored = self
                .block_on(self.store.session(s.id))
                .map_err(|e| format!("session: {e}"))?
                .ok_or_else(|| format!("session #{i} is gone"))?;
            let status_ok = match (stored.status, m.revoked) {
                (SessionStatus::Active, None) => true,
                (SessionStatus::Revoked { reason, .. }, Some(r)) => reason == r,
                _ => false,
            };
            if !status_ok
                || stored.refresh.generation != m.generation
                || stored.refresh.issued_at != self.at(m.issued_at)
                || stored.last_used_at != self.at(m.last_used_at)
            {
                return Err(format!(
                    "session #{i}: stored {:?}, generation {}, issued {}, last used {}; the \
                     model says {m:?}",
                    stored.status,
                    stored.refresh.generation,
                    stored.refresh.issued_at,
                    stored.last_used_at
                ));
            }
            let latest = m.access.len().saturating_sub(1);
            let got = self.principal(i, Some(latest))?;
            let expected = model.authenticate(i, latest);
            match (&expected, &got) {
                (Ok(_), Ok(p)) => self.check_principal(model, i, p)?,
                (Err(e), Err(g)) if same_error(e, g) => {}
                _ => {
                    return Err(format!(
                        "session #{i}'s latest access token: expected {expected:?}, got {got:?}"
                    ));
                }
            }
        }
        for (i, m) in model.challenges.iter().enumerate() {
            let id = self
                .challenges
                .get(i)
                .ok_or_else(|| format!("no challenge #{i}"))?
                .id;
            let stored = self
                .block_on(self.store.challenge(id))
                .map_err(|e| format!("challenge: {e}"))?
                .ok_or_else(|| format!("challenge #{i} is gone"))?;
            if stored.attempts != m.attempts || stored.consumed_at.is_some() != m.consumed {
                return Err(format!(
                    "challenge #{i}: stored {} attempts, consumed {:?}; the model says {m:?}",
                    stored.attempts, stored.consumed_at
                ));
            }
        }
        let mut keys: Vec<Key> = model.fails.keys().cloned().collect();
        for p in 0..PHONES.len() as u8 {
            keys.extend([
                Key::SmsCooldown(p),
                Key::SmsFailures(p, Purpose::Login),
                Key::SmsFailures(p, Purpose::Reset),
            ]);
        }
        for c in 0..CLIENTS {
            keys.extend([Key::PasswordIp(c), Key::RefreshIp(c)]);
        }
        for slot in 0..SLOTS {
            if self.users.get(slot).copied().flatten().is_some() {
                keys.push(Key::PasswordFailures(AccountKey::Slot(slot)));
            }
        }
        keys.extend((0..model.sessions.len()).map(Key::RefreshSession));
        keys.sort();
        keys.dedup();
        for key in keys {
            let expected = model
                .fails
                .get(&key)
                .copied()
                .filter(|f| f.expires_at > model.now);
            let store_key = self.counter_key(&key)?;
            let stored = self
                .block_on(self.store.failures(&store_key, now))
                .map_err(|e| format!("failures: {e}"))?;
            let same = match (expected, stored) {
                (None, None) => true,
                (Some(e), Some(s)) => {
                    s.count == e.count
                        && s.last_at == self.at(e.last_at)
                        && s.expires_at == self.at(e.expires_at)
                }
                _ => false,
            };
            if !same {
                return Err(format!(
                    "failure count {key:?}: stored {stored:?}; the model says {expected:?}"
                ));
            }
        }
        Ok(())
    }
}

impl Drop for Sut {
    fn drop(&mut self) {
        if let Some(teardown) = self.teardown.take() {
            self.handle.block_on(teardown);
        }
    }
}
