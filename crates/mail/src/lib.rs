//! gigaops mail: the SMTP settings and the e-mails to schools with their month's notice of the
//! escalation. The only crate that talks SMTP (lettre, tokio, rustls).
//!
//! - [`SmtpConfig`]: host, port, sender, optional login, TLS mode ([`TlsMode`]); built from the
//!   command line / environment (`GIGAOPS_SMTP_*`, read by the `gigaops` binary).
//! - [`notify_schools`]: one e-mail per school with school-audience work items in the month, to
//!   the school's own users only, recorded in the store; a school already e-mailed for the month
//!   is skipped unless `resend` is asked for; a school without a school-user account is reported.
//! - [`testing::SmtpSink`]: a small SMTP server on 127.0.0.1 for tests.

pub mod testing;

use gigaops_domain::usage::EscalationPolicy;
use gigaops_store::usage::{escalation, notify, queries};
use gigaops_store::{Store, StoreError};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Errors of the mail crate. Messages are Japanese.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP settings are incomplete or invalid (which one, and what was expected).
    #[error("SMTP の設定: {0}")]
    Config(String),
    /// Nothing is configured but e-mail was to be sent.
    #[error("SMTP が設定されていません（GIGAOPS_SMTP_HOST と GIGAOPS_SMTP_FROM を設定してください）")]
    NotConfigured,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP (a relay on the same host or network); default port 25.
    None,
    /// Plain connection upgraded with STARTTLS, which is required; default port 587.
    StartTls,
    /// TLS from the start (SMTPS); default port 465.
    Tls,
}

impl TlsMode {
    /// `none`, `starttls` or `tls` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Some(TlsMode::None),
            "starttls" => Some(TlsMode::StartTls),
            "tls" | "smtps" => Some(TlsMode::Tls),
            _ => None,
        }
    }

    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
        }
    }
}

/// Where and how e-mail is sent. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender (`From`), e.g. `gigaops@city.example.jp` or `前橋市教育委員会 <gigaops@…>`.
    pub from: Mailbox,
    /// Login (both or neither).
    pub credentials: Option<(String, String)>,
    pub tls: TlsMode,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from.to_string())
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .field("tls", &self.tls)
            .finish()
    }
}

/// The SMTP settings as given (command-line options or `GIGAOPS_SMTP_*` variables), unchecked.
#[derive(Debug, Clone, Default)]
pub struct SmtpSettings {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub from: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// `none`, `starttls` (default) or `tls`.
    pub tls: Option<String>,
}

impl SmtpSettings {
    /// The checked settings; `Ok(None)` when no host is given (e-mail not configured).
    ///
    /// Errors: [`MailError::Config`] for a missing or unreadable sender address, an unknown TLS
    /// mode, or a user without a password (or the reverse).
    pub fn check(&self) -> Result<Option<SmtpConfig>, MailError> {
        let host = match self.host.as_deref().map(str::trim) {
            None | Some("") => return Ok(None),
            Some(h) => h.to_string(),
        };
        let tls = match self.tls.as_deref().map(str::trim) {
            None | Some("") => TlsMode::StartTls,
            Some(t) => TlsMode::parse(t).ok_or_else(|| {
                MailError::Config(format!("TLS の方式「{t}」は不明です（none, starttls, tls のいずれか）"))
            })?,
        };
        let from_text = self.from.as_deref().map(str::trim).unwrap_or("");
        if from_text.is_empty() {
            return Err(MailError::Config("送信元アドレス（GIGAOPS_SMTP_FROM）を指定してください".into()));
        }
        let from: Mailbox = from_text.parse().map_err(|e| {
            MailError::Config(format!("送信元アドレス「{from_text}」を読めません（例: gigaops@city.example.jp）: {e}"))
        })?;
        let credentials = match (self.user.as_deref().filter(|u| !u.is_empty()), self.password.as_deref()) {
            (None, None) => None,
            (Some(u), Some(p)) if !p.is_empty() => Some((u.to_string(), p.to_string())),
            (Some(_), _) => {
                return Err(MailError::Config("ユーザー名にはパスワード（GIGAOPS_SMTP_PASSWORD）が必要です".into()))
            }
            (None, Some(_)) => None,
        };
        Ok(Some(SmtpConfig { host, port: self.port.unwrap_or(tls.default_port()), from, credentials, tls }))
    }
}

impl SmtpConfig {
    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let builder = match self.tls {
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
            TlsMode::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host).map_err(|e| e.to_string())?
            }
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host).map_err(|e| e.to_string())?,
        };
        let mut builder = builder.port(self.port).timeout(Some(Duration::from_secs(30)));
        if let Some((u, p)) = &self.credentials {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(builder.build())
    }

    /// Sends one plain-text UTF-8 e-mail to `to` (each address a `To` recipient).
    ///
    /// Errors: the reason as text (an unreadable address, the server refused or cannot be reached).
    pub async fn send(&self, to: &[String], subject: &str, body: &str) -> Result<(), String> {
        let mut b = Message::builder().from(self.from.clone()).subject(subject).header(ContentType::TEXT_PLAIN);
        for t in to {
            let mb: Mailbox = t.parse().map_err(|e| format!("宛先「{t}」を読めません: {e}"))?;
            b = b.to(mb);
        }
        let msg = b.body(body.to_string()).map_err(|e| e.to_string())?;
        self.transport()?
            .send(msg)
            .await
            .map_err(|e| format!("{}:{} への送信に失敗しました: {e}", self.host, self.port))?;
        Ok(())
    }
}

/// What to do in [`notify_schools`].
#[derive(Debug, Clone, Default)]
pub struct NotifyOptions {
    /// Only report what would be sent.
    pub dry_run: bool,
    /// Send again to schools already e-mailed for the month.
    pub resend: bool,
    /// Who sends (web user's e-mail, or `cli`); recorded.
    pub by: Option<String>,
}

/// What happened for one school.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SchoolOutcome {
    /// Sent now (and recorded).
    Sent,
    /// Dry run: would be sent.
    WouldSend,
    /// Already sent for this month (the latest sending); not sent again without `resend`.
    AlreadySent { sent_at: chrono::DateTime<chrono::Utc>, sent_by: Option<String> },
    /// The school has no active account with role `school`: nobody to send to.
    NoRecipients,
    /// Sending failed; nothing recorded.
    Failed { reason: String },
}

/// One school's notice and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchoolNotice {
    pub school_code: String,
    pub school_name: String,
    /// Cases listed (school-audience work items of the month).
    pub cases: usize,
    pub recipients: Vec<String>,
    pub subject: String,
    #[serde(flatten)]
    pub outcome: SchoolOutcome,
}

impl SchoolNotice {
    /// A Japanese line for the command line and the web page's message.
    pub fn describe(&self) -> String {
        let who = format!("{}（{}）", self.school_name, self.school_code);
        match &self.outcome {
            SchoolOutcome::Sent => {
                format!("{who}: {} 件の通知を {} に送信しました", self.cases, self.recipients.join(", "))
            }
            SchoolOutcome::WouldSend => {
                format!("{who}: {} 件の通知を {} に送信します（試行）", self.cases, self.recipients.join(", "))
            }
            SchoolOutcome::AlreadySent { sent_at, sent_by } => format!(
                "{who}: {} に{}送信済みです（もう一度送るには再送信を指定してください）",
                tokyo(*sent_at),
                sent_by.as_deref().map(|b| format!(" {b} が")).unwrap_or_default()
            ),
            SchoolOutcome::NoRecipients => {
                format!("{who}: 学校ユーザーのアカウントがないため送信できません（gigaops user add --role school）")
            }
            SchoolOutcome::Failed { reason } => format!("{who}: 送信できませんでした — {reason}"),
        }
    }
}

/// A UTC time as `YYYY-MM-DD HH:MM` in Japan.
pub use gigaops_domain::calendar::jst_minute as tokyo;

/// E-mails each school with school-audience work items in `month` its own notice
/// ([`gigaops_report::usage::work::school_notice_mail`]), to that school's users only, and records
/// each e-mail sent. Schools in school-code order. `board` is the sender's name in the text.
///
/// Rules: a school already e-mailed for the month is [`SchoolOutcome::AlreadySent`] unless
/// `opts.resend`; a school without a school-user account is [`SchoolOutcome::NoRecipients`]; a
/// failed sending is [`SchoolOutcome::Failed`] and the other schools go on.
///
/// Errors: [`MailError::NotConfigured`] when something is to be sent (not a dry run) and `smtp`
/// is `None` (nothing sent); [`MailError::Store`].
pub async fn notify_schools(
    store: &Store,
    smtp: Option<&SmtpConfig>,
    municipality_id: i64,
    board: &str,
    month: gigaops_domain::YearMonth,
    opts: &NotifyOptions,
) -> Result<Vec<SchoolNotice>, MailError> {
    let month_text = month.to_string();
    let policy: EscalationPolicy = escalation::policy(store, municipality_id).await?;
    let items: Vec<_> = queries::work_items(store, municipality_id, month, None)
        .await?
        .into_iter()
        .filter(|w| w.audience == "school")
        .collect();
    let mut schools: BTreeMap<String, (i64, String, usize)> = BTreeMap::new();
    for w in &items {
        schools.entry(w.school_code.clone()).or_insert((w.school_id, w.school_name.clone(), 0)).2 += 1;
    }
    let recipients = notify::school_recipients(store, municipality_id).await?;
    let sent = notify::sent(store, municipality_id, &month_text).await?;
    let mut plan = Vec::new();
    for (code, (school_id, name, cases)) in schools {
        let to = recipients.get(&school_id).cloned().unwrap_or_default();
        let (subject, body) =
            gigaops_report::usage::work::school_notice_mail(&items, &policy, board, &code, &month_text);
        let outcome = match sent.iter().rev().find(|s| s.school_id == school_id) {
            _ if to.is_empty() => SchoolOutcome::NoRecipients,
            Some(s) if !opts.resend => SchoolOutcome::AlreadySent { sent_at: s.sent_at, sent_by: s.sent_by.clone() },
            _ if opts.dry_run => SchoolOutcome::WouldSend,
            _ => SchoolOutcome::Sent, // to be sent below
        };
        plan.push((
            school_id,
            body,
            SchoolNotice { school_code: code, school_name: name, cases, recipients: to, subject, outcome },
        ));
    }
    let to_send = plan.iter().any(|(_, _, n)| n.outcome == SchoolOutcome::Sent);
    let smtp = match smtp {
        Some(s) => Some(s),
        None if to_send => return Err(MailError::NotConfigured),
        None => None,
    };
    let mut out = Vec::with_capacity(plan.len());
    for (school_id, body, mut n) in plan {
        if n.outcome == SchoolOutcome::Sent {
            let smtp = smtp.ok_or(MailError::NotConfigured)?;
            match smtp.send(&n.recipients, &n.subject, &body).await {
                Ok(()) => {
                    notify::record(
                        store,
                        municipality_id,
                        &notify::NewMail {
                            school_id,
                            month: &month_text,
                            recipients: &n.recipients,
                            subject: &n.subject,
                            cases: n.cases as i64,
                            sent_by: opts.by.as_deref(),
                        },
                    )
                    .await?;
                    tracing::info!(school = %n.school_code, month = %month_text, to = n.recipients.len(), "学校へ通知を送信しました");
                }
                Err(reason) => {
                    tracing::warn!(school = %n.school_code, %reason, "学校への通知を送信できませんでした");
                    n.outcome = SchoolOutcome::Failed { reason };
                }
            }
        }
        out.push(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, from: &str) -> SmtpSettings {
        SmtpSettings { host: Some(host.into()), from: Some(from.into()), ..Default::default() }
    }

    #[test]
    fn no_host_means_not_configured() {
        assert_eq!(SmtpSettings::default().check().unwrap(), None);
        assert_eq!(settings(" ", "a@b.jp").check().unwrap(), None);
    }

    #[test]
    fn settings_are_checked() {
        let c = settings("smtp.example.jp", "前橋市教育委員会 <gigaops@example.jp>").check().unwrap().unwrap();
        assert_eq!((c.tls, c.port), (TlsMode::StartTls, 587));
        assert_eq!(c.from.email.to_string(), "gigaops@example.jp");
        let e = settings("smtp.example.jp", "").check().unwrap_err().to_string();
        assert!(e.contains("GIGAOPS_SMTP_FROM"), "{e}");
        let e = settings("smtp.example.jp", "not an address").check().unwrap_err().to_string();
        assert!(e.contains("not an address"), "{e}");
        let mut s = settings("smtp.example.jp", "a@example.jp");
        s.tls = Some("ssl3".into());
        assert!(s.check().unwrap_err().to_string().contains("ssl3"));
        s.tls = Some("TLS".into());
        s.user = Some("u".into());
        assert!(s.check().unwrap_err().to_string().contains("パスワード"));
        s.password = Some("secret-pw".into());
        let c = s.check().unwrap().unwrap();
        assert_eq!((c.tls, c.port), (TlsMode::Tls, 465));
        assert!(!format!("{c:?}").contains("secret-pw"), "Debug hides the password");
    }
}
