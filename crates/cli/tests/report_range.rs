//! `report usage` and `report escalation` cover at most 24 months, as on the web.

use gigaops_store::testing::{fresh_url, BACKENDS};
mod common;

use common::{gigaops, ok};

#[tokio::test]
async fn usage_reports_cover_at_most_24_months() {
    for b in BACKENDS {
        let db = fresh_url(b).await;
        ok(&db, &["municipality", "add", "maebashi", "前橋市教育委員会"]);
        for report in ["usage", "escalation"] {
            let o = gigaops(&db, &["report", report, "--from", "1990-01", "--to", "2100-12"]);
            assert!(!o.status.success(), "{b:?} {report}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains("期間は24か月以内にしてください（1990-01〜2100-12 は1332か月です）"),
                "{b:?} {report}: {err}"
            );
            ok(&db, &["report", report, "--from", "2021-01", "--to", "2022-12"]);
        }
    }
}
