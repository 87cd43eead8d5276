//! Integration tests of gigaops-web: the real server on 127.0.0.1 with a fresh database per test,
//! on SQLite and on PostgreSQL (every test that touches storage loops over
//! `gigaops_store::testing::BACKENDS`), driven with reqwest; and one browser test in headless
//! Chromium through chromedriver (`browser.rs`).

mod access;
mod app;
mod auth;
mod browser;
mod escalation;
mod every_page;
mod exports;
mod fleet;
mod hardening;
mod home;
mod imports;
mod limits;
mod models;
pub mod plan;
mod plan_choice;
mod plan_note;
mod report;
mod routes;
mod usage;
