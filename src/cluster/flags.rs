//! The tools' command lines: `--flag value`, `--flag=value` and switches,
//! in the forms the server's own command line takes (stricter: a switch
//! takes no value, and a flag that may not repeat is refused when it does,
//! where the server takes the last), and the settings the tools share with
//! the server.

use std::ffi::OsString;

use crate::config::{self, Command, Config};

use super::failure::{Failure, usage};

/// One flag a command takes: its name without `--`, whether it takes a
/// value, and whether it may be given more than once.
pub struct FlagSpec {
    /// The name, without `--`.
    pub name: &'static str,
    /// Whether a value follows (`--flag value`); otherwise a switch.
    pub value: bool,
    /// Whether it may be given more than once (`--node`).
    pub repeated: bool,
}

impl FlagSpec {
    /// `--name VALUE`, at most once.
    pub const fn once(name: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            value: true,
            repeated: false,
        }
    }

    /// `--name VALUE`, any number of times.
    pub const fn many(name: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            value: true,
            repeated: true,
        }
    }

    /// `--name`, a switch.
    pub const fn switch(name: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            value: false,
            repeated: false,
        }
    }
}

/// The flags given on a command line, in order.
#[derive(Debug, Default)]
pub struct Flags {
    given: Vec<(&'static str, String)>,
    /// `--help` was asked for.
    pub help: bool,
}

impl Flags {
    /// Reads `--flag value`, `--flag=value` and `--switch` arguments.
    pub fn parse(args: &[String], specs: &[FlagSpec], command: &str) -> Result<Flags, Failure> {
        let mut flags = Flags::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                flags.help = true;
                continue;
            }
            let Some(stripped) = arg.strip_prefix("--") else {
                return Err(usage(format!(
                    "unexpected argument '{arg}' (see httpdb cluster {command} --help)"
                )));
            };
            let (name, inline) = match stripped.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (stripped, None),
            };
            let Some(spec) = specs.iter().find(|spec| spec.name == name) else {
                return Err(usage(format!(
                    "unknown flag '--{name}' (see httpdb cluster {command} --help)"
                )));
            };
            let value = match (spec.value, inline) {
                (true, Some(value)) => value,
                (true, None) => args
                    .next()
                    .cloned()
                    .ok_or_else(|| usage(format!("--{name} needs a value")))?,
                (false, None) => String::new(),
                (false, Some(_)) => return Err(usage(format!("--{name} takes no value"))),
            };
            if !spec.repeated && flags.given.iter().any(|(given, _)| *given == spec.name) {
                return Err(usage(format!("--{name} is given more than once")));
            }
            flags.given.push((spec.name, value));
        }
        Ok(flags)
    }

    /// The value of a flag given once, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values(name).next()
    }

    /// Every value of a repeatable flag, in order.
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.given
            .iter()
            .filter(move |(given, _)| *given == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether a switch was given.
    pub fn switch(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }
}

/// The settings the tools share with the server (`--max-body`,
/// `--idle-timeout`, `--token`), read by the server's own command line so
/// that defaults, environment variables (`HTTPDB_MAX_BODY`, ...) and
/// validation are the nodes' by construction, not a second copy.
pub fn shared_settings(
    flags: &Flags,
    names: &[&str],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Config, Failure> {
    let mut args = Vec::new();
    let mut variables = Vec::new();
    for name in names {
        if let Some(value) = flags.value(name) {
            args.push(OsString::from(format!("--{name}={value}")));
        }
        variables.push(format!(
            "HTTPDB_{}",
            name.to_ascii_uppercase().replace('-', "_")
        ));
    }
    let env = |variable: &str| {
        if variables.iter().any(|name| name == variable) {
            env(variable)
        } else {
            None
        }
    };
    match config::parse(args, env) {
        Ok(Command::Run(config)) => Ok(*config),
        Ok(_) => Err(usage("unexpected --help or --version")),
        Err(message) => Err(Failure::Usage(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn flags_name_themselves_when_wrong() {
        let specs = [
            FlagSpec::many("node"),
            FlagSpec::once("limit"),
            FlagSpec::switch("quiet"),
        ];
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
            Flags::parse(&args, &specs, "test")
        };
        let flags = parse(&["--node", "a:1", "--node=b:2", "--limit", "5", "--quiet"]).unwrap();
        assert_eq!(flags.values("node").collect::<Vec<_>>(), ["a:1", "b:2"]);
        assert_eq!(flags.value("limit"), Some("5"));
        assert!(flags.switch("quiet"));
        for (args, names) in [
            (&["--limit"][..], "--limit"),
            (&["--limit", "1", "--limit", "2"], "--limit"),
            (&["--bogus"], "--bogus"),
            (&["--quiet=yes"], "--quiet"),
            (&["stray"], "stray"),
        ] {
            let error = parse(args).unwrap_err().to_string();
            assert!(error.contains(names), "{args:?}: {error}");
        }
    }

    #[test]
    fn shared_settings_are_the_servers() {
        let specs = [FlagSpec::once("max-body")];
        let names = ["max-body", "idle-timeout", "token"];
        let flags = Flags::parse(&["--max-body=1KiB".to_string()], &specs, "test").unwrap();
        let env = |name: &str| {
            match name {
                "HTTPDB_IDLE_TIMEOUT" => Some("7"),
                "HTTPDB_TOKEN" => Some("s3cret"),
                "HTTPDB_ADDR" => Some("not read"),
                _ => None,
            }
            .map(OsString::from)
        };
        let config = shared_settings(&flags, &names, &env).unwrap();
        assert_eq!(config.server.limits.max_body, 1024);
        assert_eq!(config.server.idle_timeout, Duration::from_secs(7));
        assert_eq!(config.token.as_deref(), Some("s3cret"));
        let bad = Flags::parse(&["--max-body=lots".to_string()], &specs, "test").unwrap();
        let error = shared_settings(&bad, &names, &|_| None).unwrap_err();
        assert!(
            matches!(&error, Failure::Usage(m) if m.contains("--max-body")),
            "{error}"
        );
    }
}
