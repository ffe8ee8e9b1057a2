//! kube-apiserver: parse flags, start telemetry, run the server until SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use rustkube_apiserver::options::Options;

fn main() -> ExitCode {
    let options = Options::parse();
    rustkube_component_base::telemetry::init(&options.log_format, options.verbosity);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("kube-apiserver: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(rustkube_apiserver::run(options, rustkube_apiserver::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kube-apiserver: {err:#}");
            ExitCode::FAILURE
        }
    }
}
