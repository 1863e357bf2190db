//! Simulated servers on 127.0.0.1 for the tests and for `demo`: real sockets,
//! scripted answers. Nothing here is used by `check` against real servers.

pub mod dns;
pub mod identity;
pub mod pki;
pub mod replay;
pub mod web;
