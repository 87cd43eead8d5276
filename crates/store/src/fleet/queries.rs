//! Read queries of the fleet: the aggregates behind the monthly report, the device list
//! (filtered, paginated) and one device's history.

use crate::entity::{device, device_model, device_state, incident, school};
use crate::{Result, Store};
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, Condition, DbBackend, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

/// Net change on one day of one model group's learner devices: +1 for a device entering a
/// status, −1 for one leaving it.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct StockDelta {
    pub model_group: String,
    pub effective_on: NaiveDate,
    pub spare: i64,
    pub deployed: i64,
    /// Spares newly registered that day (an inventory's first rows).
    pub registered_spare: i64,
}

/// Incidents of one kind on one day in one model group (learner devices).
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct IncidentCount {
    pub model_group: String,
    pub occurred_on: NaiveDate,
    pub kind: String,
    pub n: i64,
}

fn stmt(store: &Store, sql: &str, vals: Vec<sea_orm::Value>) -> Statement {
    let sql = if store.backend() == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_string() };
    Statement::from_sql_and_values(store.backend(), sql, vals)
}

/// Learner devices per model group now: how many are spare and how many deployed.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct StockNow {
    pub model_group: String,
    pub spare: i64,
    pub deployed: i64,
}

/// Current stock of learner devices per model group (from `device.status`, which mirrors the
/// latest state row). Together with [`stock_deltas`] it gives the stock at any past date:
/// stock(day) = now − Σ deltas after `day`.
pub async fn stock_now(store: &Store, municipality_id: i64) -> Result<Vec<StockNow>> {
    // counted per model and status first, in the order of the covering index `ix_device_stock`
    // (no sort, no join per device), then summed per group over those few rows
    let sql = "SELECT m.model_group AS model_group, \
        CAST(SUM(CASE WHEN c.status = 'spare' THEN c.n ELSE 0 END) AS BIGINT) AS spare, \
        CAST(SUM(CASE WHEN c.status = 'deployed' THEN c.n ELSE 0 END) AS BIGINT) AS deployed \
        FROM (SELECT d.model_id AS model_id, d.status AS status, COUNT(*) AS n FROM device d \
              WHERE d.municipality_id = $1 AND d.device_class = 'learner' GROUP BY d.model_id, d.status) c \
        JOIN device_model m ON m.id = c.model_id GROUP BY m.model_group ORDER BY m.model_group";
    Ok(StockNow::find_by_statement(stmt(store, sql, vec![municipality_id.into()])).all(&store.db).await?)
}

/// Stock changes of learner devices per model group and day, for days after `after`: +1 for a
/// device entering a status, −1 for one leaving it. Only the state rows after `after` are read,
/// so a report for a recent year touches a few hundred rows, not the whole register.
pub async fn stock_deltas(store: &Store, municipality_id: i64, after: NaiveDate) -> Result<Vec<StockDelta>> {
    let sql = "SELECT m.model_group AS model_group, s.effective_on AS effective_on, \
        CAST(SUM(CASE WHEN s.status = 'spare' THEN 1 ELSE 0 END) - SUM(CASE WHEN s.prev_status = 'spare' THEN 1 ELSE 0 END) AS BIGINT) AS spare, \
        CAST(SUM(CASE WHEN s.status = 'deployed' THEN 1 ELSE 0 END) - SUM(CASE WHEN s.prev_status = 'deployed' THEN 1 ELSE 0 END) AS BIGINT) AS deployed, \
        CAST(SUM(CASE WHEN s.status = 'spare' AND s.prev_status IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS registered_spare \
        FROM device_state s JOIN device d ON d.id = s.device_id JOIN device_model m ON m.id = d.model_id \
        WHERE s.municipality_id = $1 AND d.device_class = 'learner' AND s.effective_on > $2 \
        GROUP BY m.model_group, s.effective_on ORDER BY m.model_group, s.effective_on";
    Ok(StockDelta::find_by_statement(stmt(store, sql, vec![municipality_id.into(), after.into()]))
        .all(&store.db)
        .await?)
}

/// Incident counts of learner devices per group, day and kind, `from..=to`.
pub async fn incident_counts(
    store: &Store,
    municipality_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<IncidentCount>> {
    let sql = "SELECT m.model_group AS model_group, i.occurred_on AS occurred_on, i.kind AS kind, CAST(COUNT(*) AS BIGINT) AS n \
        FROM incident i JOIN device d ON d.id = i.device_id JOIN device_model m ON m.id = d.model_id \
        WHERE i.municipality_id = $1 AND d.device_class = 'learner' AND i.occurred_on >= $2 AND i.occurred_on <= $3 \
        GROUP BY m.model_group, i.occurred_on, i.kind";
    Ok(IncidentCount::find_by_statement(stmt(store, sql, vec![municipality_id.into(), from.into(), to.into()]))
        .all(&store.db)
        .await?)
}

/// The latest date in `from..=to` on which anything happened to the fleet after its inventory
/// (an incident, swap, repair, write-off or movement); `None` if nothing did.
pub async fn latest_event_on(
    store: &Store,
    municipality_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<NaiveDate>> {
    Ok(device_state::Entity::find()
        .filter(device_state::Column::MunicipalityId.eq(municipality_id))
        .filter(device_state::Column::Reason.ne("inventory"))
        .filter(device_state::Column::EffectiveOn.between(from, to))
        .order_by_desc(device_state::Column::EffectiveOn)
        .one(&store.db)
        .await?
        .map(|s| s.effective_on))
}

/// Where the fleet's recorded days (any state row: inventory, incident, swap, repair, write-off,
/// movement) lie around the period `from..=to`: the last one before it, whether there is one in
/// it, the first one after it, and the latest of all. Index probes only (`ix_device_state_day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordedDays {
    pub before: Option<NaiveDate>,
    pub within: bool,
    pub after: Option<NaiveDate>,
    pub latest: Option<NaiveDate>,
}

/// [`RecordedDays`] of the municipality around `from..=to`. Errors: the database's.
pub async fn recorded_days(
    store: &Store,
    municipality_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<RecordedDays> {
    let base = || device_state::Entity::find().filter(device_state::Column::MunicipalityId.eq(municipality_id));
    let day = |s: Option<device_state::Model>| s.map(|s| s.effective_on);
    let before = base()
        .filter(device_state::Column::EffectiveOn.lt(from))
        .order_by_desc(device_state::Column::EffectiveOn)
        .one(&store.db)
        .await?;
    let within = base().filter(device_state::Column::EffectiveOn.between(from, to)).one(&store.db).await?.is_some();
    let after = base()
        .filter(device_state::Column::EffectiveOn.gt(to))
        .order_by_asc(device_state::Column::EffectiveOn)
        .one(&store.db)
        .await?;
    let latest = base().order_by_desc(device_state::Column::EffectiveOn).one(&store.db).await?;
    Ok(RecordedDays { before: day(before), within, after: day(after), latest: day(latest) })
}

/// Filter of the device list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    /// Prefix of the serial number or asset tag (case-insensitive for serials: they are upper case).
    pub q: Option<String>,
    pub status: Option<String>,
    pub school_id: Option<i64>,
    pub model_group: Option<String>,
    /// Restricts to these schools (a `school` user's scope); `None` = all schools.
    pub scope_school_ids: Option<Vec<i64>>,
}

/// One row of the device list.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct DeviceRow {
    pub id: i64,
    pub serial_number: String,
    pub asset_tag: Option<String>,
    pub status: String,
    pub device_class: String,
    pub model: String,
    pub model_group: String,
    pub school_code: Option<String>,
    pub school_name: Option<String>,
    pub status_since: NaiveDate,
}

fn filtered(municipality_id: i64, f: &DeviceFilter) -> sea_orm::Select<device::Entity> {
    let mut q = device::Entity::find().filter(device::Column::MunicipalityId.eq(municipality_id));
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(
            Condition::any()
                .add(crate::like_prefix((device::Entity, device::Column::SerialNumber), &text.to_uppercase()))
                .add(crate::like_prefix((device::Entity, device::Column::AssetTag), text)),
        );
    }
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(device::Column::Status.eq(s));
    }
    if let Some(id) = f.school_id {
        q = q.filter(device::Column::SchoolId.eq(id));
    }
    if let Some(ids) = &f.scope_school_ids {
        q = q.filter(device::Column::SchoolId.is_in(ids.clone()));
    }
    if let Some(g) = f.model_group.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(
            device::Column::ModelId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(device_model::Column::Id)
                    .from(device_model::Entity)
                    .and_where(device_model::Column::ModelGroup.eq(g))
                    .to_owned(),
            ),
        );
    }
    q
}

/// The device list's columns (a [`DeviceRow`]) of the devices `select` picks: the model and the
/// school joined in, one row per device.
fn device_rows(select: sea_orm::Select<device::Entity>) -> sea_orm::Selector<sea_orm::SelectModel<DeviceRow>> {
    select
        .select_only()
        .column(device::Column::Id)
        .column(device::Column::SerialNumber)
        .column(device::Column::AssetTag)
        .column(device::Column::Status)
        .column(device::Column::DeviceClass)
        .column(device::Column::StatusSince)
        .column_as(device_model::Column::Name, "model")
        .column_as(device_model::Column::ModelGroup, "model_group")
        .column_as(school::Column::SchoolCode, "school_code")
        .column_as(school::Column::Name, "school_name")
        .join(
            sea_orm::JoinType::InnerJoin,
            device::Entity::belongs_to(device_model::Entity)
                .from(device::Column::ModelId)
                .to(device_model::Column::Id)
                .into(),
        )
        .join(
            sea_orm::JoinType::LeftJoin,
            device::Entity::belongs_to(school::Entity).from(device::Column::SchoolId).to(school::Column::Id).into(),
        )
        .into_model::<DeviceRow>()
}

/// A page of devices (1-based `page`, `per_page` rows, ordered by serial number) and the total
/// number of matching devices.
pub async fn list_devices(
    store: &Store,
    municipality_id: i64,
    f: &DeviceFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<DeviceRow>, u64)> {
    let total = filtered(municipality_id, f).count(&store.db).await?;
    let rows = device_rows(
        filtered(municipality_id, f)
            .order_by_asc(device::Column::SerialNumber)
            .offset(page.saturating_sub(1) * per_page)
            .limit(per_page),
    )
    .all(&store.db)
    .await?;
    Ok((rows, total))
}

/// A device with its state history (oldest first) and incidents (as the broken device or as the
/// replacement).
#[derive(Debug, Clone)]
pub struct DeviceDetail {
    pub device: DeviceRow,
    pub states: Vec<device_state::Model>,
    pub incidents: Vec<incident::Model>,
    /// Serial numbers of the other devices its incidents name (device id → serial).
    pub serials: std::collections::HashMap<i64, String>,
}

/// The device a user may name as the replacement (代替機) of an incident, by serial number or asset
/// tag (exact match): any spare — the spare pool is shared by all schools and a spare has no school
/// — or, within a school scope (`Some` ids, a school user), a device of those schools; `None`
/// scope sees every device. Any other device is `None`, exactly as a serial that does not exist,
/// so a school user learns nothing about another school's devices (not even their status).
pub async fn replacement_device(
    store: &Store,
    municipality_id: i64,
    serial_or_tag: &str,
    scope_school_ids: Option<Vec<i64>>,
) -> Result<Option<DeviceRow>> {
    if let Some(d) = device_detail(store, municipality_id, serial_or_tag, scope_school_ids.clone()).await? {
        return Ok(Some(d.device));
    }
    if scope_school_ids.is_none() {
        return Ok(None);
    }
    let any = device_detail(store, municipality_id, serial_or_tag, None).await?;
    Ok(any.map(|d| d.device).filter(|d| d.status == gigaops_domain::fleet::DeviceStatus::Spare.as_str()))
}

/// One device by serial number or asset tag (exact match), within a school scope if given.
pub async fn device_detail(
    store: &Store,
    municipality_id: i64,
    serial_or_tag: &str,
    scope_school_ids: Option<Vec<i64>>,
) -> Result<Option<DeviceDetail>> {
    let key = serial_or_tag.trim();
    let Some(d) = device::Entity::find()
        .filter(device::Column::MunicipalityId.eq(municipality_id))
        .filter(
            Condition::any()
                .add(device::Column::SerialNumber.eq(key.to_uppercase()))
                .add(device::Column::AssetTag.eq(key)),
        )
        .one(&store.db)
        .await?
    else {
        return Ok(None);
    };
    // the row by its id (a key lookup), within the scope
    let f = DeviceFilter { scope_school_ids, ..Default::default() };
    let Some(row) =
        device_rows(filtered(municipality_id, &f).filter(device::Column::Id.eq(d.id))).one(&store.db).await?
    else {
        return Ok(None);
    };
    let states = device_state::Entity::find()
        .filter(device_state::Column::DeviceId.eq(d.id))
        .order_by_asc(device_state::Column::EffectiveOn)
        .order_by_asc(device_state::Column::Id)
        .all(&store.db)
        .await?;
    let incidents = incident::Entity::find()
        .filter(
            Condition::any()
                .add(incident::Column::DeviceId.eq(d.id))
                .add(incident::Column::ReplacementDeviceId.eq(d.id)),
        )
        .order_by_asc(incident::Column::OccurredOn)
        .all(&store.db)
        .await?;
    let others: Vec<i64> = incidents
        .iter()
        .flat_map(|i| [Some(i.device_id), i.replacement_device_id])
        .flatten()
        .filter(|id| *id != d.id)
        .collect();
    let serials = if others.is_empty() {
        Default::default()
    } else {
        device::Entity::find()
            .filter(device::Column::MunicipalityId.eq(municipality_id))
            .filter(device::Column::Id.is_in(others))
            .all(&store.db)
            .await?
            .into_iter()
            .map(|o| (o.id, o.serial_number))
            .collect()
    };
    Ok(Some(DeviceDetail { device: row, states, incidents, serials }))
}

/// Distinct model groups of the municipality, sorted.
pub async fn model_groups(store: &Store, municipality_id: i64) -> Result<Vec<String>> {
    let mut v: Vec<String> = device_model::Entity::find()
        .filter(device_model::Column::MunicipalityId.eq(municipality_id))
        .all(&store.db)
        .await?
        .into_iter()
        .map(|m| m.model_group)
        .collect();
    v.sort();
    v.dedup();
    Ok(v)
}

/// Registers or regroups a device model (`gigaops model add`).
///
/// Errors: [`crate::StoreError::Rule`] when the name or group is empty, or when the name is
/// already an alias of a model (`fleet::models`).
pub async fn upsert_model(store: &Store, municipality_id: i64, name: &str, group: &str) -> Result<device_model::Model> {
    use sea_orm::{ActiveModelTrait, Set};
    let name = name.trim();
    let group = group.trim();
    if name.is_empty() || group.is_empty() {
        return Err(crate::StoreError::Rule("機種名と機種グループを指定してください".into()));
    }
    // a name that is already another model's alias would make the alias mean two models
    let key = super::models::model_key(name);
    if let Some(a) = crate::entity::device_model_alias::Entity::find()
        .filter(crate::entity::device_model_alias::Column::MunicipalityId.eq(municipality_id))
        .filter(crate::entity::device_model_alias::Column::AliasKey.eq(key))
        .one(&store.db)
        .await?
    {
        let owner = device_model::Entity::find_by_id(a.model_id).one(&store.db).await?.map(|m| m.name);
        return Err(crate::StoreError::Rule(format!(
            "「{name}」は機種「{}」の別名として登録済みです（別の機種として登録するには先に別名を削除してください）",
            owner.unwrap_or_default()
        )));
    }
    match device_model::Entity::find()
        .filter(device_model::Column::MunicipalityId.eq(municipality_id))
        .filter(device_model::Column::Name.eq(name))
        .one(&store.db)
        .await?
    {
        Some(m) if m.model_group == group => Ok(m),
        Some(m) => {
            let mut am: device_model::ActiveModel = m.into();
            am.model_group = Set(group.to_string());
            Ok(am.update(&store.db).await?)
        }
        None => Ok(device_model::ActiveModel {
            municipality_id: Set(municipality_id),
            name: Set(name.to_string()),
            model_group: Set(group.to_string()),
            ..Default::default()
        }
        .insert(&store.db)
        .await?),
    }
}
