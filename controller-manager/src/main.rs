//! kube-controller-manager entry point.

use std::process::ExitCode;

use clap::Parser;
use rustkube_controller_manager::options::Options;

fn main() -> ExitCode {
    let options = match Options::try_parse() {
        Ok(o) => o,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            let first = err.to_string();
            eprintln!("Error: {}", first.lines().next().unwrap_or("invalid flags"));
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = rustkube_controller_manager::controllers::validate(&options.controllers) {
        eprintln!("Error: {err}");
        return ExitCode::FAILURE;
    }
    options.logging.init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("Error: starting the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(rustkube_controller_manager::run(options, rustkube_component_base::shutdown::signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "kube-controller-manager failed");
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
