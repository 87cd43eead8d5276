//! Plan storage on both backends: importing Sendai's 資料4-1 and Chuo's schedule, idempotency,
//! bad years, locked years, editing with optimistic locking, the change log and comments.

use gigaops_domain::plan::{Grade, Level, Status};
use gigaops_domain::FiscalYear;
use gigaops_ingest::ImportKind;
use gigaops_store::entity::{import_run, plan_entry, plan_entry_change};
use gigaops_store::imports::{ImportOptions, ImportOutcome};
use gigaops_store::plan::{self, Editor, YearState};
use gigaops_store::testing::{self, fresh_store, BACKENDS};
use gigaops_store::users::{self, Role};
use gigaops_store::{municipalities, Store, StoreError};
use sea_orm::{EntityTrait, PaginatorTrait};
use std::path::{Path, PathBuf};

fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(rel)
}

async fn import(store: &Store, m: i64, p: &Path, dry_run: bool) -> Result<ImportOutcome, StoreError> {
    if dry_run {
        testing::import_dry(store, m, ImportKind::Plan, p, ImportOptions::default()).await
    } else {
        testing::import(store, m, ImportKind::Plan, p, ImportOptions::default()).await
    }
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const HEADER: &str = "計画,年度,基本方針,基本方針名,施策,施策名,取組項目,取組項目名,概要,目標,目標内容,担当課,取組,区分,達成時期,実績・課題,評価,次年度の取組,次年度の区分,学校の取組";

#[tokio::test]
async fn sendai_imports_idempotently_with_the_document_counts() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "sendai", "仙台市教育委員会").await.unwrap().id;
        let p = example("sendai-r5/plan-r5.csv");

        let dry = import(&store, m, &p, true).await.unwrap();
        assert_eq!((dry.rows, dry.inserted), (53, 53), "{b:?}");
        assert_eq!(plan_entry::Entity::find().count(&store.db).await.unwrap(), 0, "dry run wrote rows");

        let first = import(&store, m, &p, false).await.unwrap();
        assert_eq!((first.rows, first.inserted, first.updated, first.unchanged), (53, 53, 0, 0), "{b:?}");
        let again = import(&store, m, &p, false).await.unwrap();
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 53), "{b:?}");
        assert_eq!(import_run::Entity::find().count(&store.db).await.unwrap(), 2);
        assert_eq!(plan_entry_change::Entity::find().count(&store.db).await.unwrap(), 53);

        let pl = plan::find_plan(&store, m, None, Some(FiscalYear(2023))).await.unwrap();
        assert_eq!((pl.name.as_str(), pl.period.to_string()), ("仙台市学校教育情報化推進計画", "R5-R9".into()));
        let items = plan::items(&store, pl.id).await.unwrap();
        let count = |l: Level| items.iter().filter(|i| i.fields.code.level() == l).count();
        assert_eq!(
            [count(Level::Policy), count(Level::Measure), count(Level::Initiative), count(Level::Goal)],
            [4, 7, 25, 53]
        );
        let entries = plan::entries(&store, pl.id, FiscalYear(2023)).await.unwrap();
        assert_eq!(entries.len(), 53);
        assert_eq!(entries[0].goal, "1-(1)-①-A");
        let excellent = entries.iter().filter(|e| e.fields.grade == Grade::Excellent).count();
        let good = entries.iter().filter(|e| e.fields.grade == Grade::Good).count();
        assert_eq!((excellent, good), (11, 34), "{b:?}");
        let d = entries.iter().find(|e| e.goal == "1-(1)-①-D").unwrap();
        assert_eq!((d.fields.grade, d.fields.status, d.version), (Grade::Good, Some(Status::New), 1));
        assert!(plan::entries(&store, pl.id, FiscalYear(2024)).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn bad_years_and_locked_years_write_nothing() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "sendai", "仙台市教育委員会").await.unwrap().id;
        import(&store, m, &example("sendai-r5/plan-r5.csv"), false).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        // no 計画期間 column: the stored period R5–R9 applies
        let p = write(
            &dir,
            "next.csv",
            &format!(
                "{HEADER}\n仙台市学校教育情報化推進計画,2024,1,方針,1-(1),施策,1-(1)-①,取組,,1-(1)-①-A,目標,教育指導課,変更,継続,年内,,○,,,\n\
                 ,2030,1,方針,1-(1),施策,1-(1)-①,取組,,1-(1)-①-B,目標,教育指導課,x,継続,,,○,,,\n"
            ),
        );
        let Err(StoreError::Rows(errs)) = import(&store, m, &p, false).await else { panic!("expected row errors") };
        assert_eq!(errs, ["next.csv:3:年度: 2030 — 計画期間 R5-R9 内の年度"], "{b:?}");
        let pid = plan::find_plan(&store, m, None, None).await.unwrap().id;
        assert_eq!(
            plan::items(&store, pid)
                .await
                .unwrap()
                .iter()
                .find(|i| i.fields.code.to_string() == "1")
                .unwrap()
                .fields
                .title,
            "児童生徒が、ICTを適切に使いこなし、生涯学び続けるための資質・能力の育成",
            "nothing written"
        );

        // a locked year refuses imports
        let pl = plan::find_plan(&store, m, None, None).await.unwrap();
        plan::set_year_state(&store, m, &pl, FiscalYear(2023), YearState::Locked, "admin").await.unwrap();
        let Err(StoreError::Rows(errs)) = import(&store, m, &example("sendai-r5/plan-r5.csv"), false).await else {
            panic!("expected locked-year errors")
        };
        assert_eq!(errs.len(), 53);
        assert!(errs[0].starts_with("plan-r5.csv:2:年度: 2023 — 確定（ロック）されていない年度"), "{}", errs[0]);
        assert!(plan::set_year_state(&store, m, &pl, FiscalYear(2030), YearState::Open, "admin").await.is_err());
    }
}

#[tokio::test]
async fn editing_is_optimistic_logged_and_limited_to_divisions() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "sendai", "仙台市教育委員会").await.unwrap().id;
        import(&store, m, &example("sendai-r5/plan-r5.csv"), false).await.unwrap();
        let pl = plan::find_plan(&store, m, None, None).await.unwrap();
        let pw = "correct-horse-battery-staple";
        let shido = users::add(&store, m, "shido@example.jp", "指導課", pw, Role::Board, &[]).await.unwrap();
        let kenko = users::add(&store, m, "kenko@example.jp", "健康課", pw, Role::Board, &[]).await.unwrap();
        plan::add_division_member(&store, m, "教育指導課", shido.id).await.unwrap();
        plan::add_division_member(&store, m, "健康教育課", kenko.id).await.unwrap();
        plan::add_division_member(&store, m, "健康教育課", kenko.id).await.unwrap(); // idempotent
        assert_eq!(plan::divisions_of(&store, m, kenko.id).await.unwrap(), ["健康教育課"]);
        let ed = |u: &users::User| Editor { user_id: u.id, email: u.email.clone(), admin: false };

        let entries = plan::entries(&store, pl.id, FiscalYear(2023)).await.unwrap();
        let a = entries.iter().find(|e| e.goal == "1-(1)-①-A").unwrap().clone();
        let mut edit = a.fields.clone();
        edit.result = "見直しを終えた。".into();
        edit.grade = Grade::Excellent;

        // the year is not open yet
        let Err(StoreError::Rule(msg)) = plan::update_entry(&store, m, &ed(&shido), a.id, 1, edit.clone()).await else {
            panic!("closed year must refuse")
        };
        assert!(msg.contains("未受付"), "{msg}");
        plan::set_year_state(&store, m, &pl, FiscalYear(2023), YearState::Open, "admin").await.unwrap();

        // not in the goal's divisions
        let Err(StoreError::Rule(msg)) = plan::update_entry(&store, m, &ed(&kenko), a.id, 1, edit.clone()).await else {
            panic!("division check")
        };
        assert!(msg.contains("教育指導課、教育センター"), "{msg}");

        let saved = plan::update_entry(&store, m, &ed(&shido), a.id, 1, edit.clone()).await.unwrap();
        assert_eq!((saved.version, saved.fields.grade), (2, Grade::Excellent));

        // a second editor who read version 1 is refused; nothing of the first save is lost
        let mut other = a.fields.clone();
        other.result = "別の内容".into();
        let Err(StoreError::Conflict(msg)) = plan::update_entry(&store, m, &ed(&shido), a.id, 1, other).await else {
            panic!("expected a conflict")
        };
        assert!(msg.contains("shido@example.jp") && msg.contains("版 1 → 2"), "{msg}");
        let now = plan::entry(&store, m, a.id).await.unwrap();
        assert_eq!((now.version, now.fields.result.as_str()), (2, "見直しを終えた。"));

        let h = plan::history(&store, m, a.id).await.unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].source.as_str(), h[0].before.is_none()), ("import", true));
        assert_eq!(h[1].before.as_ref().unwrap().grade, Grade::Good);
        assert_eq!((h[1].after.grade, h[1].changed_by.as_deref()), (Grade::Excellent, Some("shido@example.jp")));

        plan::add_comment(&store, m, a.id, "kenko@example.jp", "確認しました").await.unwrap();
        assert!(plan::add_comment(&store, m, a.id, "x", "  ").await.is_err());
        let cs = plan::comments(&store, m, a.id).await.unwrap();
        assert_eq!((cs.len(), cs[0].body.as_str()), (1, "確認しました"));

        // re-importing the original file restores the document and logs it
        let out = import(&store, m, &example("sendai-r5/plan-r5.csv"), false).await.unwrap();
        assert_eq!((out.updated, out.unchanged), (1, 52));
        assert_eq!(plan::entry(&store, m, a.id).await.unwrap().version, 3);

        // locked: nobody edits
        plan::set_year_state(&store, m, &pl, FiscalYear(2023), YearState::Locked, "admin").await.unwrap();
        let admin = Editor { user_id: 0, email: "admin".into(), admin: true };
        assert!(matches!(plan::update_entry(&store, m, &admin, a.id, 3, edit).await, Err(StoreError::Rule(_))));
        assert_eq!(plan::year_state(&store, pl.id, FiscalYear(2023)).await.unwrap(), YearState::Locked);
    }
}

#[tokio::test]
async fn chuo_schedule_imports_bars_idempotently() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "chuo", "中央市教育委員会").await.unwrap().id;
        let p = example("chuo-r7-r11/schedule-r7-r11.csv");
        let first = import(&store, m, &p, false).await.unwrap();
        assert_eq!((first.rows, first.inserted), (78, 78), "{b:?}");
        let again = import(&store, m, &p, false).await.unwrap();
        assert_eq!(again.unchanged, 78, "{b:?}");
        let pl = plan::find_plan(&store, m, Some("中央市ICT推進計画"), None).await.unwrap();
        assert_eq!(pl.period.to_string(), "R7-R11");
        let bars = plan::bars(&store, pl.id).await.unwrap();
        assert_eq!(bars.len(), 78);
        assert_eq!((bars[0].goal.to_string(), bars[0].label.as_str()), ("1-(1)-①-A".into(), "契約準備・調達・設定"));
        assert_eq!((bars[0].start.to_string(), bars[0].end.to_string()), ("2025-04".into(), "2026-03".into()));
        let items = plan::items(&store, pl.id).await.unwrap();
        let marked = items.iter().filter(|i| i.fields.kpi_direction.is_some()).count();
        assert_eq!((items.iter().filter(|i| i.fields.code.level() == Level::Goal).count(), marked), (19, 7));
    }
}

#[tokio::test]
async fn a_plans_note_is_set_kept_by_a_reimport_cleared_and_bounded() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = municipalities::ensure(&store, "chuo", "中央市教育委員会").await.unwrap().id;
        let other = municipalities::ensure(&store, "sendai", "仙台市教育委員会").await.unwrap().id;
        let p = example("chuo-r7-r11/schedule-r7-r11.csv");
        import(&store, m, &p, false).await.unwrap();
        let pl = plan::find_plan(&store, m, None, None).await.unwrap();
        assert_eq!(pl.note, None, "{b:?}: no note until one is set");

        let stored = plan::set_note(&store, m, pl.id, "  他市の計画を例示のために掲載しています。\n").await.unwrap();
        assert_eq!(stored.as_deref(), Some("他市の計画を例示のために掲載しています。"), "{b:?}: trimmed");
        // importing the file again (a plan's period or entries) leaves the note alone
        import(&store, m, &p, false).await.unwrap();
        let pl = plan::find_plan(&store, m, None, None).await.unwrap();
        assert_eq!(pl.note.as_deref(), Some("他市の計画を例示のために掲載しています。"), "{b:?}");

        // too long: refused, the stored note kept
        let long = "あ".repeat(501);
        let err = plan::set_note(&store, m, pl.id, &long).await.unwrap_err();
        assert!(matches!(&err, StoreError::Rule(t) if t.contains("500文字以内")), "{b:?}: {err}");
        // another board cannot touch it
        let err = plan::set_note(&store, other, pl.id, "別の教育委員会").await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{b:?}");
        let pl = plan::find_plan(&store, m, None, None).await.unwrap();
        assert_eq!(pl.note.as_deref(), Some("他市の計画を例示のために掲載しています。"), "{b:?}");

        // blank clears it
        assert_eq!(plan::set_note(&store, m, pl.id, " ").await.unwrap(), None, "{b:?}");
        assert_eq!(plan::find_plan(&store, m, None, None).await.unwrap().note, None, "{b:?}");
    }
}
