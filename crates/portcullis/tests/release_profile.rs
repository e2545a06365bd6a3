//! The release profile unwinds on panic, so that a bug one request reaches ends its task and
//! not the process (crates/proxy/tests/panics.rs shows what unwinding buys at run time).

#[test]
fn the_release_profile_unwinds_on_panic() {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("the workspace manifest");
    let release = text
        .split("\n[")
        .find(|section| section.starts_with("profile.release]"))
        .expect("a [profile.release] section");
    let panic_setting = release
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .find(|line| line.starts_with("panic"))
        .expect("[profile.release] states its panic strategy");
    assert_eq!(
        panic_setting.replace(' ', ""),
        "panic=\"unwind\"",
        "a panic must end one connection, not the gateway"
    );
}
