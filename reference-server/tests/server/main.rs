//! Integration tests: the reference server driven over real HTTP, one module per area.

mod authorize;
mod bearer;
mod bounds;
mod claims_requests;
mod client_credentials;
mod code_flow;
mod discovery;
mod edge;
mod entra;
mod errors;
mod fuzz;
mod implicit;
mod layers;
mod lifecycle;
mod loopback;
mod parameter_limits;
mod parameters;
mod properties;
mod races;
mod relying_party;
mod resources;
mod sessions;
mod support;
mod userinfo;
mod variants;
