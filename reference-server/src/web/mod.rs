//! The web layer every endpoint shares: request parameters with the RFC 6749 §3.1 rules
//! (`params`), form bodies, cookies, HTML pages and redirects. It knows nothing of OAuth's
//! endpoints.

pub mod cookies;
pub mod forms;
pub mod html;
pub mod params;
pub mod redirect;
