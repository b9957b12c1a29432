//! Checks that an embedded server never outlives its owner process: neither when the owner is SIGKILLed nor when a never-dropped shared server's process exits.
//!
//! The owner is this test binary re-executed with `HELPER_ENV` set, running one of the
//! `helper_*` tests below (which do nothing when run normally).

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{eventually, ok, process_is_dead};
use schema_pg::{shared, EmbeddedServer, ServerHandle};

const HELPER_ENV: &str = "SCHEMAC_PG_WATCHDOG_HELPER";

/// What a helper reports about the server it started.
struct Started {
    postmaster: u32,
    root: PathBuf,
}

/// Runs helper test `name` in a child process and returns it with the server it started.
fn spawn_helper(name: &str) -> (std::process::Child, Started) {
    let mut child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, "1")
        // The helper must start its own embedded server even if the parent uses an external one.
        .env_remove("SCHEMAC_TEST_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn helper");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    while let Some(line) = lines.next() {
        let line = line.expect("read helper output");
        // libtest may print "test <name> ... " on the same line first.
        if let Some((_, rest)) = line.split_once("READY ") {
            let (pid, root) = rest.split_once(' ').expect("READY <pid> <root>");
            let started = Started {
                postmaster: pid.parse().expect("pid"),
                root: PathBuf::from(root),
            };
            // Keep draining so the helper never fails writing to a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (child, started);
        }
    }
    let status = child.wait().expect("wait helper");
    panic!("helper {name} exited ({status}) without starting a server; see its stderr above");
}

fn report(server: &EmbeddedServer) {
    println!(
        "READY {} {}",
        server.postmaster_pid().expect("running"),
        server.root_dir().display()
    );
}

fn assert_cleaned_up(started: &Started) {
    assert!(
        eventually(20, || process_is_dead(started.postmaster)),
        "postmaster {} still alive after its owner went away",
        started.postmaster
    );
    assert!(
        eventually(20, || !started.root.exists()),
        "{} not removed after its owner went away",
        started.root.display()
    );
}

#[test]
fn server_is_stopped_and_removed_when_owner_is_killed() {
    let (mut child, started) = spawn_helper("helper_start_server_then_hang");
    assert!(!process_is_dead(started.postmaster));
    assert!(started.root.exists());
    child.kill().expect("SIGKILL the owner");
    child.wait().expect("reap the owner");
    assert_cleaned_up(&started);
}

#[test]
fn shared_server_is_stopped_and_removed_when_process_exits() {
    let (mut child, started) = spawn_helper("helper_start_shared_server_then_exit");
    let status = child.wait().expect("wait helper");
    assert!(status.success(), "helper failed: {status}");
    assert_cleaned_up(&started);
}

/// Helper (a no-op unless run by the tests above): starts a server and hangs until killed.
#[test]
fn helper_start_server_then_hang() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let server = ok(EmbeddedServer::start());
    report(&server);
    // Bounded, in case the parent dies without killing us.
    std::thread::sleep(Duration::from_secs(120));
    drop(server);
}

/// Helper (a no-op unless run by the tests above): starts the shared server and returns, so the
/// process exits with the server still in its `static`.
#[test]
fn helper_start_shared_server_then_exit() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    match shared() {
        ServerHandle::Embedded(server) => report(server),
        ServerHandle::External { .. } => panic!("helper expected an embedded shared server"),
    }
}
