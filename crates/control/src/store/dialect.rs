//! What differs between the two backends' SQL, and nothing else: each backend module defines
//! one [`Dialect`], and [`super::sql::Sql`] writes every query once from it.

/// The backend-specific pieces of SQL text.
#[derive(Debug)]
pub struct Dialect {
    /// Opens a transaction that writes (SQLite takes the write lock at once so two writers
    /// queue on the busy timeout instead of failing mid-way).
    pub begin: &'static str,
    /// The current time as stored in timestamp columns.
    pub now: &'static str,
    /// Suffix of the `SELECT ... FROM environments WHERE name = $1` that serialises
    /// transitions per environment.
    pub lock_row: &'static str,
    /// A statement that serialises token revocations (the last admin token must survive).
    pub lock_tokens: &'static str,
    /// A timestamp column as RFC 3339 UTC text with milliseconds.
    pub timestamp: fn(&str) -> String,
    /// A bind parameter written into a JSON column.
    pub json_in: fn(&str) -> String,
    /// A JSON column read as text.
    pub json_out: fn(&str) -> String,
}
