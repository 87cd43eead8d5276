//! The `gigaops` binary: serve the web UI, load demo data, import files, write reports and manage
//! users — one command per job, all against one database (`--database-url`, SQLite by default).

mod import;
mod plan;
mod report;
mod usage;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use gigaops_store::{municipalities, users, Store, DEFAULT_DATABASE_URL};
use std::io::Read;

#[derive(Parser)]
#[command(name = "gigaops", version, about = "GIGAスクール運営管理（計画・KPI・端末・通信量・支援センター・資料）")]
struct Cli {
    /// Database URL: sqlite://FILE?mode=rwc (default gigaops.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "GIGAOPS_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Municipality (教育委員会) code; defaults to the only one.
    #[arg(long, global = true, env = "GIGAOPS_MUNICIPALITY")]
    municipality: Option<String>,
    #[command(flatten)]
    smtp: SmtpArgs,
    #[command(subcommand)]
    command: Command,
}

/// SMTP settings for the e-mails to schools (`escalation notify-schools`, the web button). E-mail
/// is off while no host is set.
#[derive(clap::Args)]
struct SmtpArgs {
    /// SMTP server host name.
    #[arg(long, global = true, env = "GIGAOPS_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP port (default: 587 for starttls, 465 for tls, 25 for none).
    #[arg(long, global = true, env = "GIGAOPS_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// Sender address, e.g. "前橋市教育委員会 <gigaops@city.example.jp>".
    #[arg(long, global = true, env = "GIGAOPS_SMTP_FROM")]
    smtp_from: Option<String>,
    /// SMTP login user (optional; needs GIGAOPS_SMTP_PASSWORD).
    #[arg(long, global = true, env = "GIGAOPS_SMTP_USER")]
    smtp_user: Option<String>,
    /// SMTP password: from the environment only, so it never shows in the process list.
    #[arg(skip)]
    smtp_password: Option<String>,
    /// none (plain SMTP), starttls (default, required) or tls (SMTPS).
    #[arg(long, global = true, env = "GIGAOPS_SMTP_TLS")]
    smtp_tls: Option<String>,
}

impl SmtpArgs {
    /// The checked settings (`None`: e-mail not configured).
    fn config(&self) -> Result<Option<gigaops_mail::SmtpConfig>> {
        let settings = gigaops_mail::SmtpSettings {
            host: self.smtp_host.clone(),
            port: self.smtp_port,
            from: self.smtp_from.clone(),
            user: self.smtp_user.clone(),
            password: self.smtp_password.clone().or_else(|| std::env::var("GIGAOPS_SMTP_PASSWORD").ok()),
            tls: self.smtp_tls.clone(),
        };
        Ok(settings.check()?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI (Japanese) and the API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "GIGAOPS_ADDR")]
        addr: String,
        /// Load the demo municipality first (if it is not there yet).
        #[arg(long)]
        demo: bool,
        /// Folder of uploaded files awaiting import (instances sharing a PostgreSQL database must share it).
        #[arg(long, default_value = "gigaops-uploads", env = "GIGAOPS_UPLOAD_DIR")]
        upload_dir: std::path::PathBuf,
        /// Largest upload in MiB (413 beyond).
        #[arg(long, default_value_t = 200, env = "GIGAOPS_MAX_UPLOAD_MIB")]
        max_upload_mib: usize,
        /// Days an uploaded file is kept.
        #[arg(long, default_value_t = 7, env = "GIGAOPS_UPLOAD_KEEP_DAYS")]
        upload_keep_days: u32,
        /// The address users open, e.g. https://gigaops.example.jp (https makes every cookie Secure).
        #[arg(long, env = "GIGAOPS_PUBLIC_URL")]
        public_url: Option<String>,
        /// Send Strict-Transport-Security (one year, subdomains); only with an https public URL.
        #[arg(long, env = "GIGAOPS_HSTS")]
        hsts: bool,
    },
    /// Create the demo municipality: real Maebashi schools, the FY2021–2022 fleet history, the 2022 LTE usage and its escalation.
    Demo,
    /// Import a file (CSV or XLSX; UTF-8, UTF-8 with BOM or CP932).
    Import {
        #[command(subcommand)]
        what: import::ImportCommand,
    },
    /// Write a report (json, csv, xlsx or html).
    Report {
        #[command(subcommand)]
        what: report::ReportCommand,
    },
    /// The ICT promotion plan: open or lock a year, division members.
    Plan {
        #[command(subcommand)]
        what: plan::PlanCommand,
    },
    /// LTE heavy-user escalation (段階的な対応): policy, monthly runs, work items.
    Escalation {
        #[command(subcommand)]
        what: usage::EscalationCommand,
    },
    /// Accounts.
    User {
        #[command(subcommand)]
        what: UserCommand,
    },
    /// Device models, their report groups and their other names (機種の別名, e.g. an MDM's name).
    Model {
        #[command(subcommand)]
        what: ModelCommand,
    },
    /// Municipalities (教育委員会) served by this deployment.
    Municipality {
        #[command(subcommand)]
        what: MunicipalityCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input (one line, at least 10 characters).
    Add {
        #[arg(long)]
        email: String,
        /// admin, board, school, support or viewer.
        #[arg(long)]
        role: String,
        /// School code(s) a `school` user may see (repeatable).
        #[arg(long = "school")]
        schools: Vec<String>,
        /// Display name (defaults to the e-mail).
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List accounts.
    List,
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Register a device model under a report group, or move it to another group.
    Add {
        #[arg(long)]
        name: String,
        /// Report group label, e.g. 「iPad（小中）」.
        #[arg(long)]
        group: String,
    },
    /// List the models: group, name, number of devices and aliases (tab-separated).
    List,
    /// Other names of a model (機種の別名), e.g. how an MDM export names it.
    Alias {
        #[command(subcommand)]
        what: AliasCommand,
    },
}

#[derive(Subcommand)]
enum AliasCommand {
    /// Register ALIAS as another name of a model, e.g.
    /// `model alias add --model "iPad（第8世代）" "iPad (8th generation)"`. Names are compared
    /// without regard to full/half width, case and spaces.
    Add {
        /// The model's register name (or one of its aliases).
        #[arg(long)]
        model: String,
        /// The other name, as the MDM export writes it.
        alias: String,
    },
    /// Remove an alias.
    Remove { alias: String },
}

#[derive(Subcommand)]
enum MunicipalityCommand {
    /// Add a municipality: a short code (e.g. maebashi) and its name (e.g. 前橋市教育委員会).
    Add { code: String, name: String },
    /// List municipalities.
    List,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GIGAOPS_LOG")
                .unwrap_or_else(|_| "info,sea_orm_migration=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("エラー: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("エラー: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let store = Store::connect(&cli.database_url)
        .await
        .with_context(|| format!("データベース {} に接続できません", redact(&cli.database_url)))?;
    let muni = cli.municipality.as_deref();
    match cli.command {
        Command::Serve { addr, demo: with_demo, upload_dir, max_upload_mib, upload_keep_days, public_url, hsts } => {
            if with_demo {
                gigaops_store::demo::ensure(&store, &mut |line| eprintln!("{line}")).await?;
            }
            let m = municipalities::resolve(&store, muni.or(with_demo.then_some(gigaops_store::demo::CODE))).await?;
            let smtp = cli.smtp.config()?;
            let listener =
                tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("{addr} で待ち受けできません"))?;
            eprintln!("gigaops: http://{} で起動しました（{}）", listener.local_addr()?, m.name);
            match &smtp {
                Some(c) => eprintln!("メール送信: {}:{}（{}）", c.host, c.port, c.from),
                None => eprintln!("メール送信: 未設定（GIGAOPS_SMTP_HOST）"),
            }
            let settings = gigaops_web::Settings {
                smtp,
                upload_dir,
                max_upload_bytes: max_upload_mib.saturating_mul(1024 * 1024),
                upload_keep_days,
                public_url,
                hsts,
            };
            if settings.hsts && !settings.is_https() {
                bail!("--hsts は --public-url が https:// のときだけ指定できます");
            }
            gigaops_web::serve_with(store, listener, settings).await?;
        }
        Command::Demo => {
            gigaops_store::demo::ensure(&store, &mut |line| eprintln!("{line}")).await?;
        }
        Command::Import { what } => import::run(&store, muni, what).await?,
        Command::Report { what } => report::run(&store, muni, what).await?,
        Command::Plan { what } => plan::run(&store, muni, what).await?,
        Command::Escalation { what } => usage::run(&store, muni, what, &cli.smtp.config()?).await?,
        Command::User { what } => match what {
            UserCommand::Add { email, role, schools, name } => {
                let m = municipalities::resolve(&store, muni).await?;
                let Some(role) = users::Role::parse(&role) else {
                    bail!("権限「{role}」は不明です（admin, board, school, support, viewer のいずれか）");
                };
                let mut password = String::new();
                std::io::stdin().read_to_string(&mut password).context("標準入力からパスワードを読めません")?;
                let password = password.lines().next().unwrap_or("").to_string();
                let u = users::add(&store, m.id, &email, &name, &password, role, &schools).await?;
                println!("ユーザー {}（{}）を作成しました", u.email, u.role.label_ja());
            }
            UserCommand::List => {
                let m = municipalities::resolve(&store, muni).await?;
                for u in users::list(&store, m.id).await? {
                    println!("{}\t{}\t{}", u.email, u.role.as_str(), u.display_name);
                }
            }
        },
        Command::Model { what } => model(&store, muni, what).await?,
        Command::Municipality { what } => match what {
            MunicipalityCommand::Add { code, name } => {
                let m = municipalities::ensure(&store, &code, &name).await?;
                println!("{}\t{}", m.code, m.name);
            }
            MunicipalityCommand::List => {
                for m in municipalities::list(&store).await? {
                    println!("{}\t{}", m.code, m.name);
                }
            }
        },
    }
    Ok(())
}

async fn model(store: &Store, muni: Option<&str>, what: ModelCommand) -> Result<()> {
    use gigaops_store::fleet::models;
    let m = municipalities::resolve(store, muni).await?;
    match what {
        ModelCommand::Add { name, group } => {
            let model = gigaops_store::fleet::queries::upsert_model(store, m.id, &name, &group).await?;
            println!("機種「{}」を機種グループ「{}」に登録しました", model.name, model.model_group);
        }
        ModelCommand::List => {
            println!("機種グループ\t機種\t台数\t別名");
            for x in models::list(store, m.id).await? {
                let aliases: Vec<&str> = x.aliases.iter().map(|a| a.alias.as_str()).collect();
                println!("{}\t{}\t{}\t{}", x.model_group, x.name, x.devices, aliases.join("、"));
            }
        }
        ModelCommand::Alias { what: AliasCommand::Add { model, alias } } => {
            let a = models::add_alias(store, m.id, &model, &alias, Some("cli")).await?;
            if a.changed {
                println!("「{}」を機種「{}」の別名として登録しました", a.alias, a.model_name);
            } else {
                println!("「{}」は機種「{}」の別名として登録済みです（変更なし）", a.alias, a.model_name);
            }
        }
        ModelCommand::Alias { what: AliasCommand::Remove { alias } } => {
            let a = models::remove_alias(store, m.id, &alias).await?;
            println!("機種「{}」の別名「{}」を削除しました", a.model_name, a.alias);
        }
    }
    Ok(())
}

/// Hides a password in a database URL for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
