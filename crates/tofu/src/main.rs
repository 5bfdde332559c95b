//! The `tofu` binary: everything lives in the library's `run`.

fn main() -> std::process::ExitCode {
    tofu::run()
}
