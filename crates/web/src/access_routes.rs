//! Every route with its access rule, registered in one step: [`Routes`] builds the axum router and
//! the list of (method, path, [`Rule`]) together, so a route cannot exist without a rule. The list
//! ([`crate::route_table`]) is what the route × role test walks, calling each route as each role,
//! and what the matrix in `docs/security.md` is generated from ([`matrix_markdown`]).

use crate::auth::{Access, Capability};
use crate::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
use gigaops_store::users::{Role, User};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not (the login form, the health check, the static files).
    Public,
    /// The login form's post: whoever has the form's token cookie — an anonymous visitor (a
    /// signed-in user is sent away from the form and has none: 403).
    LoginForm,
    /// Any signed-in user.
    SignedIn,
    /// A signed-in user whose role allows the capability; other roles 403.
    Needs(Capability),
    /// As [`Rule::Needs`], and a `school` user reaches only their own schools' records: another
    /// school's is 404, as if it did not exist.
    Scoped(Capability),
}

impl Rule {
    /// The rule as written in the matrix.
    pub fn label(self) -> String {
        match self {
            Rule::Public => "public".into(),
            Rule::LoginForm => "login form".into(),
            Rule::SignedIn => "signed in".into(),
            Rule::Needs(c) => format!("{c:?}"),
            Rule::Scoped(c) => format!("{c:?}, own schools"),
        }
    }
}

/// Who calls a route in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No session.
    Anonymous,
    /// A signed-in user of this role (a `school` user of the school the sample records belong to).
    Role(Role),
    /// A `school` user of another school than the sample records'.
    OtherSchool,
}

impl Caller {
    /// Every caller, in the matrix's column order.
    pub const ALL: [Caller; 7] = [
        Caller::Role(Role::Admin),
        Caller::Role(Role::Board),
        Caller::Role(Role::School),
        Caller::OtherSchool,
        Caller::Role(Role::Support),
        Caller::Role(Role::Viewer),
        Caller::Anonymous,
    ];

    /// The column heading.
    pub fn label(self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Role(r) => r.as_str(),
            Caller::OtherSchool => "school (other)",
        }
    }

    fn access(self) -> Option<Access> {
        let role = match self {
            Caller::Anonymous => return None,
            Caller::Role(r) => r,
            Caller::OtherSchool => Role::School,
        };
        Some(Access::new(User {
            id: 0,
            municipality_id: 0,
            email: String::new(),
            display_name: String::new(),
            role,
            school_ids: Vec::new(),
            password_hash: String::new(),
        }))
    }
}

/// What a call answers, as far as access goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Let through to the handler: any status but 403, 500 and the way to the login form (a
    /// handler's 404 for a record that does not exist counts).
    Allowed,
    /// 403.
    Forbidden,
    /// 404: another school's record.
    NotFound,
    /// 303 to `/login`.
    ToLogin,
}

impl Outcome {
    /// The matrix cell.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Allowed => "✓",
            Outcome::Forbidden => "403",
            Outcome::NotFound => "404",
            Outcome::ToLogin => "→ login",
        }
    }
}

/// What `caller` gets from a route with `rule` and `method`.
pub fn expected(rule: Rule, method: &Method, caller: Caller) -> Outcome {
    let Some(access) = caller.access() else {
        return match rule {
            Rule::Public | Rule::LoginForm => Outcome::Allowed,
            // a form post without a session has no CSRF token to match: 403 before the login check
            _ if *method != Method::GET => Outcome::Forbidden,
            _ => Outcome::ToLogin,
        };
    };
    match rule {
        Rule::Public | Rule::SignedIn => Outcome::Allowed,
        Rule::LoginForm => Outcome::Forbidden,
        Rule::Needs(c) | Rule::Scoped(c) if !access.allows(c) => Outcome::Forbidden,
        Rule::Needs(_) => Outcome::Allowed,
        Rule::Scoped(_) if caller == Caller::OtherSchool => Outcome::NotFound,
        Rule::Scoped(_) => Outcome::Allowed,
    }
}

/// One registered route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// GET or POST.
    pub method: Method,
    /// The axum path, with `{name}` parameters.
    pub path: &'static str,
    /// Who may call it.
    pub rule: Rule,
}

/// A router being built together with its route list.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Self {
        Routes { router: Router::new(), table: Vec::new() }
    }

    /// `GET path` (and HEAD) → `handler`, for callers allowed by `rule`.
    pub fn get<H, T>(self, path: &'static str, handler: H, rule: Rule) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.route(path, Method::GET, axum::routing::get(handler), rule)
    }

    /// `POST path` → `handler`, for callers allowed by `rule`.
    pub fn post<H, T>(self, path: &'static str, handler: H, rule: Rule) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.route(path, Method::POST, axum::routing::post(handler), rule)
    }

    /// `method path` → `router` (a method router with layers of its own), for callers allowed by
    /// `rule`. `router` must answer `method` only.
    pub fn route(mut self, path: &'static str, method: Method, router: MethodRouter<AppState>, rule: Rule) -> Self {
        self.router = self.router.route(path, router);
        self.table.push(RouteInfo { method, path, rule });
        self
    }

    /// Both sets of routes.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// The routes answer only signed-in users ([`crate::auth::require_login`]); the list is
    /// unchanged. (No other way to touch the router: every route goes through [`Routes::route`].)
    pub(crate) fn signed_in_only(mut self) -> Self {
        self.router = self.router.route_layer(axum::middleware::from_fn(crate::auth::require_login));
        self
    }

    /// The router and the route list.
    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteInfo>) {
        (self.router, self.table)
    }
}

/// The route × caller matrix of `routes` as a Markdown table: one row per route (by path, then
/// method), one column per [`Caller`], each cell the [`expected`] outcome.
pub fn matrix_markdown(routes: &[RouteInfo]) -> String {
    let mut rows: Vec<&RouteInfo> = routes.iter().collect();
    rows.sort_by(|a, b| (a.path, a.method.as_str()).cmp(&(b.path, b.method.as_str())));
    let mut out = String::from("| method | path | rule |");
    for c in Caller::ALL {
        out += &format!(" {} |", c.label());
    }
    out += "\n|---|---|---|";
    out += &"---|".repeat(Caller::ALL.len());
    out += "\n";
    for r in rows {
        out += &format!("| {} | `{}` | {} |", r.method, r.path, r.rule.label());
        for c in Caller::ALL {
            out += &format!(" {} |", expected(r.rule, &r.method, c).label());
        }
        out += "\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations() {
        let get = Method::GET;
        let post = Method::POST;
        let viewer = Caller::Role(Role::Viewer);
        let school = Caller::Role(Role::School);
        assert_eq!(expected(Rule::Public, &get, Caller::Anonymous), Outcome::Allowed);
        assert_eq!(expected(Rule::SignedIn, &get, Caller::Anonymous), Outcome::ToLogin);
        assert_eq!(expected(Rule::SignedIn, &post, Caller::Anonymous), Outcome::Forbidden);
        assert_eq!(expected(Rule::LoginForm, &post, viewer), Outcome::Forbidden);
        assert_eq!(expected(Rule::Needs(Capability::ViewDevices), &get, viewer), Outcome::Forbidden);
        assert_eq!(expected(Rule::Scoped(Capability::ViewDevices), &get, school), Outcome::Allowed);
        assert_eq!(expected(Rule::Scoped(Capability::ViewDevices), &get, Caller::OtherSchool), Outcome::NotFound);
        assert_eq!(expected(Rule::Scoped(Capability::ViewDevices), &get, viewer), Outcome::Forbidden);
    }
}
