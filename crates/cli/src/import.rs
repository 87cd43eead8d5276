//! `gigaops import …`: every file goes through the one pipeline of DESIGN.md §5 — read, map
//! headers, validate every row, write nothing on error, commit in one transaction, log the import.

use anyhow::{anyhow, Context, Result};
use clap::Subcommand;
use gigaops_ingest::{file_sha256, open_table};
use gigaops_store::imports::{ImportOutcome, ImportSource};
use gigaops_store::{fleet, municipalities, schools, Store};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

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

pub(crate) fn source(path: &Path, dry_run: bool) -> Result<ImportSource> {
    Ok(ImportSource {
        file_name: path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string()),
        file_sha256: file_sha256(path).with_context(|| format!("{} を読めません", path.display()))?,
        imported_by: Some("cli".into()),
        dry_run,
    })
}

pub(crate) fn open(path: &Path, sheet: Option<&str>) -> Result<gigaops_ingest::Table> {
    open_table(path, sheet).map_err(|e| anyhow!("{e}"))
}

pub async fn run(store: &Store, muni: Option<&str>, cmd: ImportCommand) -> Result<()> {
    let m = municipalities::resolve(store, muni).await?;
    let out: ImportOutcome = match cmd {
        ImportCommand::Schools { file, name_prefix, sheet, dry_run } => {
            let src = source(&file, dry_run)?;
            let mut t = open(&file, sheet.as_deref())?;
            let mut records = Vec::new();
            let mut errors = Vec::new();
            for r in gigaops_ingest::schools::read(&mut t).map_err(|e| anyhow!("{e}"))? {
                match r {
                    Ok(rec) => records.push(rec),
                    Err(es) => errors.extend(es.into_iter().map(|e| e.to_string())),
                }
            }
            if !errors.is_empty() {
                return Err(gigaops_store::StoreError::Rows(errors).into());
            }
            schools::import(store, m.id, &src, records, name_prefix.as_deref()).await?
        }
        ImportCommand::Devices { file, as_of, sheet, dry_run } => {
            let as_of = match as_of {
                Some(s) => gigaops_domain::calendar::parse_date(&s)
                    .ok_or_else(|| anyhow!("--as-of「{s}」は日付ではありません（YYYY-MM-DD）"))?,
                None => chrono::Local::now().date_naive(),
            };
            let src = source(&file, dry_run)?;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            let mut t = open(&file, sheet.as_deref())?;
            let reader = gigaops_ingest::devices::read(&mut t).map_err(|e| anyhow!("{e}"))?;
            eprintln!("{}: 形式 {}", src.file_name, reader.format().label_ja());
            let bar = progress(size / 100);
            // rows are read and checked on a second thread while this one writes them
            let out = gigaops_ingest::read_ahead(reader, |records| {
                let import = fleet::devices::import(store, m.id, &src, records, as_of, |n| bar.set_position(n));
                tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(import))
            });
            bar.finish_and_clear();
            out?
        }
        ImportCommand::Incidents { file, sheet, dry_run } => {
            let src = source(&file, dry_run)?;
            let mut t = open(&file, sheet.as_deref())?;
            let reader = gigaops_ingest::incidents::read(&mut t).map_err(|e| anyhow!("{e}"))?;
            fleet::events::import_incidents(store, m.id, &src, reader).await?
        }
        ImportCommand::Plan { file, plan, sheet, dry_run } => {
            crate::plan::import(store, m.id, &file, plan.as_deref(), sheet.as_deref(), dry_run).await?
        }
        ImportCommand::Lines { file, sheet, dry_run } => {
            crate::usage::import_lines(store, m.id, &file, sheet.as_deref(), dry_run).await?
        }
        ImportCommand::Usage { file, mapping, replace, sheet, dry_run } => {
            crate::usage::import_usage(store, m.id, &file, mapping.as_deref(), replace, sheet.as_deref(), dry_run)
                .await?
        }
        ImportCommand::Movements { file, sheet, dry_run } => {
            let src = source(&file, dry_run)?;
            let mut t = open(&file, sheet.as_deref())?;
            let reader = gigaops_ingest::movements::read(&mut t).map_err(|e| anyhow!("{e}"))?;
            fleet::events::import_movements(store, m.id, &src, reader).await?
        }
    };
    for w in &out.warnings {
        eprintln!("警告: {w}");
    }
    println!("{}", out.summary_ja());
    Ok(())
}

/// A row counter on stderr (hidden when stderr is not a terminal, e.g. in CI).
pub(crate) fn progress(estimate: u64) -> ProgressBar {
    let bar = ProgressBar::new(estimate.max(1));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} 行 ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}
