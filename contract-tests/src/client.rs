//! The HTTP side of a check: a [`Ctx`] holding the kit and the server, a request builder
//! ([`Req`]), a buffered response with contract assertions ([`Res`]), and the flows most checks
//! start with (register, SMS login, password login).

use std::time::Duration;

use auth_core::Auth;
use auth_core::testkit::TestKit;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::TestServer;

/// The root of the auth routes on the server under test.
pub const PREFIX: &str = "/api/auth";

/// A strong password every policy of the test kit accepts.
pub const PASSWORD: &str = "correct horse battery staple 1987";
/// Another strong password.
pub const OTHER_PASSWORD: &str = "violet tractor umbrella sunrise 55";

/// What one check works with: its own test kit (keep it to move the clock, break the store…)
/// and the server under test.
pub struct Ctx {
    /// The kit behind the server: `kit.auth`, `kit.clock`, `kit.sms`, `kit.store`.
    pub kit: TestKit,
    server: TestServer,
    http: reqwest::Client,
    base: String,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("server", &self.server).finish()
    }
}

/// A token pair from a login or a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// `access_token`.
    pub access: String,
    /// `refresh_token`.
    pub refresh: String,
    /// `user_id`.
    pub user_id: String,
    /// `session_id`.
    pub session_id: String,
}

impl Ctx {
    /// A context for `server`, backed by `kit`.
    pub fn new(kit: TestKit, server: TestServer) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("building the HTTP client");
        let base = format!("http://{}", server.addr());
        Self {
            kit,
            server,
            http,
            base,
        }
    }

    /// The service behind the server.
    pub fn auth(&self) -> &Auth {
        &self.kit.auth
    }

    /// The underlying HTTP client (cheap to clone), for concurrent requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// A request to `path` (from the server root, e.g. `/api/hello`).
    pub fn request(&self, method: Method, path: &str) -> Req {
        Req {
            what: format!("{method} {path}"),
            builder: self.http.request(method, self.url(path)),
        }
    }

    /// A request to an auth route (`route` relative to [`PREFIX`], e.g. `/login`).
    pub fn route(&self, method: Method, route: &str) -> Req {
        self.request(method, &format!("{PREFIX}{route}"))
    }

    /// `POST` an auth route with a JSON body.
    pub async fn post_json(&self, route: &str, body: &Value) -> Res {
        self.route(Method::POST, route).json(body).send().await
    }

    /// Moves the kit's clock forward.
    pub fn advance(&self, secs: u64) {
        self.kit.clock.advance(Duration::from_secs(secs));
    }

    /// Registers an SMS account; returns its user id.
    pub async fn register_phone(&self, phone: &str) -> String {
        let res = self
            .post_json("/register", &json!({ "phone": phone }))
            .await;
        registered(&res, false)
    }

    /// Registers a password account and activates it with the mailed token (`POST /activate`);
    /// returns its user id.
    pub async fn register_email(&self, email: &str, password: &str) -> String {
        let res = self
            .post_json(
                "/register",
                &json!({ "email": email, "password": password }),
            )
            .await;
        let user_id = registered(&res, true);
        self.activate(email).await;
        user_id
    }

    /// The token of the latest mail to `email`.
    pub fn mail_token_for(&self, email: &str) -> String {
        self.kit
            .mail
            .last_token_for(email)
            .unwrap_or_else(|| panic!("no mail with a token was sent to {email}"))
    }

    /// `POST /activate` with the latest token mailed to `email`; expects 204.
    pub async fn activate(&self, email: &str) {
        let token = self.mail_token_for(email);
        self.post_json("/activate", &json!({ "token": token }))
            .await
            .no_content();
    }

    /// `POST /login {"phone"}`; checks the 202 shape and returns the challenge id.
    pub async fn start_sms_login(&self, phone: &str) -> String {
        let res = self.post_json("/login", &json!({ "phone": phone })).await;
        challenge_sent(&res)
    }

    /// The code of the latest SMS sent to `phone`.
    pub fn code_for(&self, phone: &str) -> String {
        self.kit
            .sms
            .last_code_for(phone)
            .unwrap_or_else(|| panic!("no SMS was sent to {phone}"))
            .expose()
            .to_owned()
    }

    /// `POST /verify_sms`.
    pub async fn verify_sms(&self, challenge_id: &str, code: &str) -> Res {
        self.post_json(
            "/verify_sms",
            &json!({ "challenge_id": challenge_id, "code": code }),
        )
        .await
    }

    /// A full SMS login of an existing account: `/login`, read the SMS, `/verify_sms`.
    /// Mind the resend cooldown (60 s) between two logins of one phone.
    pub async fn sms_login(&self, phone: &str) -> Tokens {
        let challenge = self.start_sms_login(phone).await;
        let code = self.code_for(phone);
        self.verify_sms(&challenge, &code).await.tokens()
    }

    /// Registers an SMS account and logs it in.
    pub async fn sms_user(&self, phone: &str) -> Tokens {
        let user_id = self.register_phone(phone).await;
        let tokens = self.sms_login(phone).await;
        assert_eq!(
            tokens.user_id, user_id,
            "the login is for the registered user"
        );
        tokens
    }

    /// `POST /login {"email","password"}`, expecting a token pair.
    pub async fn password_login(&self, email: &str, password: &str) -> Tokens {
        self.post_json("/login", &json!({ "email": email, "password": password }))
            .await
            .tokens()
    }

    /// `POST /refresh` with the token in the body.
    pub async fn refresh(&self, refresh_token: &str) -> Res {
        self.post_json("/refresh", &json!({ "refresh_token": refresh_token }))
            .await
    }

    /// `GET` a path with an optional bearer token.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Res {
        let mut req = self.request(Method::GET, path);
        if let Some(token) = bearer {
            req = req.bearer(token);
        }
        req.send().await
    }

    /// `GET /api/auth/me` with `bearer`.
    pub async fn me(&self, bearer: &str) -> Res {
        self.get(&format!("{PREFIX}/me"), Some(bearer)).await
    }
}

/// Checks a `201 {"user_id","activation_required"}` answer; returns the user id.
#[track_caller]
pub(crate) fn registered(res: &Res, activation_required: bool) -> String {
    let v = res.json_with(201);
    res.keys(&v, &["activation_required", "user_id"]);
    assert_eq!(
        v["activation_required"],
        json!(activation_required),
        "{}: activation_required",
        res.what
    );
    v["user_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: user_id is not a string", res.what))
        .to_owned()
}

/// Checks a `202 {"challenge_id","expires_in","resend_in"}` answer; returns the challenge id.
#[track_caller]
pub(crate) fn challenge_sent(res: &Res) -> String {
    let v = res.json_with(202);
    res.keys(&v, &["challenge_id", "expires_in", "resend_in"]);
    assert_eq!(v["expires_in"], json!(600), "{}: expires_in", res.what);
    assert_eq!(v["resend_in"], json!(60), "{}: resend_in", res.what);
    v["challenge_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: challenge_id is not a string", res.what))
        .to_owned()
}

/// A request being built.
#[derive(Debug)]
pub struct Req {
    what: String,
    builder: reqwest::RequestBuilder,
}

impl Req {
    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Adds a header.
    pub fn header(self, name: &str, value: &str) -> Self {
        Self {
            what: self.what,
            builder: self.builder.header(name, value),
        }
    }

    /// Adds a header with arbitrary bytes as its value.
    pub fn header_bytes(self, name: &'static str, value: &[u8]) -> Self {
        let value = reqwest::header::HeaderValue::from_bytes(value).expect("a header value");
        Self {
            what: self.what,
            builder: self.builder.header(name, value),
        }
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Self {
        self.body(Some("application/json"), body.to_string().into_bytes())
    }

    /// A raw body, with the given content type (none when `None`).
    pub fn body(self, content_type: Option<&str>, body: Vec<u8>) -> Self {
        let builder = match content_type {
            Some(ct) => self.builder.header("content-type", ct),
            None => self.builder,
        };
        Self {
            what: self.what,
            builder: builder.body(body),
        }
    }

    /// Sends it and buffers the answer; panics on a transport error.
    pub async fn send(self) -> Res {
        let what = self.what.clone();
        match self.try_send().await {
            Ok(res) => res,
            Err(e) => panic!("{what}: no HTTP answer: {e}"),
        }
    }

    /// Sends it and buffers the answer.
    pub async fn try_send(self) -> Result<Res, reqwest::Error> {
        let response = self.builder.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        Ok(Res {
            what: self.what,
            status,
            headers,
            body,
        })
    }
}

/// A buffered response, with assertions that name the request when they fail.
#[derive(Debug, Clone)]
pub struct Res {
    /// `METHOD /path` of the request.
    pub what: String,
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Res {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status.
    #[track_caller]
    pub fn status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status,
            expected,
            "{}: status {} (expected {expected}); body: {}",
            self.what,
            self.status,
            self.body_text()
        );
        self
    }

    /// Asserts `content-type: application/json` and parses the body.
    #[track_caller]
    pub fn json(&self) -> Value {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")),
            "{}: status {}, content-type {ct:?}, expected application/json; body: {}",
            self.what,
            self.status,
            self.body_text()
        );
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: the body is not JSON ({e}): {}",
                self.what,
                self.body_text()
            )
        })
    }

    /// Asserts the status and a JSON body; returns it.
    #[track_caller]
    pub fn json_with(&self, status: u16) -> Value {
        self.status(status);
        self.json()
    }

    /// Asserts that `v` is an object with exactly these keys (in any order).
    #[track_caller]
    pub fn keys(&self, v: &Value, expected: &[&str]) {
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("{}: expected a JSON object, got {v}", self.what));
        let mut got: Vec<&str> = obj.keys().map(String::as_str).collect();
        got.sort_unstable();
        let mut want = expected.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{}: the object's fields", self.what);
    }

    /// Asserts a contract error: the status, `content-type: application/json`, and exactly
    /// `{"error": code, "message": <string>}`.
    #[track_caller]
    pub fn error(&self, status: u16, code: &str) -> &Self {
        let v = self.json_with(status);
        self.keys(&v, &["error", "message"]);
        assert_eq!(v["error"], json!(code), "{}: error code", self.what);
        assert!(
            v["message"].is_string(),
            "{}: message must be a string",
            self.what
        );
        self
    }

    /// Asserts a 204 with an empty body.
    #[track_caller]
    pub fn no_content(&self) -> &Self {
        self.status(204);
        assert!(
            self.body.is_empty(),
            "{}: a 204 has no body, got {}",
            self.what,
            self.body_text()
        );
        self
    }

    /// Asserts `Cache-Control: no-store`.
    #[track_caller]
    pub fn no_store(&self) -> &Self {
        let cc = self.header("cache-control").unwrap_or_default();
        assert!(
            cc.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-store")),
            "{}: cache-control is {cc:?}, expected no-store",
            self.what
        );
        self
    }

    /// Asserts there is no `Retry-After` header.
    #[track_caller]
    pub fn no_retry_after(&self) -> &Self {
        assert!(
            self.headers.get("retry-after").is_none(),
            "{}: unexpected Retry-After {:?}",
            self.what,
            self.headers.get("retry-after")
        );
        self
    }

    /// Asserts a `Retry-After` header of whole seconds in `1..=max`; returns it.
    #[track_caller]
    pub fn retry_after(&self, max: u64) -> u64 {
        let value = self
            .header("retry-after")
            .unwrap_or_else(|| panic!("{}: Retry-After is missing", self.what));
        let secs: u64 = value
            .parse()
            .unwrap_or_else(|_| panic!("{}: Retry-After {value:?} is not seconds", self.what));
        assert!(
            (1..=max).contains(&secs),
            "{}: Retry-After {secs} not in 1..={max}",
            self.what
        );
        secs
    }

    /// Asserts a `200` token pair with exactly the contract's fields and
    /// `Cache-Control: no-store`; returns the tokens.
    #[track_caller]
    pub fn tokens(&self) -> Tokens {
        let v = self.json_with(200);
        self.no_store();
        self.keys(
            &v,
            &[
                "access_token",
                "refresh_token",
                "token_type",
                "expires_in",
                "refresh_expires_in",
                "user_id",
                "session_id",
            ],
        );
        assert_eq!(
            v["token_type"],
            json!("Bearer"),
            "{}: token_type",
            self.what
        );
        assert_eq!(v["expires_in"], json!(600), "{}: expires_in", self.what);
        assert!(
            v["refresh_expires_in"].as_u64().is_some_and(|s| s > 0),
            "{}: refresh_expires_in must be positive seconds, got {}",
            self.what,
            v["refresh_expires_in"]
        );
        let text = |k: &str| -> String {
            v[k].as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| panic!("{}: {k} must be a non-empty string", self.what))
                .to_owned()
        };
        Tokens {
            access: text("access_token"),
            refresh: text("refresh_token"),
            user_id: text("user_id"),
            session_id: text("session_id"),
        }
    }
}
