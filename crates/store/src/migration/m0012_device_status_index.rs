//! m0012_device_status_index: the device list filtered by status (e.g. the spares) reads the
//! devices of that status in serial-number order from one index range, instead of walking the whole
//! register in serial order and skipping the devices of other statuses; a school's devices (a
//! school user's list) likewise come in serial-number order from `ix_device_school_serial`, which
//! replaces `ix_device_school` (school id alone).

use super::index;
use sea_orm_migration::prelude::*;

pub(super) struct M0012DeviceStatusIndex;

impl MigrationName for M0012DeviceStatusIndex {
    fn name(&self) -> &str {
        "m0012_device_status_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0012DeviceStatusIndex {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index("device", "ix_device_status_serial", &["municipality_id", "status", "serial_number"]))
            .await?;
        m.create_index(index("device", "ix_device_school_serial", &["school_id", "serial_number"])).await?;
        m.drop_index(Index::drop().name("ix_device_school").table(Alias::new("device")).if_exists().to_owned()).await
    }
}
