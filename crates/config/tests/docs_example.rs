//! The full example in docs/configuration.md loads.

use portcullis_config::{load_str, Format};

#[test]
fn the_documented_example_is_valid() {
    let doc = include_str!("../../../docs/configuration.md");
    let start = doc.find("## Full example").expect("example section");
    let body = &doc[start..];
    let yaml_start = body.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let yaml_end = body[yaml_start..].find("```").expect("block end") + yaml_start;
    let loaded = load_str(&body[yaml_start..yaml_end], Format::Yaml)
        .unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(loaded.config().routes.len(), 2);
    assert_eq!(loaded.config().version, Some(42));
}
