//! The crate's internal error: a driver failure or an already-decided [`StoreError`], so the
//! SQL code can use `?` on both and the boundary turns everything into a [`StoreError`].

use auth_core::store::{StoreError, UniqueField};
use tokio_postgres::error::SqlState;

/// An error inside one database call.
#[derive(Debug)]
pub(crate) enum DbError {
    /// PostgreSQL (or the driver) failed.
    Pg(tokio_postgres::Error),
    /// The outcome is already a store error (a conflict, a corrupt row, a value out of range).
    Store(StoreError),
}

/// Result of one database call.
pub(crate) type DbResult<T> = Result<T, DbError>;

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Pg(err)
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
            DbError::Pg(e) => match unique_violation(&e) {
                Some(field) => StoreError::Conflict(field),
                None => unavailable(describe(&e)),
            },
            DbError::Store(e) => e,
        }
    }
}

/// [`StoreError::Unavailable`] with the text of any failure, marked as PostgreSQL's.
pub(crate) fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("postgres: {err}"))
}

/// The text of a failure with its causes: the driver's own text of a server error is only
/// "db error", and a pool error wraps the driver's, so the chain of sources is spelled out
/// (`ERROR: relation "users" does not exist (SQLSTATE 42P01)`).
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = match cause.downcast_ref::<tokio_postgres::error::DbError>() {
            Some(db) => format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            ),
            None => cause.to_string(),
        };
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// A row that cannot be turned back into a record: the database was edited by hand or is
/// damaged. Reported as [`StoreError::Unavailable`], never as a panic.
pub(crate) fn corrupt(table: &str, detail: impl std::fmt::Display) -> DbError {
    DbError::Store(StoreError::Unavailable(format!(
        "postgres: corrupt row in table `{table}`: {detail}"
    )))
}

/// A value the schema cannot represent (e.g. a time outside 1677..2262).
pub(crate) fn unrepresentable(detail: impl std::fmt::Display) -> DbError {
    DbError::Store(StoreError::Unavailable(format!(
        "postgres: value cannot be stored: {detail}"
    )))
}

/// Which unique field a failed write collided on, when `err` is a unique violation (SQLSTATE
/// 23505): told by the name of the constraint, which the migrations set explicitly.
pub(crate) fn unique_violation(err: &tokio_postgres::Error) -> Option<UniqueField> {
    let db = err.as_db_error()?;
    if db.code() != &SqlState::UNIQUE_VIOLATION {
        return None;
    }
    let field = match db.constraint()? {
        "users_phone_key" => UniqueField::Phone,
        "users_email_key" => UniqueField::Email,
        "users_username_key" => UniqueField::Username,
        "users_pkey" | "sessions_pkey" | "challenges_pkey" | "email_tokens_pkey" => UniqueField::Id,
        _ => return None,
    };
    Some(field)
}
