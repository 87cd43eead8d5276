//! One end-to-end test in headless Chromium, driven through WebDriver (chromedriver + fantoccini):
//! log in, read a month's count in the report, find a device with the search box, register an
//! incident with a spare swap through the form, and see the count go up by one; the plan scenarios
//! (edit, lock, print; upload a plan file through the file input).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`;
//! `CHROMEDRIVER` / `CHROMIUM` override the paths). Missing binaries fail the test: it never skips.
//! The imports page runs on both databases; the other scenarios on SQLite only (their storage
//! behaviour is covered on both backends by the other tests).

use crate::app::{TestApp, BOARD, PASSWORD};
use fantoccini::{Client, ClientBuilder, Locator};
use gigaops_domain::{FiscalYear, YearMonth};
use gigaops_store::testing::Backend;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills chromedriver when the test ends, however it ends.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn start_chromedriver() -> ChromeDriver {
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    assert!(
        std::path::Path::new(&bin).exists(),
        "{bin} not found: install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    );
    let port = free_port();
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let driver = ChromeDriver { child, url: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await {
            if r.status().is_success() {
                return driver;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on port {port}");
}

async fn browser(driver: &ChromeDriver) -> Client {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(std::path::Path::new(&chromium).exists(), "{chromium} not found: install Debian's chromium");
    // fantoccini's hyper-rustls brings aws-lc-rs and reqwest brings ring: pick one for the process
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1024", "--lang=ja"
            ],
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"))
}

/// Runs `scenario` (given the browser and the app's base URL) in a fresh headless Chromium; the
/// browser and chromedriver end however the scenario ends, and an error fails the test.
pub(crate) async fn in_browser(
    app: &TestApp,
    scenario: impl AsyncFnOnce(&Client, &str) -> Result<(), fantoccini::error::CmdError>,
) {
    let driver = start_chromedriver().await;
    let b = browser(&driver).await;
    let result = scenario(&b, &app.base).await;
    let _ = b.close().await;
    drop(driver);
    result.unwrap_or_else(|e| panic!("browser scenario failed: {e}"));
}

/// The 計 of `month` (e.g. `11月`) in the group's table of the report page.
async fn month_total(b: &Client, group: &str, month: &str) -> i64 {
    let xpath = format!("//section[h2='{group}']//table//tr[th='{month}']/td[5]");
    // the page may still be replacing itself after the form was sent (same year shown before and
    // after): a stale element is read again from the new page
    let mut last = String::new();
    for _ in 0..50 {
        match b.find(Locator::XPath(&xpath)).await {
            Ok(cell) => match cell.text().await {
                Ok(text) => {
                    return text.trim().replace(',', "").parse().unwrap_or_else(|_| panic!("not a number: {text:?}"))
                }
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{xpath}: {last}")
}

async fn open_report(b: &Client, base: &str, fy: FiscalYear) {
    b.goto(&format!("{base}/fleet/report")).await.expect("report page");
    let select = b.find(Locator::Id("fiscal_year")).await.expect("year picker");
    select.select_by_value(&fy.short_label()).await.expect("pick the year");
    b.find(Locator::Css(".report-tools button[type=submit]")).await.expect("表示").click().await.expect("click");
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(&format!("//h1[contains(., '{}')]", fy.label_ja())))
        .await
        .expect("report of the year shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_an_incident_in_the_browser_and_see_the_report_change() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    in_browser(&app, scenario).await;
}

async fn scenario(b: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    // the incident is dated today (the form's default), so the report is this fiscal year's
    let today = (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive();
    let fy = FiscalYear::of(today);
    let month = YearMonth::of(today).label_ja();
    let group = "iPad（小中）";

    // a page needs a session: the browser lands on the login form
    b.goto(&format!("{base}/fleet/report")).await?;
    let url = b.current_url().await?;
    assert_eq!(url.path(), "/login", "redirected to the login form");
    b.find(Locator::Id("email")).await?.send_keys(BOARD).await?;
    b.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
    b.find(Locator::Css(".login-box button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("fiscal_year")).await?;
    assert_eq!(b.current_url().await?.path(), "/fleet/report", "back to the page asked for");

    // nothing is recorded this year yet: the page says so in one sentence, with no table of zeros
    open_report(b, base, fy).await;
    let note = b.find(Locator::Id("no-data")).await?.text().await?;
    assert!(note.starts_with(&format!("{}の記録はありません。", fy.label_ja())), "{note}");
    let before = 0;

    // find a device with the search box in the header
    let search = b.find(Locator::Id("site-search-q")).await?;
    search.send_keys("MBS-IP-900005").await?;
    b.find(Locator::Css(".site-search button")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("device-status")).await?;
    assert!(b.current_url().await?.path().ends_with("/fleet/devices/TMOMO0005"));
    assert_eq!(b.find(Locator::Id("device-status")).await?.text().await?, "配置済");

    // register a damage with a spare swap (date: today, the default)
    let date = b.find(Locator::Id("occurred_on")).await?.prop("value").await?;
    assert_eq!(date.as_deref(), Some(today.to_string().as_str()), "the date defaults to today");
    b.find(Locator::Id("kind")).await?.select_by_value("damage").await?;
    b.find(Locator::Id("cause")).await?.send_keys("画面割れ（落下）").await?;
    b.find(Locator::Id("replacement_serial")).await?.send_keys("TSPARE002").await?;
    b.find(Locator::Css("#incident-form button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("p.flash")).await?;
    let flash = b.find(Locator::Css("p.flash")).await?.text().await?;
    assert!(flash.contains("登録しました"), "flash: {flash}");
    assert_eq!(b.find(Locator::Id("device-status")).await?.text().await?, "修理中");

    // the report counts it
    open_report(b, base, fy).await;
    let after = month_total(b, group, &month).await;
    assert_eq!(after, before + 1, "{month} of {} goes up by one", fy.label_ja());
    Ok(())
}

/// Issue 4 in the browser: a division member edits a goal's entry in the open year, the admin locks
/// the year, and the printed table shows the edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_a_plan_entry_lock_the_year_and_print() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    crate::plan::load_sendai(&app).await;
    let m = gigaops_store::municipalities::list(&app.store).await.expect("municipalities")[0].id;
    let pl = gigaops_store::plan::find_plan(&app.store, m, None, None).await.expect("plan");
    gigaops_store::plan::set_year_state(
        &app.store,
        m,
        &pl,
        FiscalYear(2023),
        gigaops_store::plan::YearState::Open,
        "test",
    )
    .await
    .expect("open the year");
    in_browser(&app, plan_scenario).await;
}

/// Issue 4: the admin uploads Sendai's 資料4-1 file through the page's file input and sees the counts
/// and then the year's table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_the_plan_file_in_the_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    in_browser(&app, upload_scenario).await;
}

async fn upload_scenario(b: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&format!("{base}/plan/import")).await?;
    b.find(Locator::Id("email")).await?.send_keys(crate::app::ADMIN).await?;
    b.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
    b.find(Locator::Css(".login-box button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("import-form")).await?;
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/sendai-r5/plan-r5.csv")
        .canonicalize()
        .expect("the Sendai example");
    b.find(Locator::Id("file")).await?.send_keys(&file.display().to_string()).await?;
    b.find(Locator::Css("#import-form button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(30)).for_element(Locator::Id("import-result")).await?;
    assert_eq!(b.find(Locator::Id("count-inserted")).await?.text().await?, "53");
    assert_eq!(b.find(Locator::Id("count-rows")).await?.text().await?, "53");
    let heading = b.find(Locator::Css("#import-result h2")).await?.text().await?;
    assert_eq!(heading, "取り込みました");

    b.goto(&format!("{base}/plan?fiscal_year=R5")).await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("year-state")).await?;
    assert_eq!(b.find_all(Locator::Css("table.plan-goals tbody tr")).await?.len(), 53);
    Ok(())
}

/// Issue 3: a school user, in the browser, sees only their own school's cases, and marks the
/// notice to their school done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_user_sees_only_their_own_schools_cases_in_the_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    crate::usage::load_usage_to_october(&app.store).await;
    in_browser(&app, school_cases).await;
}

async fn login(b: &Client, base: &str, email: &str, landing: &str) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&format!("{base}{landing}")).await?;
    b.find(Locator::Id("email")).await?.send_keys(email).await?;
    b.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
    b.find(Locator::Css(".login-box button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("year-state")).await?;
    Ok(())
}

async fn plan_scenario(b: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    // the board user (教育指導課) edits 1-(1)-①-A
    login(b, base, BOARD, "/plan?fiscal_year=R5").await?;
    assert_eq!(b.find(Locator::Id("year-state")).await?.text().await?, "受付中");
    b.find(Locator::Css("tr[id='goal-1-(1)-①-A'] a.edit-link")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("entry-form")).await?;
    let result = b.find(Locator::Id("result")).await?;
    result.clear().await?;
    result.send_keys("モデルカリキュラムの見直しを完了した。").await?;
    b.find(Locator::Id("grade")).await?.select_by_value("excellent").await?;
    b.find(Locator::Css("#entry-form button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("p.flash")).await?;
    let flash = b.find(Locator::Css("p.flash")).await?.text().await?;
    assert!(flash.contains("1-(1)-①-A を保存しました（版 2）"), "flash: {flash}");
    let grade = b.find(Locator::Css("tr[id='goal-1-(1)-①-A'] td.grade")).await?.text().await?;
    assert_eq!(grade, "◎");
    b.find(Locator::Css(".logout button")).await?.click().await?;
    // let the logout finish before signing in again (else it may end the next session)
    for _ in 0..100 {
        if b.current_url().await?.path() == "/login" && b.find(Locator::Id("email")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.current_url().await?.path(), "/login", "signed out");

    // the admin locks the year
    login(b, base, crate::app::ADMIN, "/plan?fiscal_year=R5").await?;
    b.find(Locator::Id("lock-year")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("p.flash")).await?;
    assert_eq!(b.find(Locator::Id("year-state")).await?.text().await?, "確定（ロック）");
    assert!(b.find_all(Locator::Css("a.edit-link")).await?.is_empty(), "no edit links once locked");

    // the printed table: A4 landscape document with the edit in it
    b.goto(&format!("{base}/plan/print?fiscal_year=R5")).await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("table.plan-table thead")).await?;
    let rows = b.find_all(Locator::Css("table.plan-table tr.goal")).await?;
    assert_eq!(rows.len(), 53);
    let first = rows[0].text().await?;
    assert!(first.contains("モデルカリキュラムの見直しを完了した。") && first.contains('◎'), "{first}");
    let header_group: String = b
        .execute("return getComputedStyle(document.querySelector('table.plan-table thead')).display", vec![])
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(header_group, "table-header-group", "the header repeats on every printed page");
    Ok(())
}

async fn school_cases(b: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&format!("{base}/usage/cases?month=2022-09")).await?;
    assert_eq!(b.current_url().await?.path(), "/login");
    b.find(Locator::Id("email")).await?.send_keys(crate::app::SCHOOL).await?;
    b.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
    b.find(Locator::Css(".login-box button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("cases")).await?;
    let pupils: Vec<String> = {
        let mut v = Vec::new();
        for cell in b.find_all(Locator::Css("#cases td.pupil")).await? {
            v.push(cell.text().await?.trim().to_string());
        }
        v
    };
    assert_eq!(pupils, vec!["P-MOMOI".to_string()], "only the school's own pupil");
    let body = b.source().await?;
    assert!(!body.contains("P-NAKA"), "another school's pupil never reaches the browser");

    // October: step ② is the notice to the school; the school user ticks it and marks it done
    b.goto(&format!("{base}/usage/work?month=2022-10")).await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("work")).await?;
    let boxes = b.find_all(Locator::Css("#work input[name=id]")).await?;
    assert_eq!(boxes.len(), 1, "one notice of their own school to complete");
    boxes[0].click().await?;
    b.find(Locator::Id("mark-done")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("p.flash")).await?;
    let flash = b.find(Locator::Css("p.flash")).await?.text().await?;
    assert!(flash.contains("1 件の作業を完了にしました"), "flash: {flash}");
    let done = b.find(Locator::Css("#work td.done")).await?.text().await?;
    assert!(done.starts_with("完了") && done.contains(crate::app::SCHOOL), "{done}");
    assert!(b.find_all(Locator::Css("#work input[name=id]")).await?.is_empty(), "nothing left to tick");
    // the case history shows who did it
    b.find(Locator::LinkText("経過")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("case-history")).await?;
    let history = b.find(Locator::Id("case-history")).await?.text().await?;
    assert!(history.contains("新規対象者") && history.contains(crate::app::SCHOOL), "{history}");
    Ok(())
}

/// Every file kind of `examples/` goes in through `/imports` in the browser, on both databases:
/// choose the kind and the file, see the preview (format, column mapping, counts), confirm, see
/// the progress or the result, and find each import in the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_file_goes_in_through_the_imports_page() {
    for backend in gigaops_store::testing::BACKENDS {
        let app = TestApp::spawn(backend).await;
        in_browser(&app, imports_scenario).await;
    }
}

/// The status of the job page shown now (the page replaces itself every 2 s while it works).
async fn job_status(b: &Client) -> String {
    for _ in 0..50 {
        if let Ok(e) = b.find(Locator::Id("job-status")).await {
            if let Ok(Some(s)) = e.attr("data-status").await {
                return s;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no job status on the page");
}

/// Waits until the job page shows a status other than previewing/running and other than `before`
/// (the status of the page a button was clicked on, which may still be shown for a moment);
/// returns it and whether the progress section was seen meanwhile.
async fn job_settled(b: &Client, before: &str) -> (String, bool) {
    let mut saw_progress = false;
    for _ in 0..900 {
        let s = job_status(b).await;
        if !matches!(s.as_str(), "previewing" | "running") && s != before {
            return (s, saw_progress);
        }
        saw_progress |= b.find(Locator::Id("progress-rows")).await.is_ok();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the job did not finish");
}

/// (kind, file under `examples/`, an option's field and value, rows, text of the detected format,
/// a header the column mapping shows)
type ExampleFile =
    (&'static str, &'static str, Option<(&'static str, &'static str)>, &'static str, &'static str, &'static str);

async fn imports_scenario(b: &Client, base: &str) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&format!("{base}/imports")).await?;
    b.find(Locator::Id("email")).await?.send_keys(BOARD).await?;
    b.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
    b.find(Locator::Css(".login-box button[type=submit]")).await?.click().await?;
    b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("upload-form")).await?;
    let examples =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").canonicalize().expect("examples");
    let files: [ExampleFile; 9] = [
        (
            "schools",
            "maebashi-fy2022/schools-maebashi.csv",
            Some(("name_prefix", "前橋市立")),
            "73",
            "学校コード",
            "学校コード",
        ),
        (
            "devices",
            "maebashi-fy2022/inventory.csv",
            Some(("as_of", "2021-04-01")),
            "25704",
            "gigaops 標準形式",
            "serial_number",
        ),
        ("movements", "maebashi-fy2022/movements-fy2021.csv", None, "1", "端末の移動", "moved_on"),
        ("incidents", "maebashi-fy2022/incidents-fy2021.csv", None, "217", "破損・故障・紛失", "occurred_on"),
        ("incidents", "maebashi-fy2022/incidents-fy2022.csv", None, "243", "破損・故障・紛失", "occurred_on"),
        ("lines", "maebashi-2022-usage/lines.csv", None, "24933", "LTE 回線", "line_id"),
        ("usage", "maebashi-2022-usage/usage-2022-01.csv", None, "24933", "単位 GB", "usage_gb"),
        ("plan", "sendai-r5/plan-r5.csv", None, "53", "資料4-1", "目標"),
        ("plan", "chuo-r7-r11/schedule-r7-r11.csv", None, "78", "スケジュール", "開始"),
    ];
    let mut saw_progress = false;
    for (kind, file, option, rows, format, header) in files {
        b.goto(&format!("{base}/imports")).await?;
        b.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("upload-form")).await?;
        b.find(Locator::Id("kind")).await?.select_by_value(kind).await?;
        let path = examples.join(file);
        b.find(Locator::Id("file")).await?.send_keys(&path.display().to_string()).await?;
        if let Some((field, value)) = option {
            let input = b.find(Locator::Id(field)).await?;
            if field == "as_of" {
                // a date input takes the date through a script (its keyboard entry is locale-dependent)
                b.execute(
                    "document.getElementById('as_of').value = arguments[0];",
                    vec![serde_json::Value::String(value.into())],
                )
                .await?;
            } else {
                input.send_keys(value).await?;
            }
        }
        b.find(Locator::Id("upload")).await?.click().await?;
        let (status, progress) = job_settled(b, "").await;
        saw_progress |= progress;
        let errors = match b.find(Locator::Id("import-errors")).await {
            Ok(e) => e.text().await?,
            Err(_) => String::new(),
        };
        assert_eq!(status, "ready", "{file}: {errors}");
        let shown_format = b.find(Locator::Id("job-format")).await?.text().await?;
        assert!(shown_format.contains(format), "{file}: format {shown_format}");
        let mapping = b.find(Locator::Id("column-mapping")).await?.text().await?;
        assert!(mapping.contains(header), "{file}: mapping {mapping}");
        assert_eq!(b.find(Locator::Id("count-rows")).await?.text().await?, rows, "{file}: rows");
        assert!(!b.find_all(Locator::Css("#sample-rows tbody tr")).await?.is_empty(), "{file}: first rows");
        b.find(Locator::Id("confirm")).await?.click().await?;
        let (status, progress) = job_settled(b, "ready").await;
        saw_progress |= progress;
        let errors = match b.find(Locator::Id("import-errors")).await {
            Ok(e) => e.text().await?,
            Err(_) => b.source().await?,
        };
        assert_eq!(status, "committed", "{file}: {errors}");
        assert_eq!(b.find(Locator::Id("count-rows")).await?.text().await?, rows, "{file}: imported rows");
    }
    assert!(saw_progress, "the progress of a long job was shown at least once");
    b.goto(&format!("{base}/imports")).await?;
    let history = b.find(Locator::Id("history")).await?.text().await?;
    for (_, file, ..) in files {
        let name = file.rsplit('/').next().expect("name");
        assert!(history.contains(name), "history lists {name}: {history}");
    }
    Ok(())
}
