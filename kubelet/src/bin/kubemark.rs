//! kubemark entry point: many simulated kubelets (fake runtime) in one process.

use std::process::ExitCode;

use clap::Parser;
use rustkube_kubelet::fleet::FleetOptions;

#[tokio::main]
async fn main() -> ExitCode {
    let options = FleetOptions::parse();
    options.logging.init();
    let configs = match options.configs() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kubemark: {e}");
            return ExitCode::from(1);
        }
    };
    let client =
        match rustkube_component_base::client::client(options.kubeconfig.as_deref(), &rustkube_kubelet::user_agent())
            .await
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("kubemark: {e}");
                return ExitCode::from(1);
            }
        };
    match rustkube_kubelet::fleet::run(configs, client, rustkube_component_base::shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kubemark: {e}");
            ExitCode::from(1)
        }
    }
}
