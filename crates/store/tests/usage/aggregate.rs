//! The per-school aggregates (`store::usage::aggregate`, migration m0010) on both backends: after
//! every kind of usage and lines import — a new month, the same file again, a dry run, a bad file,
//! a correction, a month replaced by a daily file and by a whole new statement, a file mixing a
//! new month with a stored one, lines moved to another school — they hold the figures of the
//! files and equal a recomputation from every stored row; the migration fills them from rows
//! stored before it.

use super::{import, import_dry, lines, write, ym, LINES};
use gigaops_domain::usage::gb;
use gigaops_store::testing::{self, fresh_store, BACKENDS};
use gigaops_store::usage::aggregate::{self, CapacityGroup, SchoolMonth};
use gigaops_store::usage::queries;
use gigaops_store::{schools, Store};

const SCHOOL_A: &str = "B110210000017"; // lines 1 and 2
const SCHOOL_B: &str = "B110210000026"; // lines 3 and 4

const MB: i64 = 1_000_000;

/// The stored per-school usage as (month, school code, bytes, usage rows), after checking that it
/// equals the recomputation from every stored row (and the capacity groups too).
async fn usage_of(store: &Store, m: i64, step: &str) -> Vec<(String, &'static str, i64, i64)> {
    let stored = aggregate::stored(store, m).await.unwrap();
    assert_eq!(
        stored,
        aggregate::recomputed(store, m).await.unwrap(),
        "[{:?}] {step}: stored = recomputed",
        store.backend()
    );
    let a = schools::find_by_code(store, m, SCHOOL_A).await.unwrap().unwrap().id;
    stored
        .usage
        .into_iter()
        .map(|SchoolMonth { month, school_id, usage_bytes, usage_lines }| {
            (month, if school_id == a { SCHOOL_A } else { SCHOOL_B }, usage_bytes, usage_lines)
        })
        .collect()
}

fn row(month: &str, school: &'static str, bytes: i64, lines: i64) -> (String, &'static str, i64, i64) {
    (month.to_string(), school, bytes, lines)
}

/// (school code, capacity bytes, active lines, usage bytes) of each school row of `month`.
async fn capacity_of(store: &Store, m: i64, month: &str) -> Vec<(String, i64, i64, i64)> {
    queries::capacity(store, m, ym(month), ym(month), true)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.school_code.unwrap(), r.capacity_bytes, r.active_lines, r.usage_bytes))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_follow_every_import_and_equal_a_recomputation() {
    for b in BACKENDS {
        let store = fresh_store(b).await;
        let m = testing::maebashi_with_schools(&store).await;
        let dir = tempfile::tempdir().unwrap();
        lines(&store, m, &write(&dir, "lines.csv", LINES)).await.unwrap();
        assert_eq!(usage_of(&store, m, "lines only").await, vec![], "{b:?}");
        // A: lines 1 and 2, 5 GB each, open; B: line 3, 5 GB, to 2022-08-31; line 4, 7 GB, from 2022-09-15
        let groups = aggregate::stored(&store, m).await.unwrap().capacity;
        let shape: Vec<_> = groups
            .iter()
            .map(|g: &CapacityGroup| (g.allowance_bytes, g.from_month.as_str(), g.to_month.as_deref(), g.lines))
            .collect();
        assert_eq!(
            shape,
            [(gb(5), "2021-04", None, 2), (gb(5), "2021-04", Some("2022-08"), 1), (gb(7), "2022-09", None, 1)],
            "{b:?}"
        );

        // new months: August (line 3), September (lines 1, 2 and 4), each straight into the register
        let aug = write(&dir, "aug.csv", "line_id,month,usage_gb\n07000000003,2022-08,2\n");
        import(&store, m, &aug, None, false).await.unwrap();
        let sep = "line_id,month,usage_gb\n07000000001,2022-09,1.5\n07000000002,2022-09,0.25\n07000000004,2022-09,3\n";
        let sep = write(&dir, "sep.csv", sep);
        import(&store, m, &sep, None, false).await.unwrap();
        let after_sep = vec![
            row("2022-08", SCHOOL_B, gb(2), 1),
            row("2022-09", SCHOOL_A, 1_750 * MB, 2), // 1.5 + 0.25 GB
            row("2022-09", SCHOOL_B, gb(3), 1),
        ];
        assert_eq!(usage_of(&store, m, "new months").await, after_sep, "{b:?}");
        // August: line 3 (5 GB) only; September: lines 1 and 2 (5 + 5 GB), line 4 (7 GB)
        assert_eq!(
            capacity_of(&store, m, "2022-08").await,
            [(SCHOOL_A.into(), gb(10), 2, 0), (SCHOOL_B.into(), gb(5), 1, gb(2))]
        );
        assert_eq!(
            capacity_of(&store, m, "2022-09").await,
            [(SCHOOL_A.into(), gb(10), 2, 1_750 * MB), (SCHOOL_B.into(), gb(7), 1, gb(3))],
            "{b:?}"
        );

        // the same file again, a dry run, a bad file: nothing changes
        import(&store, m, &sep, None, false).await.unwrap();
        let oct = write(&dir, "oct.csv", "line_id,month,usage_gb\n07000000001,2022-10,9\n");
        import_dry(&store, m, &oct).await.unwrap();
        let bad = write(&dir, "bad.csv", "line_id,month,usage_gb\n07000000001,2022-10,9\n07000000009,2022-10,1\n");
        import(&store, m, &bad, None, false).await.unwrap_err();
        assert_eq!(usage_of(&store, m, "unchanged").await, after_sep, "{b:?}");

        // a correction: line 1 2 GB, line 4 4 GB in September
        let fix = write(&dir, "fix.csv", "line_id,month,usage_gb\n07000000001,2022-09,2\n07000000004,2022-09,4\n");
        import(&store, m, &fix, None, true).await.unwrap();
        let sep_a = |bytes| row("2022-09", SCHOOL_A, bytes, 2);
        assert_eq!(
            usage_of(&store, m, "correction").await[1..],
            [sep_a(2_250 * MB), row("2022-09", SCHOOL_B, gb(4), 1)],
            "{b:?}"
        );

        // September of line 2 replaced by a daily file: 500 + 250 MB
        let daily = write(
            &dir,
            "daily.csv",
            "回線番号,利用日,データ通信量（MB）\n07000000002,2022-09-01,500\n07000000002,2022-09-02,250\n",
        );
        import(&store, m, &daily, None, true).await.unwrap();
        assert_eq!(usage_of(&store, m, "daily").await[1], sep_a(2_750 * MB), "{b:?} 2 + 0.75 GB");

        // the whole of September replaced by a new statement, with a row for line 3 (ended in August)
        let again = "line_id,month,usage_gb\n07000000001,2022-09,1\n07000000002,2022-09,1\n\
                     07000000003,2022-09,0.5\n07000000004,2022-09,1\n";
        import(&store, m, &write(&dir, "sep2.csv", again), None, true).await.unwrap();
        let after_replace = vec![
            row("2022-08", SCHOOL_B, gb(2), 1),
            row("2022-09", SCHOOL_A, gb(2), 2),
            row("2022-09", SCHOOL_B, 1_500 * MB, 2), // 0.5 + 1 GB
        ];
        assert_eq!(usage_of(&store, m, "replaced month").await, after_replace, "{b:?}");

        // a new month interrupted by a stored one: October's first row goes straight in, the rest is
        // compared
        let mixed = "line_id,month,usage_gb\n07000000001,2022-10,1\n07000000001,2022-09,1\n07000000004,2022-10,2\n";
        import(&store, m, &write(&dir, "mixed.csv", mixed), None, false).await.unwrap();
        let mut after_mixed = after_replace.clone();
        after_mixed.extend([row("2022-10", SCHOOL_A, gb(1), 1), row("2022-10", SCHOOL_B, gb(2), 1)]);
        assert_eq!(usage_of(&store, m, "mixed").await, after_mixed, "{b:?}");

        // line 1 moves to school B (its usage of every month goes along), line 2 gets 6 GB
        let moved = LINES
            .replace("070-0000-0001,B110210000017", "070-0000-0001,B110210000026")
            .replace("SER2,P2,5", "SER2,P2,6");
        lines(&store, m, &write(&dir, "lines2.csv", &moved)).await.unwrap();
        let after_move = vec![
            row("2022-08", SCHOOL_B, gb(2), 1),
            row("2022-09", SCHOOL_A, gb(1), 1),      // line 2
            row("2022-09", SCHOOL_B, 2_500 * MB, 3), // lines 1, 3 and 4: 1 + 0.5 + 1 GB
            row("2022-10", SCHOOL_B, gb(3), 2),      // lines 1 and 4; school A has no usage left
        ];
        assert_eq!(usage_of(&store, m, "moved line").await, after_move, "{b:?}");
        // October: A has line 2 (6 GB) and no usage; B lines 1 (5 GB) and 4 (7 GB)
        assert_eq!(
            capacity_of(&store, m, "2022-10").await,
            [(SCHOOL_A.into(), gb(6), 1, 0), (SCHOOL_B.into(), gb(12), 2, gb(3))],
            "{b:?}"
        );
        let city = queries::capacity(&store, m, ym("2022-10"), ym("2022-10"), false).await.unwrap();
        assert_eq!((city[0].usage_bytes, city[0].capacity_bytes, city[0].active_lines), (gb(3), gb(18), 3), "{b:?}");
        assert_eq!(queries::months_with_usage(&store, m).await.unwrap(), [ym("2022-08"), ym("2022-09"), ym("2022-10")]);

        // the lines file again: nothing moves
        lines(&store, m, &write(&dir, "lines3.csv", &moved)).await.unwrap();
        assert_eq!(usage_of(&store, m, "same lines").await, after_move, "{b:?}");
    }
}

/// Usage stored before m0010 is summed by the migration: school 1 has lines 1 (5 GB) and 2 (7 GB,
/// to 2022-09-10), school 2 line 3; another municipality's rows stay its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_fills_the_aggregates_from_stored_rows() {
    use sea_orm::ConnectionTrait;
    use sea_orm_migration::MigratorTrait;
    for b in BACKENDS {
        let url = testing::fresh_url(b).await;
        let db = sea_orm::Database::connect(&url).await.unwrap();
        gigaops_store::migration::Migrator::up(&db, Some(9)).await.unwrap();
        if b == testing::Backend::Postgres {
            for month in ["2022-09", "2022-10"] {
                let table = gigaops_store::usage::partition::name(ym(month));
                let sql = format!("CREATE TABLE {table} PARTITION OF usage_month FOR VALUES IN ('{month}')");
                db.execute_unprepared(&sql).await.unwrap();
            }
        }
        for sql in [
            "INSERT INTO school (id, municipality_id, school_code, name, kind, status) VALUES \
             (1, 7, 'S1', 'a', 'B1', 'open'), (2, 7, 'S2', 'b', 'B1', 'open'), (3, 8, 'S1', 'c', 'B1', 'open')",
            "INSERT INTO line (id, municipality_id, line_no, school_id, allowance_bytes, active_from, active_to) VALUES \
             (1, 7, 'L1', 1, 5000000000, '2021-04-01', NULL), (2, 7, 'L2', 1, 7000000000, '2022-04-15', '2022-09-10'), \
             (3, 7, 'L3', 2, 5000000000, '2021-04-01', NULL), (4, 8, 'L1', 3, 5000000000, '2021-04-01', NULL)",
            "INSERT INTO usage_month (municipality_id, month, line_id, bytes) VALUES \
             (7, '2022-09', 1, 100), (7, '2022-09', 2, 20), (7, '2022-09', 3, 3), (7, '2022-10', 1, 400), (8, '2022-09', 4, 9)",
        ] {
            db.execute_unprepared(sql).await.unwrap();
        }
        db.close().await.unwrap();
        let store = Store::connect(&url).await.unwrap();
        let got = aggregate::stored(&store, 7).await.unwrap();
        assert_eq!(got, aggregate::recomputed(&store, 7).await.unwrap(), "{b:?}");
        let usage: Vec<_> =
            got.usage.iter().map(|u| (u.month.as_str(), u.school_id, u.usage_bytes, u.usage_lines)).collect();
        assert_eq!(usage, [("2022-09", 1, 120, 2), ("2022-09", 2, 3, 1), ("2022-10", 1, 400, 1)], "{b:?}");
        let groups: Vec<_> =
            got.capacity.iter().map(|g| (g.school_id, g.from_month.as_str(), g.to_month.as_deref(), g.lines)).collect();
        assert_eq!(
            groups,
            [(1, "2021-04", None, 1), (1, "2022-04", Some("2022-09"), 1), (2, "2021-04", None, 1)],
            "{b:?}"
        );
        let other = aggregate::stored(&store, 8).await.unwrap();
        assert_eq!(other.usage.iter().map(|u| (u.school_id, u.usage_bytes)).collect::<Vec<_>>(), [(3, 9)], "{b:?}");
        // September: line 2 still active (to the 10th): 5 + 7 GB at school 1; October: 5 GB
        let cap = queries::capacity(&store, 7, ym("2022-09"), ym("2022-10"), false).await.unwrap();
        let city: Vec<_> = cap.iter().map(|r| (r.usage_bytes, r.capacity_bytes, r.active_lines)).collect();
        assert_eq!(city, [(123, 17_000_000_000, 3), (400, 10_000_000_000, 2)], "{b:?}");
    }
}
