//! `cargo xtask` — project automation (being written).
fn main() {
    eprintln!("xtask: not built yet");
    std::process::exit(1);
}
