//! [`configure`]: the contract's routes as actix-web resources, built from the core's route
//! table [`ROUTES`]; each handler is a translation: read the request, call
//! [`Auth::handle`](auth_core::Auth::handle), write the response.

use actix_web::http::Method;
use actix_web::http::header::{CONTENT_TYPE, USER_AGENT};
use actix_web::{HttpRequest, HttpResponse, web};
use auth_core::AuthError;
use auth_core::http::{HttpRequest as CoreRequest, HttpResponse as CoreResponse, ROUTES, Route};

use crate::request::{Headers, auth_of, header, peer, read_body};
use crate::response::into_actix;

/// Registers the routes of the HTTP contract (`API.md`; every route of
/// [`auth_core::http::ROUTES`]) on a [`web::ServiceConfig`], to be mounted under the prefix of
/// the app's choice with [`Scope::configure`](actix_web::Scope::configure):
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// # fn make_auth() -> auth_core::Auth { auth_core::testkit::TestKit::new().auth }
///
/// # async fn run() -> std::io::Result<()> {
/// let auth = web::Data::new(make_auth()); // built once, shared by every worker
/// HttpServer::new(move || {
///     App::new()
///         .app_data(auth.clone())
///         .service(web::scope("/api/auth").configure(adapter_actix::configure))
/// })
/// .bind(("127.0.0.1", 8080))?
/// .run()
/// .await
/// # }
/// ```
///
/// The handlers find the [`Auth`](auth_core::Auth) as `web::Data<auth_core::Auth>`. The
/// client IP follows from the TCP peer by the `Auth`'s configuration
/// ([`AuthConfig::client_ip`](auth_core::AuthConfig::client_ip)).
///
/// Besides the routes it sets the scope's default service, so that a path under the prefix
/// that is not a route, or a route called with another method, answers the contract's JSON
/// 404 (`not_found`; the contract has no 405) instead of actix-web's empty 404/405. Call it on a [`Scope`](actix_web::Scope):
/// on the [`App`](actix_web::App) itself that default would become the whole app's.
///
/// Bodies are read up to [`MAX_BODY_BYTES`](auth_core::api::MAX_BODY_BYTES) (16 KiB); a larger
/// one answers 413 `payload_too_large`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // One resource per path, with a route for each of its methods: a second resource on the
    // same path would never be reached.
    let mut paths: Vec<&str> = Vec::new();
    for &(_, path, _) in ROUTES {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    for path in paths {
        let mut resource = web::resource(path).default_service(web::to(not_found));
        for &(method, _, id) in ROUTES.iter().filter(|(_, p, _)| *p == path) {
            // The table is the core's; a method that is not one would fail the adapter's
            // route-table test.
            let Ok(method) = Method::from_bytes(method.as_bytes()) else {
                continue;
            };
            resource = resource.route(
                web::method(method)
                    .to(move |req: HttpRequest, body: web::Payload| serve(req, body, id)),
            );
        }
        cfg.service(resource);
    }
    cfg.default_service(web::to(not_found));
}

/// The contract's JSON 404 for everything under the prefix that is not a route.
async fn not_found() -> HttpResponse {
    into_actix(CoreResponse::error(&AuthError::NotFound))
}

/// Reads the request, lets the core serve the route `id`, writes its answer.
async fn serve(req: HttpRequest, payload: web::Payload, id: Route) -> HttpResponse {
    let auth = match auth_of(&req) {
        Ok(auth) => auth,
        Err(err) => return into_actix(CoreResponse::error(&err)),
    };
    let body = match read_body(&req, payload).await {
        Ok(body) => body,
        Err(err) => return into_actix(CoreResponse::error(&err)),
    };
    let path_param = id.param().and_then(|name| req.match_info().get(name));
    let headers = req.headers();
    let content_type = header(headers, &CONTENT_TYPE);
    let user_agent = header(headers, &USER_AGENT);
    let core_req = CoreRequest {
        peer: peer(&req),
        headers: &Headers(headers),
        path_param,
        content_type: content_type.as_deref(),
        user_agent: user_agent.as_deref(),
        body: &body,
    };
    into_actix(auth.handle(id, &core_req).await)
}
