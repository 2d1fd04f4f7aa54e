//! Turns parsed arguments into a client and one call. Everything that can be wrong with the
//! input is checked before anything is sent.

use std::time::Duration;

use presence_blocking::proto::{
    AddChannelsToGroup, DeleteGroup, Heartbeat, RemoveChannelsFromGroup,
};
use presence_blocking::{Client, Config, Operation as _};

use crate::args::{Command, Global, GroupsCommand, Targets};
use crate::failure::Failure;
use crate::report::Report;
use crate::state_arg::state_object;

/// Builds the client from the global options.
pub(crate) fn client(global: &Global) -> Result<Client, Failure> {
    let subscribe_key = required(
        global.subscribe_key.as_deref(),
        "--subscribe-key",
        "PUBNUB_SUBSCRIBE_KEY",
    )?;
    let user_id = required(global.user_id.as_deref(), "--user-id", "PUBNUB_USER_ID")?;
    let mut builder = Config::builder(subscribe_key, user_id)
        .sdk_suffix(concat!("presence-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(origin) = &global.origin {
        builder = builder.origin(origin);
    }
    if let Some(key) = &global.publish_key {
        builder = builder.publish_key(key);
    }
    if let Some(key) = &global.secret_key {
        builder = builder.secret_key(key);
    }
    if let Some(token) = &global.auth_key {
        builder = builder.auth_token(token);
    }
    let config = builder.build().map_err(|e| Failure::from_error(&e))?;
    let timeout = Duration::try_from_secs_f64(global.request_timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| Failure::usage("--request-timeout must be a positive number of seconds"))?;
    let mut client = Client::builder(config).request_timeout(timeout);
    if let Some(path) = &global.cacert {
        let pem = std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read --cacert {}: {e}", path.display())))?;
        client = client.add_root_certificate(pem);
    }
    client.build().map_err(|e| Failure::from_error(&e))
}

fn required<'a>(value: Option<&'a str>, flag: &str, env: &str) -> Result<&'a str, Failure> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Failure::usage(format!(
            "missing {flag}: pass it or set {env}"
        ))),
    }
}

/// Runs a subcommand that needs no client (`profiles`, `completions`).
pub(crate) fn command_without_client(command: Command) -> Result<Report, Failure> {
    match command {
        Command::Profiles => crate::profiles::list().map(Report::Profiles),
        Command::Completions(args) => crate::completions::run(args.shell),
        _ => Err(Failure::usage("this command needs a client")),
    }
}

/// Runs one subcommand. `keep-present` prints its events as they come (as JSON lines with
/// `json`, scrubbing `secrets` from error messages) and reports [`Report::Streamed`].
pub(crate) fn command(
    client: &Client,
    command: Command,
    json: bool,
    secrets: &[&str],
) -> Result<Report, Failure> {
    let failed = |e: presence_blocking::Error| Failure::from_error(&e);
    match command {
        Command::HereNow(args) => {
            let mut call = client
                .here_now()
                .channels(args.channels)
                .groups(args.groups)
                .include_state(args.state)
                .include_user_ids(!args.no_users);
            if let Some(limit) = args.limit {
                call = call.limit(limit);
            }
            if let Some(offset) = args.offset {
                call = call.offset(offset);
            }
            if args.all {
                let all = call.all_pages().map_err(failed)?;
                return Ok(Report::HereNowAll {
                    all,
                    with_state: args.state,
                });
            }
            let result = call.call().map_err(failed)?;
            Ok(Report::HereNow {
                result,
                with_state: args.state,
            })
        }
        Command::WhereNow(args) => {
            let user_id = args
                .user
                .unwrap_or_else(|| client.config().user_id().to_owned());
            let result = client
                .where_now()
                .user_id(user_id.clone())
                .call()
                .map_err(failed)?;
            Ok(Report::WhereNow { user_id, result })
        }
        Command::Heartbeat(args) => {
            let state = args.state.as_deref().map(state_object).transpose()?;
            let Targets { channels, groups } = args.targets;
            let mut call = client.heartbeat();
            if let Some(seconds) = args.timeout {
                call = call.presence_timeout(seconds);
            }
            if let Some(state) = state {
                for name in channels.iter().chain(&groups) {
                    call = call.state_value(name.clone(), state.clone());
                }
            }
            call.channels(channels)
                .groups(groups)
                .call()
                .map_err(failed)?;
            Ok(Report::Done {
                operation: Heartbeat::NAME,
            })
        }
        Command::Leave(targets) => {
            let result = client
                .leave()
                .channels(targets.channels)
                .groups(targets.groups)
                .call()
                .map_err(failed)?;
            Ok(Report::Left { result })
        }
        Command::SetState(args) => {
            let state = state_object(&args.state)?;
            let user_id = args
                .user
                .unwrap_or_else(|| client.config().user_id().to_owned());
            let result = client
                .set_state()
                .channels(args.targets.channels)
                .groups(args.targets.groups)
                .user_id(user_id.clone())
                .state(state)
                .call()
                .map_err(failed)?;
            Ok(Report::SetState { user_id, result })
        }
        Command::GetState(args) => {
            let user_id = args
                .user
                .unwrap_or_else(|| client.config().user_id().to_owned());
            let result = client
                .get_state()
                .channels(args.targets.channels)
                .groups(args.targets.groups)
                .user_id(user_id.clone())
                .call()
                .map_err(failed)?;
            Ok(Report::GetState { user_id, result })
        }
        Command::Groups(groups) => group_command(client, groups),
        Command::KeepPresent(args) => {
            crate::keep::run(client, args, json, secrets).map(|()| Report::Streamed)
        }
        Command::Watch(args) => crate::watch::watch(client, args, json).map(|()| Report::Streamed),
        Command::Roster(args) => {
            crate::watch::roster(client, args, json).map(|()| Report::Streamed)
        }
        // Answered before a client is built (see `main`).
        Command::Profiles => crate::profiles::list().map(Report::Profiles),
        Command::Completions(args) => crate::completions::run(args.shell),
    }
}

fn group_command(client: &Client, command: GroupsCommand) -> Result<Report, Failure> {
    let failed = |e: presence_blocking::Error| Failure::from_error(&e);
    match command {
        GroupsCommand::Add(args) => {
            client
                .add_channels_to_group(args.group, args.channels)
                .call()
                .map_err(failed)?;
            Ok(Report::Done {
                operation: AddChannelsToGroup::NAME,
            })
        }
        GroupsCommand::Remove(args) => {
            client
                .remove_channels_from_group(args.group, args.channels)
                .call()
                .map_err(failed)?;
            Ok(Report::Done {
                operation: RemoveChannelsFromGroup::NAME,
            })
        }
        GroupsCommand::List(args) => {
            let result = client
                .list_group_channels(args.group)
                .call()
                .map_err(failed)?;
            Ok(Report::GroupChannels(result))
        }
        GroupsCommand::Delete(args) => {
            client.delete_group(args.group).call().map_err(failed)?;
            Ok(Report::Done {
                operation: DeleteGroup::NAME,
            })
        }
    }
}
