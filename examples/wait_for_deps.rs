//! Wait for dependencies before serving: an app checks its database and cache at start-up,
//! retrying until they answer or a minute has passed.
//!
//! ```text
//! cargo run --example wait_for_deps -- tcp://127.0.0.1:5432 tcp://127.0.0.1:6379
//! ```

use std::time::{Duration, Instant};

use healthprobe::{Probe, Target};

fn main() -> Result<(), healthprobe::Error> {
    let targets: Vec<Target> = std::env::args()
        .skip(1)
        .map(|t| t.parse())
        .collect::<Result<_, _>>()?;
    let probe = Probe::builder().timeout(Duration::from_secs(2)).build()?;
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let report = probe.run(&targets);
        if report.is_healthy() {
            println!("dependencies are up; serving");
            return Ok(());
        }
        if Instant::now() >= give_up {
            for check in report.checks().iter().filter(|c| !c.is_healthy()) {
                eprintln!("still down: {} ({})", check.target(), check.reason());
            }
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
