//! m0011_plan_note: a plan's note (計画の注記), shown on the plan's pages and documents — e.g. that
//! the plan is another city's real plan, loaded for illustration. Text, empty = none.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_null;

pub(super) struct M0011PlanNote;

impl MigrationName for M0011PlanNote {
    fn name(&self) -> &str {
        "m0011_plan_note"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0011PlanNote {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Alias::new("plan")).add_column(string_null(Alias::new("note"))).take()).await
    }
}
