//! The protocol's objects, as data: the validated authorization request, the browser session
//! and pending interaction, the authorization with its code and grant, the `claims` request.
//! The lowest layer: it imports nothing of the server but the configuration's types.

pub mod claims;
pub mod grant;
pub mod request;
pub mod session;
