//! Profiles: named sets of keys, user id and origin in a TOML file (`--profile NAME`,
//! `PRESENCE_PROFILE`), and the `presence profiles` command that lists them with secrets
//! masked.
//!
//! Flags and `PUBNUB_*` variables override a profile: it only fills what they left unset.
//! Any value may be a string, `{ env = "NAME" }` (read from that environment variable) or
//! `{ command = "…" }` (the trimmed standard output of a shell command, e.g. a password
//! manager), so that secrets need not sit in the file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::args::Global;
use crate::failure::Failure;
use crate::table::Table;

/// Where the profiles file is: `$PRESENCE_CONFIG`, else `presence/profiles.toml` in the
/// platform's configuration directory.
pub(crate) fn path() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("PRESENCE_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(file));
    }
    config_dir().map(|dir| dir.join("presence").join("profiles.toml"))
}

/// The platform's per-user configuration directory, from the environment alone.
fn config_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if cfg!(windows) {
        var("APPDATA")
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|home| home.join("Library").join("Application Support"))
    } else {
        var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|home| home.join(".config")))
    }
}

/// The file: `[profiles.NAME]` tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    subscribe_key: Option<Source>,
    publish_key: Option<Source>,
    secret_key: Option<Source>,
    auth_key: Option<Source>,
    user_id: Option<Source>,
    origin: Option<Source>,
}

/// Where a value comes from.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Source {
    Plain(String),
    Env { env: String },
    Command { command: String },
}

impl Source {
    /// The value (running the command or reading the variable).
    fn resolve(&self, profile: &str, field: &str) -> Result<String, Failure> {
        match self {
            Self::Plain(value) => Ok(value.clone()),
            Self::Env { env } => std::env::var(env).map_err(|_| {
                Failure::usage(format!(
                    "profile {profile}: {field} names the environment variable {env}, which is not set"
                ))
            }),
            Self::Command { command } => run_command(command).map_err(|why| {
                Failure::usage(format!(
                    "profile {profile}: the command for {field} failed: {why}"
                ))
            }),
        }
    }

    /// How `presence profiles` shows it: secrets masked, sources named.
    fn shown(&self, secret: bool) -> String {
        match self {
            Self::Plain(_) if secret => "********".to_owned(),
            Self::Plain(value) => value.clone(),
            Self::Env { env } => format!("env:{env}"),
            Self::Command { command } => format!("command:{command}"),
        }
    }
}

/// Runs `command` in the platform's shell and returns its standard output, trimmed. Its
/// output is never put in an error message.
fn run_command(command: &str) -> Result<String, String> {
    let mut shell = if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.arg("/C");
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c");
        c
    };
    let output = shell
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("it exited with {}", output.status));
    }
    let text = String::from_utf8(output.stdout).map_err(|_| "its output is not UTF-8")?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

fn load() -> Result<(Option<PathBuf>, File), Failure> {
    let Some(path) = path() else {
        return Ok((None, File::default()));
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Some(path), File::default()));
        }
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read the profiles file {}: {e}",
                path.display()
            )));
        }
    };
    let file = toml::from_str(&text).map_err(|e| {
        Failure::usage(format!(
            "the profiles file {} is not valid: {}",
            path.display(),
            e.message()
        ))
    })?;
    Ok((Some(path), file))
}

/// Fills the options left unset by flags and variables from the profile `--profile` names
/// (nothing when no profile is selected).
pub(crate) fn apply(global: &mut Global) -> Result<(), Failure> {
    let Some(name) = global.profile.clone().filter(|n| !n.is_empty()) else {
        return Ok(());
    };
    let (path, mut file) = load()?;
    let Some(profile) = file.profiles.remove(&name) else {
        let where_ = path.map_or_else(
            || "no profiles file (no configuration directory)".to_owned(),
            |p| p.display().to_string(),
        );
        return Err(Failure::usage(format!(
            "no profile named {name} in {where_} (see `presence profiles`)"
        )));
    };
    let fields = [
        (
            &mut global.subscribe_key,
            &profile.subscribe_key,
            "subscribe_key",
        ),
        (&mut global.publish_key, &profile.publish_key, "publish_key"),
        (&mut global.secret_key, &profile.secret_key, "secret_key"),
        (&mut global.auth_key, &profile.auth_key, "auth_key"),
        (&mut global.user_id, &profile.user_id, "user_id"),
        (&mut global.origin, &profile.origin, "origin"),
    ];
    for (slot, source, field) in fields {
        if let (None, Some(source)) = (slot.as_ref(), source) {
            *slot = Some(source.resolve(&name, field)?);
        }
    }
    Ok(())
}

/// One profile as `presence profiles` shows it.
#[derive(Debug, Serialize)]
pub(crate) struct Shown {
    name: String,
    subscribe_key: Option<String>,
    publish_key: Option<String>,
    secret_key: Option<String>,
    auth_key: Option<String>,
    user_id: Option<String>,
    origin: Option<String>,
}

/// `presence profiles`: the file's path and its profiles, secrets masked.
#[derive(Debug, Serialize)]
pub(crate) struct Listing {
    path: Option<String>,
    profiles: Vec<Shown>,
}

/// Runs `presence profiles`.
pub(crate) fn list() -> Result<Listing, Failure> {
    let (path, file) = load()?;
    let show = |s: &Option<Source>, secret: bool| s.as_ref().map(|s| s.shown(secret));
    let profiles = file
        .profiles
        .into_iter()
        .map(|(name, p)| Shown {
            name,
            subscribe_key: show(&p.subscribe_key, false),
            publish_key: show(&p.publish_key, false),
            secret_key: show(&p.secret_key, true),
            auth_key: show(&p.auth_key, true),
            user_id: show(&p.user_id, false),
            origin: show(&p.origin, false),
        })
        .collect();
    Ok(Listing {
        path: path.map(|p| p.display().to_string()),
        profiles,
    })
}

impl Listing {
    /// The table: one row per profile, then the file's path.
    pub(crate) fn table(&self) -> String {
        let file = self
            .path
            .as_deref()
            .unwrap_or("(no configuration directory)");
        if self.profiles.is_empty() {
            return format!("no profiles in {file}\n");
        }
        let mut t = Table::new(&[
            "NAME",
            "SUBSCRIBE_KEY",
            "PUBLISH_KEY",
            "SECRET_KEY",
            "AUTH_KEY",
            "USER_ID",
            "ORIGIN",
        ]);
        let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        for p in &self.profiles {
            t.row(vec![
                p.name.clone(),
                cell(&p.subscribe_key),
                cell(&p.publish_key),
                cell(&p.secret_key),
                cell(&p.auth_key),
                cell(&p.user_id),
                cell(&p.origin),
            ]);
        }
        format!("{}file: {file}\n", t.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_mask() {
        let file: File = toml::from_str(
            r#"
            [profiles.a]
            subscribe_key = "sub"
            secret_key = { env = "X" }
            auth_key = { command = "echo hi" }
            publish_key = "pub"
            [profiles.b]
            secret_key = "plain-secret"
            "#,
        )
        .unwrap();
        let a = &file.profiles["a"];
        assert_eq!(a.subscribe_key.as_ref().unwrap().shown(false), "sub");
        assert_eq!(a.secret_key.as_ref().unwrap().shown(true), "env:X");
        assert_eq!(a.auth_key.as_ref().unwrap().shown(true), "command:echo hi");
        let b = &file.profiles["b"];
        assert_eq!(b.secret_key.as_ref().unwrap().shown(true), "********");
        assert!(toml::from_str::<File>("[profiles.c]\nsubscribe = \"typo\"").is_err());
    }
}
