//! `portcullis config push|validate|list|show|diff|activate|rollback`.

use portcullis_protocol::admin::{
    Activation, ActivationRequest, Environment, PushVersion, ValidationReport, Version,
    VersionDiff, VersionPage, VersionSummary,
};

use super::args::{ActivateArgs, ConfigCommand, PushArgs, RollbackArgs};
use super::client::{segment, AdminClient};
use super::error::CommandError;
use super::output::Output;
use super::render::{compact, or_dash, printable, short_checksum, table};

pub async fn run(
    client: AdminClient,
    output: Output,
    command: &ConfigCommand,
) -> Result<(), CommandError> {
    match command {
        ConfigCommand::Push(args) => push(&client, output, args).await,
        ConfigCommand::Validate(args) => {
            let report: ValidationReport = client
                .post(&format!("/v1/versions/{}/validate", args.version), &())
                .await?;
            for warning in &report.warnings {
                eprintln!(
                    "warning: {}: {}",
                    printable(&warning.path),
                    printable(&warning.message)
                );
            }
            output.show(&report, || {
                format!(
                    "version {} is {}: {} routes, {} services, {}\n",
                    report.version.config_version,
                    report.version.status.as_str(),
                    report.routes,
                    report.services,
                    short_checksum(&report.version.checksum)
                )
            });
            Ok(())
        }
        ConfigCommand::List(args) => {
            let mut path = format!(
                "/v1/environments/{}/versions?limit={}",
                segment(&args.environment.environment),
                args.limit
            );
            if let Some(before) = args.before {
                path.push_str(&format!("&before={before}"));
            }
            let page: VersionPage = client.get(&path).await?;
            output.show(&page, || list_table(&page));
            Ok(())
        }
        ConfigCommand::Show(args) => {
            let version: Version = client
                .get(&format!("/v1/versions/{}", args.version))
                .await?;
            if args.config && !output.is_json() {
                let pretty = serde_json::to_string_pretty(&version.config)
                    .unwrap_or_else(|_| version.config.to_string());
                println!("{pretty}");
                return Ok(());
            }
            output.show(&version, || summary_lines(&version.summary));
            Ok(())
        }
        ConfigCommand::Diff(args) => {
            let diff: VersionDiff = client
                .get(&format!("/v1/versions/{}/diff/{}", args.from, args.to))
                .await?;
            output.show(&diff, || diff_lines(&diff));
            Ok(())
        }
        ConfigCommand::Activate(args) => activate(&client, output, args).await,
        ConfigCommand::Rollback(args) => rollback(&client, output, args).await,
    }
}

async fn push(client: &AdminClient, output: Output, args: &PushArgs) -> Result<(), CommandError> {
    // The local check gives line:column positions the control plane cannot know (it gets
    // JSON); the control plane validates again and stays the authority.
    // An unreadable file is a usage error (exit 2, as documented), not an invalid one.
    let text = std::fs::read_to_string(&args.file).map_err(|error| {
        CommandError::Usage(format!(
            "cannot read {}: {error}; check the path and its permissions",
            args.file.display()
        ))
    })?;
    let validated =
        portcullis_config::load_file_text(&args.file, &text).map_err(CommandError::InvalidFile)?;
    let document = serde_json::to_value(validated.config()).map_err(|error| {
        CommandError::Usage(format!("cannot encode {}: {error}", args.file.display()))
    })?;
    let body = PushVersion {
        config: document,
        message: args.message.clone(),
    };
    let pushed: VersionSummary = client
        .post(
            &format!(
                "/v1/environments/{}/versions",
                segment(&args.environment.environment)
            ),
            &body,
        )
        .await?;
    output.show(&pushed, || {
        format!(
            "pushed version {} to {} ({}, {}); next: portcullis config validate {}\n",
            pushed.config_version,
            printable(&pushed.environment),
            pushed.status.as_str(),
            short_checksum(&pushed.checksum),
            pushed.config_version
        )
    });
    Ok(())
}

/// The ACTIVE version as the operator's tool last saw it (0 when none), sent as the
/// precondition so that a change made in between is refused rather than overwritten.
async fn active_version(client: &AdminClient, environment: &str) -> Result<i64, CommandError> {
    let environment: Environment = client
        .get(&format!("/v1/environments/{}", segment(environment)))
        .await?;
    Ok(environment.active_version.unwrap_or(0))
}

async fn activate(
    client: &AdminClient,
    output: Output,
    args: &ActivateArgs,
) -> Result<(), CommandError> {
    let expected = match args.expect_active {
        Some(expected) => expected,
        None => {
            let version: Version = client
                .get(&format!("/v1/versions/{}", args.version))
                .await?;
            active_version(client, &version.summary.environment).await?
        }
    };
    let activation: Activation = client
        .post(
            &format!("/v1/versions/{}/activate", args.version),
            &ActivationRequest {
                expected_active_version: Some(expected),
            },
        )
        .await?;
    output.show(&activation, || activation_line(&activation));
    Ok(())
}

async fn rollback(
    client: &AdminClient,
    output: Output,
    args: &RollbackArgs,
) -> Result<(), CommandError> {
    let environment = &args.environment.environment;
    let expected = match args.expect_active {
        Some(expected) => expected,
        None => active_version(client, environment).await?,
    };
    let activation: Activation = client
        .post(
            &format!("/v1/environments/{}/rollback", segment(environment)),
            &ActivationRequest {
                expected_active_version: Some(expected),
            },
        )
        .await?;
    output.show(&activation, || activation_line(&activation));
    Ok(())
}

fn activation_line(activation: &Activation) -> String {
    let environment = printable(&activation.environment);
    match (activation.kind, activation.previous_version) {
        (portcullis_protocol::admin::ActivationKind::Rollback, Some(previous)) => format!(
            "rolled back {environment}: version {previous} is ROLLED_BACK, version {} is ACTIVE\n",
            activation.config_version
        ),
        (_, Some(previous)) => format!(
            "version {} is ACTIVE in {environment} (was {previous})\n",
            activation.config_version
        ),
        (_, None) => format!(
            "version {} is ACTIVE in {environment}\n",
            activation.config_version
        ),
    }
}

fn list_table(page: &VersionPage) -> String {
    let rows: Vec<Vec<String>> = page
        .versions
        .iter()
        .map(|version| {
            vec![
                version.config_version.to_string(),
                version.status.as_str().to_string(),
                printable(&version.created_at),
                printable(&version.created_by),
                or_dash(version.activated_at.as_deref()),
                short_checksum(&version.checksum),
                printable(&version.message),
            ]
        })
        .collect();
    let mut text = table(
        &[
            "VERSION",
            "STATUS",
            "CREATED",
            "BY",
            "ACTIVATED",
            "CHECKSUM",
            "MESSAGE",
        ],
        &rows,
    );
    if let Some(before) = page.next_before {
        text.push_str(&format!("(more: --before {before})\n"));
    }
    text
}

fn summary_lines(summary: &VersionSummary) -> String {
    let lines = [
        ("version", summary.config_version.to_string()),
        ("environment", printable(&summary.environment)),
        ("status", summary.status.as_str().to_string()),
        ("checksum", printable(&summary.checksum)),
        ("created at", printable(&summary.created_at)),
        ("created by", printable(&summary.created_by)),
        ("activated at", or_dash(summary.activated_at.as_deref())),
        ("parent", or_dash(summary.parent_version)),
        ("message", printable(&summary.message)),
    ];
    lines
        .iter()
        .map(|(name, value)| format!("{name:<13}{value}\n"))
        .collect()
}

fn diff_lines(diff: &VersionDiff) -> String {
    let mut lines = Vec::new();
    for added in &diff.added {
        lines.push((
            added.path.clone(),
            format!("+ {}: {}", printable(&added.path), compact(&added.value)),
        ));
    }
    for removed in &diff.removed {
        lines.push((
            removed.path.clone(),
            format!(
                "- {}: {}",
                printable(&removed.path),
                compact(&removed.value)
            ),
        ));
    }
    for changed in &diff.changed {
        lines.push((
            changed.path.clone(),
            format!(
                "~ {}: {} -> {}",
                printable(&changed.path),
                compact(&changed.from),
                compact(&changed.to)
            ),
        ));
    }
    if lines.is_empty() {
        return format!(
            "versions {} and {} have the same configuration\n",
            diff.from, diff.to
        );
    }
    lines.sort();
    let mut text: String = lines.into_iter().map(|(_, line)| line + "\n").collect();
    text.insert_str(0, &format!("from version {} to {}:\n", diff.from, diff.to));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_protocol::admin::{DiffChange, DiffValue};
    use serde_json::json;

    #[test]
    fn a_diff_reads_as_one_sorted_line_per_path() {
        let diff = VersionDiff {
            from: 3,
            to: 4,
            added: vec![DiffValue {
                path: "routes[name=new-route]".into(),
                value: json!({"name": "new-route"}),
            }],
            removed: vec![DiffValue {
                path: "services.old-api".into(),
                value: json!("x"),
            }],
            changed: vec![DiffChange {
                path: "routes[name=checkout-orders].policies.timeoutMs".into(),
                from: json!(1500),
                to: json!(2500),
            }],
        };
        assert_eq!(
            diff_lines(&diff),
            "from version 3 to 4:\n\
             ~ routes[name=checkout-orders].policies.timeoutMs: 1500 -> 2500\n\
             + routes[name=new-route]: {\"name\":\"new-route\"}\n\
             - services.old-api: x\n"
        );
        let same = VersionDiff {
            from: 3,
            to: 3,
            added: vec![],
            removed: vec![],
            changed: vec![],
        };
        assert_eq!(
            diff_lines(&same),
            "versions 3 and 3 have the same configuration\n"
        );
    }
}
