//! Core micro-benchmarks, each beside its baseline in the same run:
//! `authenticate` (stateless, with the session check on MemoryStore, and through a session
//! cache) against a raw
//! `jsonwebtoken::decode` of the same token with the same validation; issuing an access
//! token; refresh rotation; SMS code verification; classifying a presented refresh token 1,
//! 1 000 and 100 000 generations old (`refresh_classify`: the three must cost the same).
//!
//! Run: `cargo bench -p auth-core --bench core` (one group: `... -- refresh_classify`)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use auth_core::Auth;
use auth_core::api::{ClientInfo, RegisterRequest};
use auth_core::session_cache::SessionCacheConfig;
use auth_core::testkit::{LocalEventBus, TestKit};
use auth_core::token::access::{AccessClaims, validation};
use auth_core::token::refresh::bench::ClassifyOld;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, decode};

const PHONE: &str = "+15551234567";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A kit with limits high enough that benchmarks never hit them.
fn kit(stateless: bool) -> TestKit {
    let mut cfg = TestKit::config();
    cfg.access.mode = if stateless {
        auth_core::config::AccessMode::Stateless
    } else {
        auth_core::config::AccessMode::SessionChecked
    };
    cfg.sms.resend_cooldown_secs = 0;
    cfg.sms.per_phone_per_hour = u64::MAX / 2;
    cfg.sms.per_phone_per_day = u64::MAX / 2;
    cfg.sms.per_ip_per_hour = u64::MAX / 2;
    cfg.sms.per_ip_per_day = u64::MAX / 2;
    TestKit::with_config(cfg)
}

fn authenticate(c: &mut Criterion) {
    let rt = runtime();
    let stateless = kit(true);
    let stateful = kit(false);
    let token = rt
        .block_on(stateless.sign_in_by_sms(PHONE))
        .unwrap()
        .access_token;
    let token_stateful = rt
        .block_on(stateful.sign_in_by_sms(PHONE))
        .unwrap()
        .access_token;
    // Keep the manual clock near real time is not needed: exp is checked against the kit's clock.
    let cfg = stateless.auth.config();
    let key = DecodingKey::from_secret(cfg.secret.expose());
    let v = validation(cfg);

    let mut g = c.benchmark_group("authenticate");
    g.bench_function("raw_jsonwebtoken_decode", |b| {
        b.iter(|| decode::<AccessClaims>(black_box(token.expose()), &key, &v).unwrap())
    });
    g.bench_function("stateless", |b| {
        b.to_async(&rt).iter(|| async {
            stateless
                .auth
                .authenticate(black_box(token.expose()))
                .await
                .unwrap()
        })
    });
    g.bench_function("session_check_memory_store", |b| {
        b.to_async(&rt).iter(|| async {
            stateful
                .auth
                .authenticate(black_box(token_stateful.expose()))
                .await
                .unwrap()
        })
    });
    // The same check through a session cache (answers kept 1 s, so nearly every call is a
    // hit): what a Redis or PostgreSQL store costs per request with the cache on.
    let cached = Auth::builder(stateful.auth.config().clone())
        .store(stateful.store.clone())
        .sms(stateful.sms.clone())
        .clock(stateful.clock.clone())
        .session_cache(LocalEventBus::new(), SessionCacheConfig::default())
        .build()
        .unwrap();
    g.bench_function("session_check_cached", |b| {
        b.to_async(&rt).iter(|| async {
            cached
                .authenticate(black_box(token_stateful.expose()))
                .await
                .unwrap()
        })
    });
    g.finish();
}

fn issue_and_rotate(c: &mut Criterion) {
    let rt = runtime();
    let kit = kit(false);
    let pair = rt.block_on(kit.sign_in_by_sms(PHONE)).unwrap();
    let client = ClientInfo::default();
    let tokens = auth_core::token::access::AccessTokens::new(kit.auth.config());
    let now = chrono::Utc::now();

    let mut g = c.benchmark_group("tokens");
    g.bench_function("issue_access_token", |b| {
        b.iter(|| {
            tokens
                .issue(pair.user_id, pair.session_id, vec![], black_box(now))
                .unwrap()
        })
    });
    let current = std::cell::RefCell::new(pair.refresh_token.clone());
    g.bench_function("refresh_rotation_memory_store", |b| {
        b.to_async(&rt).iter(|| async {
            let tok = current.borrow().clone();
            let next = kit.auth.refresh(tok.expose(), &client).await.unwrap();
            *current.borrow_mut() = next.refresh_token;
        })
    });
    g.finish();
}

fn sms(c: &mut Criterion) {
    let rt = runtime();
    let kit = kit(false);
    let client = ClientInfo::default();
    rt.block_on(async {
        kit.auth
            .register(
                RegisterRequest {
                    phone: Some(PHONE.into()),
                    ..Default::default()
                }
                .parse(kit.auth.config())
                .unwrap(),
                &client,
            )
            .await
            .unwrap();
    });
    let mut g = c.benchmark_group("sms");
    g.bench_function("start_and_verify_memory_store", |b| {
        b.to_async(&rt).iter(|| async {
            // Parsed per request, as the HTTP layer does.
            let phone = auth_core::Phone::parse(PHONE, false).unwrap();
            let ch = kit.auth.start_sms_login(&phone, &client).await.unwrap();
            let code = kit.sms.last_code_for(PHONE).unwrap();
            kit.auth
                .verify_sms(ch.challenge_id, &code, &client)
                .await
                .unwrap()
        })
    });
    g.finish();
}

/// Parsing, authenticating and classifying a genuine refresh token against its session's
/// state (no store), for tokens 1 (the grace-window case), 1 000 and 100 000 generations
/// behind (reuse).
fn refresh_classify(c: &mut Criterion) {
    let mut g = c.benchmark_group("refresh_classify");
    for age in [1u64, 1_000, 100_000] {
        let case = ClassifyOld::new(age);
        let expected = if age == 1 { "previous" } else { "older" };
        assert_eq!(case.classify(), expected, "a token {age} generations old");
        g.bench_function(format!("{age}_old"), |b| {
            b.iter(|| black_box(&case).classify())
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    authenticate,
    issue_and_rotate,
    sms,
    refresh_classify
);
criterion_main!(benches);
