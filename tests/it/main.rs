//! The one integration-test binary (CONTRIBUTING.md code rule 8): every HTTP surface is tested against the real app
//! on 127.0.0.1:0, one module per surface.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bulk_upload;
mod cli;
mod client_fixtures;
mod clock;
mod connections;
mod console;
mod crash;
mod dashboard;
mod engine;
mod export_import;
mod faults;
mod hardening;
mod identity;
mod identity_discovery;
mod jobs;
mod journal;
mod links;
mod metrics;
mod openapi;
mod postgres_leg;
mod provisioning_logs;
mod python_clients;
mod readme_recipes;
mod replicas;
mod report;
mod reset;
mod scim_auth;
mod scim_bulk;
mod scim_resources;
mod scim_support;
mod support;
mod upload;
mod upload_errors;
mod users;
mod value_rules;
