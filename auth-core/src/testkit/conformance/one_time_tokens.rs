//! Conformance of a [`OneTimeTokenStore`]: round trips of every purpose, single use (also
//! under concurrency) and the purge of expired tokens.

use super::*;
use crate::email_token::{EmailToken, EmailTokenPurpose};

/// Runs every check of this part in sequence against `store`, on a multi-thread runtime.
///
/// # Panics
/// At the first check the store fails, with a message naming the check and what was expected.
pub async fn run<S: OneTimeTokenStore + ?Sized>(store: Arc<S>) {
    check_email_tokens(Arc::clone(&store)).await;
    check_purge_expired_email_tokens(Arc::clone(&store)).await;
    check_concurrent_consume_email_token(store).await;
}

/// A fresh open emailed token (of a user id that need not exist), inserted into the store.
async fn inserted_email_token<S: OneTimeTokenStore + ?Sized>(
    check: &str,
    store: &S,
    purpose: EmailTokenPurpose,
) -> EmailToken {
    let now = now_ms();
    let token = EmailToken {
        hash: random_hash(),
        purpose,
        user_id: UserId::new_random(),
        email: fresh_email(check),
        created_at: now,
        expires_at: now + Duration::hours(1),
        consumed_at: None,
    };
    ok(
        check,
        "insert_email_token",
        store.insert_email_token(&token).await,
    );
    token
}

/// Emailed tokens: every purpose round-trips, unknown hashes read `None`, a duplicate hash is
/// `Conflict(Id)`, `consume_email_token` is `true` once (setting only `consumed_at`), then
/// `false`, and `false` for an unknown hash.
pub async fn check_email_tokens<S: OneTimeTokenStore + ?Sized>(store: Arc<S>) {
    const C: &str = "email_tokens";
    let store = store.as_ref();
    for purpose in [
        EmailTokenPurpose::Activation,
        EmailTokenPurpose::PasswordReset,
        EmailTokenPurpose::EmailChange,
    ] {
        let t = inserted_email_token(C, store, purpose).await;
        ensure_eq!(
            C,
            found(C, "email_token", store.email_token(&t.hash).await),
            t.clone(),
            "an emailed token must read back exactly as inserted"
        );
    }
    ensure_eq!(
        C,
        ok(
            C,
            "email_token(unknown)",
            store.email_token(&random_hash()).await
        ),
        None,
        "an unknown hash reads None"
    );
    let t = inserted_email_token(C, store, EmailTokenPurpose::Activation).await;
    match store.insert_email_token(&t).await {
        Err(StoreError::Conflict(UniqueField::Id)) => {}
        other => fail(
            C,
            format_args!("inserting a duplicate hash gave {other:?}, expected Conflict(Id)"),
        ),
    }
    let at = now_ms() + Duration::seconds(3);
    ensure_eq!(
        C,
        ok(
            C,
            "consume_email_token",
            store.consume_email_token(&t.hash, at).await
        ),
        true,
        "the first consume_email_token must return true"
    );
    let mut expected = t.clone();
    expected.consumed_at = Some(at);
    ensure_eq!(
        C,
        found(C, "email_token", store.email_token(&t.hash).await),
        expected.clone(),
        "consume_email_token must set consumed_at = at and change nothing else"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "consume_email_token (again)",
            store.consume_email_token(&t.hash, at + minutes(1)).await
        ),
        false,
        "a second consume_email_token must return false"
    );
    ensure_eq!(
        C,
        found(C, "email_token", store.email_token(&t.hash).await),
        expected,
        "a refused consume_email_token must not move consumed_at"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "consume_email_token(unknown)",
            store.consume_email_token(&random_hash(), at).await
        ),
        false,
        "consume_email_token of an unknown hash must return false"
    );
}

/// `purge_expired_email_tokens(now)` removes the tokens that expired before `now`, counts
/// them, and keeps live ones.
pub async fn check_purge_expired_email_tokens<S: OneTimeTokenStore + ?Sized>(store: Arc<S>) {
    const C: &str = "purge_expired_email_tokens";
    let store = store.as_ref();
    let base = now_ms();
    let soon = base + minutes(1);
    let later = base + minutes(60);
    let purge_at = base + minutes(2);
    let user_id = UserId::new_random();
    let token = |expires_at| EmailToken {
        hash: random_hash(),
        purpose: EmailTokenPurpose::Activation,
        user_id,
        email: fresh_email(C),
        created_at: base,
        expires_at,
        consumed_at: None,
    };
    let (expired_token, live_token) = (token(soon), token(later));
    for t in [&expired_token, &live_token] {
        ok(C, "insert_email_token", store.insert_email_token(t).await);
    }

    let purged = ok(
        C,
        "purge_expired_email_tokens",
        store.purge_expired_email_tokens(purge_at).await,
    );
    ensure!(
        C,
        purged >= 1,
        "purge_expired_email_tokens returned {purged}; expected at least the expired emailed \
         token this check created"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "email_token",
            store.email_token(&expired_token.hash).await
        ),
        None,
        "an expired emailed token must be gone after purge_expired_email_tokens"
    );
    ensure!(
        C,
        ok(C, "email_token", store.email_token(&live_token.hash).await).is_some(),
        "a live emailed token must survive purge_expired_email_tokens"
    );
}

/// 32 concurrent `consume_email_token` calls: exactly one `true`.
pub async fn check_concurrent_consume_email_token<S: OneTimeTokenStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_consume_email_token";
    let t = inserted_email_token(C, store.as_ref(), EmailTokenPurpose::PasswordReset).await;
    let at = now_ms();
    let hash = t.hash;
    let results = race(C, 32, |_| {
        let store = Arc::clone(&store);
        async move { store.consume_email_token(&hash, at).await }
    })
    .await;
    let wins = results
        .into_iter()
        .filter(|r| matches!(r, Ok(true)))
        .count();
    ensure_eq!(
        C,
        wins,
        1,
        "of 32 concurrent consume_email_token calls, exactly one must return true"
    );
}
