//! m0002_plan: the ICT promotion plan — plans, their items (基本方針 → 施策 → 取組項目 → 目標),
//! the yearly entries of 資料4-1 with optimistic locking (`version`), their change log and comments,
//! the open/locked state of each year, schedule bars, and who belongs to which division (担当課).

use super::{fk, id, index, table, text, text_null, ts, unique};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, boolean, integer};

pub(super) struct M0002Plan;

impl MigrationName for M0002Plan {
    fn name(&self) -> &str {
        "m0002_plan"
    }
}

fn int(name: &str) -> ColumnDef {
    integer(Alias::new(name))
}
fn long(name: &str) -> ColumnDef {
    sea_orm_migration::schema::text(Alias::new(name))
}
fn long_null(name: &str) -> ColumnDef {
    sea_orm_migration::schema::text_null(Alias::new(name))
}

#[async_trait::async_trait]
impl MigrationTrait for M0002Plan {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            table(
                "plan",
                vec![id(), fk("municipality_id"), text("name"), int("first_year"), int("last_year"), ts("created_at")],
            ),
            table(
                "plan_item",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("plan_id"),
                    text("code"),
                    text("level"),
                    long("title"),
                    long("summary"),
                    long("divisions"),
                    text_null("kpi_direction"),
                    long("kpi"),
                ],
            ),
            table(
                "plan_year",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("plan_id"),
                    int("fiscal_year"),
                    text("state"),
                    text_null("changed_by"),
                    ts("changed_at"),
                ],
            ),
            table(
                "plan_entry",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("plan_id"),
                    fk("item_id"),
                    int("fiscal_year"),
                    long("action"),
                    text_null("status"),
                    long("due"),
                    long("result"),
                    text("grade"),
                    long("next_action"),
                    text_null("next_status"),
                    long("school_actions"),
                    boolean(Alias::new("priority")),
                    big_integer(Alias::new("version")),
                    text_null("updated_by"),
                    ts("updated_at"),
                ],
            ),
            table(
                "plan_entry_change",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("entry_id"),
                    big_integer(Alias::new("version")),
                    text("source"),
                    text_null("changed_by"),
                    ts("changed_at"),
                    long_null("before_json"),
                    long("after_json"),
                ],
            ),
            table(
                "plan_comment",
                vec![id(), fk("municipality_id"), fk("entry_id"), text("author"), long("body"), ts("created_at")],
            ),
            table(
                "plan_bar",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("item_id"),
                    int("position"),
                    text("start_month"),
                    text("end_month"),
                    long("label"),
                ],
            ),
            table("plan_division_member", vec![id(), fk("municipality_id"), text("division"), fk("user_id")]),
        ];
        for t in tables {
            m.create_table(t).await?;
        }
        let indexes = vec![
            unique("plan", "ux_plan_name", &["municipality_id", "name"]),
            unique("plan_item", "ux_plan_item_code", &["plan_id", "code"]),
            unique("plan_year", "ux_plan_year", &["plan_id", "fiscal_year"]),
            unique("plan_entry", "ux_plan_entry_key", &["item_id", "fiscal_year"]),
            index("plan_entry", "ix_plan_entry_year", &["plan_id", "fiscal_year"]),
            index("plan_entry_change", "ix_plan_entry_change_entry", &["entry_id", "version"]),
            index("plan_comment", "ix_plan_comment_entry", &["entry_id"]),
            index("plan_bar", "ix_plan_bar_item", &["item_id", "position"]),
            unique("plan_division_member", "ux_plan_division_member", &["municipality_id", "division", "user_id"]),
        ];
        for i in indexes {
            m.create_index(i).await?;
        }
        Ok(())
    }
}
