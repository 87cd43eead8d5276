//! Device models (機種), their report groups (機種グループ) and their other names (機種の別名).
//!
//! An MDM export names a model the vendor's way (`iPad (8th generation)`, `iPad11,6`,
//! `Chromebook 314`); the register names it the board's way (`iPad（第8世代）`). An alias
//! (`device_model_alias`) says that a vendor's name means a registered model, so the device import
//! ([`super::devices::import`]) resolves it.
//!
//! Names are compared by their key [`model_key`]: Unicode NFKC (full-width letters, digits,
//! parentheses and spaces become ASCII), lower case, whitespace removed — `iPad（第8世代）` and
//! `ipad (第8世代)` are one name. A name resolves, in this order, to the model registered with
//! exactly that name, to the model whose name has the same key (if only one has), or to the model
//! that has it as an alias. An alias key is unique per municipality and never the key of a
//! registered model's name, so the three never disagree.

use crate::entity::{device, device_model, device_model_alias};
use crate::{Result, Store, StoreError};
use chrono::{DateTime, Utc};
pub use gigaops_domain::fleet::model_key;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::collections::HashMap;

/// Longest alias accepted (characters).
pub const MAX_ALIAS_CHARS: usize = 200;

/// One alias of a model, for the model list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelAlias {
    /// The alias as typed, e.g. `iPad (8th generation)`.
    pub alias: String,
    /// Who added it (e-mail or `cli`), if known.
    pub created_by: Option<String>,
    /// When it was added (UTC).
    pub created_at: DateTime<Utc>,
}

/// A registered model with its report group, its aliases (ordered by alias) and how many devices
/// of the register have it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelSummary {
    pub id: i64,
    /// The register's name, e.g. `iPad（第8世代）`.
    pub name: String,
    /// The report group, e.g. `iPad（小中）`.
    pub model_group: String,
    /// Devices of the register with this model (any status).
    pub devices: i64,
    pub aliases: Vec<ModelAlias>,
}

/// What [`add_alias`] or [`remove_alias`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasChange {
    /// The alias as stored (trimmed; as first typed when it was already there).
    pub alias: String,
    /// The register's name of its model.
    pub model_name: String,
    /// `false` when [`add_alias`] found the alias already on that model (nothing written).
    pub changed: bool,
}

/// The name → model resolution shared by the import and the functions below (rules in the
/// [module docs](self)).
#[derive(Debug, Default)]
pub(crate) struct ModelNames {
    exact: HashMap<String, i64>,
    /// key of a registered name → model id; `None` when two models' names share the key
    name_keys: HashMap<String, Option<i64>>,
    alias_keys: HashMap<String, i64>,
}

impl ModelNames {
    pub(crate) fn add_model(&mut self, id: i64, name: &str) {
        self.exact.insert(name.to_string(), id);
        self.name_keys
            .entry(model_key(name))
            .and_modify(|e| {
                if *e != Some(id) {
                    *e = None
                }
            })
            .or_insert(Some(id));
    }

    pub(crate) fn add_alias_key(&mut self, key: String, model_id: i64) {
        self.alias_keys.insert(key, model_id);
    }

    /// The model id `name` means, if any.
    pub(crate) fn resolve(&self, name: &str) -> Option<i64> {
        if let Some(id) = self.exact.get(name) {
            return Some(*id);
        }
        let key = model_key(name);
        match self.name_keys.get(&key) {
            Some(Some(id)) => Some(*id),
            _ => self.alias_keys.get(&key).copied(),
        }
    }
}

async fn load(
    store: &Store,
    municipality_id: i64,
) -> Result<(Vec<device_model::Model>, Vec<device_model_alias::Model>)> {
    let models = device_model::Entity::find()
        .filter(device_model::Column::MunicipalityId.eq(municipality_id))
        .order_by_asc(device_model::Column::ModelGroup)
        .order_by_asc(device_model::Column::Name)
        .all(&store.db)
        .await?;
    let aliases = device_model_alias::Entity::find()
        .filter(device_model_alias::Column::MunicipalityId.eq(municipality_id))
        .order_by_asc(device_model_alias::Column::Alias)
        .all(&store.db)
        .await?;
    Ok((models, aliases))
}

fn names_of(models: &[device_model::Model], aliases: &[device_model_alias::Model]) -> ModelNames {
    let mut names = ModelNames::default();
    for m in models {
        names.add_model(m.id, &m.name);
    }
    for a in aliases {
        names.add_alias_key(a.alias_key.clone(), a.model_id);
    }
    names
}

/// The municipality's models ordered by group and name, each with its aliases and device count.
///
/// Errors: database errors only.
pub async fn list(store: &Store, municipality_id: i64) -> Result<Vec<ModelSummary>> {
    let (models, aliases) = load(store, municipality_id).await?;
    // grouped by class and model, the order of the covering index `ix_device_stock` (no sort of
    // the register), then summed per model
    let mut counts: HashMap<i64, i64> = HashMap::new();
    for (model_id, n) in device::Entity::find()
        .select_only()
        .column(device::Column::ModelId)
        .column_as(device::Column::Id.count(), "n")
        .filter(device::Column::MunicipalityId.eq(municipality_id))
        .group_by(device::Column::DeviceClass)
        .group_by(device::Column::ModelId)
        .into_tuple::<(i64, i64)>()
        .all(&store.db)
        .await?
    {
        *counts.entry(model_id).or_default() += n;
    }
    let mut by_model: HashMap<i64, Vec<ModelAlias>> = HashMap::new();
    for a in aliases {
        by_model.entry(a.model_id).or_default().push(ModelAlias {
            alias: a.alias,
            created_by: a.created_by,
            created_at: a.created_at,
        });
    }
    Ok(models
        .into_iter()
        .map(|m| ModelSummary {
            devices: counts.get(&m.id).copied().unwrap_or(0),
            aliases: by_model.remove(&m.id).unwrap_or_default(),
            id: m.id,
            name: m.name,
            model_group: m.model_group,
        })
        .collect())
}

/// The registered model `name` means: by its register name, the same name up to width, case and
/// spaces, or an alias (rules in the [module docs](self)). `None` when it means none.
///
/// Errors: database errors only.
pub async fn resolve(store: &Store, municipality_id: i64, name: &str) -> Result<Option<device_model::Model>> {
    let (models, aliases) = load(store, municipality_id).await?;
    let id = names_of(&models, &aliases).resolve(name.trim());
    Ok(id.and_then(|id| models.into_iter().find(|m| m.id == id)))
}

/// Registers `alias` as another name of the model `model_name` (its register name, or one of its
/// aliases), added by `by`. Adding an alias the model already has changes nothing
/// (`changed: false`).
///
/// Errors (Japanese messages naming the values): [`StoreError::Rule`] when the alias is empty or
/// longer than [`MAX_ALIAS_CHARS`], when it is (up to width, case and spaces) the name of a
/// registered model, or when it is already an alias of another model; [`StoreError::NotFound`]
/// when `model_name` means no registered model. Nothing is written then.
pub async fn add_alias(
    store: &Store,
    municipality_id: i64,
    model_name: &str,
    alias: &str,
    by: Option<&str>,
) -> Result<AliasChange> {
    let (model_name, alias) = (model_name.trim(), alias.trim());
    if alias.is_empty() {
        return Err(StoreError::Rule("別名を入力してください".into()));
    }
    if alias.chars().count() > MAX_ALIAS_CHARS {
        return Err(StoreError::Rule(format!("別名は{MAX_ALIAS_CHARS}文字以内で入力してください（「{alias}」）")));
    }
    let (models, aliases) = load(store, municipality_id).await?;
    let names = names_of(&models, &aliases);
    let name_of = |id: i64| models.iter().find(|m| m.id == id).map_or_else(String::new, |m| m.name.clone());
    let Some(model_id) = names.resolve(model_name) else {
        let known: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
        return Err(StoreError::NotFound(if known.is_empty() {
            format!("機種「{model_name}」は登録されていません（機種がまだ1件も登録されていません）")
        } else {
            format!("機種「{model_name}」は登録されていません（登録済みの機種: {}）", known.join("、"))
        }));
    };
    let model = name_of(model_id);
    let key = model_key(alias);
    let owners: Vec<i64> = models.iter().filter(|m| model_key(&m.name) == key).map(|m| m.id).collect();
    if owners.contains(&model_id) {
        return Err(StoreError::Rule(format!(
            "「{alias}」は機種「{model}」の名前そのものです（同じ名前として扱われるため別名は不要です）"
        )));
    }
    if let Some(owner) = owners.first() {
        return Err(StoreError::Rule(format!(
            "「{alias}」は登録済みの別の機種「{}」の名前です。別名にはできません",
            name_of(*owner)
        )));
    }
    if let Some(a) = aliases.iter().find(|a| a.alias_key == key) {
        return if a.model_id == model_id {
            Ok(AliasChange { alias: a.alias.clone(), model_name: model, changed: false })
        } else {
            Err(StoreError::Rule(format!(
                "別名「{alias}」は機種「{}」の別名として登録済みです（付け替えるには先にその別名を削除してください）",
                name_of(a.model_id)
            )))
        };
    }
    let row = device_model_alias::ActiveModel {
        municipality_id: Set(municipality_id),
        model_id: Set(model_id),
        alias: Set(alias.to_string()),
        alias_key: Set(key),
        created_by: Set(by.map(str::to_string)),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    match row.insert(&store.db).await {
        Ok(_) => Ok(AliasChange { alias: alias.to_string(), model_name: model, changed: true }),
        // added at the same moment by someone else
        Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            Err(StoreError::Rule(format!("別名「{alias}」は同時に別の操作で登録されました。一覧を確認してください")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes the alias `alias` (compared by its key, so width, case and spaces do not matter).
///
/// Errors: [`StoreError::NotFound`] when the municipality has no such alias (nothing written).
pub async fn remove_alias(store: &Store, municipality_id: i64, alias: &str) -> Result<AliasChange> {
    let alias = alias.trim();
    let key = model_key(alias);
    let found = device_model_alias::Entity::find()
        .filter(device_model_alias::Column::MunicipalityId.eq(municipality_id))
        .filter(device_model_alias::Column::AliasKey.eq(key.as_str()))
        .one(&store.db)
        .await?;
    let Some(a) = found.filter(|_| !key.is_empty()) else {
        return Err(StoreError::NotFound(format!("別名「{alias}」は登録されていません")));
    };
    let model_name =
        device_model::Entity::find_by_id(a.model_id).one(&store.db).await?.map(|m| m.name).unwrap_or_default();
    device_model_alias::Entity::delete_by_id(a.id).exec(&store.db).await?;
    Ok(AliasChange { alias: a.alias, model_name, changed: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_order() {
        let mut n = ModelNames::default();
        n.add_model(1, "iPad（第8世代）");
        n.add_model(2, "Chromebook 314");
        n.add_alias_key(model_key("iPad (8th generation)"), 1);
        assert_eq!(n.resolve("iPad（第8世代）"), Some(1));
        assert_eq!(n.resolve("ipad(第8世代)"), Some(1), "same key as the register name");
        assert_eq!(n.resolve("IPAD (8TH GENERATION)"), Some(1), "alias up to case and spaces");
        assert_eq!(n.resolve("chromebook314"), Some(2));
        assert_eq!(n.resolve("iPad11,6"), None);
        // two register names with one key: only the exact names resolve
        n.add_model(3, "CHROMEBOOK 314");
        assert_eq!(n.resolve("Chromebook 314"), Some(2));
        assert_eq!(n.resolve("CHROMEBOOK 314"), Some(3));
        assert_eq!(n.resolve("chromebook314"), None);
    }
}
