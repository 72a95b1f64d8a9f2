//! Parameter value parsing shared by the binder and the filters.
pub mod dns;
pub mod limits;
pub mod sip;
pub mod text;
pub mod time;
pub mod url;
pub mod wildcard;
