fn main() {
    std::process::exit(pchat::cli::main());
}
