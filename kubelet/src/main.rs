//! kubelet entry point.

use std::process::ExitCode;

use clap::Parser;
use rustkube_kubelet::options::Options;

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    options.logging.init();
    let config = match options.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kubelet: {e}");
            return ExitCode::from(1);
        }
    };
    match rustkube_kubelet::run(config, rustkube_component_base::shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "kubelet failed");
            eprintln!("kubelet: {e:#}");
            ExitCode::from(1)
        }
    }
}
