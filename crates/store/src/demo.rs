//! The demo municipality (前橋市, code `maebashi`) of `gigaops demo` / `serve --demo`, also loaded by
//! the web tests that visit every page: the real MEXT school rows, the FY2021–2022 fleet history of
//! `examples/maebashi-fy2022/`, the 2022 LTE usage of `examples/maebashi-2022-usage/` with the
//! escalation run for September–December 2022 (Maebashi's policy), two other cities' real plans
//! shown for illustration — Sendai's FY2023 evaluation (`examples/sendai-r5`) and Chuo's R7–R11
//! schedule (`examples/chuo-r7-r11`), each with a note saying so — plus one account per role. The
//! files are compiled in and go through the one import pipeline, as `gigaops import` does.

use crate::imports::{self, ImportOptions, ImportRequest, Progress};
use crate::{municipalities, users, Store};
use anyhow::{anyhow, Result};
use gigaops_ingest::ImportKind;

/// The demo municipality's code.
pub const CODE: &str = "maebashi";
const NAME: &str = "前橋市教育委員会（デモ）";
/// Password of every demo account (printed when the demo is created).
pub const PASSWORD: &str = "gigaops-demo-2026!";

const FILES: [(&str, &[u8]); 5] = [
    ("schools-maebashi.csv", include_bytes!("../../../examples/maebashi-fy2022/schools-maebashi.csv")),
    ("inventory.csv", include_bytes!("../../../examples/maebashi-fy2022/inventory.csv")),
    ("movements-fy2021.csv", include_bytes!("../../../examples/maebashi-fy2022/movements-fy2021.csv")),
    ("incidents-fy2021.csv", include_bytes!("../../../examples/maebashi-fy2022/incidents-fy2021.csv")),
    ("incidents-fy2022.csv", include_bytes!("../../../examples/maebashi-fy2022/incidents-fy2022.csv")),
];

/// Maebashi's 2022 LTE usage: the lines, January–November per month, December as the carrier's
/// statement with its column mapping (`examples/maebashi-2022-usage/README.md`).
const USAGE_FILES: [(&str, &[u8]); 14] = [
    ("lines.csv", include_bytes!("../../../examples/maebashi-2022-usage/lines.csv")),
    ("usage-2022-01.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-01.csv")),
    ("usage-2022-02.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-02.csv")),
    ("usage-2022-03.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-03.csv")),
    ("usage-2022-04.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-04.csv")),
    ("usage-2022-05.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-05.csv")),
    ("usage-2022-06.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-06.csv")),
    ("usage-2022-07.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-07.csv")),
    ("usage-2022-08.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-08.csv")),
    ("usage-2022-09.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-09.csv")),
    ("usage-2022-10.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-10.csv")),
    ("usage-2022-11.csv", include_bytes!("../../../examples/maebashi-2022-usage/usage-2022-11.csv")),
    ("carrier-2022-12.csv", include_bytes!("../../../examples/maebashi-2022-usage/carrier-2022-12.csv")),
    ("carrier-mapping.toml", include_bytes!("../../../examples/maebashi-2022-usage/carrier-mapping.toml")),
];

/// Other cities' plans, loaded as two plans of the demo board for illustration: (file, contents,
/// the plan's note). Each plan's name is the file's 計画 column; the note, shown on the plan's
/// pages and documents, says whose plan it is.
const PLAN_FILES: [(&str, &[u8], &str); 2] = [
    (
        "plan-r5.csv",
        include_bytes!("../../../examples/sendai-r5/plan-r5.csv"),
        "この計画は仙台市の「学校教育情報化推進計画」令和5年度の点検・評価（公開資料）を、\
         デモのために例示として掲載したものです。本市の計画ではありません。",
    ),
    (
        "schedule-r7-r11.csv",
        include_bytes!("../../../examples/chuo-r7-r11/schedule-r7-r11.csv"),
        "この計画は中央市の ICT 推進計画（令和7〜11年度）のスケジュール（公開資料）を、\
         デモのために例示として掲載したものです。本市の計画ではありません。",
    ),
];

/// The demo accounts, one per role: (e-mail, display name, role, the school of a school user).
pub const ACCOUNTS: [(&str, &str, users::Role, Option<&str>); 5] = [
    ("admin@demo.gigaops.jp", "デモ管理者", users::Role::Admin, None),
    ("board@demo.gigaops.jp", "教育委員会（デモ）", users::Role::Board, None),
    ("school@demo.gigaops.jp", "桃井小学校（デモ）", users::Role::School, Some(SCHOOL)),
    ("support@demo.gigaops.jp", "運営支援センター（デモ）", users::Role::Support, None),
    ("viewer@demo.gigaops.jp", "委員（デモ）", users::Role::Viewer, None),
];

/// The demo school user's school: 前橋市立桃井小学校.
pub const SCHOOL: &str = "B110210000017";

/// Imports one of the demo's files through the one import pipeline; `say` gets its summary line.
async fn import(
    store: &Store,
    m: i64,
    (kind, path): (ImportKind, &std::path::Path),
    options: ImportOptions,
    say: &mut dyn FnMut(String),
) -> Result<()> {
    let progress = Progress::default();
    let request = ImportRequest {
        kind,
        path,
        display_name: None,
        options,
        imported_by: Some("demo".into()),
        dry_run: false,
        run_id: None,
        progress: &progress,
    };
    let (_, out) = imports::run(store, m, request).await;
    say(out?.summary_ja());
    Ok(())
}

/// Creates the demo municipality unless it exists; `say` gets one line per step (each file's
/// import summary, the escalation months, the accounts). Returns whether it was created (`false`:
/// it existed, nothing changed). Idempotent.
///
/// Errors: the first failing import or store call (nothing after it is loaded), or a temp-file
/// write.
pub async fn ensure(store: &Store, say: &mut dyn FnMut(String)) -> Result<bool> {
    if municipalities::find(store, CODE).await?.is_some() {
        say(format!("デモデータは作成済みです（{NAME}）"));
        return Ok(false);
    }
    let m = municipalities::ensure(store, CODE, NAME).await?.id;
    let dir = tempfile_dir()?;
    let result = load(store, m, &dir, say).await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    say(format!("デモの教育委員会を作成しました: {NAME}"));
    say(format!(
        "ログイン: admin@demo.gigaops.jp / board@… / school@… / support@… / viewer@demo.gigaops.jp、パスワード {PASSWORD}"
    ));
    Ok(true)
}

async fn load(store: &Store, m: i64, dir: &std::path::Path, say: &mut dyn FnMut(String)) -> Result<()> {
    for (name, bytes) in FILES.iter().chain(USAGE_FILES.iter()) {
        std::fs::write(dir.join(name), bytes)?;
    }
    let file = |name: &str| dir.join(name);
    let prefixed = ImportOptions { name_prefix: Some("前橋市立".into()), ..Default::default() };
    import(store, m, (ImportKind::Schools, &file(FILES[0].0)), prefixed, say).await?;
    let as_of = chrono::NaiveDate::from_ymd_opt(2021, 4, 1).expect("valid date");
    let inventory = ImportOptions { as_of: Some(as_of), ..Default::default() };
    import(store, m, (ImportKind::Devices, &file(FILES[1].0)), inventory, say).await?;
    import(store, m, (ImportKind::Movements, &file(FILES[2].0)), ImportOptions::default(), say).await?;
    for (n, _) in &FILES[3..] {
        import(store, m, (ImportKind::Incidents, &file(n)), ImportOptions::default(), say).await?;
    }
    import(store, m, (ImportKind::Lines, &file("lines.csv")), ImportOptions::default(), say).await?;
    let mapping = ("carrier-mapping.toml".to_string(), String::from_utf8_lossy(USAGE_FILES[13].1).into_owned());
    for (name, _) in &USAGE_FILES[1..13] {
        let mapping = name.starts_with("carrier").then(|| mapping.clone());
        import(store, m, (ImportKind::Usage, &file(name)), ImportOptions { mapping, ..Default::default() }, say)
            .await?;
    }
    for month in 9..=12 {
        let month = gigaops_domain::YearMonth::new(2022, month).ok_or_else(|| anyhow!("2022-{month}"))?;
        crate::usage::escalation::run(store, m, month, Some("demo")).await?;
    }
    say("通信量の段階的な対応: 2022-09〜2022-12 を判定しました".into());
    for (name, bytes, note) in PLAN_FILES {
        std::fs::write(dir.join(name), bytes)?;
        let before: Vec<i64> = crate::plan::plans(store, m).await?.iter().map(|p| p.id).collect();
        import(store, m, (ImportKind::Plan, &file(name)), ImportOptions::default(), say).await?;
        for p in crate::plan::plans(store, m).await?.iter().filter(|p| !before.contains(&p.id)) {
            crate::plan::set_note(store, m, p.id, note).await?;
        }
    }
    for (email, name, role, school) in ACCOUNTS {
        let schools: Vec<String> = school.map(str::to_string).into_iter().collect();
        users::add(store, m, email, name, PASSWORD, role, &schools).await?;
    }
    Ok(())
}

/// A folder of its own for one load (several may run in one process, e.g. tests).
fn tempfile_dir() -> Result<std::path::PathBuf> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("gigaops-demo-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
