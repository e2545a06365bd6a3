//! What a control plane is started with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The control plane's settings. [`Settings::new`] fills in the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `postgres://…` or `sqlite://…`.
    pub database_url: String,
    /// The admin API's listener (default `127.0.0.1:7070`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// Where the first admin token is written (`admin.token`) and the SQLite file lives by
    /// default (`control.db`).
    pub data_dir: PathBuf,
    /// Created at start when missing (default `["production"]`).
    pub environments: Vec<String>,
    /// How long a snapshot long-poll is held before 304 (default 30 s).
    pub long_poll: Duration,
    /// The data planes' heartbeat interval; an instance silent for three is stale (default 5 s).
    pub heartbeat_interval: Duration,
    /// How often each replica re-reads every environment's ACTIVE version, the safety net
    /// under change notifications (default 10 s).
    pub refresh_interval: Duration,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7070";
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
pub const SQLITE_FILE: &str = "control.db";

impl Settings {
    pub fn new(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Settings {
        Settings {
            database_url: database_url.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
            data_dir: data_dir.into(),
            environments: vec![portcullis_protocol::DEFAULT_ENVIRONMENT.to_string()],
            long_poll: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(5),
            refresh_interval: Duration::from_secs(10),
        }
    }

    /// The embedded default: SQLite in `<data_dir>/control.db`.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Settings {
        let data_dir = data_dir.into();
        Settings::new(sqlite_url(&data_dir.join(SQLITE_FILE)), data_dir)
    }

    pub fn admin_token_path(&self) -> PathBuf {
        self.data_dir.join(ADMIN_TOKEN_FILE)
    }
}

/// `sqlite://<path>` for a file path.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let settings = Settings::embedded("/var/lib/portcullis");
        assert_eq!(
            settings.database_url,
            "sqlite:///var/lib/portcullis/control.db"
        );
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(settings.environments, vec!["production".to_string()]);
        assert_eq!(settings.long_poll, Duration::from_secs(30));
        assert_eq!(settings.heartbeat_interval, Duration::from_secs(5));
        assert_eq!(
            settings.admin_token_path(),
            PathBuf::from("/var/lib/portcullis/admin.token")
        );
    }
}
