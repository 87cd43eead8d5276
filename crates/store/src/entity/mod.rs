//! SeaORM entities, one module per table. Every board-owned table carries `municipality_id`.

pub mod app_user;
pub mod device;
pub mod device_model;
pub mod device_state;
pub mod escalation_case;
pub mod escalation_event;
pub mod escalation_policy;
pub mod escalation_run;
pub mod import_run;
pub mod incident;
pub mod line;
pub mod movement;
pub mod municipality;
pub mod notice_mail;
pub mod plan;
pub mod plan_bar;
pub mod plan_comment;
pub mod plan_division_member;
pub mod plan_entry;
pub mod plan_entry_change;
pub mod plan_item;
pub mod plan_year;
pub mod school;
pub mod usage_month;
pub mod user_school;
pub mod work_item;
