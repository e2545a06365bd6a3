//! PostgreSQL for tests, never mocked.
//!
//! * [`TestDatabase`]: a fresh database per test (`portcullis_<random>`, created from
//!   `template0`, dropped when the value is dropped, best effort) on the machine's server at
//!   127.0.0.1:5432. Under `CI=true` an unreachable server fails the test loudly; elsewhere a
//!   private server is started from the installed binaries, and only when that cannot work is
//!   the test skipped with a loud `SKIPPED:` line.
//! * [`PostgresServer`]: a private server in a temporary directory on a free port, which a test
//!   can stop and start again on the same port and data (restart tests never touch the
//!   machine's shared server).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::Connection;

/// The machine's PostgreSQL (`.ci/run` starts it when it is not answering).
pub const SHARED_POSTGRES: &str = "127.0.0.1:5432";
/// The maintenance database the tests connect to on the shared server.
pub const SHARED_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database of its own for one test.
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
    /// Keeps the private fallback server up while a test uses it.
    _server: Option<Arc<PostgresServer>>,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("url", &self.url)
            .finish()
    }
}

impl TestDatabase {
    /// A fresh database, or `None` (after a `SKIPPED:` line) when no server can be had
    /// outside CI.
    pub async fn create() -> Option<TestDatabase> {
        let (admin_url, server) = match server_for_tests() {
            Ok(found) => found,
            Err(reason) => {
                eprintln!("SKIPPED: no PostgreSQL for this test ({reason}); it did not run");
                return None;
            }
        };
        Some(
            TestDatabase::create_on(&admin_url, server)
                .await
                .unwrap_or_else(|error| panic!("cannot create a test database: {error}")),
        )
    }

    /// A fresh database on the server `admin_url` connects to.
    pub async fn create_on(
        admin_url: &str,
        server: Option<Arc<PostgresServer>>,
    ) -> Result<TestDatabase, sqlx::Error> {
        let name = unique_name();
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        // The name is ours (letters, digits, underscore), never a user's input.
        sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE template0"))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        Ok(TestDatabase {
            url: replace_database(admin_url, &name),
            name,
            admin_url: admin_url.to_string(),
            _server: server,
        })
    }

    /// `postgres://…/portcullis_<random>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside a runtime, so the drop gets a thread and a runtime of its own.
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(&statement).execute(&mut admin).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("portcullis_{:x}_{:x}_{count}", std::process::id(), nanos)
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap_or((url, ""));
    format!("{base}/{database}")
}

/// The admin URL of a server for tests: the shared one when it answers; under `CI=true`
/// nothing else (panics); elsewhere a private one shared by this process's tests.
fn server_for_tests() -> Result<(String, Option<Arc<PostgresServer>>), String> {
    if reachable(SHARED_POSTGRES) {
        return Ok((SHARED_POSTGRES_URL.to_string(), None));
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!(
            "PostgreSQL is not reachable at {SHARED_POSTGRES} and CI=true: start it (.ci/run does)"
        );
    }
    eprintln!("note: PostgreSQL is not answering at {SHARED_POSTGRES}; starting a private server");
    static PRIVATE: Mutex<Weak<PostgresServer>> = Mutex::new(Weak::new());
    let mut private = PRIVATE.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some(server) = private.upgrade() {
        return Ok((server.url("postgres"), Some(server)));
    }
    let server = Arc::new(PostgresServer::start()?);
    *private = Arc::downgrade(&server);
    Ok((server.url("postgres"), Some(server)))
}

fn reachable(address: &str) -> bool {
    address.parse::<SocketAddr>().is_ok_and(|address| {
        TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
    })
}

/// A private PostgreSQL server (trust authentication, user `postgres`) in a temporary
/// directory, stopped when dropped.
pub struct PostgresServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The server refuses to run as root: as root, its commands run as `postgres`.
    run_as: Option<&'static str>,
}

impl std::fmt::Debug for PostgresServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresServer")
            .field("dir", &self.dir.path())
            .field("port", &self.port)
            .finish()
    }
}

impl PostgresServer {
    /// `initdb` and start on a free port. Blocking (a second or two).
    pub fn start() -> Result<PostgresServer, String> {
        let bin = installed_binaries()?;
        let dir = tempfile::Builder::new()
            .prefix("portcullis-pg-")
            .tempdir()
            .map_err(|error| format!("cannot make a temporary directory: {error}"))?;
        let run_as = if is_root() { Some("postgres") } else { None };
        if run_as.is_some() {
            hand_to_postgres_user(dir.path())?;
        }
        let port = free_port()?;
        let server = PostgresServer {
            dir,
            bin,
            port,
            run_as,
        };
        server.run(
            "initdb",
            &[
                "-D",
                &server.data_dir(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        server.start_again()?;
        Ok(server)
    }

    /// [`PostgresServer::start`] for a test: under `CI=true` a server that cannot start fails
    /// the test; elsewhere `None` after a loud `SKIPPED:` line.
    pub fn start_or_skip() -> Option<PostgresServer> {
        match PostgresServer::start() {
            Ok(server) => Some(server),
            Err(reason) => {
                if std::env::var("CI").is_ok_and(|value| value == "true") {
                    panic!("cannot start a private PostgreSQL under CI=true: {reason}");
                }
                eprintln!(
                    "SKIPPED: cannot start a private PostgreSQL ({reason}); this test did not run"
                );
                None
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server (fast shutdown: clients are disconnected). Blocking.
    pub fn stop(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "fast", "-w", "stop"],
        )
    }

    /// Starts the server again on the same port and data. Blocking until it accepts.
    pub fn start_again(&self) -> Result<(), String> {
        let socket_dir = self.dir.path().display().to_string();
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ],
        )
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let binary = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        let output = command
            .args(args)
            .output()
            .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"],
        );
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `pg_ctl`.
fn installed_binaries() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|error| format!("no PostgreSQL binaries under {}: {error}", root.display()))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("no initdb and pg_ctl under {}/*/bin", root.display()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Gives the directory to the `postgres` user, which runs the server.
fn hand_to_postgres_user(dir: &Path) -> Result<(), String> {
    let output = Command::new("chown")
        .args(["postgres:", &dir.display().to_string()])
        .output()
        .map_err(|error| format!("cannot run chown: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cannot give {} to the postgres user: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("cannot find a free port: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_unique_and_valid_identifiers() {
        let first = unique_name();
        let second = unique_name();
        assert_ne!(first, second);
        assert!(first.len() <= 63, "{first}");
        assert!(first
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_'));
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/test", &first),
            format!("postgres://postgres@127.0.0.1:5432/{first}")
        );
    }
}
