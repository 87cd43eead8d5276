//! Real input end to end: the Maebashi FY2022 files go through the `gigaops` binary on
//! SQLite and PostgreSQL, and the fleet report reproduces the table published in seed 003
//! (「学習者用端末の運用状況（破損状況）」). Expected figures are the seed's, typed in here.

use gigaops_store::testing::{fresh_url, BACKENDS};
use serde_json::Value;
mod common;

use common::{gigaops, ok, root};
use std::process::{Command, Output};

const EX: &str = "examples/maebashi-fy2022";

// Seed 003: iPad（小中） April–December 2022.
const IPAD_BROKEN: [i64; 9] = [16, 22, 23, 20, 12, 35, 26, 44, 21];
const IPAD_SPARES: [i64; 9] = [518, 496, 473, 453, 441, 406, 380, 336, 315];
// Seed 003: Chromebook（高） faults April–December 2022.
const CB_FAULTS: [i64; 9] = [0, 0, 9, 2, 0, 5, 2, 6, 0];

#[tokio::test]
async fn maebashi_fy2022_table_is_reproduced_through_the_cli() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        ok(&db, &["municipality", "add", "maebashi", "前橋市教育委員会"]);
        let out = ok(&db, &["import", "schools", &format!("{EX}/schools-maebashi.csv"), "--name-prefix", "前橋市立"]);
        assert!(out.contains("73 行"), "{out}");
        ok(&db, &["import", "devices", &format!("{EX}/inventory.csv"), "--as-of", "2021-04-01"]);
        ok(&db, &["import", "movements", &format!("{EX}/movements-fy2021.csv")]);
        ok(&db, &["import", "incidents", &format!("{EX}/incidents-fy2021.csv")]);
        ok(&db, &["import", "incidents", &format!("{EX}/incidents-fy2022.csv")]);
        // importing the same file again changes nothing
        let again = ok(&db, &["import", "incidents", &format!("{EX}/incidents-fy2022.csv")]);
        assert!(again.contains("新規 0・更新 0・変更なし 243"), "{again}");

        let json: Value = serde_json::from_str(&ok(&db, &["report", "fleet", "--fiscal-year", "R4"])).unwrap();
        assert_eq!(json["fiscal_year"], 2022);
        let groups = json["groups"].as_array().unwrap();
        let group = |name: &str| groups.iter().find(|g| g["model_group"] == name).unwrap_or_else(|| panic!("{name}"));

        let ipad = group("iPad（小中）");
        assert_eq!(ipad["deployed"], 24213, "{b:?}");
        assert_eq!(ipad["spares_start"], 750 - 215 - 1);
        let months = ipad["months"].as_array().unwrap();
        assert_eq!(months.len(), 12);
        assert_eq!(months[0]["month"], "2022-04");
        assert_eq!(months[11]["month"], "2023-03");
        for i in 0..9 {
            assert_eq!(months[i]["damage"], IPAD_BROKEN[i], "{b:?} iPad month {i}");
            assert_eq!(months[i]["total"], IPAD_BROKEN[i]);
            assert_eq!(months[i]["spare_remaining"], IPAD_SPARES[i], "{b:?} iPad spares month {i}");
        }
        assert_eq!(ipad["total"], 219);
        assert_eq!(ipad["previous_year_total"], 215);
        assert_eq!(ipad["incident_rate"], 0.009);
        // trailing six months Jul–Dec: 473 → 315, 26.3/month; 315 lasts 11.96 months
        assert_eq!(ipad["spares_exhausted_in"], "2023-12");

        let cb = group("Chromebook（高）");
        assert_eq!(cb["deployed"], 720);
        let months = cb["months"].as_array().unwrap();
        for i in 0..9 {
            assert_eq!(months[i]["fault"], CB_FAULTS[i], "{b:?} Chromebook month {i}");
        }
        assert_eq!(cb["total"], 24);
        assert_eq!(cb["previous_year_total"], 2);

        // FY2021 is computed by rolling the FY2022 events back: 215 broken, 750 − 215 − 1 spares left
        let r3: Value = serde_json::from_str(&ok(&db, &["report", "fleet", "--fiscal-year", "R3"])).unwrap();
        let ipad3 = r3["groups"].as_array().unwrap().iter().find(|g| g["model_group"] == "iPad（小中）").unwrap();
        assert_eq!(ipad3["total"], 215, "{b:?}");
        assert_eq!(ipad3["spares_start"], 750, "the rollout's spares on 2021-03-31 (registered 2021-04-01)");
        assert_eq!(ipad3["months"][11]["spare_remaining"], 534);
        assert_eq!(ipad3["deployed"], 24213);

        // the other formats render the same figures
        let csv = ok(&db, &["report", "fleet", "--fiscal-year", "令和4", "--format", "csv"]);
        assert!(csv.starts_with('\u{feff}'), "CSV has a BOM for Excel");
        assert!(csv.contains("iPad（小中）,11月,44,0,0,0,44,336"), "{csv}");
        let html = ok(&db, &["report", "fleet", "--fiscal-year", "2022", "--format", "html"]);
        assert!(html.contains("学習者用端末の運用状況（令和4年度）") && html.contains("<svg"), "{html:.300}");
        let dir = tempfile::tempdir().unwrap();
        let xlsx = dir.path().join("fleet.xlsx");
        ok(&db, &["report", "fleet", "--fiscal-year", "R4", "--format", "xlsx", "--out", xlsx.to_str().unwrap()]);
        assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK");
    }
}

#[tokio::test]
async fn bad_input_is_reported_with_file_row_column_and_nothing_is_written() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        let dir = tempfile::tempdir().unwrap();
        ok(&db, &["import", "schools", &format!("{EX}/schools-maebashi.csv")]);
        let bad = dir.path().join("devices.csv");
        std::fs::write(
            &bad,
            "serial_number,model,model_group,device_class,status,school_code,asset_tag\n\
             X1,iPad,iPad（小中）,learner,deployed,B110210000017,\n\
             X2,iPad,iPad（小中）,learner,broken,B110210000017,\n",
        )
        .unwrap();
        let o = gigaops(&db, &["import", "devices", bad.to_str().unwrap()]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("devices.csv:3:status: broken"), "{err}");
        let list = ok(&db, &["report", "fleet", "--fiscal-year", "R4"]);
        assert!(list.contains("\"groups\": []"), "nothing written: {list}");

        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, "").unwrap();
        let o = gigaops(&db, &["import", "incidents", empty.to_str().unwrap()]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("empty.csv"));

        let o = gigaops(&db, &["report", "fleet", "--fiscal-year", "R99x"]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("R99x"));
    }
}

fn gigaops_stdin(db: &str, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gigaops"))
        .args(["--database-url", db])
        .args(args)
        .current_dir(root())
        .env("GIGAOPS_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run gigaops");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_checks_roles_and_schools() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        ok(&db, &["import", "schools", &format!("{EX}/schools-maebashi.csv")]);
        let o = gigaops_stdin(
            &db,
            &["user", "add", "--email", "Admin@Example.jp", "--role", "admin"],
            "correct-horse-battery-staple\n",
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = gigaops_stdin(&db, &["user", "add", "--email", "short@example.jp", "--role", "board"], "short\n");
        assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("12文字以上"));
        for common in ["password1234", "qwertyuiopas", "aaaaaaaaaaaa", "            "] {
            let o = gigaops_stdin(&db, &["user", "add", "--email", "weak@example.jp", "--role", "board"], common);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success() && err.contains("パスワード"), "{common:?}: {err}");
        }
        let o = gigaops_stdin(
            &db,
            &["user", "add", "--email", "s@example.jp", "--role", "school"],
            "correct-horse-battery-staple\n",
        );
        assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--school"));
        let o = gigaops_stdin(
            &db,
            &["user", "add", "--email", "s@example.jp", "--role", "school", "--school", "B110210000017"],
            "correct-horse-battery-staple\n",
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = gigaops_stdin(
            &db,
            &["user", "add", "--email", "x@example.jp", "--role", "owner"],
            "correct-horse-battery-staple\n",
        );
        assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("owner"));
        let list = ok(&db, &["user", "list"]);
        assert!(list.contains("admin@example.jp\tadmin") && list.contains("s@example.jp\tschool"), "{list}");
    }
}
