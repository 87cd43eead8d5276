//! Shared by the CLI integration tests: run the real `gigaops` binary from the repository root.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (examples are addressed from there).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `gigaops --database-url DB ARGS…` and returns its output, whatever the exit status.
pub fn gigaops(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gigaops"))
        .args(["--database-url", db])
        .args(args)
        .current_dir(root())
        .env("GIGAOPS_LOG", "warn")
        .output()
        .expect("run gigaops")
}

/// Runs the command, asserts it succeeded, and returns its standard output.
pub fn ok(db: &str, args: &[&str]) -> String {
    let o = gigaops(db, args);
    assert!(o.status.success(), "gigaops {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}
