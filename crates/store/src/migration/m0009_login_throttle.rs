//! m0009_login_throttle: failed sign-ins per account and per client address, for the back-off of
//! `crate::login_throttle`. One row per key (`account:<e-mail>` or `address:<ip>`); times are
//! Unix milliseconds (UTC) so that both databases compare them as numbers. Kept in the database
//! so that the back-off holds across restarts and across app instances sharing PostgreSQL.

use super::text;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null};

pub(super) struct M0009LoginThrottle;

impl MigrationName for M0009LoginThrottle {
    fn name(&self) -> &str {
        "m0009_login_throttle"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0009LoginThrottle {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("login_throttle"))
                .if_not_exists()
                .col(text("throttle_key").primary_key().take())
                .col(big_integer(Alias::new("failures")))
                .col(big_integer(Alias::new("last_failure_ms")))
                .col(big_integer_null(Alias::new("blocked_until_ms")))
                .take(),
        )
        .await
    }
}
