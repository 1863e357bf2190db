//! Serves N made-up sign-ins (the tests' generator, `large_month`) from the
//! simulated Microsoft Graph (`sim::graph`) on 127.0.0.1, for the benchmark
//! (scripts/bench/signins_graph.sh): `graph_sim N CA_FILE TOKEN` writes the
//! simulation CA to CA_FILE, prints the URL on stdout, and serves in pages of
//! 1,000 until standard input closes. Records are made as pages are asked for,
//! never held.

#![allow(clippy::disallowed_macros)] // the URL goes to stdout

#[path = "../tests/util/signins_gen.rs"]
mod signins_gen;

use mailbox_doctor::sim::graph::{GraphServer, GraphTenant, TokenKind};
use mailbox_doctor::sim::pki::{Ca, Validity};
use std::io::Read as _;
use std::sync::Arc;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let ca_file = args.next().unwrap_or_else(|| "graph-ca.pem".into());
    let token = args.next().unwrap_or_else(|| "bench-token".into());
    let result = (|| -> Result<(), String> {
        let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        let ca = Ca::new("mailbox-doctor bench CA").map_err(|e| e.to_string())?;
        let cert = ca
            .issue(&["127.0.0.1"], Validity::Valid)
            .map_err(|e| e.to_string())?;
        std::fs::write(&ca_file, ca.pem()).map_err(|e| e.to_string())?;
        let mut tenant = GraphTenant {
            generated: Some((
                n,
                Arc::new(|i| signins_gen::graph_object(&signins_gen::large_month_row(i), i)),
            )),
            ..Default::default()
        };
        tenant.tokens.insert(token, TokenKind::Good);
        let server = rt
            .block_on(GraphServer::start(&cert, tenant))
            .map_err(|e| e.to_string())?;
        println!("{}", server.url());
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        drop(server);
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("graph_sim: {e}");
        std::process::exit(1);
    }
}
