//! Checks SCHEMAC_PG_BIN handling (its own test binary, because it changes the process environment).

mod common;

use schema_pg::{PgBinaries, PgError};

#[test]
fn schemac_pg_bin_override_is_honoured_and_validated() {
    let original = std::env::var_os("SCHEMAC_PG_BIN");
    // The normal search must find binaries (install them with scripts/install-postgres.sh).
    let found = common::ok(PgBinaries::locate());
    assert!(found.initdb().is_file());

    let empty = tempfile::tempdir().expect("tempdir");
    std::env::set_var("SCHEMAC_PG_BIN", empty.path());
    let err = PgBinaries::locate().expect_err("an empty override must be rejected");
    assert!(matches!(err, PgError::BadBinOverride { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("initdb missing"), "{msg}");
    assert!(msg.contains("scripts/install-postgres.sh"), "{msg}");

    std::env::set_var("SCHEMAC_PG_BIN", found.bin_dir());
    assert_eq!(common::ok(PgBinaries::locate()), found);

    // An empty value counts as unset (the normal search then runs).
    std::env::set_var("SCHEMAC_PG_BIN", "");
    common::ok(PgBinaries::locate());

    match original {
        Some(value) => std::env::set_var("SCHEMAC_PG_BIN", value),
        None => std::env::remove_var("SCHEMAC_PG_BIN"),
    }
}
