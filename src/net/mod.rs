//! Network mechanics: resolving, dialing, TLS, line-level protocol clients.
//! Nothing here knows what a reply means; the checks decide that.

pub mod http;
pub mod resolver;
