//! `revoker-sim`: the simulated API as a program of its own (see the library's documentation).

#[tokio::main]
async fn main() {
    std::process::exit(revoker_sim::cli::main().await);
}
