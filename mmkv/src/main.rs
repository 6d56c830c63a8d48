//! The `mmkv` binary: parses arguments, sets up logging to stderr, and runs a node.
use clap::Parser;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .init();
    let args = mmkv::Args::parse();
    if let Err(e) = mmkv::run(args).await {
        tracing::error!(error = %e, "mmkv failed");
        std::process::exit(1);
    }
}
