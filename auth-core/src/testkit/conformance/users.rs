//! Conformance of a [`UserStore`]: round trips, uniqueness (also under concurrency),
//! updates that keep the login statistics, and `record_login` as an atomic increment.

use super::*;

/// Runs every check of this part in sequence against `store`, on a multi-thread runtime.
///
/// # Panics
/// At the first check the store fails, with a message naming the check and what was expected.
pub async fn run<S: UserStore + ?Sized>(store: Arc<S>) {
    check_user_round_trip(Arc::clone(&store)).await;
    check_user_uniqueness(Arc::clone(&store)).await;
    check_update_user(Arc::clone(&store)).await;
    check_record_login(Arc::clone(&store)).await;
    check_concurrent_create_user(Arc::clone(&store)).await;
    check_concurrent_update_user(Arc::clone(&store)).await;
    check_concurrent_record_login(store).await;
}

/// `create_user` then `user_by_id` / `user_by_phone` / `user_by_email` / `user_by_username`
/// give back the full record (every field, profile JSON and role order included); lookups of
/// unknown values give `None`.
pub async fn check_user_round_trip<S: UserStore + ?Sized>(store: Arc<S>) {
    const C: &str = "user_round_trip";
    let store = store.as_ref();

    let full = full_user(C, store).await;
    ok(C, "create_user(full user)", store.create_user(&full).await);
    let by_id = found(C, "user_by_id", store.user_by_id(full.id).await);
    ensure_eq!(
        C,
        by_id,
        full,
        "user_by_id must return every field as stored"
    );
    if let (Some(phone), Some(email), Some(username)) = (&full.phone, &full.email, &full.username) {
        let by_phone = found(C, "user_by_phone", store.user_by_phone(phone).await);
        ensure_eq!(
            C,
            by_phone,
            full,
            "user_by_phone must return the full record"
        );
        let by_email = found(C, "user_by_email", store.user_by_email(email).await);
        ensure_eq!(
            C,
            by_email,
            full,
            "user_by_email must return the full record"
        );
        let by_username = found(
            C,
            "user_by_username",
            store.user_by_username(username).await,
        );
        ensure_eq!(
            C,
            by_username,
            full,
            "user_by_username must return the full record"
        );
    }

    let mut other = User::new(UserId::new_random(), now_ms());
    other.status = UserStatus::Disabled;
    ok(C, "create_user(bare user)", store.create_user(&other).await);
    let got = found(C, "user_by_id", store.user_by_id(other.id).await);
    ensure_eq!(
        C,
        got,
        other,
        "a user with no phone, email, username, password or logins must round-trip (empty \
         roles, empty profile object, None fields)"
    );

    let unknown_id = UserId::new_random();
    ensure_eq!(
        C,
        ok(C, "user_by_id", store.user_by_id(unknown_id).await),
        None,
        "user_by_id of an unknown id"
    );
    let unknown_phone = fresh_phone(C, store).await;
    ensure_eq!(
        C,
        ok(
            C,
            "user_by_phone",
            store.user_by_phone(&unknown_phone).await
        ),
        None,
        "user_by_phone of an unknown phone"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "user_by_email",
            store.user_by_email(&fresh_email(C)).await
        ),
        None,
        "user_by_email of an unknown email"
    );
    ensure_eq!(
        C,
        ok(
            C,
            "user_by_username",
            store.user_by_username(&fresh_username(C)).await
        ),
        None,
        "user_by_username of an unknown username"
    );
}

/// `create_user` fails with `Conflict(Id | Phone | Email | Username)` on a taken value,
/// writes nothing when it fails, and lets users without phone/email/username coexist.
pub async fn check_user_uniqueness<S: UserStore + ?Sized>(store: Arc<S>) {
    const C: &str = "user_uniqueness";
    let store = store.as_ref();
    let taken = full_user(C, store).await;
    ok(C, "create_user", store.create_user(&taken).await);

    // Each attempt takes exactly one value of `taken` and fresh values for the rest.
    let cases = [
        (UniqueField::Id, "the same id"),
        (UniqueField::Phone, "a taken phone"),
        (UniqueField::Email, "a taken email"),
        (UniqueField::Username, "a taken username"),
    ];
    for (field, what) in cases {
        let mut dup = full_user(C, store).await;
        match field {
            UniqueField::Id => dup.id = taken.id,
            UniqueField::Phone => dup.phone = taken.phone.clone(),
            UniqueField::Email => dup.email = taken.email.clone(),
            UniqueField::Username => dup.username = taken.username.clone(),
        }
        expect_conflict(
            C,
            &format!("create_user with {what}"),
            store.create_user(&dup).await,
            field,
        );
        let still = found(C, "user_by_id", store.user_by_id(taken.id).await);
        ensure_eq!(
            C,
            still,
            taken,
            "the existing user must be unchanged after a conflicting create_user ({what})"
        );
        if field != UniqueField::Id {
            ensure_eq!(
                C,
                ok(C, "user_by_id", store.user_by_id(dup.id).await),
                None,
                "a create_user that failed with Conflict({field:?}) must not store the user"
            );
        }
        // Nothing of the failed attempt was kept: its fresh values are still free.
        if field != UniqueField::Phone
            && let Some(phone) = &dup.phone
        {
            ensure_eq!(
                C,
                ok(C, "user_by_phone", store.user_by_phone(phone).await),
                None,
                "the phone of a create_user that failed with Conflict({field:?}) must stay free"
            );
        }
        if field != UniqueField::Email
            && let Some(email) = &dup.email
        {
            ensure_eq!(
                C,
                ok(C, "user_by_email", store.user_by_email(email).await),
                None,
                "the email of a create_user that failed with Conflict({field:?}) must stay free"
            );
        }
        if field != UniqueField::Username
            && let Some(username) = &dup.username
        {
            ensure_eq!(
                C,
                ok(
                    C,
                    "user_by_username",
                    store.user_by_username(username).await
                ),
                None,
                "the username of a create_user that failed with Conflict({field:?}) must stay \
                 free"
            );
        }
        // And a later user can take them.
        let mut retry = dup.clone();
        retry.id = UserId::new_random();
        match field {
            UniqueField::Id => {}
            UniqueField::Phone => retry.phone = Some(fresh_phone(C, store).await),
            UniqueField::Email => retry.email = Some(fresh_email(C)),
            UniqueField::Username => retry.username = Some(fresh_username(C)),
        }
        ok(
            C,
            &format!("create_user reusing the free values of a failed attempt ({what})"),
            store.create_user(&retry).await,
        );
    }

    // Absent values never conflict (like SQL NULLs).
    let bare_a = created_bare_user(C, store).await;
    let bare_b = created_bare_user(C, store).await;
    ensure!(
        C,
        ok(C, "user_by_id", store.user_by_id(bare_a.id).await).is_some()
            && ok(C, "user_by_id", store.user_by_id(bare_b.id).await).is_some(),
        "two users without phone, email and username must both be stored"
    );
    let mut phone_only = User::new(UserId::new_random(), now_ms());
    phone_only.phone = Some(fresh_phone(C, store).await);
    let mut email_only = User::new(UserId::new_random(), now_ms());
    email_only.email = Some(fresh_email(C));
    let mut username_only = User::new(UserId::new_random(), now_ms());
    username_only.username = Some(fresh_username(C));
    for (user, what) in [
        (&phone_only, "phone only"),
        (&email_only, "email only"),
        (&username_only, "username only"),
    ] {
        ok(
            C,
            &format!("create_user with {what}"),
            store.create_user(user).await,
        );
        let got = found(C, "user_by_id", store.user_by_id(user.id).await);
        ensure_eq!(C, &got, user, "a user with {what} must round-trip");
    }
}

/// `update_user`: `false` for an unknown id (and nothing stored); replaces every field;
/// keeping its own unique values is no conflict; changed values are taken and the old ones
/// freed; taking another user's value fails with `Conflict` and changes nothing.
pub async fn check_update_user<S: UserStore + ?Sized>(store: Arc<S>) {
    const C: &str = "update_user";
    let store = store.as_ref();

    let mut ghost = full_user(C, store).await;
    ghost.id = UserId::new_random();
    ensure_eq!(
        C,
        ok(
            C,
            "update_user(unknown id)",
            store.update_user(&ghost).await
        ),
        false,
        "update_user of an unknown id must return false"
    );
    ensure_eq!(
        C,
        ok(C, "user_by_id", store.user_by_id(ghost.id).await),
        None,
        "update_user of an unknown id must not create the user"
    );
    if let Some(phone) = &ghost.phone {
        ensure_eq!(
            C,
            ok(C, "user_by_phone", store.user_by_phone(phone).await),
            None,
            "update_user of an unknown id must not claim its phone"
        );
    }

    let a = full_user(C, store).await;
    let b = full_user(C, store).await;
    ok(C, "create_user(a)", store.create_user(&a).await);
    ok(C, "create_user(b)", store.create_user(&b).await);

    // Same unique values, every other field changed.
    let mut a2 = a.clone();
    a2.password_hash = None;
    a2.roles = vec!["viewer".to_owned()];
    a2.profile = serde_json::json!({ "display_name": "Renamed", "n": [1, 2, 3] });
    a2.status = UserStatus::Active;
    a2.login_count = 7;
    a2.last_login_at = None;
    a2.last_login_ip = None;
    a2.current_login_at = Some(now_ms());
    a2.current_login_ip = Some(ipv4_mapped());
    a2.credentials_changed_at = Some(now_ms());
    a2.created_at = a.created_at - minutes(1);
    ensure_eq!(
        C,
        ok(
            C,
            "update_user(same unique values)",
            store.update_user(&a2).await
        ),
        true,
        "update_user of an existing user that keeps its own phone/email/username must succeed"
    );
    // Registration time and login statistics are not update_user's to change (only
    // record_login changes the latter), so a concurrent login is never lost.
    let a2 = User {
        created_at: a.created_at,
        login_count: a.login_count,
        last_login_at: a.last_login_at,
        last_login_ip: a.last_login_ip,
        current_login_at: a.current_login_at,
        current_login_ip: a.current_login_ip,
        ..a2
    };
    ensure_eq!(
        C,
        found(C, "user_by_id", store.user_by_id(a.id).await),
        a2.clone(),
        "update_user must replace every field but created_at and the login statistics"
    );
    if let (Some(phone), Some(email), Some(username)) = (&a2.phone, &a2.email, &a2.username) {
        ensure_eq!(
            C,
            found(C, "user_by_phone", store.user_by_phone(phone).await),
            a2.clone(),
            "user_by_phone after update_user"
        );
        ensure_eq!(
            C,
            found(C, "user_by_email", store.user_by_email(email).await),
            a2.clone(),
            "user_by_email after update_user"
        );
        ensure_eq!(
            C,
            found(
                C,
                "user_by_username",
                store.user_by_username(username).await
            ),
            a2.clone(),
            "user_by_username after update_user"
        );
    }

    // New unique values: taken, and the old ones freed.
    let mut a3 = a2.clone();
    a3.phone = Some(fresh_phone(C, store).await);
    a3.email = Some(fresh_email(C));
    a3.username = Some(fresh_username(C));
    ensure_eq!(
        C,
        ok(
            C,
            "update_user(new unique values)",
            store.update_user(&a3).await
        ),
        true,
        "update_user changing phone, email and username to free values"
    );
    if let (Some(old_phone), Some(old_email), Some(old_username)) =
        (&a.phone, &a.email, &a.username)
    {
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_phone(old phone)",
                store.user_by_phone(old_phone).await
            ),
            None,
            "the old phone must be free after update_user changed it"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_email(old email)",
                store.user_by_email(old_email).await
            ),
            None,
            "the old email must be free after update_user changed it"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_username(old username)",
                store.user_by_username(old_username).await
            ),
            None,
            "the old username must be free after update_user changed it"
        );
        // Another user can now take them.
        let mut b2 = b.clone();
        b2.phone = Some(old_phone.clone());
        b2.email = Some(old_email.clone());
        b2.username = Some(old_username.clone());
        ensure_eq!(
            C,
            ok(
                C,
                "update_user(b takes a's old values)",
                store.update_user(&b2).await
            ),
            true,
            "another user must be able to take values freed by update_user"
        );
        ensure_eq!(
            C,
            found(C, "user_by_phone", store.user_by_phone(old_phone).await).id,
            b.id,
            "user_by_phone of a phone that moved to another user"
        );
    }
    if let (Some(phone), Some(email), Some(username)) = (&a3.phone, &a3.email, &a3.username) {
        ensure_eq!(
            C,
            found(
                C,
                "user_by_phone(new phone)",
                store.user_by_phone(phone).await
            ),
            a3.clone(),
            "user_by_phone of the new phone"
        );
        ensure_eq!(
            C,
            found(
                C,
                "user_by_email(new email)",
                store.user_by_email(email).await
            ),
            a3.clone(),
            "user_by_email of the new email"
        );
        ensure_eq!(
            C,
            found(
                C,
                "user_by_username(new username)",
                store.user_by_username(username).await
            ),
            a3.clone(),
            "user_by_username of the new username"
        );
    }

    // Removing a value frees it.
    let mut a4 = a3.clone();
    a4.email = None;
    ensure_eq!(
        C,
        ok(
            C,
            "update_user(email removed)",
            store.update_user(&a4).await
        ),
        true,
        "update_user removing the email"
    );
    if let Some(removed) = &a3.email {
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_email(removed email)",
                store.user_by_email(removed).await
            ),
            None,
            "an email removed by update_user must be free"
        );
        let mut c = User::new(UserId::new_random(), now_ms());
        c.email = Some(removed.clone());
        ok(
            C,
            "create_user with an email removed from another user",
            store.create_user(&c).await,
        );
    }

    // Taking another user's value: Conflict, and nothing changes (not even the fresh values
    // changed in the same update).
    let b_now = found(C, "user_by_id(b)", store.user_by_id(b.id).await);
    let fields = [
        UniqueField::Phone,
        UniqueField::Email,
        UniqueField::Username,
    ];
    for field in fields {
        let mut bad = a4.clone();
        bad.profile = serde_json::json!({ "must": "not be stored" });
        let fresh_username_value = fresh_username(C);
        let fresh_phone_value = fresh_phone(C, store).await;
        match field {
            UniqueField::Phone => {
                bad.phone = b_now.phone.clone();
                bad.username = Some(fresh_username_value.clone());
            }
            UniqueField::Email => {
                bad.email = b_now.email.clone();
                bad.username = Some(fresh_username_value.clone());
            }
            UniqueField::Username | UniqueField::Id => {
                bad.username = b_now.username.clone();
                bad.phone = Some(fresh_phone_value.clone());
            }
        }
        expect_conflict(
            C,
            &format!("update_user taking another user's {field:?}"),
            store.update_user(&bad).await,
            field,
        );
        ensure_eq!(
            C,
            found(C, "user_by_id", store.user_by_id(a.id).await),
            a4.clone(),
            "a user must be unchanged after update_user failed with Conflict({field:?})"
        );
        ensure_eq!(
            C,
            found(C, "user_by_id", store.user_by_id(b.id).await),
            b_now.clone(),
            "the other user must be unchanged after update_user failed with Conflict({field:?})"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_username",
                store.user_by_username(&fresh_username_value).await
            ),
            None,
            "a value changed by an update_user that failed with Conflict({field:?}) must stay \
             free"
        );
        ensure_eq!(
            C,
            ok(
                C,
                "user_by_phone",
                store.user_by_phone(&fresh_phone_value).await
            ),
            None,
            "a value changed by an update_user that failed with Conflict({field:?}) must stay \
             free"
        );
    }
}

/// `record_login`: `login_count + 1`, current login moved to last, `(at, ip)` made current,
/// other fields untouched; `false` for an unknown id.
pub async fn check_record_login<S: UserStore + ?Sized>(store: Arc<S>) {
    const C: &str = "record_login";
    let store = store.as_ref();
    let mut expected = User::new(UserId::new_random(), now_ms() - minutes(10));
    expected.phone = Some(fresh_phone(C, store).await);
    expected.roles = vec!["admin".to_owned()];
    expected.profile = serde_json::json!({ "k": "v" });
    ok(C, "create_user", store.create_user(&expected).await);

    let t0 = now_ms();
    let logins = [
        (t0, Some(ipv4())),
        (t0 + Duration::seconds(1), None),
        (t0 + Duration::seconds(2), Some(ipv6())),
        (t0 + Duration::seconds(3), Some(ipv4_mapped())),
    ];
    for (i, (at, ip)) in logins.into_iter().enumerate() {
        ensure_eq!(
            C,
            ok(
                C,
                "record_login",
                store.record_login(expected.id, at, ip).await
            ),
            true,
            "record_login of an existing user must return true"
        );
        expected.login_count += 1;
        expected.last_login_at = expected.current_login_at;
        expected.last_login_ip = expected.current_login_ip;
        expected.current_login_at = Some(at);
        expected.current_login_ip = ip;
        ensure_eq!(
            C,
            found(C, "user_by_id", store.user_by_id(expected.id).await),
            expected.clone(),
            "after login #{} (ip {ip:?}): count + 1, current -> last, (at, ip) current, nothing \
             else changed",
            i + 1
        );
    }

    let unknown = UserId::new_random();
    ensure_eq!(
        C,
        ok(
            C,
            "record_login(unknown id)",
            store.record_login(unknown, t0, None).await
        ),
        false,
        "record_login of an unknown id must return false"
    );
    ensure_eq!(
        C,
        ok(C, "user_by_id", store.user_by_id(unknown).await),
        None,
        "record_login of an unknown id must not create a user"
    );
}

/// 16 concurrent `create_user` calls with the same phone (then email, then username): exactly
/// one succeeds, the others fail with the matching `Conflict`, and the lookup finds the
/// winner.
pub async fn check_concurrent_create_user<S: UserStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_create_user";
    let phone = fresh_phone(C, store.as_ref()).await;
    let email = fresh_email(C);
    let username = fresh_username(C);

    for field in [
        UniqueField::Phone,
        UniqueField::Email,
        UniqueField::Username,
    ] {
        let users: Vec<User> = (0..16)
            .map(|_| {
                let mut u = User::new(UserId::new_random(), now_ms());
                match field {
                    UniqueField::Phone => u.phone = Some(phone.clone()),
                    UniqueField::Email => u.email = Some(email.clone()),
                    UniqueField::Username | UniqueField::Id => {
                        u.username = Some(username.clone());
                    }
                }
                u
            })
            .collect();
        let users = Arc::new(users);
        let results = race(C, users.len(), |i| {
            let store = Arc::clone(&store);
            let users = Arc::clone(&users);
            async move {
                match users.get(i) {
                    Some(u) => store.create_user(u).await,
                    None => Ok(()),
                }
            }
        })
        .await;

        let mut winners = Vec::new();
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(()) => winners.push(i),
                Err(StoreError::Conflict(f)) if f == field => {}
                Err(e) => fail(
                    C,
                    format_args!(
                        "concurrent create_user with the same {field:?} returned Err({e:?}); \
                         expected Ok or Err(Conflict({field:?}))"
                    ),
                ),
            }
        }
        ensure_eq!(
            C,
            winners.len(),
            1,
            "of 16 concurrent create_user calls with the same {field:?}, exactly one must \
             succeed"
        );
        let winner = winners.first().and_then(|&i| users.get(i)).map(|u| u.id);
        let holder = match field {
            UniqueField::Phone => store.user_by_phone(&phone).await,
            UniqueField::Email => store.user_by_email(&email).await,
            UniqueField::Username | UniqueField::Id => store.user_by_username(&username).await,
        };
        ensure_eq!(
            C,
            found(C, "lookup of the contested value", holder).id,
            winner.unwrap_or_else(UserId::new_random),
            "the contested {field:?} must belong to the winner"
        );
        for (i, u) in users.iter().enumerate() {
            if !winners.contains(&i) {
                ensure_eq!(
                    C,
                    ok(C, "user_by_id", store.user_by_id(u.id).await),
                    None,
                    "a user whose create_user lost the race on {field:?} must not be stored"
                );
            }
        }
    }
}

/// 16 existing users concurrently `update_user` to take the same free phone: exactly one
/// succeeds, the others fail with `Conflict(Phone)` and keep their old phone.
pub async fn check_concurrent_update_user<S: UserStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_update_user";
    let target = fresh_phone(C, store.as_ref()).await;
    let mut originals = Vec::with_capacity(16);
    for _ in 0..16 {
        let mut u = User::new(UserId::new_random(), now_ms());
        u.phone = Some(fresh_phone(C, store.as_ref()).await);
        ok(C, "create_user", store.create_user(&u).await);
        originals.push(u);
    }
    let originals = Arc::new(originals);

    let results = race(C, originals.len(), |i| {
        let store = Arc::clone(&store);
        let originals = Arc::clone(&originals);
        let target = target.clone();
        async move {
            match originals.get(i) {
                Some(u) => {
                    let mut changed = u.clone();
                    changed.phone = Some(target);
                    store.update_user(&changed).await
                }
                None => Ok(false),
            }
        }
    })
    .await;

    let mut winners = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(true) => winners.push(i),
            Err(StoreError::Conflict(UniqueField::Phone)) => {}
            other => fail(
                C,
                format_args!(
                    "concurrent update_user taking the same phone returned {other:?}; expected \
                     Ok(true) or Err(Conflict(Phone))"
                ),
            ),
        }
    }
    ensure_eq!(
        C,
        winners.len(),
        1,
        "of 16 concurrent update_user calls taking the same free phone, exactly one must succeed"
    );
    let holder = found(C, "user_by_phone", store.user_by_phone(&target).await);
    for (i, u) in originals.iter().enumerate() {
        let stored = found(C, "user_by_id", store.user_by_id(u.id).await);
        if winners.contains(&i) {
            ensure_eq!(
                C,
                holder.id,
                u.id,
                "the contested phone must belong to the winner"
            );
            ensure_eq!(
                C,
                stored.phone.as_ref(),
                Some(&target),
                "the winner's stored phone"
            );
            if let Some(old) = &u.phone {
                ensure_eq!(
                    C,
                    ok(
                        C,
                        "user_by_phone(old phone)",
                        store.user_by_phone(old).await
                    ),
                    None,
                    "the winner's old phone must be free"
                );
            }
        } else {
            ensure_eq!(
                C,
                &stored,
                u,
                "a user whose update_user lost the race must be unchanged"
            );
        }
    }
}

/// 16 concurrent `record_login` calls on one user: `login_count` ends at 16 and the current
/// login is one of them.
pub async fn check_concurrent_record_login<S: UserStore + ?Sized>(store: Arc<S>) {
    const C: &str = "concurrent_record_login";
    let user = created_bare_user(C, store.as_ref()).await;
    let t0 = now_ms();
    let at = move |i: usize| t0 + Duration::milliseconds(i as i64);
    let id = user.id;
    let results = race(C, 16, |i| {
        let store = Arc::clone(&store);
        async move { store.record_login(id, at(i), Some(ipv4())).await }
    })
    .await;
    for r in results {
        ensure_eq!(
            C,
            ok(C, "record_login", r),
            true,
            "record_login of an existing user"
        );
    }
    let stored = found(C, "user_by_id", store.user_by_id(user.id).await);
    ensure_eq!(
        C,
        stored.login_count,
        16,
        "login_count after 16 concurrent record_login calls (lost updates?)"
    );
    let times: Vec<DateTime<Utc>> = (0..16).map(at).collect();
    ensure!(
        C,
        stored.current_login_at.is_some_and(|t| times.contains(&t))
            && stored.last_login_at.is_some_and(|t| times.contains(&t))
            && stored.current_login_at != stored.last_login_at,
        "after concurrent logins, current and last login must be two different ones of them; \
         got current {:?}, last {:?}",
        stored.current_login_at,
        stored.last_login_at
    );
}
