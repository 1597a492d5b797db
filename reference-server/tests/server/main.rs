//! Integration tests: the reference server driven over real HTTP, one module per area.

mod authorize;
mod bearer;
mod client_credentials;
mod code_flow;
mod discovery;
mod errors;
mod implicit;
mod lifecycle;
mod parameters;
mod properties;
mod races;
mod relying_party;
mod sessions;
mod support;
mod userinfo;
mod variants;
