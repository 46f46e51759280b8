//! Small helpers over rusqlite statements.

use rusqlite::{Params, Row, Statement};

use crate::error::DbResult;

/// Runs a statement with a `RETURNING` clause that yields at most one row, **to completion**.
///
/// `query_row` would stop after the first row and leave the statement to be reset on drop,
/// where an error (e.g. from the commit of the implicit transaction) is swallowed; stepping
/// until SQLite reports done surfaces it, so a write is never reported done when it was not.
pub(crate) fn returning_one<T, P, F>(
    stmt: &mut Statement<'_>,
    params: P,
    map: F,
) -> DbResult<Option<T>>
where
    P: Params,
    F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
{
    let mut rows = stmt.query(params)?;
    let first = match rows.next()? {
        Some(row) => Some(map(row)?),
        None => None,
    };
    while rows.next()?.is_some() {}
    Ok(first)
}
