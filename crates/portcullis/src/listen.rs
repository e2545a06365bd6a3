//! Instance-local listen addresses (`serve --listener NAME=IP:PORT`, `--admin-address`): a
//! setting of one process, not of the configuration, so several data planes on one host can
//! serve the same configuration. The configuration, its checksum and what `/admin/config-version`
//! reports stay untouched.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use portcullis_config::{Config, Listener};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenOverrides {
    listeners: Vec<(String, String)>,
    admin: Option<String>,
}

impl ListenOverrides {
    /// From the `--listener NAME=IP:PORT` flags and `--admin-address`.
    pub fn parse(listener_flags: &[String], admin: Option<&str>) -> anyhow::Result<Self> {
        let mut listeners: Vec<(String, String)> = Vec::new();
        for flag in listener_flags {
            let (name, address) = flag.split_once('=').with_context(|| {
                format!(
                    "--listener {flag:?}: write NAME=IP:PORT, for example default=127.0.0.1:8081"
                )
            })?;
            check_address(address, &format!("--listener {flag:?}"))?;
            if listeners.iter().any(|(seen, _)| seen == name) {
                bail!("--listener names {name:?} twice: give each listener one address");
            }
            listeners.push((name.to_string(), address.to_string()));
        }
        if let Some(admin) = admin {
            check_address(admin, "--admin-address")?;
        }
        Ok(ListenOverrides {
            listeners,
            admin: admin.map(str::to_string),
        })
    }

    /// The listeners and admin address to bind for `config`. A `--listener` naming no
    /// listener of the configuration is an error that lists the names it has.
    pub fn apply(&self, config: &Config) -> anyhow::Result<(Vec<Listener>, String)> {
        let mut listeners = config.listeners.clone();
        for (name, address) in &self.listeners {
            let Some(listener) = listeners.iter_mut().find(|listener| &listener.name == name)
            else {
                let names: Vec<&str> = config.listeners.iter().map(|l| l.name.as_str()).collect();
                bail!(
                    "--listener {name}={address}: the configuration has no listener named {name:?} \
                     (it has: {}); use one of those names",
                    names.join(", ")
                );
            };
            listener.address = address.clone();
        }
        let admin = self
            .admin
            .clone()
            .unwrap_or_else(|| config.admin.address.clone());
        Ok((listeners, admin))
    }
}

fn check_address(address: &str, flag: &str) -> anyhow::Result<()> {
    address.parse::<SocketAddr>().map(drop).map_err(|_| {
        anyhow::anyhow!(
            "{flag}: {address:?} is not an address; write IP:PORT, such as 127.0.0.1:8081"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut config = Config::default();
        let mut internal = config.listeners[0].clone();
        internal.name = "internal".to_string();
        internal.address = "10.0.0.1:8443".to_string();
        config.listeners.push(internal);
        config
    }

    #[test]
    fn overrides_move_only_the_named_listeners_and_the_admin_address() {
        let overrides = ListenOverrides::parse(
            &["internal=127.0.0.1:18443".to_string()],
            Some("127.0.0.1:19901"),
        )
        .expect("valid flags");
        let (listeners, admin) = overrides.apply(&config()).expect("known names");
        assert_eq!(listeners[0].address, "0.0.0.0:8080");
        assert_eq!(listeners[1].address, "127.0.0.1:18443");
        assert_eq!(admin, "127.0.0.1:19901");
        let (listeners, admin) = ListenOverrides::default().apply(&config()).expect("none");
        assert_eq!(listeners, config().listeners);
        assert_eq!(admin, "127.0.0.1:9901");
    }

    #[test]
    fn bad_flags_are_refused_naming_the_flag_and_the_fix() {
        let cases: [(&[&str], Option<&str>, &str); 5] = [
            (&["default"], None, "write NAME=IP:PORT"),
            (&["default=localhost:80"], None, "is not an address"),
            (
                &["default=127.0.0.1:1", "default=127.0.0.1:2"],
                None,
                "twice",
            ),
            (&[], Some("nowhere"), "--admin-address"),
            (&["default=127.0.0.1:99999"], None, "is not an address"),
        ];
        for (flags, admin, expected) in cases {
            let flags: Vec<String> = flags.iter().map(|flag| flag.to_string()).collect();
            let error = ListenOverrides::parse(&flags, admin).expect_err("refused");
            assert!(error.to_string().contains(expected), "{flags:?}: {error}");
        }
        let unknown = ListenOverrides::parse(&["public=127.0.0.1:1".to_string()], None)
            .expect("syntax is fine");
        let error = unknown.apply(&config()).expect_err("no such listener");
        assert!(
            error.to_string().contains("it has: default, internal"),
            "{error}"
        );
    }
}
