//! The e-mails to schools against a local SMTP sink, on SQLite and PostgreSQL: each school's
//! notice reaches exactly its own users and lists only its own pupils; a second sending needs
//! `resend`; a school without a school-user account is reported; a dry run sends nothing.

use gigaops_domain::YearMonth;
use gigaops_ingest::ImportKind;
use gigaops_mail::testing::SmtpSink;
use gigaops_mail::{notify_schools, MailError, NotifyOptions, SchoolOutcome};
use gigaops_store::imports::ImportOptions;
use gigaops_store::testing::{self, fresh_store, BACKENDS};
use gigaops_store::usage::{escalation, notify, queries};
use gigaops_store::users::{self, Role};
use gigaops_store::Store;

const MOMOI: &str = "B110210000017";
const NAKAGAWA: &str = "B110210000026";
const TAKIKUBO: &str = "B110210001720";

fn ym(s: &str) -> YearMonth {
    s.parse().unwrap()
}

/// Three schools with heavy users in September and October 2022 (so October takes step ②, the
/// notice to the school): 桃井小 two pupils and two school users, 中川小 one pupil and one user,
/// 滝窪小 one pupil and no school user. Both months are run.
async fn setup(store: &Store) -> i64 {
    let m = testing::maebashi_with_schools(store).await;
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.csv");
    std::fs::write(
        &lines,
        format!(
            "line_id,school_code,device_serial,pupil_id,active_from\n\
             07000000001,{MOMOI},S1,P-MOMO1,2021-04-01\n07000000002,{MOMOI},S2,P-MOMO2,2021-04-01\n\
             07000000003,{NAKAGAWA},S3,P-NAKA,2021-04-01\n07000000004,{TAKIKUBO},S4,P-TAKI,2021-04-01\n\
             07000000005,{MOMOI},S5,P-LIGHT,2021-04-01\n"
        ),
    )
    .unwrap();
    testing::import(store, m, ImportKind::Lines, &lines, ImportOptions::default()).await.unwrap();
    let use_csv = dir.path().join("usage.csv");
    let mut text = String::from("line_id,month,usage_gb\n");
    for month in ["2022-09", "2022-10"] {
        for (line, gb) in [(1, 250), (2, 210), (3, 300), (4, 220), (5, 2)] {
            text += &format!("0700000000{line},{month},{gb}\n");
        }
    }
    std::fs::write(&use_csv, text).unwrap();
    testing::import(store, m, ImportKind::Usage, &use_csv, ImportOptions::default()).await.unwrap();
    for month in ["2022-09", "2022-10"] {
        escalation::run(store, m, ym(month), Some("test")).await.unwrap();
    }
    let pw = "correct-horse-battery-staple";
    users::add(store, m, "kocho@momoi.test", "桃井 校長", pw, Role::School, &[MOMOI.into()]).await.unwrap();
    users::add(store, m, "shunin@momoi.test", "桃井 主任", pw, Role::School, &[MOMOI.into()]).await.unwrap();
    users::add(store, m, "kocho@nakagawa.test", "中川 校長", pw, Role::School, &[NAKAGAWA.into()]).await.unwrap();
    users::add(store, m, "board@city.test", "教委", pw, Role::Board, &[]).await.unwrap();
    m
}

/// Subject and text body of a received message, decoded (RFC 2047 subject, base64 / QP body).
fn decode(data: &str) -> (String, String) {
    let msg = mail_parser::MessageParser::default().parse(data.as_bytes()).expect("a MIME message");
    (msg.subject().unwrap_or_default().to_string(), msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default())
}

fn by(who: &str) -> NotifyOptions {
    NotifyOptions { by: Some(who.into()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_school_gets_only_its_own_notice_once() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = setup(&store).await;
        let sink = SmtpSink::start().await;
        let smtp = sink.config();
        let board = "前橋市教育委員会";

        // a dry run sends nothing and records nothing
        let dry = NotifyOptions { dry_run: true, ..by("cli") };
        let plan = notify_schools(&store, None, m, board, ym("2022-10"), &dry).await.unwrap();
        assert_eq!(
            plan.iter().map(|n| n.outcome.clone()).collect::<Vec<_>>(),
            vec![SchoolOutcome::WouldSend, SchoolOutcome::WouldSend, SchoolOutcome::NoRecipients]
        );
        assert!(sink.received().is_empty(), "{b:?}");
        // without SMTP settings a real sending is refused before anything is sent
        let e = notify_schools(&store, None, m, board, ym("2022-10"), &by("cli")).await.unwrap_err();
        assert!(matches!(e, MailError::NotConfigured), "{b:?} {e}");

        let out = notify_schools(&store, Some(&smtp), m, board, ym("2022-10"), &by("board@city.test")).await.unwrap();
        let codes: Vec<_> = out.iter().map(|n| (n.school_code.as_str(), n.cases, n.outcome.clone())).collect();
        assert_eq!(
            codes,
            vec![
                (MOMOI, 2, SchoolOutcome::Sent),
                (NAKAGAWA, 1, SchoolOutcome::Sent),
                (TAKIKUBO, 1, SchoolOutcome::NoRecipients)
            ]
        );
        assert!(out[2].describe().contains("学校ユーザーのアカウントがない"), "{}", out[2].describe());

        let got = sink.received();
        assert_eq!(got.len(), 2, "{b:?} one e-mail per school with users");
        let momoi = got.iter().find(|r| r.to.contains(&"kocho@momoi.test".to_string())).expect("桃井's mail");
        assert_eq!(momoi.to, vec!["kocho@momoi.test", "shunin@momoi.test"], "{b:?} exactly 桃井's users");
        assert_eq!(momoi.from, "gigaops@test.gigaops.jp");
        let (subject, body) = decode(&momoi.data);
        assert!(subject.contains("前橋市立桃井小学校") && subject.contains("2022年10月"), "{b:?} {subject}");
        assert!(body.contains("P-MOMO1") && body.contains("P-MOMO2"), "{b:?} {body}");
        for other in ["P-NAKA", "P-TAKI", "P-LIGHT", "中川", "滝窪"] {
            assert!(!body.contains(other) && !subject.contains(other), "{b:?} {other} leaked into 桃井's mail");
        }
        let naka = got.iter().find(|r| r.to == vec!["kocho@nakagawa.test".to_string()]).expect("中川's mail");
        let (subject, body) = decode(&naka.data);
        assert!(subject.contains("前橋市立中川小学校") && body.contains("P-NAKA"), "{b:?} {subject}\n{body}");
        assert!(!body.contains("P-MOMO") && !body.contains("P-TAKI") && !subject.contains("桃井"), "{b:?} {body}");
        assert!(got.iter().all(|r| !r.to.iter().any(|t| t.contains("board@"))), "{b:?} board users get none");

        // recorded: who, when, to whom; the case history of 桃井's pupil shows it
        let sent = notify::sent(&store, m, "2022-10").await.unwrap();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].recipients, "kocho@momoi.test,shunin@momoi.test");
        assert_eq!((sent[0].cases, sent[0].sent_by.as_deref()), (2, Some("board@city.test")));
        let case = queries::case_rows(&store, m, ym("2022-10"), None)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.pupil_id.as_deref() == Some("P-MOMO1"))
            .unwrap()
            .case_id;
        let mails = notify::of_case(&store, m, case).await.unwrap();
        assert_eq!(mails.len(), 1, "{b:?}");
        assert_eq!(mails[0].school_id, sent[0].school_id);

        // a second sending is not silent: already sent, nothing goes out
        let again = notify_schools(&store, Some(&smtp), m, board, ym("2022-10"), &by("cli")).await.unwrap();
        assert!(
            matches!(again[0].outcome, SchoolOutcome::AlreadySent { ref sent_by, .. } if sent_by.as_deref() == Some("board@city.test"))
        );
        assert!(again[0].describe().contains("送信済み"), "{}", again[0].describe());
        assert_eq!(sink.received().len(), 2, "{b:?} nothing sent twice");
        // … unless asked for
        let resend = NotifyOptions { resend: true, ..by("cli") };
        let again = notify_schools(&store, Some(&smtp), m, board, ym("2022-10"), &resend).await.unwrap();
        assert_eq!(again.iter().filter(|n| n.outcome == SchoolOutcome::Sent).count(), 2);
        assert_eq!(sink.received().len(), 4);
        assert_eq!(notify::sent(&store, m, "2022-10").await.unwrap().len(), 4);

        // September only took step ① (the device): nothing for the schools
        assert!(notify_schools(&store, Some(&smtp), m, board, ym("2022-09"), &by("cli")).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_reported_per_school_and_nothing_recorded() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = setup(&store).await;
        let mut smtp = SmtpSink::start().await.config();
        // a port nobody listens on: bind one and let it go
        smtp.port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out = notify_schools(&store, Some(&smtp), m, "教委", ym("2022-10"), &by("cli")).await.unwrap();
        assert!(matches!(out[0].outcome, SchoolOutcome::Failed { .. }), "{b:?} {:?}", out[0]);
        assert!(matches!(out[1].outcome, SchoolOutcome::Failed { .. }), "{b:?} the others are still tried");
        assert!(notify::sent(&store, m, "2022-10").await.unwrap().is_empty(), "{b:?}");
    }
}
