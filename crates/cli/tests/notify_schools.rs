//! `gigaops escalation notify-schools` on SQLite and PostgreSQL, against a local SMTP sink: the
//! SMTP settings come from the `GIGAOPS_SMTP_*` variables; a dry run sends nothing; each school's
//! users get their school's notice once, again only with `--resend`; a school without a school
//! user is reported; the case history shows the e-mail.

use gigaops_mail::testing::SmtpSink;
use gigaops_store::testing::{fresh_url, BACKENDS};
use gigaops_store::users::{self, Role};
use gigaops_store::{municipalities, Store};
use std::process::{Command, Output};
mod common;

use common::{ok, root};

/// Runs `gigaops --database-url DB ARGS…` with the SMTP variables of `smtp` (none when `None`).
fn with_smtp(db: &str, smtp: Option<u16>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gigaops"));
    c.args(["--database-url", db]).args(args).current_dir(root()).env("GIGAOPS_LOG", "warn");
    for v in ["HOST", "PORT", "FROM", "USER", "PASSWORD", "TLS"] {
        c.env_remove(format!("GIGAOPS_SMTP_{v}"));
    }
    if let Some(port) = smtp {
        c.env("GIGAOPS_SMTP_HOST", "127.0.0.1")
            .env("GIGAOPS_SMTP_PORT", port.to_string())
            .env("GIGAOPS_SMTP_FROM", "前橋市教育委員会 <gigaops@city.test>")
            .env("GIGAOPS_SMTP_TLS", "none");
    }
    c.output().expect("run gigaops")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_schools_sends_each_school_its_own_notice_once() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        let dir = tempfile::tempdir().unwrap();
        let lines = dir.path().join("lines.csv");
        std::fs::write(
            &lines,
            "line_id,school_code,device_serial,pupil_id,active_from\n07000000001,B110210000017,S1,P-MOMOI,2021-04-01\n\
             07000000002,B110210000026,S2,P-NAKA,2021-04-01\n",
        )
        .unwrap();
        let usage = dir.path().join("usage.csv");
        std::fs::write(
            &usage,
            "line_id,month,usage_gb\n07000000001,2022-09,250\n07000000002,2022-09,230\n\
             07000000001,2022-10,250\n07000000002,2022-10,230\n",
        )
        .unwrap();
        ok(&db, &["municipality", "add", "maebashi", "前橋市教育委員会"]);
        ok(&db, &["import", "schools", "examples/maebashi-fy2022/schools-maebashi.csv", "--name-prefix", "前橋市立"]);
        ok(&db, &["import", "lines", lines.to_str().unwrap()]);
        ok(&db, &["import", "usage", usage.to_str().unwrap()]);
        ok(&db, &["escalation", "run", "--month", "2022-09"]);
        ok(&db, &["escalation", "run", "--month", "2022-10"]);
        {
            let store = Store::connect(&db).await.unwrap();
            let m = municipalities::find(&store, "maebashi").await.unwrap().unwrap().id;
            let pw = "correct-horse-battery-staple";
            users::add(&store, m, "kocho@momoi.test", "桃井", pw, Role::School, &["B110210000017".into()])
                .await
                .unwrap();
            store.db.close().await.ok();
        }
        let sink = SmtpSink::start().await;

        let dry = with_smtp(&db, None, &["escalation", "notify-schools", "--month", "2022-10", "--dry-run"]);
        assert!(dry.status.success(), "{b:?} {}", text(&dry));
        let out = text(&dry);
        assert!(
            out.contains("前橋市立桃井小学校（B110210000017）: 1 件の通知を kocho@momoi.test に送信します（試行）"),
            "{out}"
        );
        assert!(out.contains("前橋市立中川小学校（B110210000026）: 学校ユーザーのアカウントがない"), "{out}");
        let unset = with_smtp(&db, None, &["escalation", "notify-schools", "--month", "2022-10"]);
        assert!(!unset.status.success() && text(&unset).contains("SMTP が設定されていません"), "{}", text(&unset));
        assert!(sink.received().is_empty());

        let sent = with_smtp(&db, Some(sink.port), &["escalation", "notify-schools", "--month", "2022-10"]);
        assert!(sent.status.success(), "{b:?} {}", text(&sent));
        assert!(text(&sent).contains("kocho@momoi.test に送信しました"), "{}", text(&sent));
        let got = sink.received();
        assert_eq!(got.len(), 1, "{b:?}");
        assert_eq!(got[0].to, vec!["kocho@momoi.test".to_string()]);
        let msg = mail_parser::MessageParser::default().parse(got[0].data.as_bytes()).unwrap();
        assert!(msg.subject().unwrap().contains("【前橋市教育委員会】"), "{:?}", msg.subject());
        let body = msg.body_text(0).unwrap();
        assert!(body.contains("P-MOMOI") && !body.contains("P-NAKA"), "{b:?} {body}");

        let again = with_smtp(&db, Some(sink.port), &["escalation", "notify-schools", "--month", "2022-10"]);
        assert!(text(&again).contains("送信済みです"), "{}", text(&again));
        assert_eq!(sink.received().len(), 1, "{b:?} not sent twice");
        let resend =
            with_smtp(&db, Some(sink.port), &["escalation", "notify-schools", "--month", "2022-10", "--resend"]);
        assert!(resend.status.success());
        assert_eq!(sink.received().len(), 2, "{b:?} sent again with --resend");

        let work: serde_json::Value =
            serde_json::from_str(&ok(&db, &["escalation", "work", "--month", "2022-10"])).unwrap();
        let case = work.as_array().unwrap().iter().find(|w| w["pupil_id"] == "P-MOMOI").unwrap()["case_id"].clone();
        let history = ok(&db, &["escalation", "history", "--case", &case.to_string()]);
        assert_eq!(history.matches("メール送信").count(), 2, "{b:?} {history}");
    }
}
