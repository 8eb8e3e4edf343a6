//! The error type of every fallible groupkv call.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// What went wrong, with enough detail to act on.
///
/// `Error` is `Clone` because a write-group leader hands its one WAL error to every follower
/// in the group, and because a failed WAL write is remembered (the DB's sticky error) and
/// returned to every later writer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed.
    Io {
        /// What groupkv was doing, e.g. "appending to WAL 000007.log".
        context: String,
        /// The OS error.
        source: Arc<io::Error>,
    },
    /// Stored data (a WAL record, a batch representation) is damaged.
    Corruption {
        /// What is damaged and where.
        message: String,
    },
    /// The caller passed something groupkv cannot accept (bad option, oversized key, ...).
    InvalidArgument {
        /// Why the argument was rejected.
        message: String,
    },
    /// The database directory is in use by another `DB` (in this or another process).
    Busy {
        /// The directory whose LOCK file is held.
        path: PathBuf,
    },
    /// A `no_slowdown` write would have had to wait for a write stall.
    Incomplete {
        /// Why the write would have waited.
        message: String,
    },
    /// The `DB` has been closed; open it again to use it.
    Closed,
    /// An earlier WAL write or sync failed, so the state on disk is unknown. Nothing more is
    /// written; reopen the database to recover the acknowledged writes.
    Poisoned {
        /// The failure that poisoned the database.
        cause: Box<Error>,
    },
}

/// `Result` with groupkv's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source: Arc::new(source),
        }
    }

    pub(crate) fn corruption(message: impl Into<String>) -> Self {
        Error::Corruption {
            message: message.into(),
        }
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "I/O error while {context}: {source}"),
            Error::Corruption { message } => write!(f, "corruption: {message}"),
            Error::InvalidArgument { message } => write!(f, "invalid argument: {message}"),
            Error::Busy { path } => write!(
                f,
                "database {} is locked by another open DB (in this or another process); \
                 close that one first",
                path.display()
            ),
            Error::Incomplete { message } => write!(f, "incomplete: {message}"),
            Error::Closed => write!(f, "the database is closed; open it again to use it"),
            Error::Poisoned { cause } => write!(
                f,
                "the database stopped accepting writes after an earlier failure ({cause}); \
                 reopen it to recover every acknowledged write"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source.as_ref()),
            Error::Poisoned { cause } => Some(cause.as_ref()),
            _ => None,
        }
    }
}
