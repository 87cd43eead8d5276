//! Schools (学校): import from MEXT's 学校コード list or a simple CSV, and look-ups.

use crate::entity::school;
use crate::imports::{finish, ImportOutcome, ImportSource};
use crate::{Result, Store, StoreError};
use gigaops_ingest::schools::{link_branches, SchoolRecord};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use std::collections::HashMap;

/// Imports school records into a municipality, idempotently by 学校コード.
///
/// `name_prefix` (e.g. `前橋市立`) keeps only schools whose name starts with it. Branch schools
/// (2(分)) are linked to their main school (the longest name prefix among the file's main schools,
/// see [`link_branches`]); closed schools (9(廃)) keep `closed_on` and `successor_code`. A check-digit
/// mismatch is a warning, not an error (some real MEXT codes fail it).
///
/// Errors: [`StoreError::Rows`] when the prefix leaves no school. Re-importing the same file
/// changes nothing (`unchanged` = rows).
pub async fn import(
    store: &Store,
    municipality_id: i64,
    src: &ImportSource,
    records: Vec<SchoolRecord>,
    name_prefix: Option<&str>,
) -> Result<ImportOutcome> {
    let mut out = ImportOutcome::new("schools", src);
    let links = link_branches(&records);
    let selected: Vec<usize> =
        (0..records.len()).filter(|&i| name_prefix.is_none_or(|p| records[i].name.starts_with(p))).collect();
    if selected.is_empty() {
        return Err(StoreError::Rows(vec![format!(
            "{}: 学校名が「{}」で始まる学校がありません",
            src.file_name,
            name_prefix.unwrap_or("")
        )]));
    }
    for &i in &selected {
        let r = &records[i];
        if !r.check_digit_ok {
            out.warnings.push(format!(
                "{}:{}:学校コード: {} — 検査数字が一致しません（期待値 {}）。MEXTの公表コードどおり登録します",
                src.file_name,
                r.row,
                r.code,
                r.code.expected_check_digit()
            ));
        }
    }
    let txn = store.db.begin().await?;
    let existing: HashMap<String, school::Model> = school::Entity::find()
        .filter(school::Column::MunicipalityId.eq(municipality_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|s| (s.school_code.clone(), s))
        .collect();
    let mut ids: HashMap<String, i64> = existing.iter().map(|(k, v)| (k.clone(), v.id)).collect();
    // pass 1: upsert without links; pass 2: links (the main school may come later in the file)
    let mut touched: Vec<(usize, Option<school::Model>)> = Vec::new();
    for &i in &selected {
        let r = &records[i];
        let want = |id: i64, branch_of: Option<i64>| school::Model {
            id,
            municipality_id,
            school_code: r.code.to_string(),
            name: r.name.clone(),
            kind: r.kind.clone(),
            status: r.status.as_str().to_string(),
            prefecture_code: r.prefecture_code.clone(),
            address: r.address.clone(),
            postal_code: r.postal_code.clone(),
            branch_of,
            closed_on: r.closed_on,
            successor_code: r.successor_code.as_ref().map(|c| c.to_string()),
        };
        match existing.get(r.code.as_str()) {
            Some(cur) => touched.push((i, Some(want(cur.id, cur.branch_of)))),
            None => {
                let m = school::ActiveModel {
                    municipality_id: Set(municipality_id),
                    school_code: Set(r.code.to_string()),
                    name: Set(r.name.clone()),
                    kind: Set(r.kind.clone()),
                    status: Set(r.status.as_str().to_string()),
                    prefecture_code: Set(r.prefecture_code.clone()),
                    address: Set(r.address.clone()),
                    postal_code: Set(r.postal_code.clone()),
                    branch_of: Set(None),
                    closed_on: Set(r.closed_on),
                    successor_code: Set(r.successor_code.as_ref().map(|c| c.to_string())),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                ids.insert(m.school_code.clone(), m.id);
                touched.push((i, None));
                out.inserted += 1;
            }
        }
    }
    for (i, cur) in touched {
        let r = &records[i];
        let branch_of = links[i].and_then(|j| ids.get(records[j].code.as_str()).copied());
        let id = ids[r.code.as_str()];
        match cur {
            Some(mut want) => {
                want.branch_of = branch_of;
                let before = &existing[r.code.as_str()];
                if &want == before {
                    out.unchanged += 1;
                } else {
                    let mut am: school::ActiveModel = before.clone().into();
                    am.name = Set(want.name);
                    am.kind = Set(want.kind);
                    am.status = Set(want.status);
                    am.prefecture_code = Set(want.prefecture_code);
                    am.address = Set(want.address);
                    am.postal_code = Set(want.postal_code);
                    am.branch_of = Set(want.branch_of);
                    am.closed_on = Set(want.closed_on);
                    am.successor_code = Set(want.successor_code);
                    am.update(&txn).await?;
                    out.updated += 1;
                }
            }
            None if branch_of.is_some() => {
                school::ActiveModel { id: Set(id), branch_of: Set(branch_of), ..Default::default() }
                    .update(&txn)
                    .await?;
            }
            None => {}
        }
    }
    out.rows = selected.len() as i64;
    finish(txn, municipality_id, src, out).await
}

/// All schools of a municipality, by code.
pub async fn list(store: &Store, municipality_id: i64) -> Result<Vec<school::Model>> {
    Ok(school::Entity::find()
        .filter(school::Column::MunicipalityId.eq(municipality_id))
        .order_by_asc(school::Column::SchoolCode)
        .all(&store.db)
        .await?)
}

/// A school by code.
pub async fn find_by_code(store: &Store, municipality_id: i64, code: &str) -> Result<Option<school::Model>> {
    Ok(school::Entity::find()
        .filter(school::Column::MunicipalityId.eq(municipality_id))
        .filter(school::Column::SchoolCode.eq(code.trim()))
        .one(&store.db)
        .await?)
}
