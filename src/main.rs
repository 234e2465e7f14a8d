//! The `entra-inbound` binary: parse the command line and hand over to the library.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use entra_inbound::cli::{Cli, Command, banner, export_file, import_file, run_healthcheck, run_openapi, run_token};
use entra_inbound::{clock::SystemClock, server, telemetry};

// mimalloc: the engine allocates many small strings per record; measured faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Token(args)) => run_token(&args),
        Some(Command::Healthcheck(args)) => run_healthcheck(&args).await,
        Some(Command::Openapi) => run_openapi(),
        Some(Command::Upload(args)) => return entra_inbound::upload::run(&args).await,
        Some(Command::Serve(args)) => serve(args).await,
        None => serve(cli.serve).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("entra-inbound: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: entra_inbound::cli::ServeArgs) -> Result<(), String> {
    let config = args.load_config().map_err(|e| e.to_string())?;
    telemetry::init(config.server.log_format);
    let server = server::Server::bind(config, Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
    if let Some(path) = &args.import {
        import_file(server.state(), path).await?;
    }
    let state = server.state().clone();
    // A closed stdout (e.g. a supervisor that stopped reading) must not stop the server.
    let _ = writeln!(std::io::stdout(), "{}", banner(&state.config));
    server.serve(server::shutdown_signal()).await.map_err(|e| e.to_string())?;
    match &args.export_on_exit {
        Some(path) => export_file(&state, path).await,
        None => Ok(()),
    }
}
