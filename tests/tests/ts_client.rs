//! A real supabase-js client compiles against the generated types: `tsc --strict --noEmit` on
//! tests/ts/client (typed selects, inserts, updates and RPC calls, and `@ts-expect-error` lines
//! that tsc rejects as unused unless each one is a real error), and on tests/ts/grants against
//! the `--types-grant-aware` variant.

use schema_core::emit::{typescript, EmitOptions};
use schemac_tests::workspace_root;
use std::process::Command;

fn tsc(project: &str) {
    let dir = workspace_root().join("tests/ts");
    let tsc = dir.join("node_modules/typescript/bin/tsc");
    assert!(
        tsc.is_file(),
        "{} is missing: run `npm ci` in tests/ts (scripts/test.sh does)",
        tsc.display()
    );
    let out = Command::new("node")
        .arg(&tsc)
        .args(["-p", project, "--pretty", "false"])
        .current_dir(&dir)
        .output()
        .expect("run node (is node >= 20 installed?)");
    assert!(
        out.status.success(),
        "tsc -p {project} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn app_schema() -> schema_core::ir::Schema {
    let mut sources = schema_core::Sources::new();
    sources.add(
        "schema.yaml",
        std::fs::read_to_string(workspace_root().join("schema.yaml")).expect("schema.yaml"),
    );
    schema_core::compile(&sources)
        .ir
        .expect("schema.yaml compiles")
}

#[test]
fn client_compiles_against_the_committed_types() {
    // The committed file is what `generate` writes today (also checked by `generate --check`).
    let committed = std::fs::read_to_string(workspace_root().join("generated/database.types.ts"))
        .expect("generated/database.types.ts");
    assert_eq!(
        committed,
        typescript::database_types(&app_schema(), &EmitOptions::default()),
        "generated/database.types.ts is stale: run `cargo run -p schema-cli -- generate`"
    );
    tsc("tsconfig.json");
}

#[test]
fn grant_aware_types_reject_writes_the_grants_refuse() {
    let mut opts = EmitOptions::default();
    opts.typescript.grant_aware = true;
    let text = typescript::database_types(&app_schema(), &opts);
    let dir = workspace_root().join("tests/ts/.out");
    std::fs::create_dir_all(&dir).expect("mkdir tests/ts/.out");
    std::fs::write(dir.join("grant-aware.types.ts"), text).expect("write");
    tsc("tsconfig.grants.json");
}
