//! Schema migrations, written once for SQLite and PostgreSQL with sea-orm-migration.
//! Run at every start by [`crate::Store::connect`].

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

mod m0002_plan;
mod m0003_usage;
mod m0004_usage_month_key;
mod m0005_notice_mail;
mod m0006_usage_month_partitions;
mod m0007_import_jobs;
mod m0008_model_alias;
mod m0009_login_throttle;
mod m0010_usage_school_month;
mod m0011_plan_note;
mod m0012_device_status_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Init),
            Box::new(m0002_plan::M0002Plan),
            Box::new(m0003_usage::M0003Usage),
            Box::new(m0004_usage_month_key::M0004UsageMonthKey),
            Box::new(m0005_notice_mail::M0005NoticeMail),
            Box::new(m0006_usage_month_partitions::M0006UsageMonthPartitions),
            Box::new(m0007_import_jobs::M0007ImportJobs),
            Box::new(m0008_model_alias::M0008ModelAlias),
            Box::new(m0009_login_throttle::M0009LoginThrottle),
            Box::new(m0010_usage_school_month::M0010UsageSchoolMonth),
            Box::new(m0011_plan_note::M0011PlanNote),
            Box::new(m0012_device_status_index::M0012DeviceStatusIndex),
        ]
    }
}

struct M0001Init;

impl MigrationName for M0001Init {
    fn name(&self) -> &str {
        "m0001_init"
    }
}

fn id() -> ColumnDef {
    big_integer(Alias::new("id")).auto_increment().primary_key().take()
}
fn fk(name: &str) -> ColumnDef {
    big_integer(Alias::new(name))
}
fn fk_null(name: &str) -> ColumnDef {
    big_integer_null(Alias::new(name))
}
fn text(name: &str) -> ColumnDef {
    string(Alias::new(name))
}
fn text_null(name: &str) -> ColumnDef {
    string_null(Alias::new(name))
}
fn day(name: &str) -> ColumnDef {
    date(Alias::new(name))
}
fn day_null(name: &str) -> ColumnDef {
    date_null(Alias::new(name))
}
fn ts(name: &str) -> ColumnDef {
    timestamp_with_time_zone(Alias::new(name))
}
fn table(name: &str, cols: Vec<ColumnDef>) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(Alias::new(name)).if_not_exists();
    for mut c in cols {
        t.col(&mut c);
    }
    t.take()
}
fn unique(table: &str, name: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table)).unique().if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.take()
}
fn index(table: &str, name: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.take()
}

#[async_trait::async_trait]
impl MigrationTrait for M0001Init {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            table("municipality", vec![id(), text("code").unique_key().take(), text("name"), ts("created_at")]),
            table(
                "school",
                vec![
                    id(),
                    fk("municipality_id"),
                    text("school_code"),
                    text("name"),
                    text("kind"),
                    text("status"),
                    text_null("prefecture_code"),
                    text_null("address"),
                    text_null("postal_code"),
                    fk_null("branch_of"),
                    day_null("closed_on"),
                    text_null("successor_code"),
                ],
            ),
            table(
                "app_user",
                vec![
                    id(),
                    fk("municipality_id"),
                    text("email").unique_key().take(),
                    text("display_name"),
                    text("password_hash"),
                    text("role"),
                    boolean(Alias::new("active")),
                    ts("created_at"),
                ],
            ),
            Table::create()
                .table(Alias::new("user_school"))
                .if_not_exists()
                .col(fk("user_id"))
                .col(fk("school_id"))
                .primary_key(Index::create().col(Alias::new("user_id")).col(Alias::new("school_id")))
                .take(),
            table("device_model", vec![id(), fk("municipality_id"), text("name"), text("model_group")]),
            table(
                "device",
                vec![
                    id(),
                    fk("municipality_id"),
                    text("serial_number"),
                    text_null("asset_tag"),
                    fk("model_id"),
                    text("device_class"),
                    text("status"),
                    fk_null("school_id"),
                    text_null("device_name"),
                    text_null("os_version"),
                    day_null("last_check_in"),
                    day("registered_on"),
                    day("status_since"),
                ],
            ),
            table(
                "device_state",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("device_id"),
                    day("effective_on"),
                    text("status"),
                    text_null("prev_status"),
                    fk_null("school_id"),
                    text("reason"),
                    fk_null("incident_id"),
                    fk_null("movement_id"),
                    text_null("recorded_by"),
                    ts("recorded_at"),
                ],
            ),
            table(
                "incident",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("device_id"),
                    day("occurred_on"),
                    text("kind"),
                    text_null("cause"),
                    fk_null("replacement_device_id"),
                    day_null("repaired_on"),
                    day_null("written_off_on"),
                    text_null("recorded_by"),
                    ts("recorded_at"),
                ],
            ),
            table(
                "movement",
                vec![
                    id(),
                    fk("municipality_id"),
                    fk("device_id"),
                    day("moved_on"),
                    text("to_status"),
                    fk_null("to_school_id"),
                    text_null("recorded_by"),
                    ts("recorded_at"),
                ],
            ),
            table(
                "import_run",
                vec![
                    id(),
                    fk("municipality_id"),
                    text("kind"),
                    text("file_name"),
                    text("file_sha256"),
                    text_null("imported_by"),
                    ts("imported_at"),
                    big_integer(Alias::new("rows")),
                    big_integer(Alias::new("inserted")),
                    big_integer(Alias::new("updated")),
                    big_integer(Alias::new("unchanged")),
                ],
            ),
        ];
        for t in tables {
            m.create_table(t).await?;
        }
        let indexes = vec![
            unique("school", "ux_school_code", &["municipality_id", "school_code"]),
            unique("device_model", "ux_device_model_name", &["municipality_id", "name"]),
            unique("device", "ux_device_serial", &["municipality_id", "serial_number"]),
            index("device", "ix_device_asset_tag", &["municipality_id", "asset_tag"]),
            index("device", "ix_device_school", &["school_id"]),
            // covers the stock count of the monthly report
            index("device", "ix_device_stock", &["municipality_id", "device_class", "model_id", "status"]),
            index("device_state", "ix_device_state_device", &["device_id", "effective_on"]),
            index("device_state", "ix_device_state_day", &["municipality_id", "effective_on"]),
            unique("incident", "ux_incident_key", &["device_id", "occurred_on", "kind"]),
            index("incident", "ix_incident_day", &["municipality_id", "occurred_on"]),
            unique("movement", "ux_movement_key", &["device_id", "moved_on"]),
        ];
        for i in indexes {
            m.create_index(i).await?;
        }
        Ok(())
    }
}
