//! The request sequences the scenarios share: registering a phone and logging in by SMS.

use std::time::Duration;

use serde_json::json;

use crate::api::{Answer, Api, Pair};
use crate::ids::{Client, Ids};
use crate::outbox::Outbox;
use crate::record::Op;

/// How long a code may take to show up in the outbox after the server answered.
pub(crate) const OUTBOX_WAIT: Duration = Duration::from_secs(2);

/// A step that did not give what it should: the operation and its answer (`None`: the code
/// was not in the outbox).
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) op: Op,
    pub(crate) answer: Option<Answer>,
}

impl Failed {
    fn at(op: Op, answer: Answer) -> Self {
        Self {
            op,
            answer: Some(answer),
        }
    }

    /// `sms_verify: 503 store_unavailable`.
    pub(crate) fn describe(&self) -> String {
        match &self.answer {
            Some(a) => format!("{}: {}", self.op.name(), a.describe()),
            None => format!("{}: no code in the outbox", self.op.name()),
        }
    }
}

/// `POST /register {"phone"}`: 201 expected.
pub(crate) async fn register_phone(api: &Api, client: &Client) -> Result<Answer, Failed> {
    let answer = api
        .post(
            Op::RegisterPhone,
            "register",
            client.ip,
            json!({ "phone": client.phone }),
        )
        .await;
    if answer.status == 201 {
        Ok(answer)
    } else {
        Err(Failed::at(Op::RegisterPhone, answer))
    }
}

/// `POST /login {"phone"}`: 202 and the challenge id expected.
pub(crate) async fn sms_start(api: &Api, client: &Client) -> Result<String, Failed> {
    let answer = api
        .post(
            Op::SmsStart,
            "login",
            client.ip,
            json!({ "phone": client.phone }),
        )
        .await;
    match answer.field("challenge_id") {
        Some(id) if answer.status == 202 => Ok(id),
        _ => Err(Failed::at(Op::SmsStart, answer)),
    }
}

/// The code sent to the client's phone, then `POST /verify_sms`: 200 and a pair expected.
pub(crate) async fn sms_verify(
    api: &Api,
    sms: &Outbox,
    client: &Client,
    challenge_id: &str,
) -> Result<Pair, Failed> {
    let Some(code) = sms.take(&client.phone, OUTBOX_WAIT).await else {
        return Err(Failed {
            op: Op::SmsVerify,
            answer: None,
        });
    };
    let answer = api
        .post(
            Op::SmsVerify,
            "verify_sms",
            client.ip,
            json!({ "challenge_id": challenge_id, "code": code }),
        )
        .await;
    Pair::of(&answer).ok_or_else(|| Failed::at(Op::SmsVerify, answer))
}

/// Registers the client's phone and logs in by SMS: three requests.
pub(crate) async fn phone_signup(api: &Api, sms: &Outbox, client: &Client) -> Result<Pair, Failed> {
    let _ = register_phone(api, client).await?;
    let challenge = sms_start(api, client).await?;
    sms_verify(api, sms, client, &challenge).await
}

/// `n` new clients of `ids`, each signed up by SMS ([`phone_signup`]): the sessions a load
/// starts with. Fails at the first that could not sign up.
pub(crate) async fn signed_up(
    api: &Api,
    sms: &Outbox,
    ids: &Ids,
    n: usize,
) -> anyhow::Result<Vec<(Client, Pair)>> {
    let mut seeded = Vec::with_capacity(n);
    for _ in 0..n {
        let client = ids.client();
        let pair = phone_signup(api, sms, &client)
            .await
            .map_err(|f| anyhow::anyhow!("seeding a client failed at {}", f.describe()))?;
        seeded.push((client, pair));
    }
    Ok(seeded)
}
