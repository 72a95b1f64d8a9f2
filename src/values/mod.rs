//! Parameter value parsing shared by the binder and the filters.
pub mod dns;
pub mod time;
pub mod url;
pub mod wildcard;
