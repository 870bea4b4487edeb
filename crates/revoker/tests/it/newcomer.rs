//! What a newcomer reads first: `--help` examples that work when pasted at 80 columns, a README
//! whose fresh-machine block leads to a binary and a simulator, a signing key the unit can read.

use revoker_testkit::*;

const COMMANDS: [&str; 8] = [
    "run",
    "plan",
    "select",
    "validate",
    "verify",
    "report",
    "keygen",
    "completions",
];

#[test]
fn help_examples_are_whole_commands_at_80_columns() {
    for command in COMMANDS {
        let out = revoker()
            .args([command, "--help"])
            .env("COLUMNS", "80")
            .output()
            .unwrap();
        let text = stdout(&out);
        let Some(examples) = text.split("Example").nth(1) else {
            continue;
        };
        let mut continued = false;
        for line in examples.lines().skip(1) {
            let whole = line.is_empty()
                || line.starts_with("  revoker ")
                || line.starts_with("  minisign ")
                || line.starts_with("  # ")
                || (continued && line.starts_with("      "));
            assert!(
                whole,
                "revoker {command} --help: a broken example line {line:?}\n{text}"
            );
            continued = line.ends_with('\\');
        }
    }
}
