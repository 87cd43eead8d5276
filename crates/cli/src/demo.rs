//! `gigaops demo`: a demo municipality (前橋市, code `maebashi`) with the real MEXT school rows, the
//! FY2021–2022 fleet history of `examples/maebashi-fy2022/`, the 2022 LTE usage of
//! `examples/maebashi-2022-usage/` with the escalation run for September–December 2022 (Maebashi's
//! policy, seed 003), two other cities' real plans shown for illustration — Sendai's FY2023
//! evaluation (`examples/sendai-r5`) and Chuo's R7–R11 schedule (`examples/chuo-r7-r11`) — plus one
//! account per role. The files are compiled into the binary and go through the one import
//! pipeline, as `gigaops import` does.

use anyhow::{anyhow, Result};
use gigaops_ingest::ImportKind;
use gigaops_store::imports::{self, ImportOptions, ImportRequest, Progress};
use gigaops_store::{municipalities, users, Store};

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

/// Other cities' plans, loaded as two plans of the demo board for illustration (the plan page
/// says so): each plan's name is the file's 計画 column.
const PLAN_FILES: [(&str, &[u8]); 2] = [
    ("plan-r5.csv", include_bytes!("../../../examples/sendai-r5/plan-r5.csv")),
    ("schedule-r7-r11.csv", include_bytes!("../../../examples/chuo-r7-r11/schedule-r7-r11.csv")),
];

/// Imports one of the demo's files through the one import pipeline.
async fn import(store: &Store, m: i64, kind: ImportKind, path: &std::path::Path, options: ImportOptions) -> Result<()> {
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
    eprintln!("{}", out?.summary_ja());
    Ok(())
}

/// Creates the demo municipality unless it exists. Idempotent.
pub async fn ensure(store: &Store) -> Result<()> {
    if municipalities::find(store, CODE).await?.is_some() {
        eprintln!("デモデータは作成済みです（{NAME}）");
        return Ok(());
    }
    let m = municipalities::ensure(store, CODE, NAME).await?;
    let dir = tempfile_dir()?;
    for (name, bytes) in FILES {
        std::fs::write(dir.join(name), bytes)?;
    }
    let file = |name: &str| dir.join(name);
    import(
        store,
        m.id,
        ImportKind::Schools,
        &file(FILES[0].0),
        ImportOptions { name_prefix: Some("前橋市立".into()), ..Default::default() },
    )
    .await?;
    let as_of = chrono::NaiveDate::from_ymd_opt(2021, 4, 1).expect("valid date");
    import(
        store,
        m.id,
        ImportKind::Devices,
        &file(FILES[1].0),
        ImportOptions { as_of: Some(as_of), ..Default::default() },
    )
    .await?;
    import(store, m.id, ImportKind::Movements, &file(FILES[2].0), ImportOptions::default()).await?;
    for (n, _) in &FILES[3..] {
        import(store, m.id, ImportKind::Incidents, &file(n), ImportOptions::default()).await?;
    }
    for (name, bytes) in USAGE_FILES {
        std::fs::write(dir.join(name), bytes)?;
    }
    import(store, m.id, ImportKind::Lines, &file("lines.csv"), ImportOptions::default()).await?;
    let mapping = ("carrier-mapping.toml".to_string(), String::from_utf8_lossy(USAGE_FILES[13].1).into_owned());
    for (name, _) in &USAGE_FILES[1..13] {
        let mapping = name.starts_with("carrier").then(|| mapping.clone());
        import(store, m.id, ImportKind::Usage, &file(name), ImportOptions { mapping, ..Default::default() }).await?;
    }
    for month in 9..=12 {
        let month = gigaops_domain::YearMonth::new(2022, month).ok_or_else(|| anyhow!("2022-{month}"))?;
        gigaops_store::usage::escalation::run(store, m.id, month, Some("demo")).await?;
    }
    eprintln!("通信量の段階的な対応: 2022-09〜2022-12 を判定しました");
    for (name, bytes) in PLAN_FILES {
        std::fs::write(dir.join(name), bytes)?;
        import(store, m.id, ImportKind::Plan, &file(name), ImportOptions::default()).await?;
    }
    let accounts = [
        ("admin@demo.gigaops.jp", "デモ管理者", users::Role::Admin, vec![]),
        ("board@demo.gigaops.jp", "教育委員会（デモ）", users::Role::Board, vec![]),
        ("school@demo.gigaops.jp", "桃井小学校（デモ）", users::Role::School, vec!["B110210000017".to_string()]),
        ("support@demo.gigaops.jp", "運営支援センター（デモ）", users::Role::Support, vec![]),
        ("viewer@demo.gigaops.jp", "委員（デモ）", users::Role::Viewer, vec![]),
    ];
    for (email, name, role, schools) in accounts {
        users::add(store, m.id, email, name, PASSWORD, role, &schools).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("デモの教育委員会を作成しました: {NAME}");
    eprintln!("ログイン: admin@demo.gigaops.jp / board@… / school@… / support@… / viewer@demo.gigaops.jp、パスワード {PASSWORD}");
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("gigaops-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
