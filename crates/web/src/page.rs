//! What every page shares: the [`Layout`] that `templates/base.html` renders (title, user, the
//! navigation the user may use, the CSRF token for the logout form, a flash message), the flash
//! messages themselves, rendering helpers and today's date in Japan.

use crate::auth::{Capability, SignedIn};
use crate::errors::AppResult;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use tower_sessions::Session;

/// Session key of the one-shot message shown on the next page.
const FLASH_KEY: &str = "flash";

/// The part of the site a page belongs to (highlighted in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Devices,
    Report,
    Schools,
    Plan,
    Usage,
    Imports,
    Login,
}

/// One navigation link.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// Who is signed in, for the header.
#[derive(Debug, Clone)]
pub struct UserBadge {
    pub name: String,
    pub role: &'static str,
}

/// Data of `templates/base.html`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub css_href: &'static str,
    pub user: Option<UserBadge>,
    pub nav: Vec<NavItem>,
    /// The session's CSRF token (the logout form and every form of the page use it).
    pub csrf_token: String,
    pub flash: Option<String>,
    /// Show the counter search box in the header.
    pub search: bool,
}

impl Layout {
    /// The layout of a page without a signed-in user (the login form).
    pub fn anonymous(title: impl Into<String>, csrf_token: String) -> Self {
        Layout {
            title: title.into(),
            css_href: crate::assets::css_href(),
            user: None,
            nav: Vec::new(),
            csrf_token,
            flash: None,
            search: false,
        }
    }
}

impl SignedIn {
    /// The layout of a page in `section`: the navigation lists only what the user may use; the
    /// flash message, if any, is taken (shown once).
    pub async fn layout(&self, title: impl Into<String>, section: Section) -> AppResult<Layout> {
        let a = &self.access;
        let mut nav = vec![NavItem { href: "/", label: "ホーム", current: section == Section::Home }];
        if a.allows(Capability::ViewDevices) {
            nav.push(NavItem { href: "/fleet/devices", label: "端末台帳", current: section == Section::Devices });
        }
        if a.allows(Capability::ViewReports) {
            nav.push(NavItem {
                href: "/fleet/report", label: "端末の運用状況", current: section == Section::Report
            });
        }
        if a.allows(Capability::ViewPlan) {
            nav.push(NavItem { href: "/plan", label: "推進計画", current: section == Section::Plan });
        }
        if a.allows(Capability::ViewReports) {
            nav.push(NavItem { href: "/usage/report", label: "通信量", current: section == Section::Usage });
        }
        if a.allows(Capability::ViewSchools) {
            nav.push(NavItem { href: "/schools", label: "学校一覧", current: section == Section::Schools });
        }
        if a.allows(Capability::ViewImports) {
            nav.push(NavItem { href: "/imports", label: "取り込み", current: section == Section::Imports });
        }
        Ok(Layout {
            title: title.into(),
            css_href: crate::assets::css_href(),
            user: Some(UserBadge { name: self.user().display_name.clone(), role: self.user().role.label_ja() }),
            nav,
            csrf_token: crate::csrf::token(&self.session).await?,
            flash: take_flash(&self.session).await?,
            search: a.allows(Capability::ViewDevices),
        })
    }
}

/// Leaves a message for the next page (e.g. 「登録しました」 after a redirect).
pub async fn flash(session: &Session, message: impl Into<String>) -> AppResult<()> {
    session.insert(FLASH_KEY, message.into()).await?;
    Ok(())
}

async fn take_flash(session: &Session) -> AppResult<Option<String>> {
    // look first: removing marks the session modified even when there was nothing to remove
    if session.get::<String>(FLASH_KEY).await?.is_none() {
        return Ok(None);
    }
    Ok(session.remove::<String>(FLASH_KEY).await?)
}

/// Renders a template as a 200 HTML response.
pub fn render<T: Template>(t: &T) -> AppResult<Response> {
    render_with(StatusCode::OK, t)
}

/// Renders a template as an HTML response with `status`.
pub fn render_with<T: Template>(status: StatusCode, t: &T) -> AppResult<Response> {
    Ok((status, Html(t.render()?)).into_response())
}

/// Today in Japan (Asia/Tokyo is UTC+9 all year).
pub fn today_tokyo() -> NaiveDate {
    gigaops_domain::calendar::jst_date(Utc::now())
}

/// What a report shows instead of a table of zeros when its period has no data: one sentence,
/// and a link to the nearest period that has some (or to where data comes from). Rendered by
/// `templates/no_data.html`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoData {
    /// The sentence, e.g. `令和8年度の記録はありません。記録のある最も近い年度は令和4年度です。`
    pub text: String,
    /// Where the link goes.
    pub href: String,
    /// The link's text.
    pub link: String,
}

impl NoData {
    /// A period without data: `what` names the period (`令和8年度`, `2026年11月`), `nearest` the
    /// nearest period with data as (its name, its page), or `None` when there is none at all —
    /// then the link goes to the imports page.
    pub fn for_period(what: &str, kind: &str, nearest: Option<(String, String)>) -> Self {
        match nearest {
            Some((name, href)) => NoData {
                text: format!("{what}の{kind}はありません。{kind}のある最も近い期間は{name}です。"),
                link: format!("{name}を表示"),
                href,
            },
            None => NoData {
                text: format!("まだ{kind}がありません。ファイルを取り込むと表示されます。"),
                link: "取り込みへ".into(),
                href: "/imports".into(),
            },
        }
    }
}
