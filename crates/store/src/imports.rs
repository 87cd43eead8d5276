//! The `import_run` log and the outcome every import reports (recorded in the import's own transaction).

use crate::entity::import_run;
use crate::Result;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

/// What an import did (or, with `dry_run`, would do). Counts are rows of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportOutcome {
    pub kind: String,
    pub file_name: String,
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// Non-fatal findings (e.g. a check-digit mismatch), as `file:row:column: value — note`.
    pub warnings: Vec<String>,
    /// Nothing was written: the counts say what would change.
    pub dry_run: bool,
}

impl ImportOutcome {
    /// One Japanese line: `devices.csv: 25704 行（新規 25704・更新 0・変更なし 0）`.
    pub fn summary_ja(&self) -> String {
        format!(
            "{}: {} 行（新規 {}・更新 {}・変更なし {}）{}",
            self.file_name,
            self.rows,
            self.inserted,
            self.updated,
            self.unchanged,
            if self.dry_run { " ※ --dry-run のため書き込んでいません" } else { "" }
        )
    }
}

/// Who imports which file: passed to every import function.
#[derive(Debug, Clone)]
pub struct ImportSource {
    /// File name as shown in messages (no directories needed).
    pub file_name: String,
    /// SHA-256 of the file, lower-case hex.
    pub file_sha256: String,
    /// E-mail of the user, or `cli`.
    pub imported_by: Option<String>,
    /// Validate and count, write nothing.
    pub dry_run: bool,
}

/// Records a committed import in `import_run` inside the import's transaction.
pub async fn record_run<C: ConnectionTrait>(
    conn: &C,
    municipality_id: i64,
    src: &ImportSource,
    o: &ImportOutcome,
) -> Result<()> {
    import_run::ActiveModel {
        municipality_id: Set(municipality_id),
        kind: Set(o.kind.clone()),
        file_name: Set(src.file_name.clone()),
        file_sha256: Set(src.file_sha256.clone()),
        imported_by: Set(src.imported_by.clone()),
        imported_at: Set(chrono::Utc::now()),
        rows: Set(o.rows),
        inserted: Set(o.inserted),
        updated: Set(o.updated),
        unchanged: Set(o.unchanged),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}
