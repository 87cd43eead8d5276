//! m0008_model_alias: the other names of a device model (機種の別名) — how an MDM export names it
//! (`iPad (8th generation)`, `iPad11,6`, `Chromebook 314`) — so that an export of devices already
//! in the register resolves to the register's model. `alias` is the name as typed; `alias_key` is
//! its comparison key (`gigaops_domain::fleet::model_key`: NFKC, lower case, no whitespace),
//! unique per municipality.

use super::{fk, id, index, table, text, ts, unique};
use sea_orm_migration::prelude::*;

pub(super) struct M0008ModelAlias;

impl MigrationName for M0008ModelAlias {
    fn name(&self) -> &str {
        "m0008_model_alias"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0008ModelAlias {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "device_model_alias",
            vec![
                id(),
                fk("municipality_id"),
                fk("model_id"),
                text("alias"),
                text("alias_key"),
                sea_orm_migration::schema::string_null(Alias::new("created_by")),
                ts("created_at"),
            ],
        ))
        .await?;
        m.create_index(unique("device_model_alias", "ux_device_model_alias_key", &["municipality_id", "alias_key"]))
            .await?;
        m.create_index(index("device_model_alias", "ix_device_model_alias_model", &["model_id"])).await
    }
}
