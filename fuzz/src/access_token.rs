//! Target `access_token`: access-token verification through [`Auth::authenticate`] (and
//! [`Auth::authorize`]) in each access mode, on tokens the target minted itself (live,
//! expired, of a revoked session) and on mutations of them.
//!
//! Layout: `mode` (1 byte: `% 3` session_checked, stateless, opaque), `op` (1 byte) and
//! `at` (2 bytes) for [`mutate_token`], then the payload (the rest).
//!
//! Properties: a token is accepted only as a live token this process minted, naming that
//! token's user and session (stateless: a revoked session's token too, by design); a
//! genuine live token is accepted; `authorize(.., "admin")` never passes (no one has the
//! role); every refusal is a 401.

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use auth_core::api::ClientInfo;
use auth_core::config::AccessMode;
use auth_core::testkit::TestKit;
use auth_core::{Auth, SessionId, SigningSecret, UserId};

use crate::common::{Reader, Writer, block_on, mutate_token};

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessCase {
    /// `% 3`: session_checked, stateless, opaque.
    pub mode: u8,
    /// How the token is made ([`mutate_token`]).
    pub op: u8,
    /// Where.
    pub at: u16,
    /// What.
    pub payload: Vec<u8>,
}

impl<'a> Arbitrary<'a> for AccessCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut r = Reader::new(u);
        Ok(Self {
            mode: r.byte(),
            op: r.byte(),
            at: r.u16(),
            payload: r.rest(),
        })
    }
}

impl AccessCase {
    /// The bytes that decode to this case.
    pub fn encode(&self) -> Vec<u8> {
        Writer::new()
            .byte(self.mode)
            .byte(self.op)
            .u16(self.at)
            .rest(&self.payload)
            .finish()
    }
}

/// A minted token and whom it names.
struct Minted {
    token: String,
    user: UserId,
    session: SessionId,
}

/// A service in one access mode with its minted tokens: live ones, one expired and one of a
/// revoked session. The secret is random per process, so no token from elsewhere verifies.
struct Fixture {
    auth: Auth,
    mode: AccessMode,
    live: Vec<Minted>,
    revoked: Minted,
    expired: Minted,
}

const MODES: [AccessMode; 3] = [
    AccessMode::SessionChecked,
    AccessMode::Stateless,
    AccessMode::Opaque,
];

fn fixture(mode: usize) -> &'static Fixture {
    static FIXTURES: [OnceLock<Fixture>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    FIXTURES[mode].get_or_init(|| build(MODES[mode]))
}

fn build(mode: AccessMode) -> Fixture {
    let mut config = TestKit::config();
    config.secret = SigningSecret::generate();
    config.access.mode = mode;
    let kit = TestKit::with_config(config);
    let minted = |phone: &str| {
        let pair = block_on(kit.sign_in_by_sms(phone)).expect("sign in");
        Minted {
            token: pair.access_token.expose().to_owned(),
            user: pair.user_id,
            session: pair.session_id,
        }
    };
    let expired = minted("+15551230001");
    kit.clock.advance(Duration::from_secs(3600));
    let live = vec![minted("+15551230002"), minted("+15551230001")];
    let revoked = minted("+15551230003");
    block_on(async {
        let p = kit
            .auth
            .authenticate(&revoked.token)
            .await
            .expect("fresh token");
        kit.auth
            .logout(&p, &ClientInfo::default())
            .await
            .expect("logout");
    });
    Fixture {
        auth: kit.auth.clone(),
        mode,
        live,
        revoked,
        expired,
    }
}

/// Runs one case.
pub fn run(case: &AccessCase) {
    let f = fixture(usize::from(case.mode % 3));
    let genuine: Vec<&str> = f
        .live
        .iter()
        .chain([&f.revoked, &f.expired])
        .map(|m| m.token.as_str())
        .collect();
    let token = mutate_token(case.op, case.at, &genuine, &case.payload);
    let (result, admin) = block_on(async {
        (
            f.auth.authenticate(&token).await,
            f.auth.authorize(&token, "admin").await,
        )
    });
    let mut accepted: Vec<&Minted> = f.live.iter().collect();
    if f.mode == AccessMode::Stateless {
        accepted.push(&f.revoked);
    }
    match &result {
        Ok(p) => assert!(
            accepted
                .iter()
                .any(|m| m.user == p.user_id && Some(m.session) == p.session_id),
            "{:?}: accepted {token:?} as {p:?}, which no live minted token names",
            f.mode
        ),
        Err(e) => {
            assert_eq!(
                e.status(),
                401,
                "{:?}: {token:?} refused with {e:?}",
                f.mode
            );
            assert!(
                !f.live.iter().any(|m| m.token == token),
                "{:?}: a live token was refused: {e:?}",
                f.mode
            );
        }
    }
    assert!(
        admin.is_err(),
        "{:?}: authorize(admin) passed for {token:?}",
        f.mode
    );
}
