//! Conformance of a [`ChallengeStore`]: round trips, the attempt and consume
//! compare-and-sets (also under concurrency) and the purge of expired challenges.

use super::*;

/// Runs every check of this part in sequence against `store`, on a multi-thread runtime.
///
/// # Panics
/// At the first check the store fails, with a message naming the check and what was expected.
pub async fn run<S: ChallengeStore + ?Sized>(store: Arc<S>) {
    check_challenge_round_trip(Arc::clone(&store)).await;
    check_claim_challenge_attempt(Arc::clone(&store)).await;
    check_consume_challenge(Arc::clone(&store)).await;
    check_purge_expired_challenges(Arc::clone(&store)).await;
    check_concurrent_consume_challenge(Arc::clone(&store)).await;
    check_concurrent_claim_challenge_attempt(store).await;
}

/// `insert_challenge` then `challenge` gives back every field; unknown ids give `None`.
pub async fn check_challenge_round_trip<S: ChallengeStore + ?Sized>(store: Arc<S>) {
    const C: &str = "challenge_round_trip";
    let store = store.as_ref();
    let owner = UserId::new_random();
    let now = now_ms();

    let with_user = challenge(random_phone(C), Some(owner), now);
    let mut without_user = challenge(random_phone(C), None, now - minutes(1));
    without_user.expires_at = now + minutes(15);
    without_user.attempts = 2;
    for (c, what) in [
        (&with_user, "with a user id"),
        (&without_user, "without a user id"),
    ] {
        ok(C, "insert_challenge", store.insert_challenge(c).await);
        let got = found(C, "challenge", store.challenge(c.id).await);
        ensure_eq!(C, &got, c, "a challenge {what} must round-trip every field");
    }
    ensure_eq!(
        C,
        ok(
            C,
            "challenge(unknown id)",
            store.challenge(ChallengeId::new_random()).await
        ),
        None,
        "challenge of an unknown id"
    );
}

/// `claim_challenge_attempt` counts up to (never past) `max_attempts`, returns `None` at the
/// limit, for a consumed challenge and for an unknown id, and changes nothing then.
pub async fn check_claim_challenge_attempt<S: ChallengeStore + ?Sized>(store: Arc<S>) {
    const C: &str = "claim_challenge_attempt";
    let store = store.as_ref();
    let mut c = inserted_challenge(C, store).await;

    for n in 1..=3 {
        ensure_eq!(
            C,
            ok(
                C,
                "claim_challenge_attempt",
                store.claim_challenge_attempt(c.id, 3).await
            ),
            Some(n),
            "attempt {n} of 3 must be granted and return the new count"
        );
    }
    for _ in 0..2 {
        ensure_eq!(
            C,
            ok(
                C,
                "claim_challenge_attempt",
                store.claim_challenge_attempt(c.id, 3).await
            ),
            None,
            "no attempt may be granted once `attempts` reached max_attempts (3)"
        );
    }
    c.attempts = 3;
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(c.id).await),
        c.clone(),
        "attempts must stay at max_attempts after refused claims"
    );
    // The limit is the argument of each call.
    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt",
            store.claim_challenge_attempt(c.id, 4).await
        ),
        Some(4),
        "with max_attempts 4 and 3 attempts made, one more attempt must be granted"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt",
            store.claim_challenge_attempt(c.id, 4).await
        ),
        None,
        "with max_attempts 4 and 4 attempts made, no attempt may be granted"
    );

    let consumed = inserted_challenge(C, store).await;
    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt",
            store.claim_challenge_attempt(consumed.id, 5).await
        ),
        Some(1),
        "first attempt on a fresh challenge"
    );
    let at = now_ms();
    ensure_eq!(
        C,
        ok(
            C,
            "consume_challenge",
            store.consume_challenge(consumed.id, at).await
        ),
        true,
        "consume_challenge of an open challenge"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt",
            store.claim_challenge_attempt(consumed.id, 5).await
        ),
        None,
        "no attempt may be granted on a consumed challenge"
    );
    let mut expected = consumed.clone();
    expected.attempts = 1;
    expected.consumed_at = Some(at);
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(consumed.id).await),
        expected,
        "a refused claim on a consumed challenge must change nothing"
    );

    ensure_eq!(
        C,
        ok(
            C,
            "claim_challenge_attempt(unknown id)",
            store
                .claim_challenge_attempt(ChallengeId::new_random(), 5)
                .await
        ),
        None,
        "claim_challenge_attempt of an unknown id"
    );
}

/// `consume_challenge`: `true` once (and `consumed_at` is set to `at`, nothing else changes),
/// then `false`; `false` for an unknown id.
pub async fn check_consume_challenge<S: ChallengeStore + ?Sized>(store: Arc<S>) {
    const C: &str = "consume_challenge";
    let store = store.as_ref();
    let c = inserted_challenge(C, store).await;
    let at = now_ms() + Duration::seconds(5);
    ensure_eq!(
        C,
        ok(
            C,
            "consume_challenge",
            store.consume_challenge(c.id, at).await
        ),
        true,
        "the first consume_challenge must return true"
    );
    let mut expected = c.clone();
    expected.consumed_at = Some(at);
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(c.id).await),
        expected.clone(),
        "consume_challenge must set consumed_at = at and change nothing else"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "consume_challenge (again)",
            store.consume_challenge(c.id, at + minutes(1)).await
        ),
        false,
        "a second consume_challenge must return false"
    );
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(c.id).await),
        expected,
        "a refused consume_challenge must not move consumed_at"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "consume_challenge(unknown id)",
            store.consume_challenge(ChallengeId::new_random(), at).await
        ),
        false,
        "consume_challenge of an unknown id must return false"
    );
}

/// `purge_expired_challenges(now)` removes the challenges (open or consumed) that expired
/// before `now`, counts them, and keeps live ones (consumed ones included).
pub async fn check_purge_expired_challenges<S: ChallengeStore + ?Sized>(store: Arc<S>) {
    const C: &str = "purge_expired_challenges";
    let store = store.as_ref();
    let base = now_ms();
    let soon = base + minutes(1);
    let later = base + minutes(60);
    let purge_at = base + minutes(2);
    let user_id = UserId::new_random();

    // Expiring at `soon`: these must go.
    let mut expired_challenge = challenge(random_phone(C), None, base);
    expired_challenge.expires_at = soon;
    let mut expired_consumed = challenge(random_phone(C), Some(user_id), base);
    expired_consumed.expires_at = soon;
    // Expiring at `later`: these must stay.
    let live_challenge = challenge(random_phone(C), None, base);
    let mut live_consumed = challenge(random_phone(C), Some(user_id), base);
    live_consumed.expires_at = later;

    for c in [
        &expired_challenge,
        &expired_consumed,
        &live_challenge,
        &live_consumed,
    ] {
        ok(C, "insert_challenge", store.insert_challenge(c).await);
    }
    for c in [&expired_consumed, &live_consumed] {
        ensure_eq!(
            C,
            ok(
                C,
                "consume_challenge",
                store.consume_challenge(c.id, base).await
            ),
            true,
            "consume_challenge of an open challenge"
        );
    }

    let purged = ok(
        C,
        "purge_expired_challenges",
        store.purge_expired_challenges(purge_at).await,
    );
    ensure!(
        C,
        purged >= 2,
        "purge_expired_challenges returned {purged}; expected at least the 2 expired challenges \
         this check created"
    );
    for (c, what) in [
        (&expired_challenge, "an expired challenge"),
        (&expired_consumed, "an expired consumed challenge"),
    ] {
        ensure_eq!(
            C,
            ok(C, "challenge", store.challenge(c.id).await),
            None,
            "{what} must be gone after purge_expired_challenges"
        );
    }
    ensure!(
        C,
        ok(C, "challenge", store.challenge(live_challenge.id).await).is_some(),
        "a live challenge must survive purge_expired_challenges"
    );
    ensure!(
        C,
        ok(C, "challenge", store.challenge(live_consumed.id).await).is_some(),
        "a consumed challenge not yet past its expiry must survive purge_expired_challenges \
         (replays must still read as consumed)"
    );
}

/// 32 concurrent `consume_challenge` calls: exactly one `true`, and `consumed_at` is the
/// winner's.
pub async fn check_concurrent_consume_challenge<S: ChallengeStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_consume_challenge";
    let c = inserted_challenge(C, store.as_ref()).await;
    let t0 = now_ms();
    let at = move |i: usize| t0 + Duration::milliseconds(i as i64);

    let id = c.id;
    let results = race(C, 32, |i| {
        let store = Arc::clone(&store);
        async move { store.consume_challenge(id, at(i)).await }
    })
    .await;
    let wins: Vec<usize> = results
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| ok(C, "consume_challenge", r).then_some(i))
        .collect();
    ensure_eq!(
        C,
        wins.len(),
        1,
        "of 32 concurrent consume_challenge calls, exactly one must return true"
    );
    let stored = found(C, "challenge", store.challenge(c.id).await);
    ensure_eq!(
        C,
        stored.consumed_at,
        wins.first().map(|&i| at(i)),
        "consumed_at must be the winner's time"
    );
}

/// 32 concurrent `claim_challenge_attempt` calls with `max_attempts` 5: exactly 5 are granted,
/// numbered 1 to 5, and `attempts` ends at 5.
pub async fn check_concurrent_claim_challenge_attempt<S: ChallengeStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_claim_challenge_attempt";
    let c = inserted_challenge(C, store.as_ref()).await;

    let id = c.id;
    let results = race(C, 32, |_| {
        let store = Arc::clone(&store);
        async move { store.claim_challenge_attempt(id, 5).await }
    })
    .await;
    let mut granted: Vec<u32> = results
        .into_iter()
        .filter_map(|r| ok(C, "claim_challenge_attempt", r))
        .collect();
    granted.sort_unstable();
    ensure_eq!(
        C,
        granted,
        vec![1, 2, 3, 4, 5],
        "of 32 concurrent claims with max_attempts 5, exactly 5 must be granted, returning 1 to \
         5 once each"
    );
    ensure_eq!(
        C,
        found(C, "challenge", store.challenge(c.id).await).attempts,
        5,
        "attempts after 32 concurrent claims with max_attempts 5"
    );
}
