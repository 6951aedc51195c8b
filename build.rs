//! Records what `healthprobe --version` prints besides the version: the git commit (when built
//! from a checkout), the target triple and the enabled features, on one line.

use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_")
                .map(|f| f.to_lowercase().replace('_', "-"))
        })
        .filter(|f| f != "default")
        .collect();
    features.sort();
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty());
    let mut info = Vec::new();
    if let Some(c) = commit {
        info.push(format!("commit {c}"));
    }
    info.push(target);
    info.push(format!(
        "features: {}",
        if features.is_empty() {
            "none".into()
        } else {
            features.join(",")
        }
    ));
    println!("cargo:rustc-env=HEALTHPROBE_BUILD_INFO={}", info.join("; "));
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
