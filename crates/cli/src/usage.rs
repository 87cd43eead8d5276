//! LTE usage commands: `import lines`, `import usage`, `escalation …` (policy, monthly
//! runs, work items, history) and the bodies of `report usage` / `report escalation`.

use crate::report::{write_out, Format};
use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use gigaops_domain::usage::{gb, EscalationPolicy};
use gigaops_domain::YearMonth;
use gigaops_store::usage::{escalation, queries};
use gigaops_store::{municipalities, Store};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum EscalationCommand {
    /// The escalation policy (thresholds, steps, effective-from month).
    Policy {
        #[command(subcommand)]
        what: PolicyCommand,
    },
    /// Evaluate one month: open, advance or close cases (months in order from the effective-from month).
    Run {
        /// Month, YYYY-MM.
        #[arg(long)]
        month: String,
    },
    /// The work items of a month's steps: MDM message list (CSV of serials), school notices, parents' letters.
    Work {
        #[arg(long)]
        month: String,
        /// Only this step (1, 2, …).
        #[arg(long)]
        step: Option<i64>,
        /// mdm (CSV of device serials for Jamf / Intune), schools (CSV per school), letters (printable
        /// HTML, one page per pupil) or json.
        #[arg(long, default_value = "json")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Mark work items done (ids from `escalation work`).
    Done {
        ids: Vec<i64>,
        /// Who did it (e-mail or name).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// A case's history: each month's outcome, who did the work when, the e-mails to its school.
    History {
        #[arg(long)]
        case: i64,
    },
    /// E-mail each school's users their school's notice of the month (SMTP settings: GIGAOPS_SMTP_*).
    NotifySchools {
        /// Month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Only show which schools would get which e-mail.
        #[arg(long)]
        dry_run: bool,
        /// Send again to schools already e-mailed for the month.
        #[arg(long)]
        resend: bool,
    },
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Set the policy: thresholds from the options, or the whole policy (with its steps) from a TOML file.
    Set {
        /// First month evaluated (YYYY-MM).
        #[arg(long)]
        effective_from: Option<String>,
        /// Single-month threshold, GB (10^9 bytes); 以上.
        #[arg(long)]
        single_gb: Option<i64>,
        /// Consecutive-months threshold, GB; 以上.
        #[arg(long)]
        consecutive_gb: Option<i64>,
        /// How many consecutive months.
        #[arg(long)]
        consecutive_months: Option<u32>,
        /// A policy file (TOML): effective_from, single_gb, consecutive_gb, consecutive_months, [[steps]] name/action/notify.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Show the policy in effect.
    Show,
}

fn month_arg(s: &str, what: &str) -> Result<YearMonth> {
    s.parse::<YearMonth>().map_err(|e| anyhow!("{what}: {e}"))
}

fn show_policy(p: &EscalationPolicy) -> String {
    let g = |b: i64| gigaops_domain::usage::bytes_to_gb(b);
    let mut s = format!(
        "適用開始月: {}\n判定基準: 1か月の通信量が {} GB 以上、または {} か月連続で {} GB 以上\n段階（{}）:\n",
        p.effective_from,
        g(p.single_month_bytes),
        p.consecutive_months,
        g(p.consecutive_bytes),
        p.steps.len()
    );
    for (i, st) in p.steps.iter().enumerate() {
        s.push_str(&format!("  {}. {} — {}（通知先: {}）\n", i + 1, st.name, st.action, st.notify.label_ja()));
    }
    s
}

pub async fn run(
    store: &Store,
    muni: Option<&str>,
    cmd: EscalationCommand,
    smtp: &Option<gigaops_mail::SmtpConfig>,
) -> Result<()> {
    let m = municipalities::resolve(store, muni).await?;
    match cmd {
        EscalationCommand::Policy { what: PolicyCommand::Show } => {
            print!("{}", show_policy(&escalation::policy(store, m.id).await?));
        }
        EscalationCommand::Policy {
            what: PolicyCommand::Set { effective_from, single_gb, consecutive_gb, consecutive_months, file },
        } => {
            let mut p = match file {
                Some(f) => {
                    let text = std::fs::read_to_string(&f).with_context(|| format!("{} を読めません", f.display()))?;
                    gigaops_ingest::usage::read_policy(&f.display().to_string(), &text).map_err(|e| anyhow!("{e}"))?
                }
                None => escalation::policy(store, m.id).await?,
            };
            if let Some(s) = effective_from {
                p.effective_from = month_arg(&s, "--effective-from")?.to_string();
            }
            if let Some(v) = single_gb {
                p.single_month_bytes = gb(v);
            }
            if let Some(v) = consecutive_gb {
                p.consecutive_bytes = gb(v);
            }
            if let Some(v) = consecutive_months {
                p.consecutive_months = v;
            }
            escalation::set_policy(store, m.id, &p, Some("cli")).await?;
            print!("{}", show_policy(&p));
        }
        EscalationCommand::Run { month } => {
            let month = month_arg(&month, "--month")?;
            let r = escalation::run(store, m.id, month, Some("cli")).await?;
            let s = &r.summary;
            let steps: Vec<String> = s.steps.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            println!(
                "{}: 新規 {}・段階 [{}]・改善 {}・継続 {}・データなし {}{}",
                r.month,
                s.new_cases,
                steps.join(" "),
                s.improved,
                s.continued,
                s.missing_data,
                if r.changed { "" } else { "（前回と同じ結果）" }
            );
            if !r.invalidated.is_empty() {
                eprintln!(
                    "注意: 結果が変わったため {} の判定を取り消しました。月の順に再実行してください",
                    r.invalidated.join("、")
                );
            }
        }
        EscalationCommand::Work { month, step, format, out } => {
            let month = month_arg(&month, "--month")?;
            let items = queries::work_items(store, m.id, month, step).await?;
            let policy = escalation::policy(store, m.id).await?;
            let bytes = match format.as_str() {
                "json" => serde_json::to_string_pretty(&items)?.into_bytes(),
                "mdm" => gigaops_report::usage::work::mdm_csv(&items),
                "schools" => gigaops_report::usage::work::school_notices_csv(&items, &policy),
                "letters" => gigaops_report::usage::work::letters_html(&items, &policy, &m.name).into_bytes(),
                other => bail!("--format「{other}」は不明です（mdm, schools, letters, json のいずれか）"),
            };
            write_out(out, false, &bytes)?;
        }
        EscalationCommand::Done { ids, by } => {
            if ids.is_empty() {
                bail!("完了にする作業の番号を指定してください（gigaops escalation work で確認できます）");
            }
            let n = queries::mark_done(store, m.id, &ids, &by).await?;
            println!("{n} 件を完了にしました（{by}）");
        }
        EscalationCommand::History { case } => {
            let rows = queries::case_history(store, m.id, case).await?;
            if rows.is_empty() {
                bail!("対象者（case {case}）は見つかりません");
            }
            for r in rows {
                println!(
                    "{}\t{}\t段階{}\t{}\t{}\t{}",
                    r.month,
                    r.kind,
                    r.step,
                    r.bytes
                        .map(|b| format!("{} GB", gigaops_domain::usage::bytes_to_gb(b)))
                        .unwrap_or_else(|| "—".into()),
                    r.audience.unwrap_or_default(),
                    match (r.done_at, r.done_by) {
                        (Some(t), Some(w)) => format!("完了 {} {w}", gigaops_mail::tokyo(t)),
                        _ => "未完了".into(),
                    }
                );
            }
            for mail in gigaops_store::usage::notify::of_case(store, m.id, case).await? {
                println!(
                    "{}\tメール送信\t{}\t{}\t{}",
                    mail.month,
                    gigaops_mail::tokyo(mail.sent_at),
                    mail.recipients,
                    mail.sent_by.unwrap_or_default()
                );
            }
        }
        EscalationCommand::NotifySchools { month, dry_run, resend } => {
            let month = month_arg(&month, "--month")?;
            let opts = gigaops_mail::NotifyOptions { dry_run, resend, by: Some("cli".into()) };
            let out = gigaops_mail::notify_schools(store, smtp.as_ref(), m.id, &m.name, month, &opts).await?;
            if out.is_empty() {
                println!("{month} に学校へ通知する対象者はいません");
            }
            for n in &out {
                println!("{}", n.describe());
            }
            let failed = out.iter().filter(|n| matches!(n.outcome, gigaops_mail::SchoolOutcome::Failed { .. })).count();
            if failed > 0 {
                bail!("{failed} 校に送信できませんでした（ほかの学校の結果は上のとおりです）");
            }
        }
    }
    Ok(())
}

/// `report usage` / `report escalation`.
pub async fn report(
    store: &Store,
    m: i64,
    escalation_report: bool,
    from: &str,
    to: &str,
    format: Format,
    out: Option<PathBuf>,
) -> Result<()> {
    let (from, to) = (month_arg(from, "--from")?, month_arg(to, "--to")?);
    let (from, to) = gigaops_domain::usage::report_range(from, to).map_err(|e| anyhow!("--from/--to: {e}"))?;
    let bytes = if escalation_report {
        let r = gigaops_report::usage::escalation::build(store, m, from, to).await?;
        for s in &r.stale_months {
            eprintln!("注意: {s} は判定後に通信量が訂正されています（gigaops escalation run --month {s}）");
        }
        match format {
            Format::Json => r.to_json().into_bytes(),
            Format::Csv => r.to_csv(),
            Format::Xlsx => r.to_xlsx().map_err(|e| anyhow!("{e}"))?,
            Format::Html => r.to_html_document().into_bytes(),
        }
    } else {
        let r = gigaops_report::usage::build(store, m, from, to).await?;
        match format {
            Format::Json => r.to_json().into_bytes(),
            Format::Csv => r.to_csv(),
            Format::Xlsx => r.to_xlsx().map_err(|e| anyhow!("{e}"))?,
            Format::Html => r.to_html_document().into_bytes(),
        }
    };
    write_out(out, matches!(format, Format::Xlsx), &bytes)
}
