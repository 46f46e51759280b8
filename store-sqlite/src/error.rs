//! The crate's internal error: a SQLite failure or an already-decided [`StoreError`], so the
//! SQL code can use `?` on both and the boundary turns everything into a [`StoreError`].

use auth_core::store::{StoreError, UniqueField};
use rusqlite::ErrorCode;

/// An error inside one database call.
#[derive(Debug)]
pub(crate) enum DbError {
    /// SQLite (or rusqlite) failed.
    Sql(rusqlite::Error),
    /// The outcome is already a store error (a conflict, a corrupt row, a vanished file).
    Store(StoreError),
}

/// Result of one database call.
pub(crate) type DbResult<T> = Result<T, DbError>;

impl From<rusqlite::Error> for DbError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<StoreError> for DbError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<DbError> for StoreError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Sql(e) => StoreError::Unavailable(format!("sqlite: {e}")),
            DbError::Store(e) => e,
        }
    }
}

/// A row that cannot be turned back into a record: the database was edited by hand or is
/// damaged. Reported as [`StoreError::Unavailable`], never as a panic.
pub(crate) fn corrupt(table: &str, detail: impl std::fmt::Display) -> DbError {
    DbError::Store(StoreError::Unavailable(format!(
        "sqlite: corrupt row in table `{table}`: {detail}"
    )))
}

/// A value the schema cannot represent (e.g. a time outside 1677..2262).
pub(crate) fn unrepresentable(detail: impl std::fmt::Display) -> DbError {
    DbError::Store(StoreError::Unavailable(format!(
        "sqlite: value cannot be stored: {detail}"
    )))
}

/// Which unique field a failed write collided on, when `err` is a UNIQUE or PRIMARY KEY
/// violation. SQLite names the column in the message: `UNIQUE constraint failed: users.phone`.
pub(crate) fn unique_violation(err: &DbError) -> Option<UniqueField> {
    let DbError::Sql(rusqlite::Error::SqliteFailure(code, Some(message))) = err else {
        return None;
    };
    if code.code != ErrorCode::ConstraintViolation
        || !matches!(
            code.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return None;
    }
    let column = message.rsplit(": ").next()?.trim();
    let field = match column.split_once('.')? {
        ("users", "phone") => UniqueField::Phone,
        ("users", "email") => UniqueField::Email,
        ("users", "username") => UniqueField::Username,
        (_, "id") | ("email_tokens", "hash") => UniqueField::Id,
        _ => return None,
    };
    Some(field)
}

/// Maps a UNIQUE / PRIMARY KEY violation to [`StoreError::Conflict`], anything else as is.
pub(crate) fn conflict_or(err: DbError) -> DbError {
    match unique_violation(&err) {
        Some(field) => DbError::Store(StoreError::Conflict(field)),
        None => err,
    }
}
