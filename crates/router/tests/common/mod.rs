//! Config builders shared by the integration tests (no parser: the model structs directly).
#![allow(dead_code)]

use portcullis_config::{
    validate_config, AuthMode, Config, Policies, Route, RouteMatch, RouteUpstream, Service,
    ValidatedConfig, Visibility,
};

pub const SERVICE: &str = "svc";

pub enum PathSpec<'a> {
    Exact(&'a str),
    Prefix(&'a str),
}

pub fn route(
    name: &str,
    host: Option<&str>,
    path: PathSpec<'_>,
    methods: &[&str],
    priority: i32,
) -> Route {
    let (path, path_prefix) = match path {
        PathSpec::Exact(path) => (Some(path.to_string()), None),
        PathSpec::Prefix(prefix) => (None, Some(prefix.to_string())),
    };
    Route {
        name: name.to_string(),
        matcher: RouteMatch {
            host: host.map(str::to_string),
            path,
            path_prefix,
            methods: methods.iter().map(|method| method.to_string()).collect(),
        },
        priority,
        upstream: RouteUpstream {
            service: SERVICE.to_string(),
            ..RouteUpstream::default()
        },
        policies: Policies {
            auth: Some(AuthMode::None),
            ..Policies::default()
        },
        request_policy: None,
    }
}

pub fn service(endpoints: &[&str]) -> Service {
    Service {
        visibility: Visibility::Public,
        endpoints: endpoints
            .iter()
            .map(|endpoint| endpoint.to_string())
            .collect(),
        ..Service::default()
    }
}

/// A config with the given routes and one service, `svc`, at 127.0.0.1:8080.
pub fn config(routes: Vec<Route>) -> Config {
    let mut config = Config {
        routes,
        ..Config::default()
    };
    config
        .services
        .insert(SERVICE.to_string(), service(&["127.0.0.1:8080"]));
    config
}

/// `config` through validation, the only way to a compilable configuration.
pub fn validated(config: &Config) -> ValidatedConfig {
    validate_config(config.clone())
        .unwrap_or_else(|errors| panic!("test config is valid: {errors}"))
}
