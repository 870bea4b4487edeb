fn main() {
    std::process::exit(revoker::cli::main());
}
