//! The one-way house (docs/ARCHITECTURE.md): no module circles, no command importing another.

use std::process::Command;

use crate::harness::{require_tool, run_command};

#[test]
fn no_module_imports_one_above_it() {
    if !require_tool("perl") || !require_tool("tsort") {
        return;
    }
    let mut cmd = Command::new("bash");
    cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check-layers"));
    let run = run_command(cmd, "");
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "layers: no circles, no command imports another\n"
    );
    assert_eq!(run.stderr, "");
}
