//! Conformance of a [`SessionStore`] (with the [`UserStore`] it
//! extends): round trips, the owner read with a session, the refresh and revocation
//! compare-and-sets (also under concurrency), listing a user's sessions and the purge of
//! expired sessions.

use super::*;
use crate::session::{RevokeReason, SessionOwner};

/// Runs every check of this part in sequence against `store`, on a multi-thread runtime.
///
/// # Panics
/// At the first check the store fails, with a message naming the check and what was expected.
pub async fn run<S: SessionStore + ?Sized>(store: Arc<S>) {
    check_session_round_trip(Arc::clone(&store)).await;
    check_session_with_owner(Arc::clone(&store)).await;
    check_rotate_refresh(Arc::clone(&store)).await;
    check_revoke_session(Arc::clone(&store)).await;
    check_sessions_of_user(Arc::clone(&store)).await;
    check_revoke_user_sessions(Arc::clone(&store)).await;
    check_purge_expired_sessions(Arc::clone(&store)).await;
    check_concurrent_rotate_refresh(Arc::clone(&store)).await;
    check_concurrent_revoke_session(store).await;
}

/// `insert_session` then `session` gives back every field (IP absent / v4 / v6 /
/// IPv4-mapped v6, user agent absent / empty / 512 non-ASCII characters); every
/// `RevokeReason` and revocation time round-trips.
pub async fn check_session_round_trip<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "session_round_trip";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let now = now_ms();

    let long_agent: String = "Mozilla/5.0 (X11; Linux x86_64) «ünïcödé» ✓ 日本語 "
        .chars()
        .cycle()
        .take(512)
        .collect();
    let variants: [(Option<IpAddr>, Option<String>); 5] = [
        (None, None),
        (Some(ipv4()), Some("curl/8.5.0".to_owned())),
        (
            Some(ipv4()),
            Some("agent \"quoted\" back\\slash\ttab \u{1} {\"user_id\":\"x\"}".to_owned()),
        ),
        (Some(ipv6()), Some(long_agent)),
        (Some(ipv4_mapped()), Some(String::new())),
    ];
    for (i, (ip, user_agent)) in variants.into_iter().enumerate() {
        let mut s = session(user.id, now - minutes(30));
        s.last_used_at = now - minutes(3);
        s.expires_at = now + Duration::hours(20);
        s.ip = ip;
        s.user_agent = user_agent;
        s.refresh = RefreshState {
            generation: 3 + i as u64,
            hash: random_hash(),
            issued_at: now - minutes(3),
        };
        ok(C, "insert_session", store.insert_session(&s).await);
        let got = found(C, "session", store.session(s.id).await);
        ensure_eq!(
            C,
            got,
            s,
            "a session (ip {ip:?}, user agent {}) must round-trip every field",
            s.user_agent.as_ref().map_or("None".to_owned(), |a| format!(
                "Some(<{} chars>)",
                a.chars().count()
            ))
        );
    }

    let reasons = [
        RevokeReason::Logout,
        RevokeReason::RevokedByUser,
        RevokeReason::PasswordChanged,
        RevokeReason::RefreshTokenReused,
        RevokeReason::UserDisabled,
        RevokeReason::Admin,
    ];
    for (i, reason) in reasons.into_iter().enumerate() {
        let s = inserted_session(C, store, user.id, now).await;
        let at = now + Duration::seconds(i as i64 + 1);
        ensure_eq!(
            C,
            ok(
                C,
                "revoke_session",
                store.revoke_session(s.id, at, reason).await
            ),
            true,
            "revoke_session of an active session"
        );
        let mut expected = s.clone();
        expected.status = SessionStatus::Revoked { at, reason };
        ensure_eq!(
            C,
            found(C, "session", store.session(s.id).await),
            expected,
            "a session revoked with {reason:?} must read back as revoked with that reason and \
             time, other fields unchanged"
        );
    }

    ensure_eq!(
        C,
        ok(
            C,
            "session(unknown id)",
            store.session(SessionId::new_random()).await
        ),
        None,
        "session of an unknown id"
    );
}

/// `session_with_owner` gives what `session` and `user_by_id` give, read now: the session as
/// stored (active or revoked), and the user's current status and roles, so a role taken away
/// or an account disabled shows on the next read. An unknown id is `None`. Every read is made
/// three times, with no claimed user, the session's own and another user, and all three must
/// give the session's own user: the claim is a hint, never the answer.
pub async fn check_session_with_owner<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "session_with_owner";
    let store = store.as_ref();
    let now = now_ms();
    let mut user = User::new(UserId::new_random(), now);
    user.roles = vec!["admin".to_owned(), "editor".to_owned()];
    ok(C, "create_user", store.create_user(&user).await);
    let other = created_bare_user(C, store).await;
    // A user agent that spells out another user's id must not confuse the lookup.
    let mut s = session(user.id, now);
    s.user_agent = Some(format!("evil \"user_id\":\"{}\" agent", other.id));
    ok(C, "insert_session", store.insert_session(&s).await);
    let _ = inserted_session(C, store, other.id, now).await;

    let (user_id, other_id) = (user.id, other.id);
    let read = |what: &'static str| async move {
        let mut answers = Vec::new();
        for claimed in [None, Some(user_id), Some(other_id)] {
            match ok(
                C,
                "session_with_owner",
                store.session_with_owner(s.id, claimed).await,
            ) {
                Some(found) => answers.push(found),
                None => fail(
                    C,
                    format_args!("no session found {what} (claimed user {claimed:?})"),
                ),
            }
        }
        let first = answers.swap_remove(0);
        for other in answers {
            ensure_eq!(
                C,
                other,
                first.clone(),
                "the claimed user must not change the answer"
            );
        }
        first
    };
    let owner = |user: &User| Some(SessionOwner::of(user));

    ensure_eq!(
        C,
        read("after insert_session").await,
        (s.clone(), owner(&user)),
        "an active session with its user's status and roles"
    );

    user.roles = vec!["editor".to_owned()];
    ensure!(
        C,
        ok(C, "update_user", store.update_user(&user).await),
        "update_user of an existing user"
    );
    ensure_eq!(
        C,
        read("after a role was taken away").await,
        (s.clone(), owner(&user)),
        "the roles must be the user's current ones"
    );

    user.status = UserStatus::Disabled;
    ensure!(
        C,
        ok(C, "update_user", store.update_user(&user).await),
        "update_user of an existing user"
    );
    ensure_eq!(
        C,
        read("after the account was disabled").await,
        (s.clone(), owner(&user)),
        "the status must be the user's current one"
    );

    let at = now + minutes(1);
    ensure!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(s.id, at, RevokeReason::UserDisabled)
                .await
        ),
        "revoke_session of an active session"
    );
    let mut revoked = s.clone();
    revoked.status = SessionStatus::Revoked {
        at,
        reason: RevokeReason::UserDisabled,
    };
    ensure_eq!(
        C,
        read("after revoke_session").await,
        (revoked, owner(&user)),
        "a revoked session must read back as revoked"
    );

    ensure_eq!(
        C,
        ok(
            C,
            "session_with_owner(unknown id)",
            store
                .session_with_owner(SessionId::new_random(), Some(user.id))
                .await
        ),
        None,
        "session_with_owner of an unknown id"
    );
}

/// `rotate_refresh` is a compare-and-set on the generation: a wrong or stale generation,
/// an unknown id and a revoked session give `false` and change nothing; success stores `next`
/// and `last_used_at = now` and nothing else.
pub async fn check_rotate_refresh<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "rotate_refresh";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let t0 = now_ms();
    let mut expected = inserted_session(C, store, user.id, t0).await;

    let next = |generation: u64, at: DateTime<Utc>| RefreshState {
        generation,
        hash: random_hash(),
        issued_at: at,
    };

    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(unknown id)",
            store
                .rotate_refresh(SessionId::new_random(), 0, &next(1, t0), t0)
                .await
        ),
        false,
        "rotate_refresh of an unknown session must return false"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(wrong generation)",
            store.rotate_refresh(expected.id, 1, &next(2, t0), t0).await
        ),
        false,
        "rotate_refresh with an expected generation (1) other than the stored one (0)"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(expected.id).await),
        expected.clone(),
        "a refused rotate_refresh must change nothing"
    );

    let t1 = t0 + Duration::seconds(10);
    let first = next(1, t1);
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh",
            store.rotate_refresh(expected.id, 0, &first, t1).await
        ),
        true,
        "rotate_refresh with the current generation (0) must succeed"
    );
    expected.refresh = first;
    expected.last_used_at = t1;
    ensure_eq!(
        C,
        found(C, "session", store.session(expected.id).await),
        expected.clone(),
        "after rotate_refresh: refresh = next, last_used_at = now, nothing else changed"
    );

    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(stale generation)",
            store
                .rotate_refresh(expected.id, 0, &next(1, t1), t1 + Duration::seconds(1))
                .await
        ),
        false,
        "rotate_refresh with the generation that was just rotated away (0) must fail"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(expected.id).await),
        expected.clone(),
        "a refused rotate_refresh must change nothing"
    );

    let t2 = t1 + Duration::seconds(10);
    let second = next(2, t2);
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh",
            store.rotate_refresh(expected.id, 1, &second, t2).await
        ),
        true,
        "rotate_refresh with the new current generation (1) must succeed"
    );
    expected.refresh = second;
    expected.last_used_at = t2;

    let revoked_at = t2 + Duration::seconds(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(expected.id, revoked_at, RevokeReason::Logout)
                .await
        ),
        true,
        "revoke_session of an active session"
    );
    expected.status = SessionStatus::Revoked {
        at: revoked_at,
        reason: RevokeReason::Logout,
    };
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(revoked)",
            store
                .rotate_refresh(expected.id, 2, &next(3, revoked_at), revoked_at)
                .await
        ),
        false,
        "rotate_refresh of a revoked session must return false, even with the right generation"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(expected.id).await),
        expected,
        "a refused rotate_refresh on a revoked session must change nothing"
    );
}

/// `revoke_session`: `true` once (status = revoked at `at` for `reason`), then `false` without
/// overwriting the first revocation; `false` for an unknown id.
pub async fn check_revoke_session<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "revoke_session";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let t0 = now_ms();
    let s = inserted_session(C, store, user.id, t0).await;

    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session(unknown id)",
            store
                .revoke_session(SessionId::new_random(), t0, RevokeReason::Logout)
                .await
        ),
        false,
        "revoke_session of an unknown session must return false"
    );
    let at = t0 + Duration::seconds(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(s.id, at, RevokeReason::RefreshTokenReused)
                .await
        ),
        true,
        "revoke_session of an active session must return true"
    );
    let mut expected = s.clone();
    expected.status = SessionStatus::Revoked {
        at,
        reason: RevokeReason::RefreshTokenReused,
    };
    ensure_eq!(
        C,
        found(C, "session", store.session(s.id).await),
        expected.clone(),
        "a revoked session keeps its record with status revoked (at, reason)"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session (again)",
            store
                .revoke_session(s.id, at + minutes(1), RevokeReason::Admin)
                .await
        ),
        false,
        "revoke_session of an already revoked session must return false"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(s.id).await),
        expected,
        "a second revoke_session must not overwrite the first revocation's time and reason"
    );
}

/// `sessions_of_user` returns exactly the user's non-revoked sessions (in any order), and
/// nothing for a user without sessions.
pub async fn check_sessions_of_user<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "sessions_of_user";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let other = created_bare_user(C, store).await;
    let now = now_ms();

    // Inserted out of creation order (the store may return them in any order).
    let middle = inserted_session(C, store, user.id, now - minutes(120)).await;
    let oldest = inserted_session(C, store, user.id, now - minutes(180)).await;
    let newest = inserted_session(C, store, user.id, now - minutes(60)).await;
    let revoked = inserted_session(C, store, user.id, now - minutes(30)).await;
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(revoked.id, now, RevokeReason::Logout)
                .await
        ),
        true,
        "revoke_session of an active session"
    );
    let others = inserted_session(C, store, other.id, now - minutes(10)).await;

    let mut got = ok(C, "sessions_of_user", store.sessions_of_user(user.id).await);
    got.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    ensure_eq!(
        C,
        got,
        vec![newest, middle, oldest],
        "sessions_of_user must return the user's non-revoked sessions (full records, in any \
         order), and no other user's"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "sessions_of_user",
            store.sessions_of_user(other.id).await
        ),
        vec![others],
        "sessions_of_user of the other user"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "sessions_of_user(no sessions)",
            store.sessions_of_user(UserId::new_random()).await
        ),
        Vec::<Session>::new(),
        "sessions_of_user of a user without sessions"
    );
}

/// `revoke_user_sessions` revokes every active session of the user but `except`, returns how
/// many, leaves already revoked sessions and other users' sessions alone, and revoked
/// sessions cannot rotate afterwards.
pub async fn check_revoke_user_sessions<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "revoke_user_sessions";
    let store = store.as_ref();
    let user = created_bare_user(C, store).await;
    let other = created_bare_user(C, store).await;
    let t0 = now_ms();
    let kept = inserted_session(C, store, user.id, t0 - minutes(40)).await;
    let logged_out = inserted_session(C, store, user.id, t0 - minutes(30)).await;
    let a = inserted_session(C, store, user.id, t0 - minutes(20)).await;
    let b = inserted_session(C, store, user.id, t0 - minutes(10)).await;
    let others = inserted_session(C, store, other.id, t0 - minutes(10)).await;

    let logout_at = t0 - minutes(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_session",
            store
                .revoke_session(logged_out.id, logout_at, RevokeReason::Logout)
                .await
        ),
        true,
        "revoke_session of an active session"
    );

    let t1 = t0 + Duration::seconds(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_user_sessions(except one)",
            store
                .revoke_user_sessions(user.id, Some(kept.id), t1, RevokeReason::PasswordChanged)
                .await
        ),
        2,
        "revoke_user_sessions must return how many active sessions it revoked (4 sessions: \
         one excepted, one already revoked)"
    );
    for s in [&a, &b] {
        let mut expected = s.clone();
        expected.status = SessionStatus::Revoked {
            at: t1,
            reason: RevokeReason::PasswordChanged,
        };
        ensure_eq!(
            C,
            found(C, "session", store.session(s.id).await),
            expected,
            "a session revoked by revoke_user_sessions: status revoked (at, reason), nothing \
             else changed"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "rotate_refresh(after revoke_user_sessions)",
                store
                    .rotate_refresh(
                        s.id,
                        s.refresh.generation,
                        &RefreshState {
                            generation: s.refresh.generation + 1,
                            hash: random_hash(),
                            issued_at: t1,
                        },
                        t1,
                    )
                    .await
            ),
            false,
            "a session revoked by revoke_user_sessions must not rotate any more"
        );
    }
    ensure_eq!(
        C,
        found(C, "session", store.session(kept.id).await),
        kept.clone(),
        "the excepted session must stay active and unchanged"
    );
    let mut expected_logged_out = logged_out.clone();
    expected_logged_out.status = SessionStatus::Revoked {
        at: logout_at,
        reason: RevokeReason::Logout,
    };
    ensure_eq!(
        C,
        found(C, "session", store.session(logged_out.id).await),
        expected_logged_out,
        "revoke_user_sessions must not overwrite an earlier revocation's time and reason"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(others.id).await),
        others.clone(),
        "revoke_user_sessions must not touch another user's sessions"
    );
    ensure_eq!(
        C,
        ok(C, "sessions_of_user", store.sessions_of_user(user.id).await),
        vec![kept.clone()],
        "sessions_of_user after revoke_user_sessions must list only the excepted session"
    );

    let t2 = t1 + Duration::seconds(1);
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_user_sessions(no exception)",
            store
                .revoke_user_sessions(user.id, None, t2, RevokeReason::UserDisabled)
                .await
        ),
        1,
        "revoke_user_sessions without exception must revoke the one session left"
    );
    let mut expected_kept = kept.clone();
    expected_kept.status = SessionStatus::Revoked {
        at: t2,
        reason: RevokeReason::UserDisabled,
    };
    ensure_eq!(
        C,
        found(C, "session", store.session(kept.id).await),
        expected_kept,
        "the last session after revoke_user_sessions without exception"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_user_sessions(again)",
            store
                .revoke_user_sessions(user.id, None, t2, RevokeReason::Admin)
                .await
        ),
        0,
        "revoke_user_sessions when every session is already revoked"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "revoke_user_sessions(no sessions)",
            store
                .revoke_user_sessions(UserId::new_random(), None, t2, RevokeReason::Admin)
                .await
        ),
        0,
        "revoke_user_sessions of a user without sessions"
    );
    ensure_eq!(
        C,
        ok(C, "sessions_of_user", store.sessions_of_user(user.id).await),
        Vec::<Session>::new(),
        "sessions_of_user once every session is revoked"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "rotate_refresh(other user's session)",
            store
                .rotate_refresh(
                    others.id,
                    0,
                    &RefreshState {
                        generation: 1,
                        hash: random_hash(),
                        issued_at: t2,
                    },
                    t2,
                )
                .await
        ),
        true,
        "another user's session must still rotate"
    );
}

/// `purge_expired_sessions(now)` removes the sessions (active or revoked) that expired before
/// `now`, counts them, and keeps live ones (revoked ones included).
pub async fn check_purge_expired_sessions<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "purge_expired_sessions";
    let store = store.as_ref();
    let base = now_ms();
    let soon = base + minutes(1);
    let later = base + minutes(60);
    let purge_at = base + minutes(2);
    let user = created_bare_user(C, store).await;

    // Expiring at `soon`: these must go.
    let mut expired_session = session(user.id, base);
    expired_session.expires_at = soon;
    let mut expired_revoked = session(user.id, base);
    expired_revoked.expires_at = soon;
    // Expiring at `later`: these must stay.
    let mut live_session = session(user.id, base);
    live_session.expires_at = later;
    let mut live_revoked = session(user.id, base);
    live_revoked.expires_at = later;

    for s in [
        &expired_session,
        &expired_revoked,
        &live_session,
        &live_revoked,
    ] {
        ok(C, "insert_session", store.insert_session(s).await);
    }
    for s in [&expired_revoked, &live_revoked] {
        ensure_eq!(
            C,
            ok(
                C,
                "revoke_session",
                store.revoke_session(s.id, base, RevokeReason::Logout).await
            ),
            true,
            "revoke_session of an active session"
        );
    }

    let purged = ok(
        C,
        "purge_expired_sessions",
        store.purge_expired_sessions(purge_at).await,
    );
    ensure!(
        C,
        purged >= 2,
        "purge_expired_sessions returned {purged}; expected at least the 2 expired sessions this \
         check created"
    );
    for (s, what) in [
        (&expired_session, "an expired active session"),
        (&expired_revoked, "an expired revoked session"),
    ] {
        ensure_eq!(
            C,
            ok(C, "session", store.session(s.id).await),
            None,
            "{what} must be gone after purge_expired_sessions"
        );
    }
    ensure_eq!(
        C,
        found(C, "session", store.session(live_session.id).await),
        live_session.clone(),
        "a live session must survive purge_expired_sessions unchanged"
    );
    ensure!(
        C,
        ok(C, "session", store.session(live_revoked.id).await).is_some(),
        "a revoked session not yet past expires_at must survive purge_expired_sessions (reuse \
         detection reads it)"
    );
}

/// 32 concurrent `rotate_refresh` calls with the same expected generation: exactly one wins,
/// and the stored refresh state is the winner's.
pub async fn check_concurrent_rotate_refresh<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_rotate_refresh";
    let user = created_bare_user(C, store.as_ref()).await;
    let t0 = now_ms();
    let s = inserted_session(C, store.as_ref(), user.id, t0).await;
    let nexts: Vec<RefreshState> = (0..32)
        .map(|i| RefreshState {
            generation: 1,
            hash: random_hash(),
            issued_at: t0 + Duration::milliseconds(i),
        })
        .collect();

    let id = s.id;
    let results = race(C, nexts.len(), |i| {
        let store = Arc::clone(&store);
        let next = nexts.get(i).copied();
        async move {
            match next {
                Some(next) => store.rotate_refresh(id, 0, &next, next.issued_at).await,
                None => Ok(false),
            }
        }
    })
    .await;
    let wins: Vec<usize> = results
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| ok(C, "rotate_refresh", r).then_some(i))
        .collect();
    ensure_eq!(
        C,
        wins.len(),
        1,
        "of 32 concurrent rotate_refresh calls expecting generation 0, exactly one must win"
    );
    let stored = found(C, "session", store.session(s.id).await);
    if let Some(winner) = wins.first().and_then(|&i| nexts.get(i)) {
        ensure_eq!(
            C,
            stored.refresh,
            *winner,
            "the stored refresh state must be the winner's"
        );
        ensure_eq!(
            C,
            stored.last_used_at,
            winner.issued_at,
            "last_used_at must be the winner's now"
        );
    }
}

/// 32 concurrent `revoke_session` calls on one session: exactly one returns `true`.
pub async fn check_concurrent_revoke_session<S: SessionStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_revoke_session";
    let user = created_bare_user(C, store.as_ref()).await;
    let t0 = now_ms();
    let s = inserted_session(C, store.as_ref(), user.id, t0).await;
    let at = move |i: usize| t0 + Duration::milliseconds(i as i64);
    let id = s.id;
    let results = race(C, 32, |i| {
        let store = Arc::clone(&store);
        async move { store.revoke_session(id, at(i), RevokeReason::Admin).await }
    })
    .await;
    let wins: Vec<usize> = results
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| ok(C, "revoke_session", r).then_some(i))
        .collect();
    ensure_eq!(
        C,
        wins.len(),
        1,
        "of 32 concurrent revoke_session calls, exactly one must return true"
    );
    ensure_eq!(
        C,
        found(C, "session", store.session(s.id).await).status,
        SessionStatus::Revoked {
            at: wins.first().map_or(t0, |&i| at(i)),
            reason: RevokeReason::Admin
        },
        "the stored revocation must be the winner's"
    );
}
