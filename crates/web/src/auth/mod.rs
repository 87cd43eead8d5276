//! Login and permissions.
//!
//! - [`Backend`]: the axum-login backend over `gigaops_store::users` (e-mail + password, argon2id).
//!   A session remembers the user id and the password hash; changing the password ends every
//!   session of that user.
//! - [`require_login`]: middleware on every page except `/login`, `/health` and `/static/*`;
//!   without a user, pages redirect to `/login?next=…`.
//! - [`SignedIn`]: the extractor handlers use to get the user, their [`Access`] and the session.
//! - [`access`]: the role → capability rules, in one place.

pub mod access;
pub(crate) mod login;

pub use access::{Access, Capability};

use crate::errors::AppError;
use crate::http;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_login::{AuthUser, AuthnBackend, UserId};
use gigaops_store::users::{self, User};
use gigaops_store::{Store, StoreError};
use tower_sessions::Session;

/// A signed-in user as kept by axum-login.
#[derive(Clone)]
pub struct SessionUser(pub User);

impl std::fmt::Debug for SessionUser {
    /// Leaves the password hash out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("id", &self.0.id)
            .field("email", &self.0.email)
            .field("role", &self.0.role)
            .finish()
    }
}

impl AuthUser for SessionUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.0.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        self.0.password_hash.as_bytes()
    }
}

/// E-mail and password from the login form.
#[derive(Clone)]
pub struct Credentials {
    /// E-mail as typed (trimmed and lower-cased by the store).
    pub email: String,
    /// Password as typed.
    pub password: String,
}

/// Authenticates against the store's local accounts.
#[derive(Clone, Debug)]
pub struct Backend {
    store: Store,
}

impl Backend {
    /// A backend over `store`'s accounts.
    pub fn new(store: Store) -> Self {
        Backend { store }
    }
}

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = StoreError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<SessionUser>, StoreError> {
        Ok(users::authenticate(&self.store, &creds.email, &creds.password).await?.map(SessionUser))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<SessionUser>, StoreError> {
        Ok(users::get(&self.store, *id).await?.map(SessionUser))
    }
}

/// The axum-login session of a request.
pub type AuthSession = axum_login::AuthSession<Backend>;

/// Where to send a request without a signed-in user: the login form, coming back to the page
/// afterwards (GET only; a form post cannot be replayed).
fn to_login(method: &Method, uri: &axum::http::Uri) -> Response {
    let target = if *method == Method::GET || *method == Method::HEAD {
        let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        if here == "/" {
            "/login".to_string()
        } else {
            format!("/login?next={}", http::encode(here))
        }
    } else {
        "/login".to_string()
    };
    Redirect::to(&target).into_response()
}

/// Middleware: lets requests with a signed-in user through, redirects the others to the login form.
pub async fn require_login(req: Request, next: Next) -> Response {
    let signed_in = req.extensions().get::<AuthSession>().is_some_and(|a| a.user.is_some());
    if signed_in {
        next.run(req).await
    } else {
        to_login(req.method(), req.uri())
    }
}

/// The signed-in user of a request, with their permissions and session. Extracting it without a
/// user redirects to the login form.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The user's permissions (and the user).
    pub access: Access,
    /// The request's session (CSRF token, flash messages).
    pub session: Session,
}

impl SignedIn {
    /// The signed-in user.
    pub fn user(&self) -> &User {
        self.access.user()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(auth) = parts.extensions.get::<AuthSession>() else {
            return Err(AppError::internal(anyhow::anyhow!("auth layer missing")).into_response());
        };
        match &auth.user {
            Some(u) => Ok(SignedIn { access: Access::new(u.0.clone()), session: auth.session.clone() }),
            None => Err(to_login(&parts.method, &parts.uri)),
        }
    }
}
