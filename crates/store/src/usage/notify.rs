//! The e-mails to schools: who gets a school's notice (the active accounts with
//! role `school` scoped to that school) and the record of every e-mail sent (`notice_mail`: school,
//! month, recipients, subject, number of cases, who, when), so that sending a month's notice again
//! is an explicit choice and the case history shows the e-mails.

use crate::entity::{app_user, notice_mail, school, user_school};
use crate::{Result, Store};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use std::collections::BTreeMap;

/// The e-mail addresses of each school's users: school id → addresses (lower case, sorted).
/// Only active accounts with role `school`; a school without such an account is absent.
pub async fn school_recipients(store: &Store, municipality_id: i64) -> Result<BTreeMap<i64, Vec<String>>> {
    let users = app_user::Entity::find()
        .filter(app_user::Column::MunicipalityId.eq(municipality_id))
        .filter(app_user::Column::Role.eq("school"))
        .filter(app_user::Column::Active.eq(true))
        .all(&store.db)
        .await?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let links = user_school::Entity::find().filter(user_school::Column::UserId.is_in(ids)).all(&store.db).await?;
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for l in links {
        if let Some(u) = users.iter().find(|u| u.id == l.user_id) {
            out.entry(l.school_id).or_default().push(u.email.clone());
        }
    }
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    Ok(out)
}

/// The school ids of the municipality by school code (to find a notice's recipients).
pub async fn school_ids(store: &Store, municipality_id: i64) -> Result<BTreeMap<String, i64>> {
    Ok(school::Entity::find()
        .filter(school::Column::MunicipalityId.eq(municipality_id))
        .all(&store.db)
        .await?
        .into_iter()
        .map(|s| (s.school_code, s.id))
        .collect())
}

/// One sent e-mail.
pub type SentMail = notice_mail::Model;

/// What to record after an e-mail went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail<'a> {
    pub school_id: i64,
    /// `YYYY-MM`.
    pub month: &'a str,
    pub recipients: &'a [String],
    pub subject: &'a str,
    /// How many cases the notice listed.
    pub cases: i64,
    /// Who sent it (e-mail of the web user, or `cli`).
    pub sent_by: Option<&'a str>,
}

/// Records an e-mail sent now.
pub async fn record(store: &Store, municipality_id: i64, m: &NewMail<'_>) -> Result<SentMail> {
    Ok(notice_mail::ActiveModel {
        municipality_id: Set(municipality_id),
        school_id: Set(m.school_id),
        month: Set(m.month.to_string()),
        recipients: Set(m.recipients.join(",")),
        subject: Set(m.subject.to_string()),
        cases: Set(m.cases),
        sent_at: Set(chrono::Utc::now()),
        sent_by: Set(m.sent_by.map(str::to_string)),
        ..Default::default()
    }
    .insert(&store.db)
    .await?)
}

/// The e-mails sent with the notices of `month` (`YYYY-MM`), oldest first.
pub async fn sent(store: &Store, municipality_id: i64, month: &str) -> Result<Vec<SentMail>> {
    Ok(notice_mail::Entity::find()
        .filter(notice_mail::Column::MunicipalityId.eq(municipality_id))
        .filter(notice_mail::Column::Month.eq(month))
        .order_by_asc(notice_mail::Column::Id)
        .all(&store.db)
        .await?)
}

/// The e-mails that told a case's school about it: those sent to the case's school for a month in
/// which the case has a work item for the school. Oldest first.
pub async fn of_case(store: &Store, municipality_id: i64, case_id: i64) -> Result<Vec<SentMail>> {
    use crate::entity::work_item;
    let items = work_item::Entity::find()
        .filter(work_item::Column::MunicipalityId.eq(municipality_id))
        .filter(work_item::Column::CaseId.eq(case_id))
        .filter(work_item::Column::Audience.eq("school"))
        .all(&store.db)
        .await?;
    let mut out = Vec::new();
    for w in items {
        let Some(school_id) = w.school_id else { continue };
        out.extend(
            notice_mail::Entity::find()
                .filter(notice_mail::Column::MunicipalityId.eq(municipality_id))
                .filter(notice_mail::Column::SchoolId.eq(school_id))
                .filter(notice_mail::Column::Month.eq(w.month.clone()))
                .all(&store.db)
                .await?,
        );
    }
    out.sort_by_key(|m| m.id);
    Ok(out)
}
