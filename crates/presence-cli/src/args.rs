//! The command line, as clap types: global key/identity options and one subcommand per
//! operation.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit;

/// Query and update PubNub Presence from the shell.
///
/// Keys and identity come from flags or the PUBNUB_* environment variables; the secret and auth
/// keys are never printed. Output is a table, or one JSON document with --json.
#[derive(Debug, Parser)]
#[command(name = "presence", version, after_long_help = exit::HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes (before or after the subcommand name); listed under their
/// own heading in every subcommand's help.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct Global {
    /// Read keys, user id and origin from this profile of the profiles file (see `presence
    /// profiles`); flags and PUBNUB_* variables override it.
    #[arg(long, env = "PRESENCE_PROFILE", global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,

    /// Subscribe key (required).
    #[arg(long, env = "PUBNUB_SUBSCRIBE_KEY", global = true, value_name = "KEY")]
    pub(crate) subscribe_key: Option<String>,

    /// Publish key (only used in signatures).
    #[arg(long, env = "PUBNUB_PUBLISH_KEY", global = true, value_name = "KEY")]
    pub(crate) publish_key: Option<String>,

    /// Secret key: requests are signed with it. Never printed.
    #[arg(
        long,
        env = "PUBNUB_SECRET_KEY",
        hide_env_values = true,
        global = true,
        value_name = "KEY"
    )]
    pub(crate) secret_key: Option<String>,

    /// Access Manager token or auth key. Never printed.
    #[arg(
        long,
        env = "PUBNUB_AUTH_KEY",
        hide_env_values = true,
        global = true,
        value_name = "KEY"
    )]
    pub(crate) auth_key: Option<String>,

    /// Your user id (required).
    #[arg(long, env = "PUBNUB_USER_ID", global = true, value_name = "ID")]
    pub(crate) user_id: Option<String>,

    /// Origin, `https://host[:port]` (default `https://ps.pndsn.com`).
    #[arg(long, env = "PUBNUB_ORIGIN", global = true, value_name = "URL")]
    pub(crate) origin: Option<String>,

    /// Print one JSON document instead of a table (errors too, on stderr).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Also trust the CA certificate(s) in this PEM file (a private or corporate CA, or the
    /// emulator's self-signed certificate), as curl's --cacert.
    #[arg(long, env = "PRESENCE_CACERT", global = true, value_name = "FILE")]
    pub(crate) cacert: Option<std::path::PathBuf>,

    /// Seconds to wait for each request, reply body included.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10.0)]
    pub(crate) request_timeout: f64,

    /// Log each request (operation, path, status, time; never keys or tokens) to stderr.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,

    /// When to colour logs and help: auto (on a terminal; honours NO_COLOR and
    /// CLICOLOR_FORCE), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub(crate) color: ColorChoice,
}

/// `--color`.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when writing to a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it).
    Auto,
    /// Always colour, even through a pipe or into a file.
    Always,
    /// Never colour.
    Never,
}

/// The operations.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Who is present on channels and/or groups (with neither: on the whole keyset).
    #[command(after_help = EXAMPLES_HERE_NOW)]
    HereNow(HereNowArgs),
    /// The channels a user is present on (default: you).
    #[command(after_help = EXAMPLES_WHERE_NOW)]
    WhereNow(WhereNowArgs),
    /// Announce yourself on channels/groups, optionally with state.
    #[command(after_help = EXAMPLES_HEARTBEAT)]
    Heartbeat(HeartbeatArgs),
    /// Leave channels/groups at once.
    #[command(after_help = EXAMPLES_LEAVE)]
    Leave(Targets),
    /// Store a user's state on channels/groups.
    #[command(after_help = EXAMPLES_SET_STATE)]
    SetState(SetStateArgs),
    /// Read a user's state on channels/groups.
    #[command(after_help = EXAMPLES_GET_STATE)]
    GetState(GetStateArgs),
    /// Manage channel groups.
    #[command(subcommand, after_help = EXAMPLES_GROUPS)]
    Groups(GroupsCommand),
    /// Stay present on channels/groups (heartbeats in the background) until Ctrl-C, then leave.
    #[command(long_about = KEEP_PRESENT_ABOUT, after_help = EXAMPLES_KEEP_PRESENT)]
    KeepPresent(KeepPresentArgs),
    /// Print presence events (join, leave, timeout, state-change, interval) as they happen,
    /// until Ctrl-C; then leave (unless --observe).
    #[command(after_help = EXAMPLES_WATCH)]
    Watch(crate::watch::WatchArgs),
    /// The live roster of channels: who is here now, kept current by presence events.
    #[command(after_help = EXAMPLES_ROSTER)]
    Roster(crate::watch::RosterArgs),
    /// List the profiles of the profiles file (secrets masked) and where that file is.
    #[command(long_about = PROFILES_ABOUT, after_help = EXAMPLES_PROFILES)]
    Profiles,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(after_help = EXAMPLES_COMPLETIONS)]
    Completions(CompletionsArgs),
}

/// `completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub(crate) shell: clap_complete::Shell,
}

const EXAMPLES_HERE_NOW: &str = "\
Examples:
  presence here-now lobby kitchen --state
  presence here-now lobby --all --json          # every occupant, page after page
  presence here-now --group friends --no-users";
const EXAMPLES_WHERE_NOW: &str = "\
Examples:
  presence where-now
  presence where-now bob --json";
const EXAMPLES_HEARTBEAT: &str = "\
Examples:
  presence heartbeat lobby
  presence heartbeat lobby --group friends --timeout 60
  presence heartbeat lobby --state '{\"mood\":\"busy\"}' --json";
const EXAMPLES_LEAVE: &str = "\
Examples:
  presence leave lobby
  presence leave --group friends --json";
const EXAMPLES_SET_STATE: &str = "\
Examples:
  presence set-state lobby --state '{\"mood\":\"busy\"}'
  presence set-state lobby --user bob --state '{\"role\":\"mod\"}' --json";
const EXAMPLES_GET_STATE: &str = "\
Examples:
  presence get-state lobby
  presence get-state lobby --user bob --json";
const EXAMPLES_GROUPS: &str = "\
Examples:
  presence groups add friends alice-room bob-room
  presence groups list friends --json
  presence groups delete friends";
const EXAMPLES_KEEP_PRESENT: &str = "\
Examples:
  presence keep-present lobby
  presence keep-present lobby --group friends --state '{\"mood\":\"here\"}'
  presence keep-present lobby --for 30 --json";
const PROFILES_ABOUT: &str = "\
List the profiles of the profiles file, with secrets masked, and where that file is.

The file is TOML, at $PRESENCE_CONFIG if set, else `presence/profiles.toml` in the platform's
configuration directory ($XDG_CONFIG_HOME or ~/.config on Linux and BSDs, ~/Library/Application
Support on macOS, %APPDATA% on Windows):

  [profiles.prod]
  subscribe_key = \"sub-c-…\"
  publish_key = \"pub-c-…\"
  secret_key = { env = \"PROD_PUBNUB_SECRET\" }          # from an environment variable
  auth_key = { command = \"pass show pubnub/prod-auth\" }  # a command's trimmed output
  user_id = \"ops-bot\"
  origin = \"https://ps.pndsn.com\"

Select one with --profile NAME or PRESENCE_PROFILE=NAME. Flags and PUBNUB_* variables
override the profile's values. Commands run only for the profile selected, only for values
that no flag or variable gave.";
const EXAMPLES_WATCH: &str = "\
Examples:
  presence watch lobby
  presence watch lobby kitchen --group friends --observe
  presence watch lobby --observe --json --for 60";
const EXAMPLES_ROSTER: &str = "\
Examples:
  presence roster lobby
  presence roster lobby kitchen --json";
const EXAMPLES_PROFILES: &str = "\
Examples:
  presence profiles
  presence --profile prod here-now lobby
  PRESENCE_PROFILE=staging presence where-now --json";
const EXAMPLES_COMPLETIONS: &str = "\
Examples:
  presence completions bash > ~/.local/share/bash-completion/completions/presence
  presence completions zsh > \"${fpath[1]}/_presence\"
  presence completions fish > ~/.config/fish/completions/presence.fish";

/// `keep-present --help`.
const KEEP_PRESENT_ABOUT: &str = "\
Stay present on channels/groups until Ctrl-C (or --for SECONDS), then leave.

Heartbeats follow every (timeout / 2 - 1) seconds, carrying --state on every channel and group
given. Failed heartbeats are retried with jittered backoff (at least max(1 s, 5% of the
timeout) apart, at most 8 per timeout window, Retry-After honoured up to the timeout) that
closes in on the presence timeout, so short outages leave no gap; when the timeout passes
without an acknowledged heartbeat, presence_lost is printed at once and retries go on. Errors
that cannot heal (403, 402, a 400 from the service) stop the command with their exit code. On Ctrl-C (SIGINT), SIGTERM or SIGHUP one leave is sent for everything and the
command exits 0 once it is acknowledged; a second Ctrl-C exits at once (130) without waiting.

Events are printed as they come: table lines (TIME EVENT DETAILS), or one JSON document per
line with --json: joined, heartbeat_failed, recovered, presence_at_risk, presence_lost, left,
stopped. Server-provided text is printed with control characters escaped.";

/// Channels (positional) and groups (`--group`), at least one of them.
#[derive(Debug, Args)]
pub(crate) struct Targets {
    /// Channel names.
    #[arg(value_name = "CHANNEL", required_unless_present = "groups")]
    pub(crate) channels: Vec<String>,

    /// Channel group names (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    pub(crate) groups: Vec<String>,
}

/// `here-now`.
#[derive(Debug, Args)]
pub(crate) struct HereNowArgs {
    /// Channel names (none and no --group: the whole keyset).
    #[arg(value_name = "CHANNEL")]
    pub(crate) channels: Vec<String>,

    /// Channel group names (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    pub(crate) groups: Vec<String>,

    /// Include each occupant's state.
    #[arg(long)]
    pub(crate) state: bool,

    /// Occupancy only: do not list user ids.
    #[arg(long)]
    pub(crate) no_users: bool,

    /// Occupants listed per channel (0..=1000).
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<u32>,

    /// Index of the first occupant listed per channel.
    #[arg(long, value_name = "N")]
    pub(crate) offset: Option<u32>,

    /// Every occupant: ask page after page (--limit per page, default 1000) until each
    /// channel's list is exhausted, and print them merged (with `pages` and
    /// `occupancy_changed` in --json).
    #[arg(long)]
    pub(crate) all: bool,
}

/// `where-now`.
#[derive(Debug, Args)]
pub(crate) struct WhereNowArgs {
    /// The user id to look up (default: --user-id).
    #[arg(value_name = "USER")]
    pub(crate) user: Option<String>,
}

/// `heartbeat`.
#[derive(Debug, Args)]
pub(crate) struct HeartbeatArgs {
    #[command(flatten)]
    pub(crate) targets: Targets,

    /// State (a JSON object) to carry on every channel and group given.
    #[arg(long, value_name = "JSON")]
    pub(crate) state: Option<String>,

    /// Presence timeout in seconds (default 300).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<u32>,
}

/// `keep-present`.
#[derive(Debug, Args)]
pub(crate) struct KeepPresentArgs {
    #[command(flatten)]
    pub(crate) targets: Targets,

    /// State (a JSON object) to carry on every channel and group given.
    #[arg(long, value_name = "JSON")]
    pub(crate) state: Option<String>,

    /// Presence timeout in seconds (default 300, minimum 20): how long the service keeps you
    /// present without a heartbeat.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<u32>,

    /// Leave and exit after this many seconds instead of waiting for Ctrl-C.
    #[arg(long = "for", value_name = "SECONDS")]
    pub(crate) duration: Option<f64>,
}

/// `set-state`.
#[derive(Debug, Args)]
pub(crate) struct SetStateArgs {
    #[command(flatten)]
    pub(crate) targets: Targets,

    /// The state, a JSON object.
    #[arg(long, value_name = "JSON", required = true)]
    pub(crate) state: String,

    /// Whose state to set (default: --user-id).
    #[arg(long, value_name = "USER")]
    pub(crate) user: Option<String>,
}

/// `get-state`.
#[derive(Debug, Args)]
pub(crate) struct GetStateArgs {
    #[command(flatten)]
    pub(crate) targets: Targets,

    /// Whose state to read (default: --user-id).
    #[arg(long, value_name = "USER")]
    pub(crate) user: Option<String>,
}

/// `groups …`.
#[derive(Debug, Subcommand)]
pub(crate) enum GroupsCommand {
    /// Add channels to a group (creating it).
    Add(GroupChannelsArgs),
    /// Remove channels from a group.
    Remove(GroupChannelsArgs),
    /// List a group's channels.
    List(GroupArg),
    /// Delete a group.
    Delete(GroupArg),
}

/// A group and channels.
#[derive(Debug, Args)]
pub(crate) struct GroupChannelsArgs {
    /// The group.
    #[arg(value_name = "GROUP")]
    pub(crate) group: String,

    /// The channels.
    #[arg(value_name = "CHANNEL", required = true)]
    pub(crate) channels: Vec<String>,
}

/// A group.
#[derive(Debug, Args)]
pub(crate) struct GroupArg {
    /// The group.
    #[arg(value_name = "GROUP")]
    pub(crate) group: String,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli =
            Cli::try_parse_from(["presence", "here-now", "a", "--json", "--group", "g"]).unwrap();
        assert!(cli.global.json);
        let Command::HereNow(args) = cli.command else {
            panic!("not here-now");
        };
        assert_eq!(args.channels, ["a"]);
        assert_eq!(args.groups, ["g"]);
    }

    #[test]
    fn channels_or_groups_are_required() {
        assert!(Cli::try_parse_from(["presence", "leave"]).is_err());
        assert!(Cli::try_parse_from(["presence", "leave", "--group", "g"]).is_ok());
        assert!(Cli::try_parse_from(["presence", "set-state", "a"]).is_err());
        assert!(Cli::try_parse_from(["presence", "keep-present"]).is_err());
    }

    #[test]
    fn keep_present_takes_its_options() {
        let cli = Cli::try_parse_from([
            "presence",
            "keep-present",
            "a",
            "b",
            "--group",
            "g",
            "--state",
            "{}",
            "--timeout",
            "60",
            "--for",
            "1.5",
        ])
        .unwrap();
        let Command::KeepPresent(args) = cli.command else {
            panic!("not keep-present");
        };
        assert_eq!(args.targets.channels, ["a", "b"]);
        assert_eq!(args.targets.groups, ["g"]);
        assert_eq!(args.state.as_deref(), Some("{}"));
        assert_eq!(args.timeout, Some(60));
        assert_eq!(args.duration, Some(1.5));
    }
}
