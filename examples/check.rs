//! The five-line check: is the service on 127.0.0.1:8080 healthy?
//!
//! ```text
//! cargo run --example check -- http://127.0.0.1:8080/health
//! ```

use std::time::Duration;

use healthprobe::Probe;

fn main() -> Result<(), healthprobe::Error> {
    let target = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080/health".into());
    let probe = Probe::builder().timeout(Duration::from_secs(2)).build()?;
    let report = probe.run(&[target.parse()?]);
    let check = &report.checks()[0];
    println!(
        "{} {}: {} ({} ms)",
        if check.is_healthy() {
            "healthy"
        } else {
            "unhealthy"
        },
        check.target(),
        check.reason(),
        check.elapsed().as_millis()
    );
    std::process::exit(if report.is_healthy() { 0 } else { 1 })
}
