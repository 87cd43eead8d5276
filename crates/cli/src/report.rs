//! `gigaops report …`: reports as json, csv, xlsx or html, to a file or standard output.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use gigaops_domain::FiscalYear;
use gigaops_store::{municipalities, Store};
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Html,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// 学習者用端末の運用状況: incidents and spares per month for a fiscal year.
    Fleet {
        /// Fiscal year: 2022, R4 or 令和4.
        #[arg(long)]
        fiscal_year: String,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Output file (default: standard output; xlsx needs a file).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// 通信量の状況: monthly usage against the pooled contract, city-wide and per school.
    Usage(MonthRangeArgs),
    /// 段階的な対応: escalation results per month and per cohort.
    Escalation(MonthRangeArgs),
    /// 行動計画 進捗・評価 (資料4-1) of a fiscal year, or the schedule with --schedule.
    Plan(PlanArgs),
}

/// A report over a range of months.
#[derive(clap::Args)]
pub struct MonthRangeArgs {
    /// First month, YYYY-MM.
    #[arg(long)]
    from: String,
    /// Last month, YYYY-MM.
    #[arg(long)]
    to: String,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Output file (default: standard output; xlsx needs a file).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The plan's evaluation for a year (資料4-1), or its schedule.
#[derive(clap::Args)]
pub struct PlanArgs {
    /// Fiscal year: 2023, R5 or 令和5 (not needed with --schedule).
    #[arg(long)]
    fiscal_year: Option<String>,
    /// Plan name (default: the only plan covering the year).
    #[arg(long)]
    plan: Option<String>,
    /// The multi-year schedule (Gantt) instead of the year's evaluation.
    #[arg(long)]
    schedule: bool,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(store: &Store, muni: Option<&str>, cmd: ReportCommand) -> Result<()> {
    let m = municipalities::resolve(store, muni).await?;
    match cmd {
        ReportCommand::Fleet { fiscal_year, format, out } => {
            let fy = FiscalYear::parse(&fiscal_year).map_err(|e| anyhow!("--fiscal-year: {e}"))?;
            let today = chrono::Local::now().date_naive();
            let r = gigaops_report::fleet::build(store, m.id, fy, today).await?;
            let bytes = match format {
                Format::Json => r.to_json().into_bytes(),
                Format::Csv => r.to_csv(),
                Format::Xlsx => r.to_xlsx().map_err(|e| anyhow!("{e}"))?,
                Format::Html => r.to_html_document().into_bytes(),
            };
            write_out(out, matches!(format, Format::Xlsx), &bytes)
        }
        ReportCommand::Plan(a) => {
            crate::plan::report(store, m.id, a.fiscal_year.as_deref(), a.plan.as_deref(), a.schedule, a.format, a.out)
                .await
        }
        ReportCommand::Usage(a) => crate::usage::report(store, m.id, false, &a.from, &a.to, a.format, a.out).await,
        ReportCommand::Escalation(a) => crate::usage::report(store, m.id, true, &a.from, &a.to, a.format, a.out).await,
    }
}

pub(crate) fn write_out(out: Option<PathBuf>, binary: bool, bytes: &[u8]) -> Result<()> {
    match out {
        Some(p) => std::fs::write(&p, bytes).with_context(|| format!("{} に書き込めません", p.display())),
        None if binary => bail!("xlsx は --out でファイルを指定してください"),
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(bytes)?;
            if !bytes.ends_with(b"\n") {
                o.write_all(b"\n")?;
            }
            Ok(())
        }
    }
}
