//! m0003_usage: LTE lines, monthly usage per line, the escalation policy, its monthly
//! runs, cases, events and work items.

use super::{day, day_null, fk, fk_null, id, index, table, text, text_null, ts, unique};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub(super) struct M0003Usage;

impl MigrationName for M0003Usage {
    fn name(&self) -> &str {
        "m0003_usage"
    }
}

fn bigint(name: &str) -> ColumnDef {
    big_integer(Alias::new(name))
}

#[async_trait::async_trait]
impl MigrationTrait for M0003Usage {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            // 回線: natural key (municipality, line_no); allowance in bytes; active_to inclusive
            table(
                "line",
                vec![
                    id(),
                    fk("municipality_id"),
                    text("line_no"),
                    fk("school_id"),
                    text_null("device_serial"),
                    text_null("pupil_id"),
                    bigint("allowance_bytes"),
                    day("active_from"),
                    day_null("active_to"),
                ],
            ),
            // 通信量: one row per line and month (`YYYY-MM`), bytes
            Table::create()
                .table(Alias::new("usage_month"))
                .if_not_exists()
                .col(fk("municipality_id"))
                .col(fk("line_id"))
                .col(string_len(Alias::new("month"), 7))
                .col(bigint("bytes"))
                .primary_key(Index::create().col(Alias::new("line_id")).col(Alias::new("month")))
                .take(),
            table(
                "escalation_policy",
                vec![
                    id(),
                    fk("municipality_id").unique_key().take(),
                    text("policy_json"),
                    ts("updated_at"),
                    text_null("updated_by"),
                ],
            ),
            table(
                "escalation_run",
                vec![
                    id(),
                    fk("municipality_id"),
                    text("month"),
                    ts("run_at"),
                    text_null("run_by"),
                    big_integer(Alias::new("stale")),
                ],
            ),
            table("escalation_case", vec![id(), fk("municipality_id"), fk("line_id"), text("opened_month")]),
            table(
                "escalation_event",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("case_id"),
                    fk("line_id"),
                    text("month"),
                    text("kind"),
                    big_integer(Alias::new("step")),
                    big_integer_null(Alias::new("bytes")),
                ],
            ),
            table(
                "work_item",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("event_id"),
                    fk("case_id"),
                    fk("line_id"),
                    fk_null("school_id"),
                    text("month"),
                    big_integer(Alias::new("step")),
                    text("audience"),
                    ts_null("done_at"),
                    text_null("done_by"),
                ],
            ),
        ];
        for t in tables {
            m.create_table(t).await?;
        }
        let indexes = vec![
            unique("line", "ux_line_no", &["municipality_id", "line_no"]),
            index("line", "ix_line_school", &["school_id"]),
            index("usage_month", "ix_usage_month", &["municipality_id", "month", "bytes"]),
            unique("escalation_run", "ux_escalation_run", &["municipality_id", "month"]),
            index("escalation_case", "ix_escalation_case_line", &["line_id"]),
            unique("escalation_event", "ux_escalation_event", &["case_id", "month"]),
            index("escalation_event", "ix_escalation_event_month", &["municipality_id", "month"]),
            index("work_item", "ix_work_item_month", &["municipality_id", "month"]),
        ];
        for i in indexes {
            m.create_index(i).await?;
        }
        Ok(())
    }
}

fn ts_null(name: &str) -> ColumnDef {
    timestamp_with_time_zone_null(Alias::new(name))
}
