//! A fleet over real processes: `portcullis control-plane` on SQLite or PostgreSQL, the
//! operators' CLI against it, data planes in control-plane mode, and a load driver that counts
//! failed requests. Every wait has a deadline; nothing sleeps a fixed time.

pub mod backend;
pub mod cli;
pub mod control_plane;
pub mod data_plane;
pub mod load;
pub mod setup;

pub use backend::{Backend, Storage};
pub use cli::Cli;
pub use control_plane::ControlPlaneProcess;
pub use data_plane::DataPlane;
pub use load::Load;
pub use setup::Fleet;

/// Runs each named `async fn(Backend)` once per backend, as `sqlite::name` and
/// `postgres::name`: the same test code against both stores.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::fleet::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::fleet::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Runs blocking work (starting processes, waiting for their log lines, running the CLI) off
/// the runtime's threads, so load and upstream tasks keep running meanwhile.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("blocking test step")
}
