//! kube-scheduler entry point.

use std::process::ExitCode;

use clap::Parser;
use rustkube_scheduler::Options;

fn main() -> ExitCode {
    let options = Options::parse();
    options.logging.init();
    let config = match options.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kube-scheduler: {}", one_line(&e));
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kube-scheduler: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(rustkube_scheduler::run(config, rustkube_component_base::shutdown::signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = one_line(&e);
            tracing::error!(error = %line, "kube-scheduler stopped");
            eprintln!("kube-scheduler: {line}");
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping causes a message already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let m = cause.to_string();
        if !out.contains(&m) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&m);
        }
    }
    out
}
