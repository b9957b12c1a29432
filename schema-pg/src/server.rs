//! Throwaway PostgreSQL servers: embedded (from local binaries) or external (by URL), and a shared one per test binary.
//!
//! # Cleanup
//!
//! * [`EmbeddedServer::stop`] (also run by `Drop`) sends the postmaster SIGQUIT (immediate
//!   shutdown; the data is throwaway), waits for it to exit (SIGKILL after 10 s) and removes the
//!   temporary directory holding the data directory, socket and log.
//! * `Drop` does not run when the process is killed, nor for a server kept in a `static` (such as
//!   [`shared`]). For those cases every embedded server has a *watchdog*: a tiny `/bin/sh`
//!   process whose stdin is a pipe whose only write end is held by the owning [`EmbeddedServer`].
//!   The watchdog blocks reading that pipe. Whenever the owning process goes away — normal exit,
//!   panic, Ctrl-C, `SIGKILL` — the kernel closes the write end, the watchdog reads EOF, sends
//!   the postmaster SIGQUIT (SIGKILL after ~10 s) and removes the temporary directory. This
//!   depends on neither pids of the parent (no polling, no pid reuse races) nor threads (unlike
//!   `PR_SET_PDEATHSIG`, which fires when the *thread* that spawned the child exits, e.g. the
//!   test thread that happened to start a shared server) and needs no `unsafe`. The watchdog
//!   ignores SIGINT/SIGTERM/SIGHUP and, like the postmaster, runs in its own process group, so a
//!   Ctrl-C in the terminal kills only the owning process and the watchdog then cleans up.
//!   It takes the pid from the data directory's `postmaster.pid` and, where `/proc` exists,
//!   checks that the process's command line names that data directory, so a reused pid is
//!   never hit.
//!   On a normal [`EmbeddedServer::stop`] the owner does the work itself and kills the watchdog.
//!   The watchdog starts before `initdb`, so even a kill during startup leaves nothing behind
//!   (a postmaster whose pid file was not written yet notices its deleted data directory and
//!   shuts itself down within about a minute).
//!
//! # Running as root
//!
//! PostgreSQL refuses to run as root. When the effective uid is 0, `initdb` and `postgres` run
//! as the `postgres` user if it exists, else `nobody` (uid 65534), via
//! [`std::os::unix::process::CommandExt::uid`]/`gid`; the data directory is chowned to that
//! user with mode 0700 and its parent made searchable (0711). The binaries must be readable by
//! that user (`scripts/install-postgres.sh` makes its tree world-readable); this is probed up
//! front so a permission problem gives a clear error instead of a cryptic initdb failure.

use std::fs::{self, OpenOptions};
use std::io::Read as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use tempfile::TempDir;

use crate::bin::PgBinaries;
use crate::error::{describe_postgres_error, PgError};
use crate::url;

/// The bootstrap superuser of embedded servers, named as on Supabase.
pub const SUPERUSER: &str = "supabase_admin";

/// Environment variable naming an existing server (superuser URL) for tests; checked first.
pub const TEST_DATABASE_URL_ENV: &str = "SCHEMAC_TEST_DATABASE_URL";

/// Fallback environment variable naming an existing server (superuser URL) for tests.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";

/// How long to wait for a freshly started server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How many ports to try if another process grabs the chosen free port first.
const PORT_ATTEMPTS: usize = 5;

/// How long to wait for an immediate shutdown before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest unix socket path PostgreSQL accepts is 107 bytes (sun_path minus NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The watchdog run by `/bin/sh -c`, with `$1` = temporary root directory, `$2` = data
/// directory. The postmaster's pid comes from `$2/postmaster.pid`; where `/proc` exists, the
/// process must also have the data directory on its command line (guards against pid reuse
/// after a stale pid file). See the module docs.
const WATCHDOG_SCRIPT: &str = r#"
trap '' INT TERM HUP QUIT PIPE
# Block until the owner closes the pipe or dies (the kernel then closes it).
while read -r _line; do :; done
root=$1 data=$2
ours=no
if [ -r "$data/postmaster.pid" ] && read -r pid < "$data/postmaster.pid" && [ -n "$pid" ]; then
  ours=yes
  if [ -r "/proc/$pid/cmdline" ]; then
    case "$(tr '\000' ' ' < "/proc/$pid/cmdline")" in *"$data"*) ;; *) ours=no ;; esac
  elif [ -d /proc/self ]; then
    ours=no
  fi
fi
if [ $ours = yes ]; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while [ $i -lt 20 ] && kill -0 "$pid" 2>/dev/null; do
    # A zombie (reparented, not yet reaped) is already dead.
    grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && break
    sleep 0.5 2>/dev/null || sleep 1
    i=$((i+1))
  done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$root"
"#;

/// Anything that can hand out connection URLs for a PostgreSQL server with a superuser.
pub trait PgServer {
    /// URL of the superuser on the maintenance database `postgres`.
    fn admin_url(&self) -> String;

    /// URL for logging in as `user` to database `db` (no password is added).
    fn url_for(&self, user: &str, db: &str) -> String;

    /// Connects as the superuser to the maintenance database.
    fn connect_admin(&self) -> Result<Client, PgError> {
        connect(&self.admin_url())
    }
}

/// Connects to `url` without TLS.
pub fn connect(url: &str) -> Result<Client, PgError> {
    Ok(Client::connect(url, NoTls)?)
}

/// The unprivileged account the server runs as when we are root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

impl RunAs {
    /// `None` when not root; otherwise `postgres` from /etc/passwd, else `nobody`, else 65534.
    fn detect() -> Option<RunAs> {
        if !rustix::process::geteuid().is_root() {
            return None;
        }
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let lookup = |name: &str| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                if fields.len() < 4 || fields[0] != name {
                    return None;
                }
                Some(RunAs {
                    name: name.to_string(),
                    uid: fields[2].parse().ok()?,
                    gid: fields[3].parse().ok()?,
                })
            })
        };
        Some(
            lookup("postgres")
                .or_else(|| lookup("nobody"))
                .unwrap_or(RunAs {
                    name: "nobody".to_string(),
                    uid: 65534,
                    gid: 65534,
                }),
        )
    }

    fn describe(&self) -> String {
        format!("{} (uid {})", self.name, self.uid)
    }
}

/// A private PostgreSQL server in a temporary directory, listening on 127.0.0.1 only, with
/// trust authentication and the superuser [`SUPERUSER`]. Stopped and deleted on drop.
#[derive(Debug)]
pub struct EmbeddedServer {
    bins: PgBinaries,
    run_as: Option<RunAs>,
    /// The temporary root (0711): holds `data/` (0700, owned by the server user) and `server.log`.
    root: Option<TempDir>,
    root_path: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    port: u16,
    postmaster: Option<Child>,
    watchdog: Option<Child>,
}

impl EmbeddedServer {
    /// Locates the binaries (see [`PgBinaries::locate`]) and starts a fresh server.
    pub fn start() -> Result<Self, PgError> {
        Self::start_with(PgBinaries::locate()?)
    }

    /// Starts a fresh server with the given binaries: initdb, launch on a free port, wait until
    /// it accepts connections (up to 30 s). On failure the error carries the initdb output or
    /// server log, and everything created so far is removed.
    pub fn start_with(bins: PgBinaries) -> Result<Self, PgError> {
        let run_as = RunAs::detect();
        if let Some(user) = &run_as {
            probe_binaries(&bins, user)?;
        }
        let root = tempfile::Builder::new()
            .prefix("schemac-pg-")
            .tempdir()
            .map_err(PgError::io("creating a temporary directory for PostgreSQL"))?;
        let root_path = root.path().to_path_buf();
        let mut server = EmbeddedServer {
            bins,
            run_as,
            data_dir: root_path.join("data"),
            log_path: root_path.join("server.log"),
            root_path,
            root: Some(root),
            port: 0,
            postmaster: None,
            watchdog: None,
        };
        // From here on an early return drops `server`, which stops and deletes everything; the
        // watchdog covers the owner dying at any point from now on.
        server.spawn_watchdog()?;
        server.init_data_dir()?;
        server.launch()?;
        Ok(server)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// URL of [`SUPERUSER`] on database `postgres`.
    pub fn admin_url(&self) -> String {
        self.url_for(SUPERUSER, "postgres")
    }

    /// URL for `user` on database `db` (trust authentication: no password needed).
    pub fn url_for(&self, user: &str, db: &str) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{}",
            url::encode(user),
            self.port,
            url::encode(db)
        )
    }

    /// Connects as the superuser to database `postgres`.
    pub fn connect_admin(&self) -> Result<Client, PgError> {
        connect(&self.admin_url())
    }

    /// The binaries this server runs.
    pub fn binaries(&self) -> &PgBinaries {
        &self.bins
    }

    /// The temporary directory holding everything of this server (removed on stop).
    pub fn root_dir(&self) -> &Path {
        &self.root_path
    }

    /// The data directory (inside [`Self::root_dir`]); also the unix socket directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The pid of the running postmaster, if any.
    pub fn postmaster_pid(&self) -> Option<u32> {
        self.postmaster.as_ref().map(Child::id)
    }

    /// Whether the postmaster is still running.
    pub fn is_running(&mut self) -> bool {
        match self.postmaster.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) | None => false,
        }
    }

    /// The server log so far (its last 64 KiB), or a note if it cannot be read.
    pub fn log(&self) -> String {
        read_tail(&self.log_path, 64 * 1024)
    }

    /// Stops the server (immediate shutdown, SIGKILL after 10 s) and deletes its directory.
    /// Idempotent; also called by `Drop`. Meant as well for a Ctrl-C handler.
    pub fn stop(&mut self) {
        if let Some(mut postmaster) = self.postmaster.take() {
            stop_child(&mut postmaster);
        }
        // We did the watchdog's job ourselves: dismiss it without letting it act.
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        if let Some(root) = self.root.take() {
            if let Err(e) = root.close() {
                // Fall back to a plain recursive delete; report but never panic in Drop.
                if self.root_path.exists() {
                    if let Err(e2) = fs::remove_dir_all(&self.root_path) {
                        eprintln!(
                            "schema-pg: could not remove {}: {e}; {e2}",
                            self.root_path.display()
                        );
                    }
                }
            }
        }
    }

    /// A command for a PostgreSQL tool: run as the unprivileged user when root, in the
    /// temporary root (the caller's cwd may not be accessible to that user), with a clean
    /// environment for libpq/PG variables and the C locale.
    fn command(&self, program: PathBuf) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root_path)
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd
    }

    fn init_data_dir(&mut self) -> Result<(), PgError> {
        fs::create_dir(&self.data_dir).map_err(PgError::io(format!(
            "creating data directory {}",
            self.data_dir.display()
        )))?;
        if let Some(user) = &self.run_as {
            fs::set_permissions(&self.root_path, fs::Permissions::from_mode(0o711)).map_err(
                PgError::io(format!("chmod 0711 {}", self.root_path.display())),
            )?;
            std::os::unix::fs::chown(&self.data_dir, Some(user.uid), Some(user.gid)).map_err(
                PgError::io(format!(
                    "chown {} to {}",
                    self.data_dir.display(),
                    user.describe()
                )),
            )?;
        }
        fs::set_permissions(&self.data_dir, fs::Permissions::from_mode(0o700)).map_err(
            PgError::io(format!("chmod 0700 {}", self.data_dir.display())),
        )?;

        let output = self
            .command(self.bins.initdb())
            .arg("-D")
            .arg(&self.data_dir)
            .args([
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .output()
            .map_err(PgError::io(format!(
                "running {}",
                self.bins.initdb().display()
            )))?;
        if !output.status.success() {
            return Err(PgError::Initdb {
                status: output.status.to_string(),
                log: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            });
        }
        Ok(())
    }

    /// Starts the postmaster on a free port, retrying with another port if the chosen one was
    /// taken in the meantime.
    fn launch(&mut self) -> Result<(), PgError> {
        let mut attempt = 1;
        loop {
            let port = free_port()?;
            match self.launch_on(port) {
                Ok(()) => return Ok(()),
                Err(LaunchError::PortTaken(_)) if attempt < PORT_ATTEMPTS => attempt += 1,
                Err(LaunchError::PortTaken(e) | LaunchError::Fatal(e)) => return Err(e),
            }
        }
    }

    fn launch_on(&mut self, port: u16) -> Result<(), LaunchError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(PgError::io(format!("opening {}", self.log_path.display())))?;
        let log_start = log
            .metadata()
            .map_err(PgError::io(format!("reading {}", self.log_path.display())))?
            .len();
        let log_err = log
            .try_clone()
            .map_err(PgError::io("duplicating the log file handle"))?;
        // Unix sockets live in the data dir unless its path is too long for sun_path.
        let socket_dir =
            if self.data_dir.as_os_str().len() + ".s.PGSQL.65535".len() + 1 < MAX_SOCKET_PATH {
                self.data_dir.display().to_string()
            } else {
                String::new()
            };
        let mut cmd = self.command(self.bins.postgres());
        cmd.arg("-D")
            .arg(&self.data_dir)
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={socket_dir}"))
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                // As on Supabase (realtime): publications behave as there.
                "-c",
                "wal_level=logical",
            ])
            .stdout(log)
            .stderr(log_err)
            // Own process group: a terminal Ctrl-C reaches only the owner; the watchdog stops us.
            .process_group(0);
        let child = cmd.spawn().map_err(PgError::io(format!(
            "starting {}",
            self.bins.postgres().display()
        )))?;
        self.postmaster = Some(child);
        self.port = port;
        self.wait_until_ready(log_start)
    }

    fn spawn_watchdog(&mut self) -> Result<(), PgError> {
        let watchdog = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("schemac-pg-watchdog")
            .arg(&self.root_path)
            .arg(&self.data_dir)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(PgError::io("starting the /bin/sh watchdog for PostgreSQL"))?;
        self.watchdog = Some(watchdog);
        Ok(())
    }

    /// Polls until our postmaster accepts connections, it exits, or [`START_TIMEOUT`] passes.
    /// `log_start` is the log's length before this attempt, so only this attempt's messages
    /// decide whether the port was taken.
    fn wait_until_ready(&mut self, log_start: u64) -> Result<(), LaunchError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let expected_data_dir =
            fs::canonicalize(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        loop {
            let exited = match self.postmaster.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Ok(None)) => None,
                Some(Err(e)) => Some(format!("unknown ({e})")),
                None => Some("not started".to_string()),
            };
            if let Some(status) = exited {
                self.postmaster = None;
                let this_attempt = read_from(&self.log_path, log_start);
                let err = PgError::ServerExited {
                    status,
                    log: self.log(),
                };
                return Err(
                    if this_attempt.contains("could not bind")
                        || this_attempt.contains("Address already in use")
                    {
                        LaunchError::PortTaken(err)
                    } else {
                        LaunchError::Fatal(err)
                    },
                );
            }
            let last_error = match self.probe_connection(&expected_data_dir) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let log = self.log();
                if let Some(mut postmaster) = self.postmaster.take() {
                    stop_child(&mut postmaster);
                }
                return Err(LaunchError::Fatal(PgError::StartTimeout {
                    secs: START_TIMEOUT.as_secs(),
                    last_error,
                    log,
                }));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Connects and checks that the server answering on our port is ours (another process may
    /// have grabbed the port, in which case our postmaster will exit shortly).
    fn probe_connection(&self, expected_data_dir: &Path) -> Result<(), String> {
        let mut config: postgres::Config = self
            .admin_url()
            .parse()
            .map_err(|e: postgres::Error| e.to_string())?;
        config.connect_timeout(Duration::from_secs(2));
        let mut client = config
            .connect(NoTls)
            .map_err(|e| describe_postgres_error(&e))?;
        let row = client
            .query_one("select current_setting('data_directory')", &[])
            .map_err(|e| describe_postgres_error(&e))?;
        let data_dir: String = row.get(0);
        let actual = fs::canonicalize(&data_dir).unwrap_or_else(|_| PathBuf::from(&data_dir));
        if actual == expected_data_dir {
            Ok(())
        } else {
            Err(format!(
                "port {} is served by another server ({data_dir})",
                self.port
            ))
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl PgServer for EmbeddedServer {
    fn admin_url(&self) -> String {
        EmbeddedServer::admin_url(self)
    }
    fn url_for(&self, user: &str, db: &str) -> String {
        EmbeddedServer::url_for(self, user, db)
    }
}

enum LaunchError {
    /// The postmaster could not bind its port: worth retrying on another one.
    PortTaken(PgError),
    Fatal(PgError),
}

impl From<PgError> for LaunchError {
    fn from(e: PgError) -> Self {
        LaunchError::Fatal(e)
    }
}

/// SIGQUIT (PostgreSQL's immediate shutdown), wait up to [`STOP_TIMEOUT`], then SIGKILL.
fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let pid = rustix::process::Pid::from_child(child);
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::QUIT);
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A currently free TCP port on 127.0.0.1 (chosen by the kernel).
fn free_port() -> Result<u16, PgError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(PgError::io("binding 127.0.0.1:0 to find a free port"))?;
    let port = listener
        .local_addr()
        .map_err(PgError::io("reading the bound address"))?
        .port();
    Ok(port)
}

/// Runs `postgres --version` as `user` so an unreadable install fails early and clearly.
fn probe_binaries(bins: &PgBinaries, user: &RunAs) -> Result<(), PgError> {
    let result = Command::new(bins.postgres())
        .arg("--version")
        .current_dir("/")
        .stdin(Stdio::null())
        .uid(user.uid)
        .gid(user.gid)
        .output();
    let detail = match result {
        Ok(out) if out.status.success() => return Ok(()),
        Ok(out) => format!(
            "`postgres --version` exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("could not execute {}: {e}", bins.postgres().display()),
    };
    Err(PgError::BinariesNotAccessible {
        bin_dir: bins.bin_dir().display().to_string(),
        user: user.describe(),
        detail,
    })
}

/// A file's contents from byte `start` on, as text (empty if unreadable).
fn read_from(path: &Path, start: u64) -> String {
    let mut buf = Vec::new();
    let _ = fs::File::open(path).and_then(|mut f| {
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(start))?;
        f.read_to_end(&mut buf)
    });
    String::from_utf8_lossy(&buf).into_owned()
}

/// The last `max` bytes of a file as text.
fn read_tail(path: &Path, max: usize) -> String {
    let mut buf = Vec::new();
    match fs::File::open(path).and_then(|mut f| f.read_to_end(&mut buf)) {
        Ok(_) => {
            let start = buf.len().saturating_sub(max);
            String::from_utf8_lossy(&buf[start..]).into_owned()
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}

/// A server to run against: one we started, or an existing one given by URL.
#[derive(Debug)]
pub enum ServerHandle {
    /// A private server started by this process.
    Embedded(EmbeddedServer),
    /// An existing server; `admin_url` must log in as a superuser.
    External {
        /// Superuser URL (its database is used as the maintenance database).
        admin_url: String,
    },
}

impl ServerHandle {
    /// An existing server reached through `admin_url` (must be a superuser). The URL is
    /// validated here so later user/database rewrites cannot fail.
    pub fn external(admin_url: impl Into<String>) -> Result<Self, PgError> {
        let admin_url = admin_url.into();
        url::validate(&admin_url)?;
        Ok(ServerHandle::External { admin_url })
    }

    /// Uses `$SCHEMAC_TEST_DATABASE_URL`, else `$DATABASE_URL`, if set and non-empty; otherwise
    /// starts an [`EmbeddedServer`].
    pub fn from_env_or_start() -> Result<Self, PgError> {
        for var in [TEST_DATABASE_URL_ENV, DATABASE_URL_ENV] {
            if let Ok(url) = std::env::var(var) {
                if !url.trim().is_empty() {
                    return Self::external(url.trim());
                }
            }
        }
        Ok(ServerHandle::Embedded(EmbeddedServer::start()?))
    }

    /// Superuser URL for the maintenance database.
    pub fn admin_url(&self) -> String {
        match self {
            ServerHandle::Embedded(server) => server.admin_url(),
            ServerHandle::External { admin_url } => admin_url.clone(),
        }
    }

    /// URL for `user` on `db`. For external servers the admin URL's host, port, password and
    /// parameters are kept and only the user and database are replaced.
    pub fn url_for(&self, user: &str, db: &str) -> String {
        match self {
            ServerHandle::Embedded(server) => server.url_for(user, db),
            ServerHandle::External { admin_url } => url::with_user_db(admin_url, user, db)
                .expect("external URLs are validated when the handle is created"),
        }
    }

    /// Connects as the superuser to the maintenance database.
    pub fn connect_admin(&self) -> Result<Client, PgError> {
        connect(&self.admin_url())
    }

    /// The embedded server, if this handle owns one.
    pub fn embedded(&self) -> Option<&EmbeddedServer> {
        match self {
            ServerHandle::Embedded(server) => Some(server),
            ServerHandle::External { .. } => None,
        }
    }
}

impl From<EmbeddedServer> for ServerHandle {
    fn from(server: EmbeddedServer) -> Self {
        ServerHandle::Embedded(server)
    }
}

impl PgServer for ServerHandle {
    fn admin_url(&self) -> String {
        ServerHandle::admin_url(self)
    }
    fn url_for(&self, user: &str, db: &str) -> String {
        ServerHandle::url_for(self, user, db)
    }
}

static SHARED: OnceLock<Result<ServerHandle, PgError>> = OnceLock::new();

/// The process-wide server for tests, created on first use ([`ServerHandle::from_env_or_start`]):
/// one embedded server per test binary, shared by all its test threads, unless
/// `SCHEMAC_TEST_DATABASE_URL` / `DATABASE_URL` names an existing server. Tests should isolate
/// themselves with a [`crate::TestDatabase`] each.
///
/// Being in a `static`, an embedded shared server is never dropped: its watchdog (see the
/// module docs) stops it and deletes its directory when the test process exits.
///
/// # Panics
/// If no server can be had (e.g. no PostgreSQL binaries), with the full explanation of what
/// was searched and how to fix it — tests using it fail, they are never silently skipped.
pub fn shared() -> &'static ServerHandle {
    match try_shared() {
        Ok(server) => server,
        Err(e) => panic!("schema-pg: no PostgreSQL server for tests:\n{e}"),
    }
}

/// Like [`shared`] but returns the (cached) startup error instead of panicking.
pub fn try_shared() -> Result<&'static ServerHandle, &'static PgError> {
    SHARED.get_or_init(ServerHandle::from_env_or_start).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_handle_rewrites_urls() {
        let handle = ServerHandle::external("postgres://admin:pw@db:6543/postgres").unwrap();
        assert_eq!(handle.admin_url(), "postgres://admin:pw@db:6543/postgres");
        assert_eq!(
            handle.url_for("postgres", "t_1"),
            "postgres://postgres:pw@db:6543/t_1"
        );
        assert!(handle.embedded().is_none());
        assert!(ServerHandle::external("http://x").is_err());
    }

    #[test]
    fn run_as_is_unprivileged_when_root() {
        match RunAs::detect() {
            Some(user) => assert_ne!(user.uid, 0),
            None => assert!(!rustix::process::geteuid().is_root()),
        }
    }
}
