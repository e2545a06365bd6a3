//! `portcullis instances`, `environments`, `tokens` and `audit`.

use portcullis_protocol::admin::{
    AuditPage, CreateEnvironment, CreateToken, CreatedToken, Environment, EnvironmentList,
    InstanceList, InstanceState, Role, TokenList,
};

use super::args::{AuditArgs, EnvironmentsCommand, InstancesArgs, TokensCommand};
use super::client::{segment, AdminClient};
use super::error::CommandError;
use super::output::Output;
use super::render::{compact, or_dash, printable, short_checksum, table};

pub async fn instances(
    client: AdminClient,
    output: Output,
    args: &InstancesArgs,
) -> Result<(), CommandError> {
    let path = match &args.environment {
        Some(environment) => format!("/v1/instances?environment={}", segment(environment)),
        None => "/v1/instances".to_string(),
    };
    let list: InstanceList = client.get(&path).await?;
    output.show(&list, || instances_table(&list));
    Ok(())
}

fn instances_table(list: &InstanceList) -> String {
    let rows: Vec<Vec<String>> = list
        .instances
        .iter()
        .map(|instance| {
            let loaded = instance.loaded.as_ref();
            vec![
                printable(&instance.instance_id),
                printable(&instance.environment),
                printable(&instance.pool),
                match instance.state {
                    InstanceState::Live => "live".to_string(),
                    InstanceState::Stale => "stale".to_string(),
                },
                or_dash(loaded.map(|loaded| loaded.config_version)),
                loaded.map_or_else(
                    || "-".to_string(),
                    |loaded| short_checksum(&loaded.checksum),
                ),
                or_dash(loaded.map(|loaded| loaded.loaded_at.as_str())),
                printable(&instance.last_seen_at),
                or_dash(
                    instance
                        .refusal
                        .as_ref()
                        .map(|refusal| refusal.config_version),
                ),
            ]
        })
        .collect();
    let mut text = table(
        &[
            "INSTANCE",
            "ENVIRONMENT",
            "POOL",
            "STATE",
            "VERSION",
            "CHECKSUM",
            "LOADED",
            "LAST SEEN",
            "REFUSED",
        ],
        &rows,
    );
    for instance in &list.instances {
        if let Some(refusal) = &instance.refusal {
            text.push_str(&format!(
                "\n{} refused version {} ({}) at {}; it keeps serving its previous configuration:\n",
                printable(&instance.instance_id),
                refusal.config_version,
                short_checksum(&refusal.checksum),
                printable(&refusal.at)
            ));
            for error in &refusal.errors {
                text.push_str(&format!("  {}\n", printable(error)));
            }
        }
    }
    text
}

pub async fn environments(
    client: AdminClient,
    output: Output,
    command: Option<&EnvironmentsCommand>,
) -> Result<(), CommandError> {
    match command {
        None | Some(EnvironmentsCommand::List) => {
            let list: EnvironmentList = client.get("/v1/environments").await?;
            output.show(&list, || {
                let rows: Vec<Vec<String>> = list
                    .environments
                    .iter()
                    .map(|environment| {
                        vec![
                            printable(&environment.name),
                            or_dash(environment.active_version),
                            environment
                                .active_checksum
                                .as_deref()
                                .map_or_else(|| "-".to_string(), short_checksum),
                            or_dash(environment.activated_at.as_deref()),
                        ]
                    })
                    .collect();
                table(&["ENVIRONMENT", "ACTIVE", "CHECKSUM", "ACTIVATED"], &rows)
            });
            Ok(())
        }
        Some(EnvironmentsCommand::Create { name }) => {
            let created: Environment = client
                .post(
                    "/v1/environments",
                    &CreateEnvironment { name: name.clone() },
                )
                .await?;
            output.show(&created, || {
                format!("created environment {}\n", printable(&created.name))
            });
            Ok(())
        }
    }
}

pub async fn tokens(
    client: AdminClient,
    output: Output,
    command: &TokensCommand,
) -> Result<(), CommandError> {
    match command {
        TokensCommand::List => {
            let list: TokenList = client.get("/v1/tokens").await?;
            output.show(&list, || {
                let rows: Vec<Vec<String>> = list
                    .tokens
                    .iter()
                    .map(|token| {
                        vec![
                            token.id.to_string(),
                            printable(&token.name),
                            token.role.as_str().to_string(),
                            printable(&token.created_at),
                            printable(&token.created_by),
                            or_dash(token.revoked_at.as_deref()),
                        ]
                    })
                    .collect();
                table(&["ID", "NAME", "ROLE", "CREATED", "BY", "REVOKED"], &rows)
            });
            Ok(())
        }
        TokensCommand::Create { name, role } => {
            let role = Role::parse(role).ok_or_else(|| {
                CommandError::Usage(format!(
                    "--role {role:?} is not a role: use viewer, operator, admin or dataplane"
                ))
            })?;
            let created: CreatedToken = client
                .post(
                    "/v1/tokens",
                    &CreateToken {
                        name: name.clone(),
                        role,
                    },
                )
                .await?;
            if output.is_json() {
                output.json(&created);
            } else {
                // The secret alone on stdout, so `> token-file` captures exactly it.
                eprintln!(
                    "created token {} ({}, {}); it is shown once, store it now",
                    created.info.id,
                    printable(&created.info.name),
                    created.info.role.as_str()
                );
                println!("{}", created.token);
            }
            Ok(())
        }
        TokensCommand::Revoke { id } => {
            client.delete(&format!("/v1/tokens/{id}")).await?;
            if !output.is_json() {
                println!("revoked token {id}");
            }
            Ok(())
        }
    }
}

pub async fn audit(
    client: AdminClient,
    output: Output,
    args: &AuditArgs,
) -> Result<(), CommandError> {
    let mut path = format!("/v1/audit?limit={}", args.limit);
    if let Some(environment) = &args.environment {
        path.push_str(&format!("&environment={}", segment(environment)));
    }
    if let Some(before) = args.before {
        path.push_str(&format!("&before={before}"));
    }
    let page: AuditPage = client.get(&path).await?;
    output.show(&page, || {
        let rows: Vec<Vec<String>> = page
            .entries
            .iter()
            .map(|entry| {
                vec![
                    entry.id.to_string(),
                    printable(&entry.at),
                    printable(&entry.actor),
                    printable(&entry.action),
                    printable(&entry.outcome),
                    or_dash(entry.environment.as_deref()),
                    or_dash(entry.config_version),
                    compact(&entry.detail),
                ]
            })
            .collect();
        let mut text = table(
            &[
                "ID",
                "AT",
                "ACTOR",
                "ACTION",
                "OUTCOME",
                "ENVIRONMENT",
                "VERSION",
                "DETAIL",
            ],
            &rows,
        );
        if let Some(before) = page.next_before {
            text.push_str(&format!("(more: --before {before})\n"));
        }
        text
    });
    Ok(())
}
