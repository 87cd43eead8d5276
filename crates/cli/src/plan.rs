//! `gigaops import plan`, `gigaops report plan` and `gigaops plan …`: the ICT promotion plan and its
//! yearly evaluation. Files go through the one import pipeline (read, map headers, check every row,
//! write nothing on error, commit in one transaction, log the import).

use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use gigaops_domain::FiscalYear;
use gigaops_store::plan::{self, YearState};
use gigaops_store::{municipalities, users, Store};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PlanCommand {
    /// Open or lock a year: open lets division members edit their goals; lock fixes the year.
    Year {
        /// open or lock.
        #[arg(value_parser = ["open", "lock"])]
        action: String,
        /// Fiscal year: 2023, R5 or 令和5.
        #[arg(long)]
        fiscal_year: String,
        /// Plan name (default: the only plan covering the year).
        #[arg(long)]
        plan: Option<String>,
    },
    /// Put a user in a division (担当課) so they may edit its goals.
    Division {
        /// Division name as in the plan, e.g. 教育指導課.
        division: String,
        #[arg(long)]
        email: String,
    },
    /// Set a plan's note (計画の注記), shown under its title on the plan's pages and documents —
    /// e.g. that it is another city's plan, shown for illustration. An empty text clears it.
    Note {
        /// The note, e.g. 「他市の計画を例示のために掲載しています。」; "" clears it.
        text: String,
        /// Plan name (default: the only plan).
        #[arg(long)]
        plan: Option<String>,
    },
    /// List plans with their periods (and notes).
    List,
}

/// `gigaops report plan`: the evaluation of a year, or with `--schedule` the plan's schedule.
pub async fn report(
    store: &Store,
    municipality_id: i64,
    fiscal_year: Option<&str>,
    plan_name: Option<&str>,
    schedule: bool,
    format: crate::report::Format,
    out: Option<PathBuf>,
) -> Result<()> {
    use crate::report::Format;
    let fy = fiscal_year.map(FiscalYear::parse).transpose().map_err(|e| anyhow!("--fiscal-year: {e}"))?;
    if !schedule && fy.is_none() {
        bail!("--fiscal-year を指定してください（例: --fiscal-year 2023）。スケジュールは --schedule");
    }
    let pl = plan::find_plan(store, municipality_id, plan_name, fy).await?;
    let bytes = if schedule {
        let s = gigaops_report::plan::build_schedule(store, &pl).await?;
        match format {
            Format::Json => s.to_json().into_bytes(),
            Format::Csv => s.to_csv(),
            Format::Xlsx => s.to_xlsx().map_err(|e| anyhow!("{e}"))?,
            Format::Html => s.to_html_document().into_bytes(),
        }
    } else {
        let r = gigaops_report::plan::build(store, &pl, fy.expect("checked")).await?;
        match format {
            Format::Json => r.to_json().into_bytes(),
            Format::Csv => r.to_csv(),
            Format::Xlsx => r.to_xlsx().map_err(|e| anyhow!("{e}"))?,
            Format::Html => r.to_html_document().into_bytes(),
        }
    };
    crate::report::write_out(out, matches!(format, Format::Xlsx), &bytes)
}

pub async fn run(store: &Store, muni: Option<&str>, cmd: PlanCommand) -> Result<()> {
    let m = municipalities::resolve(store, muni).await?;
    match cmd {
        PlanCommand::Year { action, fiscal_year, plan: name } => {
            let fy = FiscalYear::parse(&fiscal_year).map_err(|e| anyhow!("--fiscal-year: {e}"))?;
            let pl = plan::find_plan(store, m.id, name.as_deref(), Some(fy)).await?;
            let state = if action == "open" { YearState::Open } else { YearState::Locked };
            plan::set_year_state(store, m.id, &pl, fy, state, "cli").await?;
            println!("{} {}を「{}」にしました", pl.name, fy.label_ja(), state.label_ja());
        }
        PlanCommand::Division { division, email } => {
            let u = users::list(store, m.id)
                .await?
                .into_iter()
                .find(|u| u.email == email.trim())
                .ok_or_else(|| anyhow!("ユーザー {email} は登録されていません"))?;
            plan::add_division_member(store, m.id, &division, u.id).await?;
            println!("{} を {} に所属させました", u.email, division.trim());
        }
        PlanCommand::Note { text, plan: name } => {
            let pl = plan::find_plan(store, m.id, name.as_deref(), None).await?;
            match plan::set_note(store, m.id, pl.id, &text).await? {
                Some(note) => println!("{} の注記を設定しました: {note}", pl.name),
                None => println!("{} の注記を消しました", pl.name),
            }
        }
        PlanCommand::List => {
            for p in plan::plans(store, m.id).await? {
                match &p.note {
                    Some(note) => println!("{}\t{}\t{note}", p.name, p.period),
                    None => println!("{}\t{}", p.name, p.period),
                }
            }
        }
    }
    Ok(())
}
