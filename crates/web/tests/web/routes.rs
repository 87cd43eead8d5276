//! The route × role matrix: every route of the router's own table ([`gigaops_web::route_table`],
//! built by the same functions as the router, each route with its access rule) is called as every
//! role, as a school user of another school and anonymously, and each answer is compared with the
//! route's rule. The matrix in `docs/security.md` must be the one the rules give (set
//! `GIGAOPS_UPDATE_DOCS=1` to rewrite it).

use crate::app::{csrf_token, TestApp, ADMIN, BOARD, MOMOI, NAKAGAWA, PASSWORD, SCHOOL, SUPPORT, VIEWER};
use gigaops_store::testing::BACKENDS;
use gigaops_store::users::{self, Role};
use gigaops_web::access_routes::{expected, matrix_markdown, Caller, Outcome};
use reqwest::{Method, StatusCode};

const OTHER_SCHOOL: &str = "other-school@test.gigaops.jp";

/// A route's path with sample parameters: records of 桃井小学校 (the school user's school). An
/// import job that does not exist: which kinds of job a role may act on (`Access::may_import`) is
/// for `imports.rs` to test, with jobs of each kind.
fn sample(path: &str) -> String {
    let id = if path.starts_with("/imports/") { "999999" } else { "1" };
    path.replace("{serial}", "TMOMO0001").replace("{id}", id).replace("{code}", MOMOI)
}

/// The fields every form post of the matrix sends besides the token: enough for each form to be
/// read, so that the access check, not the form's validation, answers.
const SAMPLE_FIELDS: [(&str, &str); 1] = [("sheet", "Sheet1")];

fn classify(method: &Method, status: StatusCode, location: &str) -> Outcome {
    match status {
        StatusCode::FORBIDDEN => Outcome::Forbidden,
        StatusCode::NOT_FOUND => Outcome::NotFound,
        StatusCode::SEE_OTHER if *method == Method::GET && location.starts_with("/login") => Outcome::ToLogin,
        _ => Outcome::Allowed,
    }
}

fn docs_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/security.md")
}

/// The Markdown table after the matrix heading of `docs/security.md`.
fn documented_matrix(doc: &str) -> (usize, usize) {
    let heading = doc.find("## Route × role matrix").expect("matrix heading in docs/security.md");
    let start = doc[heading..].find("\n| method |").map(|i| heading + i + 1).unwrap_or(doc.len());
    let end = doc[start..].find("\n\n").map(|i| start + i + 1).unwrap_or(doc.len());
    (start, end)
}

#[test]
fn the_documented_matrix_is_the_one_the_routes_declare() {
    let table = matrix_markdown(&gigaops_web::route_table());
    let path = docs_path();
    let doc = std::fs::read_to_string(&path).expect("docs/security.md");
    let (start, end) = documented_matrix(&doc);
    if doc.get(start..end) != Some(table.as_str()) {
        if std::env::var("GIGAOPS_UPDATE_DOCS").is_ok_and(|v| v == "1") {
            let mut new = doc[..start].to_string();
            new += &table;
            new += &doc[end..];
            std::fs::write(&path, new).expect("write docs/security.md");
        } else {
            panic!("docs/security.md's route × role matrix is out of date; the routes declare:\n\n{table}");
        }
    }
}

#[test]
fn every_route_has_one_rule() {
    let routes = gigaops_web::route_table();
    for r in &routes {
        let same = routes.iter().filter(|o| o.path == r.path && o.method == r.method).count();
        assert_eq!(same, 1, "{} {} registered {same} times", r.method, r.path);
    }
    assert!(routes.len() >= 40, "{} routes", routes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_caller_as_its_rule_says() {
    let mut routes = gigaops_web::route_table();
    // signing out last: the callers stay signed in for the other routes
    routes.sort_by_key(|r| r.path == "/logout");
    for backend in BACKENDS {
        let app = TestApp::spawn(backend).await;
        let m = gigaops_store::municipalities::find(&app.store, "maebashi").await.unwrap().unwrap();
        users::add(&app.store, m.id, OTHER_SCHOOL, "中川 校長", PASSWORD, Role::School, &[NAKAGAWA.to_string()])
            .await
            .expect("other school's user");
        let mut wrong = Vec::new();
        for caller in Caller::ALL {
            let email = match caller {
                Caller::Anonymous => None,
                Caller::OtherSchool => Some(OTHER_SCHOOL),
                Caller::Role(Role::Admin) => Some(ADMIN),
                Caller::Role(Role::Board) => Some(BOARD),
                Caller::Role(Role::School) => Some(SCHOOL),
                Caller::Role(Role::Support) => Some(SUPPORT),
                Caller::Role(Role::Viewer) => Some(VIEWER),
            };
            let (c, token) = match email {
                Some(e) => {
                    let c = app.login(e).await;
                    let token = app.token(&c).await;
                    (c, token)
                }
                None => {
                    let c = app.client();
                    let token = csrf_token(&app.get(&c, "/login").await.body);
                    (c, token)
                }
            };
            for r in &routes {
                let url = app.url(&sample(r.path));
                let req = if r.method == Method::POST {
                    let mut form = vec![("csrf_token", token.as_str())];
                    form.extend(SAMPLE_FIELDS);
                    c.post(&url).form(&form)
                } else {
                    c.request(r.method.clone(), &url)
                };
                let resp = req.send().await.expect("request");
                let status = resp.status();
                let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{} {} is not routed", r.method, r.path);
                assert!(
                    !status.is_server_error(),
                    "[{backend:?}] {} {} as {}: {status}",
                    r.method,
                    r.path,
                    caller.label()
                );
                let got = classify(&r.method, status, &location);
                let want = expected(r.rule, &r.method, caller);
                // a handler's 404 for a sample record that does not exist is past the access check
                let ok = got == want || (want == Outcome::Allowed && got == Outcome::NotFound);
                if !ok {
                    wrong.push(format!(
                        "{} {} as {}: {status} {location} — the rule {} says {}",
                        r.method,
                        r.path,
                        caller.label(),
                        r.rule.label(),
                        want.label()
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "[{backend:?}] answers that differ from the rules:\n{}", wrong.join("\n"));
    }
}
