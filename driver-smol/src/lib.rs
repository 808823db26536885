//! Not built yet: this crate is a placeholder in the workspace layout of
//! DESIGN.md and exposes nothing. See the project's open issues for what it
//! will hold.
#![forbid(unsafe_code)]
