//! Network mechanics: resolving, dialing, TLS, line-level protocol clients.
//! Nothing here knows what a reply means; the checks decide that.

pub mod conn;
pub mod dial;
pub mod http;
pub mod imap;
pub mod pop;
pub mod resolver;
pub mod session;
pub mod smtp;
pub mod tls;
