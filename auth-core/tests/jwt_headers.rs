//! RFC 8725 §3.1/§3.10: an access token's key is never taken from its header. `kid`, `jku`,
//! `jwk` and `x5u` are ignored: a forged token that carries the attacker's own key (embedded as a
//! `jwk`, or behind a `jku`/`x5u` URL), names a key by a SQL- or path-like `kid`, or says
//! `alg: none` is `invalid_token`, refused before any store read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::AuthError;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::*;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};

/// An attacker's Ed25519 private key (PKCS#8 DER, base64), made for this test only.
const ATTACKER_ED25519_PKCS8: &str =
    "MC4CAQAwBQYDK2VwBCIEIG3ajvJTywwsUUBx9KS7jAEivg7LrY0/8Ezxl+9R9SLJ";
/// Its public key, as the `x` of an OKP JWK.
const ATTACKER_ED25519_X: &str = "TvWJKxcne4t-OT33UOU1HYp_XiEMxnGw7jptHvFzOGI";
/// An attacker's RSA-2048 private key (PKCS#1 DER, base64), made for this test only.
const ATTACKER_RSA_PKCS1: &str = "\
    MIIEpAIBAAKCAQEAqLyo9mSsCM6+Agh01yKR3Wzd8m1BwebB4/Ix+o4JI48mo8Aw4JduKfOIb7w+xEvzTE7q6Nfb\
    Jw2hODVvNPJ8MUzXM8yXx4gyQzySAMaXi/RWnOq/PMPMrKPQQ1jK3tjwCDNdHVEjZk8a8zf3BVOyonSmFyDc8+1j\
    1p3VGB8yb4+I3tMrxIDdWOxeiBRgcg3Uu3Q8bpapfvMI9vExiFrq/RcHcohPzIT9AeZiyMFjZV6j/8cz3LGbMyH7\
    P6xQK/kemfm6nUUDwxU9OAYHyU8TiOzavYjMna5NF+DcNwoLdzZQ8sZQR0ooSahM4kAr8T55/x9/q8W2rNOb8TbB\
    R6W3bQIDAQABAoIBAAhyPSDsRCJCuwceBj84l0WWq/t1FZwPoXf4CSFqF7IEeeIrfibX3adS7ert6NRpmtmgf6i9\
    GVa4m2/VWOY1Fxtepc0NejF+M0njT8mjJzXVurorE/yGLoobvxKH8Mu73zQB4jDT/WojHo27KO3G1UPFhATXW8gI\
    A33cM6z77snft/yxyIyJxF3MyifNAIEURcbB4okGLMxpMiscTdtE1Nawc0ZxdDhes6fwutqTli53rWF1VIFhPKiB\
    m0mbTc/6Wg8RdNinRsBGyjRUr5K0vs73NpdkfI31WK075Di8NFObgDx+bhlC+YpnaoN58n78qP5A2kfoJxqcZDZS\
    /qZ5TqECgYEA6lEozQYKpmOLZRVNz0pDEDJN8KoJacNbhpiqmj2V5dsYAQik5Yk0Jb+V3CLeU2rNPPE/DKUrwpH+\
    kQsvM7WlN/7pMLIc4kHPyl4znDc3pPTRWaZEyD9YQYKEaPXAuQ8qbh7rcGggOhVmZ4ynrRCDQY553PX4u9mbhDCx\
    8a5FrLECgYEAuFnx6TICflFpP/KWePUp3e81kYA2zEU/1CCC/n16mn5oiKBhFKuUQ0BBZyLeID7Igin8AHSHXW3i\
    7vfYz5LqWmEy9a3PaQ+HgiL9dwzvjdDbgnLCAwHUxEBfpze7kCX2cCcbe1hja4pz2ItxtqPtrEDmhUUe4O9uB7LY\
    n+HL9X0CgYEApQB94NJuUXkrwgTchCphS1iBNgYnFskw/HkpOfBATFqabq/tno2doS9mklwjf05oNJAVvAvb4un3\
    /5+Gn708GVByWY4zdMivUGxBn7Hqh0i225CQQwsIVSlZoKfeDPM3B9DSLpfEieJj+Gs98Er+gv2Xpxe3DmFQeCfq\
    RqxX+CECgYBCao1AAXdqgPQVSNWzUEg8H+FBwVp8r3o2d1waSaSxIleQ2Y8APmyU6gJmIOa74UKlunCCzXizTVKT\
    25Et/3UVCK2uW2c9J44fcXG1wWBQzG05CxUgtjksVzDe8rJNVY/6iexZvNdcuC3SVzKppVeMVnl2jBd63GfcuC9Z\
    MqUjlQKBgQDVK+9ONfDn4fNPFWnkERQ+wcbZistc0JEhHjxT3F9mr7NNeJ+6lMOvHM0u+vvAo8kcuMsHKstOME4m\
    J7sdJqBb+R/42+KDW7lDluZckArc+fNnfZbd9J3hPsXOCLEI49ppaB32edutdcbwxo2CU9GNCiA8wGLW1mDuBWR2\
    zxJIAA==";
/// Its modulus, as the `n` of an RSA JWK (the exponent is 65537, `AQAB`).
const ATTACKER_RSA_N: &str = "\
    qLyo9mSsCM6-Agh01yKR3Wzd8m1BwebB4_Ix-o4JI48mo8Aw4JduKfOIb7w-xEvzTE7q6NfbJw2hODVvNPJ8MUzX\
    M8yXx4gyQzySAMaXi_RWnOq_PMPMrKPQQ1jK3tjwCDNdHVEjZk8a8zf3BVOyonSmFyDc8-1j1p3VGB8yb4-I3tMr\
    xIDdWOxeiBRgcg3Uu3Q8bpapfvMI9vExiFrq_RcHcohPzIT9AeZiyMFjZV6j_8cz3LGbMyH7P6xQK_kemfm6nUUD\
    wxU9OAYHyU8TiOzavYjMna5NF-DcNwoLdzZQ8sZQR0ooSahM4kAr8T55_x9_q8W2rNOb8TbBR6W3bQ";
/// The HMAC key an attacker signs with and embeds as an `oct` JWK.
const ATTACKER_HMAC_KEY: &[u8] = b"attacker-chosen-hmac-key-32bytes";

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS of `header` and `claims` signed with `key` under `alg` (`None`: unsigned).
fn jws(header: &Value, claims: &Value, signer: Option<(&EncodingKey, Algorithm)>) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature = match signer {
        Some((key, alg)) => jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap(),
        None => String::new(),
    };
    format!("{input}.{signature}")
}

/// What a verifier that trusted the token's own `jwk` header would conclude: the forgery is
/// internally consistent, so only ignoring that header defeats it.
fn valid_under_embedded_jwk(token: &str) -> bool {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk: Jwk = header.jwk.expect("an embedded jwk");
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    jsonwebtoken::crypto::verify(signature, input.as_bytes(), &key, header.alg).unwrap()
}

#[tokio::test]
async fn header_keys_are_ignored_and_forged_tokens_never_reach_the_store() {
    let kit = kit();
    register_phone(&kit, PHONE).await;
    let pair = sms_login(&kit, PHONE).await;
    let genuine = pair.access_token.expose();
    // The genuine token's claims: each forgery differs from it only in header and signature.
    let payload = genuine.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();

    let hmac_key = EncodingKey::from_secret(ATTACKER_HMAC_KEY);
    let ed_key = EncodingKey::from_ed_der(&STANDARD.decode(ATTACKER_ED25519_PKCS8).unwrap());
    let rsa_key = EncodingKey::from_rsa_der(&STANDARD.decode(ATTACKER_RSA_PKCS1).unwrap());
    let oct_jwk = json!({"kty": "oct", "k": b64url(ATTACKER_HMAC_KEY), "alg": "HS256"});
    let okp_jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": ATTACKER_ED25519_X});
    let rsa_jwk = json!({"kty": "RSA", "n": ATTACKER_RSA_N, "e": "AQAB"});
    let header = |alg: &str, extra: Value| {
        let mut h = json!({"alg": alg, "typ": "at+jwt"});
        h.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        h
    };
    let hs256 = Some((&hmac_key, Algorithm::HS256));
    let embedded = [
        (
            "HS256 signed with the oct key in its jwk",
            jws(&header("HS256", json!({"jwk": oct_jwk})), &claims, hs256),
        ),
        (
            "EdDSA signed with the OKP key in its jwk",
            jws(
                &header("EdDSA", json!({"jwk": okp_jwk})),
                &claims,
                Some((&ed_key, Algorithm::EdDSA)),
            ),
        ),
        (
            "RS256 signed with the RSA key in its jwk",
            jws(
                &header("RS256", json!({"jwk": rsa_jwk})),
                &claims,
                Some((&rsa_key, Algorithm::RS256)),
            ),
        ),
    ];
    for (what, token) in &embedded {
        assert!(valid_under_embedded_jwk(token), "{what}: a bad forgery");
    }
    let elsewhere = [
        (
            "HS256 naming the attacker's key set by jku",
            jws(
                &header(
                    "HS256",
                    json!({"jku": "https://attacker.example/jwks.json"}),
                ),
                &claims,
                hs256,
            ),
        ),
        (
            "RS256 naming the attacker's certificate by x5u",
            jws(
                &header("RS256", json!({"x5u": "https://attacker.example/cert.pem"})),
                &claims,
                Some((&rsa_key, Algorithm::RS256)),
            ),
        ),
        (
            "a SQL-injection kid",
            jws(
                &header("HS256", json!({"kid": "' OR 1=1 --"})),
                &claims,
                hs256,
            ),
        ),
        (
            // The classic: a kid that makes a file-based key lookup read an empty key.
            "a path-traversal kid signed with an empty key",
            jws(
                &header("HS256", json!({"kid": "../../dev/null"})),
                &claims,
                Some((&EncodingKey::from_secret(b""), Algorithm::HS256)),
            ),
        ),
        (
            "alg none with an embedded jwk",
            jws(&header("none", json!({"jwk": oct_jwk})), &claims, None),
        ),
        (
            "alg none with a kid",
            jws(&header("none", json!({"kid": "1"})), &claims, None),
        ),
    ];

    // Every store call fails from here on: a token that reached the store would answer
    // store_unavailable, as the genuine one now does.
    kit.store.set_unavailable(true);
    assert_eq!(
        kit.auth.authenticate(genuine).await,
        Err(AuthError::StoreUnavailable)
    );
    for (what, token) in embedded.iter().chain(&elsewhere) {
        assert_eq!(
            kit.auth.authenticate(token).await,
            Err(AuthError::InvalidToken),
            "{what}"
        );
        assert_eq!(
            kit.auth
                .guard(
                    None,
                    &[("authorization", format!("Bearer {token}").as_str())],
                    auth_core::http::Requirement::User
                )
                .await,
            Err(AuthError::InvalidToken),
            "{what}, through the guard"
        );
    }
    kit.store.set_unavailable(false);

    // Ignored, not merely rejected: with the server's own key, the same header fields neither
    // select another key nor break the token.
    let server_key = EncodingKey::from_secret(kit.auth.config().secret.expose());
    for extra in [
        json!({"kid": "' OR 1=1 --"}),
        json!({"kid": "../../dev/null"}),
        json!({"jku": "https://attacker.example/jwks.json"}),
        json!({"x5u": "https://attacker.example/cert.pem"}),
        json!({"jwk": oct_jwk}),
    ] {
        let token = jws(
            &header("HS256", extra.clone()),
            &claims,
            Some((&server_key, Algorithm::HS256)),
        );
        let p = kit.auth.authenticate(&token).await.unwrap();
        assert_eq!(p.user_id, pair.user_id, "{extra}");
    }
}
