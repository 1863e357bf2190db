//! The open-file limit a run needs: each mailbox checked at once holds a few
//! sockets (one per mail protocol, the identity look-up, DNS), so a large
//! `--concurrency` can exceed the soft limit (1024 on many systems). The soft
//! limit is raised to the hard limit; when even that is too low, the concurrency
//! is lowered to what fits, and the caller says so.
//!
//! That limit is POSIX (`getrlimit`/`setrlimit`), on every Unix alike (Linux, the
//! BSDs, macOS). Windows has no per-process cap on sockets (they are handles,
//! bounded by memory), so there the concurrency is what the flag asks.

/// Descriptors one mailbox may hold at once: SMTP, IMAP, POP3 and the identity
/// look-up (one TCP socket each, two while Happy Eyeballs races), discovery's
/// HTTPS, and a UDP socket per DNS query in flight (A and AAAA per host, MX,
/// TXT, CNAME, and discovery's SRV names, asked together).
pub const FDS_PER_MAILBOX: u64 = 16;
/// Kept for everything else (standard streams, the resolver's sockets, files).
pub const RESERVE: u64 = 64;

/// The concurrency that fits the open-file limit, after raising the soft limit to
/// the hard one as far as `wanted` needs: `(concurrency, soft limit)`.
#[cfg(unix)]
pub fn fit_concurrency(wanted: usize) -> (usize, u64) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let need = (wanted as u64)
        .saturating_mul(FDS_PER_MAILBOX)
        .saturating_add(RESERVE);
    let mut lim = getrlimit(Resource::Nofile);
    let soft = lim.current.unwrap_or(u64::MAX);
    if soft < need {
        let hard = lim.maximum.unwrap_or(u64::MAX);
        lim.current = Some(need.min(hard));
        // Refused (a container, say): what the limit is now is read back below.
        let _ = setrlimit(Resource::Nofile, lim);
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let fits = soft.saturating_sub(RESERVE) / FDS_PER_MAILBOX;
    (
        wanted
            .min(usize::try_from(fits).unwrap_or(usize::MAX))
            .max(1),
        soft,
    )
}

/// Windows (and any other system without rlimits): nothing to raise, and the
/// flag alone bounds the concurrency. The limit is reported as unlimited.
#[cfg(not(unix))]
pub fn fit_concurrency(wanted: usize) -> (usize, u64) {
    (wanted.max(1), u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_concurrency_fits_as_asked() {
        let (n, soft) = fit_concurrency(8);
        assert_eq!(n, 8);
        assert!(soft >= 8 * FDS_PER_MAILBOX + RESERVE);
    }

    #[cfg(unix)]
    #[test]
    fn a_concurrency_beyond_the_hard_limit_is_lowered_to_what_fits() {
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .maximum
            .unwrap_or(u64::MAX);
        if hard >= u64::from(u32::MAX) {
            return; // an unlimited hard limit: nothing to lower
        }
        let wanted = usize::try_from(hard).unwrap_or(usize::MAX);
        let (n, soft) = fit_concurrency(wanted);
        assert!(n < wanted);
        assert!(n as u64 * FDS_PER_MAILBOX + RESERVE <= soft);
    }

    #[cfg(not(unix))]
    #[test]
    fn without_rlimits_the_flag_alone_bounds_the_concurrency() {
        assert_eq!(fit_concurrency(10_000), (10_000, u64::MAX));
        assert_eq!(fit_concurrency(0).0, 1);
    }
}
