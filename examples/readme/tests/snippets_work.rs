//! The README's snippets do what the README says: the configuration loads with the values it
//! shows, and the axum and Rocket apps guard their routes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::ids::UserId;
use auth_core::testkit::TestKit;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rocket::local::asynchronous::Client;
use tower::ServiceExt;

const PHONE: &str = "+15551234567";

/// A test kit with one user signed in by SMS: the kit, an access token and the user.
async fn signed_in() -> (TestKit, String, UserId) {
    let kit = TestKit::new();
    let pair = kit.sign_in_by_sms(PHONE).await.unwrap();
    let token = pair.access_token.expose().to_owned();
    let user = kit.auth.authenticate(&token).await.unwrap().user_id;
    (kit, token, user)
}

#[test]
fn the_configuration_snippet_loads_what_it_shows() {
    let config = example_readme::config::load().unwrap();
    assert_eq!(config.sms.code_length, 8);
    assert!(config.sms.signup_on_first_login);
    assert_eq!(config.access.ttl_secs, 600, "the rest keeps its defaults");
}

async fn get_axum(app: &axum::Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_axum_snippet_guards_its_routes() {
    let (kit, token, user) = signed_in().await;
    let app = example_readme::axum_app::app(kit.auth.clone());

    let (status, body) = get_axum(&app, "/api/hello", Some(&token)).await;
    assert_eq!((status, body), (StatusCode::OK, format!("hello {user}")));
    let (status, body) = get_axum(&app, "/api/hello", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("missing_token"), "{body}");
    let (status, body) = get_axum(&app, "/api/maybe", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "hello stranger"));
    let (status, body) = get_axum(&app, "/api/admin", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("forbidden"), "{body}");
}

#[tokio::test]
async fn the_rocket_snippet_guards_its_routes() {
    let (kit, token, user) = signed_in().await;
    let client = Client::untracked(example_readme::rocket_app::app(kit.auth.clone()))
        .await
        .unwrap();
    let bearer = rocket::http::Header::new("Authorization", format!("Bearer {token}"));

    let response = client
        .get("/api/hello")
        .header(bearer.clone())
        .dispatch()
        .await;
    assert_eq!(response.status(), rocket::http::Status::Ok);
    assert_eq!(
        response.into_string().await.unwrap(),
        format!("hello, {user}")
    );
    let response = client.get("/api/hello").dispatch().await;
    assert_eq!(response.status(), rocket::http::Status::Unauthorized);
    assert!(
        response
            .into_string()
            .await
            .unwrap()
            .contains("missing_token")
    );
    let response = client.get("/api/maybe").dispatch().await;
    assert_eq!(response.into_string().await.unwrap(), "hello, stranger");
    let response = client.get("/api/admin").header(bearer).dispatch().await;
    assert_eq!(response.status(), rocket::http::Status::Forbidden);
    assert!(response.into_string().await.unwrap().contains("forbidden"));
}
