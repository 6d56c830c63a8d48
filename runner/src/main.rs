//! The `schism` binary: parses arguments and hands them to the library.

fn main() {
    std::process::exit(schism::run(std::env::args_os()));
}
