//! `gigaops import …`: every file goes through the one import pipeline (`gigaops_store::imports::run`)
//! — read, map headers, validate every row, write nothing on error, commit in one transaction, log
//! the import.

use anyhow::{anyhow, Context, Result};
use clap::Subcommand;
use gigaops_ingest::ImportKind;
use gigaops_store::imports::{self, ImportOptions, ImportOutcome, ImportRequest, Progress};
use gigaops_store::{municipalities, Store};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// MEXT 学校コード CSV, or a simple CSV (school_code,name,kind).
    Schools {
        file: PathBuf,
        /// Keep only schools whose name starts with this (e.g. 前橋市立).
        #[arg(long)]
        name_prefix: Option<String>,
        #[arg(long)]
        sheet: Option<String>,
        /// Validate and count; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Device inventory: generic CSV or an MDM export (Intune, Jamf School/Pro, Google Admin).
    Devices {
        file: PathBuf,
        /// Date of the inventory (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        sheet: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Incidents: serial_number,occurred_on,kind,cause,replacement_serial,repaired_on,written_off_on.
    Incidents {
        file: PathBuf,
        #[arg(long)]
        sheet: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// ICT promotion plan: 資料4-1 evaluation (one row per goal per year) or schedule (one row per bar).
    Plan {
        file: PathBuf,
        /// Plan name (default: the file's 計画 column).
        #[arg(long)]
        plan: Option<String>,
        #[arg(long)]
        sheet: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// LTE lines: line_id,school_code,device_serial,pupil_id,allowance_gb,active_from,active_to.
    Lines {
        file: PathBuf,
        #[arg(long)]
        sheet: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// LTE usage per line and month (line_id,month,usage_gb) or day (line_id,date,usage_mb).
    Usage {
        file: PathBuf,
        /// Mapping file (TOML) for a carrier's statement: which column is which, and the unit.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Replace months already imported with different values (a correction).
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        sheet: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Movements: serial_number,moved_on,to_status,to_school_code.
    Movements {
        file: PathBuf,
        #[arg(long)]
        sheet: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
}

impl ImportCommand {
    /// The kind, the file, the options and `--dry-run`, for [`imports::run`].
    fn request(self) -> Result<(ImportKind, PathBuf, ImportOptions, bool)> {
        let date = |s: Option<String>| -> Result<Option<chrono::NaiveDate>> {
            s.map(|s| {
                gigaops_domain::calendar::parse_date(&s)
                    .ok_or_else(|| anyhow!("--as-of「{s}」は日付ではありません（YYYY-MM-DD）"))
            })
            .transpose()
        };
        Ok(match self {
            ImportCommand::Schools { file, name_prefix, sheet, dry_run } => {
                (ImportKind::Schools, file, ImportOptions { sheet, name_prefix, ..Default::default() }, dry_run)
            }
            ImportCommand::Devices { file, as_of, sheet, dry_run } => {
                (ImportKind::Devices, file, ImportOptions { sheet, as_of: date(as_of)?, ..Default::default() }, dry_run)
            }
            ImportCommand::Incidents { file, sheet, dry_run } => {
                (ImportKind::Incidents, file, ImportOptions { sheet, ..Default::default() }, dry_run)
            }
            ImportCommand::Movements { file, sheet, dry_run } => {
                (ImportKind::Movements, file, ImportOptions { sheet, ..Default::default() }, dry_run)
            }
            ImportCommand::Plan { file, plan, sheet, dry_run } => {
                (ImportKind::Plan, file, ImportOptions { sheet, plan, ..Default::default() }, dry_run)
            }
            ImportCommand::Lines { file, sheet, dry_run } => {
                (ImportKind::Lines, file, ImportOptions { sheet, ..Default::default() }, dry_run)
            }
            ImportCommand::Usage { file, mapping, replace, sheet, dry_run } => {
                let mapping = match mapping {
                    Some(p) => {
                        let text =
                            std::fs::read_to_string(&p).with_context(|| format!("{} を読めません", p.display()))?;
                        let name =
                            p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
                        Some((name, text))
                    }
                    None => None,
                };
                (ImportKind::Usage, file, ImportOptions { sheet, mapping, replace, ..Default::default() }, dry_run)
            }
        })
    }
}

/// `gigaops import KIND FILE …`: runs the one import pipeline ([`imports::run`]) with a progress
/// counter on stderr, prints the detected format, the warnings and the counts.
pub async fn run(store: &Store, muni: Option<&str>, cmd: ImportCommand) -> Result<()> {
    let m = municipalities::resolve(store, muni).await?;
    let (kind, file, options, dry_run) = cmd.request()?;
    let progress = Progress::default();
    let bar = progress_bar(0);
    let request = ImportRequest {
        kind,
        path: &file,
        display_name: None,
        options,
        imported_by: Some("cli".into()),
        dry_run,
        run_id: None,
        progress: &progress,
    };
    let (preview, out) = {
        let work = imports::run(store, m.id, request);
        tokio::pin!(work);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
        loop {
            tokio::select! {
                r = &mut work => break r,
                _ = tick.tick() => bar.set_position(progress.rows()),
            }
        }
    };
    bar.finish_and_clear();
    if let Some(f) = &preview.format {
        eprintln!("{}: 形式 {}（{}）", file.display(), f, preview.encoding.as_deref().unwrap_or(""));
    }
    let out: ImportOutcome = out?;
    for w in &out.warnings {
        eprintln!("警告: {w}");
    }
    println!("{}", out.summary_ja());
    Ok(())
}

/// A row counter on stderr (hidden when stderr is not a terminal, e.g. in CI).
pub(crate) fn progress_bar(estimate: u64) -> ProgressBar {
    let bar = ProgressBar::new(estimate.max(1));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} 行 ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}
