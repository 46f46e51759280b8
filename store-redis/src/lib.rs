//! `store-redis`: not yet implemented; see the project's open issues.
