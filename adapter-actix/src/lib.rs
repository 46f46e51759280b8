//! `adapter-actix`: not yet implemented; see the project's open issues.
