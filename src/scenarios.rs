//! The cross-adapter scenario table: every operation with every option, awkward names, channel
//! groups, signing, each error kind and the network faults — as data, run against a fresh
//! embedded [`presence_emulator`] per scenario through any adapter's [`Driver`].
//!
//! An adapter plugs in by implementing [`Driver`] (one method: run a [`Call`] with a
//! [`Config`]) and handing [`run_all`] a function that builds a driver for a scenario's
//! [`ClientOptions`]:
//!
//! ```
//! use presence_proto::{Config, Error, Operation};
//! use presence_workspace::scenarios::{self, Call, ClientOptions, Driver, Execute, Outcome};
//!
//! /// A driver that moves no bytes: every call fails as a network error.
//! struct Offline;
//! impl Execute for &Offline {
//!     fn execute<O: Operation>(&mut self, _op: &O) -> Result<O::Output, Error> {
//!         Err(Error::network("connect", std::io::Error::other("offline")))
//!     }
//! }
//! impl Driver for Offline {
//!     fn call(&self, _config: &Config, call: &Call) -> Result<Outcome, Error> {
//!         call.dispatch(&mut &*self)
//!     }
//! }
//!
//! let table = scenarios::all();
//! let dropped: Vec<_> = table.iter().filter(|s| s.name == "fault: dropped connection").collect();
//! let failures = scenarios::run_all(dropped, |_: &ClientOptions| Offline);
//! assert!(failures.is_empty(), "{failures:?}"); // "offline" is a network error too
//! ```
//!
//! Timing checks are lower bounds (and generous upper bounds of 10× a timeout), never tight.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use presence_emulator::{
    AccessManager, EmulatorBuilder, FaultAction, FaultRule, KeysetOptions, Permissions,
};
use presence_proto::{
    AddChannelsToGroup, Config, DeleteGroup, Error, ErrorKind, GetState, GetStateResult,
    GroupChannels, Heartbeat, HereNow, HereNowResult, Leave, ListGroupChannels, Operation,
    RemoveChannelsFromGroup, RetryPolicy, SetState, SetStateResult, WhereNow, WhereNowResult,
};
use serde_json::{Value, json};

/// The awkward channel name every adapter must deliver exactly: space, `/ ? # & % +` and
/// non-ASCII.
pub const ODD_CHANNEL: &str = "odd ch/?#&%+ ü";

// =============================================================================================
// Calls and outcomes.

/// Arguments of a here now call; `None` leaves the adapter's (and service's) default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HereNowCall {
    /// Channels asked about.
    pub channels: Vec<String>,
    /// Channel groups asked about.
    pub groups: Vec<String>,
    /// `include_user_ids(..)`, when set.
    pub include_user_ids: Option<bool>,
    /// `include_state(..)`, when set.
    pub include_state: Option<bool>,
    /// `limit(..)`, when set.
    pub limit: Option<u32>,
    /// `offset(..)`, when set.
    pub offset: Option<u32>,
}

impl HereNowCall {
    /// The core operation these arguments describe.
    pub fn to_op(&self) -> HereNow {
        let mut op = HereNow::new()
            .channels(self.channels.iter().cloned())
            .groups(self.groups.iter().cloned());
        if let Some(v) = self.include_user_ids {
            op = op.include_user_ids(v);
        }
        if let Some(v) = self.include_state {
            op = op.include_state(v);
        }
        if let Some(v) = self.limit {
            op = op.limit(v);
        }
        if let Some(v) = self.offset {
            op = op.offset(v);
        }
        op
    }
}

/// Arguments of a where now call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WhereNowCall {
    /// Target user id (default: the caller).
    pub user_id: Option<String>,
}

impl WhereNowCall {
    /// The core operation these arguments describe.
    pub fn to_op(&self) -> WhereNow {
        match &self.user_id {
            Some(u) => WhereNow::new().user_id(u.clone()),
            None => WhereNow::new(),
        }
    }
}

/// Arguments of a heartbeat.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeartbeatCall {
    /// Channels announced on.
    pub channels: Vec<String>,
    /// Channel groups announced on.
    pub groups: Vec<String>,
    /// `presence_timeout(..)` in seconds, when set.
    pub presence_timeout: Option<u32>,
    /// State per channel or group name.
    pub state: Vec<(String, Value)>,
}

impl HeartbeatCall {
    /// The core operation these arguments describe.
    pub fn to_op(&self) -> Heartbeat {
        let mut op = Heartbeat::new()
            .channels(self.channels.iter().cloned())
            .groups(self.groups.iter().cloned());
        if let Some(t) = self.presence_timeout {
            op = op.presence_timeout(t);
        }
        for (name, value) in &self.state {
            op = op.state_value(name.clone(), value.clone());
        }
        op
    }
}

/// Arguments of a leave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaveCall {
    /// Channels left.
    pub channels: Vec<String>,
    /// Channel groups left.
    pub groups: Vec<String>,
}

impl LeaveCall {
    /// The core operation these arguments describe.
    pub fn to_op(&self) -> Leave {
        Leave::new()
            .channels(self.channels.iter().cloned())
            .groups(self.groups.iter().cloned())
    }
}

/// Arguments of a set state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetStateCall {
    /// Channels.
    pub channels: Vec<String>,
    /// Channel groups.
    pub groups: Vec<String>,
    /// Target user id (default: the caller).
    pub user_id: Option<String>,
    /// The state (a JSON object, or something else to test the client-side refusal).
    pub state: Value,
}

impl SetStateCall {
    /// The core operation these arguments describe.
    pub fn to_op(&self) -> SetState {
        let mut op = SetState::new()
            .channels(self.channels.iter().cloned())
            .groups(self.groups.iter().cloned());
        if let Some(u) = &self.user_id {
            op = op.user_id(u.clone());
        }
        op.state(self.state.clone())
    }
}

/// Arguments of a get state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GetStateCall {
    /// Channels.
    pub channels: Vec<String>,
    /// Channel groups.
    pub groups: Vec<String>,
    /// Target user id (default: the caller).
    pub user_id: Option<String>,
}

impl GetStateCall {
    /// The core operation these arguments describe.
    pub fn to_op(&self) -> GetState {
        let mut op = GetState::new()
            .channels(self.channels.iter().cloned())
            .groups(self.groups.iter().cloned());
        if let Some(u) = &self.user_id {
            op = op.user_id(u.clone());
        }
        op
    }
}

/// One API call, as plain data: a driver may map it onto its own builders (to test them) or
/// hand [`Call::dispatch`] its generic `execute`.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// here now.
    HereNow(HereNowCall),
    /// where now.
    WhereNow(WhereNowCall),
    /// heartbeat.
    Heartbeat(HeartbeatCall),
    /// leave.
    Leave(LeaveCall),
    /// set state.
    SetState(SetStateCall),
    /// get state.
    GetState(GetStateCall),
    /// Add channels to a group.
    AddChannelsToGroup {
        /// The group.
        group: String,
        /// Channels to add.
        channels: Vec<String>,
    },
    /// Remove channels from a group.
    RemoveChannelsFromGroup {
        /// The group.
        group: String,
        /// Channels to remove.
        channels: Vec<String>,
    },
    /// List a group's channels.
    ListGroupChannels {
        /// The group.
        group: String,
    },
    /// Delete a group.
    DeleteGroup {
        /// The group.
        group: String,
    },
}

/// A generic `execute`, the shape every adapter's send path has; lets [`Call::dispatch`] turn a
/// [`Call`] into the matching core operation.
pub trait Execute {
    /// Sends `op` and returns its typed output.
    fn execute<O: Operation>(&mut self, op: &O) -> Result<O::Output, Error>;
}

impl Call {
    /// The operation's name (`Operation::NAME`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::HereNow(_) => HereNow::NAME,
            Self::WhereNow(_) => WhereNow::NAME,
            Self::Heartbeat(_) => Heartbeat::NAME,
            Self::Leave(_) => Leave::NAME,
            Self::SetState(_) => SetState::<Value>::NAME,
            Self::GetState(_) => GetState::NAME,
            Self::AddChannelsToGroup { .. } => AddChannelsToGroup::NAME,
            Self::RemoveChannelsFromGroup { .. } => RemoveChannelsFromGroup::NAME,
            Self::ListGroupChannels { .. } => ListGroupChannels::NAME,
            Self::DeleteGroup { .. } => DeleteGroup::NAME,
        }
    }

    /// Builds the core operation and sends it through `exec`.
    pub fn dispatch<E: Execute>(&self, exec: &mut E) -> Result<Outcome, Error> {
        Ok(match self {
            Self::HereNow(c) => Outcome::HereNow(exec.execute(&c.to_op())?),
            Self::WhereNow(c) => Outcome::WhereNow(exec.execute(&c.to_op())?),
            Self::Heartbeat(c) => {
                exec.execute(&c.to_op())?;
                Outcome::Done
            }
            Self::Leave(c) => {
                exec.execute(&c.to_op())?;
                Outcome::Done
            }
            Self::SetState(c) => Outcome::SetState(exec.execute(&c.to_op())?),
            Self::GetState(c) => Outcome::GetState(exec.execute(&c.to_op())?),
            Self::AddChannelsToGroup { group, channels } => {
                exec.execute(&AddChannelsToGroup::new(
                    group.clone(),
                    channels.iter().cloned(),
                ))?;
                Outcome::Done
            }
            Self::RemoveChannelsFromGroup { group, channels } => {
                exec.execute(&RemoveChannelsFromGroup::new(
                    group.clone(),
                    channels.iter().cloned(),
                ))?;
                Outcome::Done
            }
            Self::ListGroupChannels { group } => {
                Outcome::GroupChannels(exec.execute(&ListGroupChannels::new(group.clone()))?)
            }
            Self::DeleteGroup { group } => {
                exec.execute(&DeleteGroup::new(group.clone()))?;
                Outcome::Done
            }
        })
    }
}

/// The typed result of a [`Call`].
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// here now.
    HereNow(HereNowResult),
    /// where now.
    WhereNow(WhereNowResult),
    /// set state.
    SetState(SetStateResult),
    /// get state.
    GetState(GetStateResult),
    /// list group channels.
    GroupChannels(GroupChannels),
    /// heartbeat, leave, add/remove channels, delete group (no payload).
    Done,
}

impl Outcome {
    /// The here now result, or a description of what came instead.
    pub fn here_now(&self) -> Result<&HereNowResult, String> {
        match self {
            Self::HereNow(r) => Ok(r),
            other => Err(format!("expected a here_now result, got {other:?}")),
        }
    }

    /// The where now result.
    pub fn where_now(&self) -> Result<&WhereNowResult, String> {
        match self {
            Self::WhereNow(r) => Ok(r),
            other => Err(format!("expected a where_now result, got {other:?}")),
        }
    }

    /// The set state result.
    pub fn set_state(&self) -> Result<&SetStateResult, String> {
        match self {
            Self::SetState(r) => Ok(r),
            other => Err(format!("expected a set_state result, got {other:?}")),
        }
    }

    /// The get state result.
    pub fn get_state(&self) -> Result<&GetStateResult, String> {
        match self {
            Self::GetState(r) => Ok(r),
            other => Err(format!("expected a get_state result, got {other:?}")),
        }
    }

    /// The group listing.
    pub fn group_channels(&self) -> Result<&GroupChannels, String> {
        match self {
            Self::GroupChannels(r) => Ok(r),
            other => Err(format!("expected a channel group listing, got {other:?}")),
        }
    }
}

// =============================================================================================
// Drivers and scenarios.

/// What an adapter implements to run the table: send one call with one configuration.
pub trait Driver {
    /// Sends `call` with `config` (keyset, user id, origin) and returns its outcome.
    fn call(&self, config: &Config, call: &Call) -> Result<Outcome, Error>;
}

/// Adapter options a scenario needs; `None` means the adapter's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// Whole-exchange timeout.
    pub request_timeout: Option<Duration>,
    /// Retry policy (default: none).
    pub retry_policy: RetryPolicy,
    /// Reply body cap in bytes.
    pub max_body_size: Option<usize>,
}

/// The keyset and user a scenario's steps run as (the origin is the scenario's emulator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Subscribe key.
    pub subscribe_key: String,
    /// User id.
    pub user_id: String,
    /// Publish key (signed into requests).
    pub publish_key: Option<String>,
    /// Secret key: requests are signed.
    pub secret_key: Option<String>,
    /// Access Manager token.
    pub auth_token: Option<String>,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            subscribe_key: "sub-c-scenarios".to_owned(),
            user_id: "alice".to_owned(),
            publish_key: None,
            secret_key: None,
            auth_token: None,
        }
    }
}

/// How the scenario's emulator is started.
#[derive(Clone, Debug, Default)]
pub struct EmulatorSetup {
    /// Options of every keyset.
    pub keyset: Option<KeysetOptions>,
    /// Gzip replies above this many bytes (emulator default 1 KiB).
    pub gzip_threshold: Option<usize>,
    /// Length of one presence-timeout "second" (to expire presence quickly).
    pub timeout_unit: Option<Duration>,
}

/// A check on a successful outcome.
pub type Check = fn(&Outcome) -> Result<(), String>;
/// A check on an error of the expected kind.
pub type ErrorCheck = fn(&Error) -> Result<(), String>;

/// What a step must produce.
#[derive(Clone, Copy)]
pub enum Expect {
    /// Success, passing the check.
    Ok(Check),
    /// An error of this kind, passing the check.
    Err(ErrorKind, ErrorCheck),
}

impl fmt::Debug for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok(_) => f.write_str("Ok(..)"),
            Self::Err(kind, _) => write!(f, "Err({kind:?}, ..)"),
        }
    }
}

/// One call of a scenario with its expectations.
#[derive(Clone, Debug)]
pub struct Step {
    /// The call.
    pub call: Call,
    /// Its expected result.
    pub expect: Expect,
    /// Run as this user id instead of the scenario's.
    pub user_id: Option<String>,
    /// Fault rules armed on the emulator just before the call.
    pub faults: Vec<FaultRule>,
    /// Real time waited before the call.
    pub wait_before: Duration,
    /// The call must take at least this long.
    pub min_elapsed: Option<Duration>,
    /// The call must take less than this.
    pub max_elapsed: Option<Duration>,
    /// Exactly this many requests must reach the emulator during the call.
    pub requests: Option<u64>,
}

impl Step {
    /// A step expecting success.
    pub fn ok(call: Call) -> Self {
        Self::new(call, Expect::Ok(|_| Ok(())))
    }

    /// A step expecting success that passes `check`.
    pub fn ok_with(call: Call, check: Check) -> Self {
        Self::new(call, Expect::Ok(check))
    }

    /// A step expecting an error of `kind`.
    pub fn err(call: Call, kind: ErrorKind) -> Self {
        Self::new(call, Expect::Err(kind, |_| Ok(())))
    }

    /// A step expecting an error of `kind` that passes `check`.
    pub fn err_with(call: Call, kind: ErrorKind, check: ErrorCheck) -> Self {
        Self::new(call, Expect::Err(kind, check))
    }

    fn new(call: Call, expect: Expect) -> Self {
        Self {
            call,
            expect,
            user_id: None,
            faults: Vec::new(),
            wait_before: Duration::ZERO,
            min_elapsed: None,
            max_elapsed: None,
            requests: None,
        }
    }

    /// Runs as another user id.
    #[must_use]
    pub fn as_user(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }

    /// Arms a fault rule before the call.
    #[must_use]
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Waits before the call.
    #[must_use]
    pub fn after(mut self, wait: Duration) -> Self {
        self.wait_before = wait;
        self
    }

    /// Requires the call to take at least `min` and less than `max`.
    #[must_use]
    pub fn elapsed(mut self, min: Duration, max: Option<Duration>) -> Self {
        self.min_elapsed = Some(min);
        self.max_elapsed = max;
        self
    }

    /// Requires exactly `n` requests to reach the emulator.
    #[must_use]
    pub fn requests(mut self, n: u64) -> Self {
        self.requests = Some(n);
        self
    }
}

/// What a scenario is about.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Group {
    /// Every operation with every option.
    Operations,
    /// Awkward names round-tripping.
    Encoding,
    /// Channel-group registration.
    Groups,
    /// Request signing.
    Signing,
    /// Each error kind.
    Errors,
    /// Network faults, timeouts, retries.
    Faults,
}

/// One scenario: an emulator, client options, an identity and steps.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Unique name.
    pub name: &'static str,
    /// Its group.
    pub group: Group,
    /// How the emulator is started.
    pub emulator: EmulatorSetup,
    /// Adapter options.
    pub client: ClientOptions,
    /// Keyset and user.
    pub identity: Identity,
    /// The calls, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    fn new(name: &'static str, group: Group) -> Self {
        Self {
            name,
            group,
            emulator: EmulatorSetup::default(),
            client: ClientOptions::default(),
            identity: Identity::default(),
            steps: Vec::new(),
        }
    }

    fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    fn keyset(mut self, options: KeysetOptions) -> Self {
        self.emulator.keyset = Some(options);
        self
    }

    fn client(mut self, options: ClientOptions) -> Self {
        self.client = options;
        self
    }
}

/// A scenario step that did not do what the table says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The scenario.
    pub scenario: &'static str,
    /// Index of the step (`None`: setting the scenario up failed).
    pub step: Option<usize>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(i) => write!(f, "[{}] step {i}: {}", self.scenario, self.message),
            None => write!(f, "[{}] setup: {}", self.scenario, self.message),
        }
    }
}

/// Runs one scenario against a fresh emulator with a driver built for its client options.
pub fn run<D: Driver>(
    scenario: &Scenario,
    make_driver: impl FnOnce(&ClientOptions) -> D,
) -> Result<(), Failure> {
    let fail = |step: Option<usize>, message: String| Failure {
        scenario: scenario.name,
        step,
        message,
    };
    let mut builder = EmulatorBuilder::new();
    if let Some(keyset) = &scenario.emulator.keyset {
        builder = builder.default_keyset(keyset.clone());
    }
    if let Some(threshold) = scenario.emulator.gzip_threshold {
        builder = builder.gzip_threshold(threshold);
    }
    if let Some(unit) = scenario.emulator.timeout_unit {
        builder = builder.timeout_unit(unit);
    }
    let emulator = builder
        .start_in_background()
        .map_err(|e| fail(None, format!("emulator did not start: {e}")))?;
    let driver = make_driver(&scenario.client);
    let id = &scenario.identity;
    for (i, step) in scenario.steps.iter().enumerate() {
        let mut config = Config::builder(
            id.subscribe_key.clone(),
            step.user_id.clone().unwrap_or_else(|| id.user_id.clone()),
        )
        .origin(emulator.origin());
        if let Some(k) = &id.publish_key {
            config = config.publish_key(k.clone());
        }
        if let Some(k) = &id.secret_key {
            config = config.secret_key(k.clone());
        }
        if let Some(t) = &id.auth_token {
            config = config.auth_token(t.clone());
        }
        let config = config
            .build()
            .map_err(|e| fail(Some(i), format!("config: {e}")))?;
        if !step.wait_before.is_zero() {
            std::thread::sleep(step.wait_before);
        }
        for rule in &step.faults {
            emulator.faults().push(rule.clone());
        }
        let before = emulator.stats().requests_total;
        let started = Instant::now();
        let result = driver.call(&config, &step.call);
        let elapsed = started.elapsed();
        let requests = emulator.stats().requests_total - before;
        emulator.faults().clear();
        let what = step.call.name();
        match (&step.expect, &result) {
            (Expect::Ok(check), Ok(outcome)) => {
                check(outcome).map_err(|m| fail(Some(i), format!("{what}: {m}")))?;
            }
            (Expect::Ok(_), Err(e)) => {
                return Err(fail(
                    Some(i),
                    format!("{what}: expected success, got {:?} error: {e}", e.kind()),
                ));
            }
            (Expect::Err(kind, check), Err(e)) => {
                if e.kind() != *kind {
                    return Err(fail(
                        Some(i),
                        format!(
                            "{what}: expected a {kind:?} error, got {:?}: {e} ({e:?})",
                            e.kind()
                        ),
                    ));
                }
                check(e).map_err(|m| fail(Some(i), format!("{what}: {m} (error: {e:?})")))?;
            }
            (Expect::Err(kind, _), Ok(outcome)) => {
                return Err(fail(
                    Some(i),
                    format!("{what}: expected a {kind:?} error, got success {outcome:?}"),
                ));
            }
        }
        if let Some(min) = step.min_elapsed {
            if elapsed < min {
                return Err(fail(
                    Some(i),
                    format!("{what}: took {elapsed:?}, expected at least {min:?}"),
                ));
            }
        }
        if let Some(max) = step.max_elapsed {
            if elapsed >= max {
                return Err(fail(
                    Some(i),
                    format!("{what}: took {elapsed:?}, expected less than {max:?}"),
                ));
            }
        }
        if let Some(n) = step.requests {
            if requests != n {
                return Err(fail(
                    Some(i),
                    format!("{what}: {requests} requests reached the emulator, expected {n}"),
                ));
            }
        }
    }
    Ok(())
}

/// Runs `scenarios` (a few at a time, on threads) and returns every failure.
pub fn run_all<'s, D, F, I>(scenarios: I, make_driver: F) -> Vec<Failure>
where
    I: IntoIterator<Item = &'s Scenario>,
    D: Driver,
    F: Fn(&ClientOptions) -> D + Sync,
{
    const WORKERS: usize = 4;
    let queue = Mutex::new(scenarios.into_iter().collect::<Vec<_>>().into_iter());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some(scenario) = next else { break };
                    if let Err(failure) = run(scenario, &make_driver) {
                        failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(failure);
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort_by(|a, b| a.scenario.cmp(b.scenario));
    failures
}

// =============================================================================================
// The table.

fn names<const N: usize>(list: [&str; N]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn here_now<const N: usize>(channels: [&str; N]) -> HereNowCall {
    HereNowCall {
        channels: names(channels),
        ..HereNowCall::default()
    }
}

fn heartbeat<const N: usize>(channels: [&str; N]) -> Call {
    Call::Heartbeat(HeartbeatCall {
        channels: names(channels),
        ..HeartbeatCall::default()
    })
}

fn where_now(user_id: Option<&str>) -> Call {
    Call::WhereNow(WhereNowCall {
        user_id: user_id.map(str::to_owned),
    })
}

fn add_to_group<const N: usize>(group: &str, channels: [&str; N]) -> Call {
    Call::AddChannelsToGroup {
        group: group.to_owned(),
        channels: names(channels),
    }
}

/// `Err(message)` unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !($cond) {
            return Err(format!($($fmt)+));
        }
    };
}

/// Checks a here now result's per-channel occupancy and listed occupants.
fn occupants(result: &HereNowResult, channel: &str) -> Result<Vec<String>, String> {
    let c = result
        .channel(channel)
        .ok_or_else(|| format!("channel {channel:?} missing from {result:?}"))?;
    Ok(c.occupants.iter().map(|u| u.user_id.clone()).collect())
}

fn api_status(e: &Error, status: u16, http_status: u16) -> Result<(), String> {
    let api = e.api().ok_or("not an API error")?;
    ensure!(
        api.status == status && api.http_status == http_status,
        "status {}/{} (body/HTTP), expected {status}/{http_status}",
        api.status,
        api.http_status
    );
    Ok(())
}

fn json_body(status: u16, message: &str) -> String {
    json!({"error": true, "message": message, "service": "Presence", "status": status}).to_string()
}

/// The whole table.
pub fn all() -> Vec<Scenario> {
    let mut table = Vec::new();
    table.extend(operations());
    table.extend(encoding());
    table.extend(groups());
    table.extend(signing());
    table.extend(errors());
    table.extend(faults());
    table
}

fn operations() -> Vec<Scenario> {
    use Group::Operations as G;
    let lobby_state = || {
        vec![(
            "lobby".to_owned(),
            json!({"mood": "happy", "tags": ["a", 1]}),
        )]
    };
    vec![
        Scenario::new("here_now: one channel lists user ids", G)
            .step(Step::ok(heartbeat(["lobby"])))
            .step(Step::ok(heartbeat(["lobby"])).as_user("bob"))
            .step(Step::ok_with(Call::HereNow(here_now(["lobby"])), |o| {
                let r = o.here_now()?;
                ensure!(r.total_occupancy == 2 && r.total_channels == 1, "{r:?}");
                let c = r.channel("lobby").ok_or("no lobby")?;
                ensure!(c.occupancy == 2 && c.occupants_listed, "{c:?}");
                ensure!(occupants(r, "lobby")? == ["alice", "bob"], "{r:?}");
                ensure!(
                    c.occupants.iter().all(|u| u.state.is_none()),
                    "state without include_state: {c:?}"
                );
                Ok(())
            })),
        Scenario::new("here_now: several channels", G)
            .step(Step::ok(heartbeat(["a", "b"])))
            .step(Step::ok(heartbeat(["b"])).as_user("bob"))
            .step(Step::ok_with(
                Call::HereNow(here_now(["a", "b", "empty"])),
                |o| {
                    let r = o.here_now()?;
                    ensure!(r.total_channels == 2 && r.total_occupancy == 3, "{r:?}");
                    ensure!(occupants(r, "a")? == ["alice"], "{r:?}");
                    ensure!(occupants(r, "b")? == ["alice", "bob"], "{r:?}");
                    Ok(())
                },
            )),
        Scenario::new("here_now: include_state", G)
            .step(Step::ok(Call::Heartbeat(HeartbeatCall {
                channels: names(["lobby"]),
                state: lobby_state(),
                ..HeartbeatCall::default()
            })))
            .step(Step::ok(heartbeat(["lobby"])).as_user("bob"))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    include_state: Some(true),
                    ..here_now(["lobby"])
                }),
                |o| {
                    let c = o.here_now()?.channel("lobby").ok_or("no lobby")?.clone();
                    let alice = c
                        .occupants
                        .iter()
                        .find(|u| u.user_id == "alice")
                        .ok_or("no alice")?;
                    ensure!(
                        alice.state == Some(json!({"mood": "happy", "tags": ["a", 1]})),
                        "{alice:?}"
                    );
                    let bob = c
                        .occupants
                        .iter()
                        .find(|u| u.user_id == "bob")
                        .ok_or("no bob")?;
                    ensure!(bob.state.is_none(), "{bob:?}");
                    Ok(())
                },
            ))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    include_state: Some(false),
                    ..here_now(["lobby"])
                }),
                |o| {
                    let c = o.here_now()?.channel("lobby").ok_or("no lobby")?.clone();
                    ensure!(c.occupants.iter().all(|u| u.state.is_none()), "{c:?}");
                    Ok(())
                },
            )),
        Scenario::new("here_now: include_user_ids false and true", G)
            .step(Step::ok(heartbeat(["a", "b"])))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    include_user_ids: Some(false),
                    ..here_now(["a"])
                }),
                |o| {
                    let c = o.here_now()?.channel("a").ok_or("no a")?.clone();
                    ensure!(
                        c.occupancy == 1 && !c.occupants_listed && c.occupants.is_empty(),
                        "{c:?}"
                    );
                    Ok(())
                },
            ))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    include_user_ids: Some(false),
                    ..here_now(["a", "b"])
                }),
                |o| {
                    let r = o.here_now()?;
                    ensure!(r.total_occupancy == 2, "{r:?}");
                    ensure!(r.channels.iter().all(|c| !c.occupants_listed), "{r:?}");
                    Ok(())
                },
            ))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    include_user_ids: Some(true),
                    ..here_now(["a"])
                }),
                |o| {
                    ensure!(occupants(o.here_now()?, "a")? == ["alice"], "{o:?}");
                    Ok(())
                },
            )),
        Scenario::new("here_now: limit and offset", G)
            .step(Step::ok(heartbeat(["room"])))
            .step(Step::ok(heartbeat(["room"])).as_user("bob"))
            .step(Step::ok(heartbeat(["room"])).as_user("carol"))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    limit: Some(1),
                    offset: Some(1),
                    ..here_now(["room"])
                }),
                |o| {
                    let r = o.here_now()?;
                    ensure!(r.total_occupancy == 3, "{r:?}");
                    ensure!(occupants(r, "room")? == ["bob"], "{r:?}");
                    Ok(())
                },
            ))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    limit: Some(2),
                    ..here_now(["room"])
                }),
                |o| {
                    ensure!(
                        occupants(o.here_now()?, "room")? == ["alice", "bob"],
                        "{o:?}"
                    );
                    Ok(())
                },
            ))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    limit: Some(0),
                    ..here_now(["room"])
                }),
                |o| {
                    let c = o.here_now()?.channel("room").ok_or("no room")?.clone();
                    ensure!(c.occupancy == 3 && !c.occupants_listed, "{c:?}");
                    Ok(())
                },
            ))
            .step(
                Step::err(
                    Call::HereNow(HereNowCall {
                        limit: Some(1001),
                        ..here_now(["room"])
                    }),
                    ErrorKind::InvalidInput,
                )
                .requests(0),
            ),
        Scenario::new("here_now: groups, channels + groups, global", G)
            .step(Step::ok(add_to_group("g", ["a", "b"])))
            .step(Step::ok(heartbeat(["a", "c"])))
            .step(Step::ok(heartbeat(["b"])).as_user("bob"))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    groups: names(["g"]),
                    ..HereNowCall::default()
                }),
                |o| {
                    let r = o.here_now()?;
                    ensure!(r.total_channels == 2 && r.total_occupancy == 2, "{r:?}");
                    ensure!(
                        occupants(r, "a")? == ["alice"] && occupants(r, "b")? == ["bob"],
                        "{r:?}"
                    );
                    Ok(())
                },
            ))
            .step(Step::ok_with(
                Call::HereNow(HereNowCall {
                    groups: names(["g"]),
                    ..here_now(["c"])
                }),
                |o| {
                    let r = o.here_now()?;
                    ensure!(r.total_channels == 3 && r.total_occupancy == 3, "{r:?}");
                    Ok(())
                },
            ))
            .step(Step::ok_with(Call::HereNow(HereNowCall::default()), |o| {
                let r = o.here_now()?;
                ensure!(
                    r.total_channels == 3 && r.total_occupancy == 3,
                    "global: {r:?}"
                );
                Ok(())
            })),
        Scenario::new("where_now: self, another user, nobody", G)
            .step(Step::ok(heartbeat(["a", "b"])))
            .step(Step::ok_with(where_now(None), |o| {
                ensure!(o.where_now()?.channels == ["a", "b"], "{o:?}");
                Ok(())
            }))
            .step(
                Step::ok_with(where_now(Some("alice")), |o| {
                    ensure!(o.where_now()?.channels == ["a", "b"], "{o:?}");
                    Ok(())
                })
                .as_user("bob"),
            )
            .step(Step::ok_with(where_now(Some("nobody")), |o| {
                ensure!(o.where_now()?.channels.is_empty(), "{o:?}");
                Ok(())
            })),
        Scenario {
            emulator: EmulatorSetup {
                timeout_unit: Some(Duration::from_millis(50)),
                ..EmulatorSetup::default()
            },
            ..Scenario::new("heartbeat: presence_timeout expires", G)
        }
        .step(Step::ok(Call::Heartbeat(HeartbeatCall {
            presence_timeout: Some(20), // 1 s with the 50 ms unit
            ..HeartbeatCall {
                channels: names(["brief"]),
                ..HeartbeatCall::default()
            }
        })))
        .step(Step::ok(heartbeat(["brief"])).as_user("bob"))
        .step(Step::ok_with(Call::HereNow(here_now(["brief"])), |o| {
            ensure!(
                occupants(o.here_now()?, "brief")? == ["alice", "bob"],
                "{o:?}"
            );
            Ok(())
        }))
        .step(
            Step::ok_with(Call::HereNow(here_now(["brief"])), |o| {
                ensure!(
                    occupants(o.here_now()?, "brief")? == ["bob"],
                    "alice should have timed out: {o:?}"
                );
                Ok(())
            })
            .after(Duration::from_millis(1500)),
        ),
        Scenario::new("heartbeat: state per channel, on groups", G)
            .step(Step::ok(add_to_group("g", ["x"])))
            .step(Step::ok(Call::Heartbeat(HeartbeatCall {
                channels: names(["a", "b"]),
                groups: names(["g"]),
                state: vec![
                    ("a".to_owned(), json!({"n": 1})),
                    ("b".to_owned(), json!({"n": 2})),
                ],
                ..HeartbeatCall::default()
            })))
            .step(Step::ok_with(where_now(None), |o| {
                ensure!(o.where_now()?.channels == ["a", "b", "x"], "{o:?}");
                Ok(())
            }))
            .step(Step::ok_with(
                Call::GetState(GetStateCall {
                    channels: names(["a", "b"]),
                    ..GetStateCall::default()
                }),
                |o| {
                    let r = o.get_state()?;
                    ensure!(r.state("a") == Some(&json!({"n": 1})), "{r:?}");
                    ensure!(r.state("b") == Some(&json!({"n": 2})), "{r:?}");
                    Ok(())
                },
            )),
        Scenario::new("leave: channels and groups", G)
            .step(Step::ok(add_to_group("g", ["x", "y"])))
            .step(Step::ok(Call::Heartbeat(HeartbeatCall {
                channels: names(["a", "b"]),
                groups: names(["g"]),
                ..HeartbeatCall::default()
            })))
            .step(Step::ok(Call::Leave(LeaveCall {
                channels: names(["a"]),
                ..LeaveCall::default()
            })))
            .step(Step::ok_with(where_now(None), |o| {
                ensure!(o.where_now()?.channels == ["b", "x", "y"], "{o:?}");
                Ok(())
            }))
            .step(Step::ok(Call::Leave(LeaveCall {
                groups: names(["g"]),
                ..LeaveCall::default()
            })))
            .step(Step::ok_with(where_now(None), |o| {
                ensure!(o.where_now()?.channels == ["b"], "{o:?}");
                Ok(())
            }))
            .step(
                Step::err(Call::Leave(LeaveCall::default()), ErrorKind::InvalidInput).requests(0),
            ),
        Scenario::new(
            "set_state/get_state: one channel, several, another user, groups",
            G,
        )
        .step(Step::ok(add_to_group("g", ["x", "y"])))
        .step(Step::ok_with(
            Call::SetState(SetStateCall {
                channels: names(["lobby"]),
                state: json!({"mood": "happy", "n": 3}),
                ..SetStateCall::default()
            }),
            |o| {
                ensure!(
                    o.set_state()?.state == json!({"mood": "happy", "n": 3}),
                    "{o:?}"
                );
                Ok(())
            },
        ))
        .step(Step::ok_with(
            Call::GetState(GetStateCall {
                channels: names(["lobby"]),
                ..GetStateCall::default()
            }),
            |o| {
                let r = o.get_state()?;
                ensure!(r.channels.len() == 1, "{r:?}");
                ensure!(
                    r.state("lobby") == Some(&json!({"mood": "happy", "n": 3})),
                    "{r:?}"
                );
                Ok(())
            },
        ))
        .step(Step::ok(Call::SetState(SetStateCall {
            channels: names(["a", "b"]),
            user_id: Some("bob".to_owned()),
            state: json!({"role": "mod"}),
            ..SetStateCall::default()
        })))
        .step(Step::ok_with(
            Call::GetState(GetStateCall {
                channels: names(["a", "b", "c"]),
                user_id: Some("bob".to_owned()),
                ..GetStateCall::default()
            }),
            |o| {
                let r = o.get_state()?;
                ensure!(r.user_id.as_deref() == Some("bob"), "{r:?}");
                ensure!(r.state("a") == Some(&json!({"role": "mod"})), "{r:?}");
                ensure!(r.state("b") == Some(&json!({"role": "mod"})), "{r:?}");
                ensure!(r.state("c") == Some(&json!({})), "{r:?}");
                Ok(())
            },
        ))
        .step(Step::ok(Call::SetState(SetStateCall {
            groups: names(["g"]),
            state: json!({"via": "group"}),
            ..SetStateCall::default()
        })))
        .step(Step::ok_with(
            Call::GetState(GetStateCall {
                groups: names(["g"]),
                ..GetStateCall::default()
            }),
            |o| {
                let r = o.get_state()?;
                ensure!(r.state("x") == Some(&json!({"via": "group"})), "{r:?}");
                ensure!(r.state("y") == Some(&json!({"via": "group"})), "{r:?}");
                Ok(())
            },
        ))
        .step(
            Step::err(
                Call::SetState(SetStateCall {
                    channels: names(["lobby"]),
                    state: json!(["not", "an", "object"]),
                    ..SetStateCall::default()
                }),
                ErrorKind::InvalidInput,
            )
            .requests(0),
        ),
        Scenario::new("leave deletes state", G)
            .step(Step::ok(heartbeat(["lobby"])))
            .step(Step::ok(Call::SetState(SetStateCall {
                channels: names(["lobby"]),
                state: json!({"k": "v"}),
                ..SetStateCall::default()
            })))
            .step(Step::ok(Call::Leave(LeaveCall {
                channels: names(["lobby"]),
                ..LeaveCall::default()
            })))
            .step(Step::ok_with(
                Call::GetState(GetStateCall {
                    channels: names(["lobby"]),
                    ..GetStateCall::default()
                }),
                |o| {
                    ensure!(o.get_state()?.state("lobby") == Some(&json!({})), "{o:?}");
                    Ok(())
                },
            )),
    ]
}

fn encoding() -> Vec<Scenario> {
    use Group::Encoding as G;
    vec![
        Scenario::new("odd channel name round-trips exactly", G)
            .step(Step::ok(heartbeat([ODD_CHANNEL])))
            .step(Step::ok_with(Call::HereNow(here_now([ODD_CHANNEL])), |o| {
                ensure!(occupants(o.here_now()?, ODD_CHANNEL)? == ["alice"], "{o:?}");
                Ok(())
            }))
            .step(Step::ok_with(
                Call::HereNow(here_now([ODD_CHANNEL, "plain"])),
                |o| {
                    let r = o.here_now()?;
                    ensure!(
                        r.channels.len() == 1 && r.channels[0].name == ODD_CHANNEL,
                        "{r:?}"
                    );
                    Ok(())
                },
            ))
            .step(Step::ok_with(where_now(None), |o| {
                ensure!(o.where_now()?.channels == [ODD_CHANNEL], "{o:?}");
                Ok(())
            }))
            .step(Step::ok(Call::SetState(SetStateCall {
                channels: names([ODD_CHANNEL]),
                state: json!({"odd": ODD_CHANNEL}),
                ..SetStateCall::default()
            })))
            .step(Step::ok_with(
                Call::GetState(GetStateCall {
                    channels: names([ODD_CHANNEL, "plain"]),
                    ..GetStateCall::default()
                }),
                |o| {
                    let r = o.get_state()?;
                    ensure!(
                        r.state(ODD_CHANNEL) == Some(&json!({"odd": ODD_CHANNEL})),
                        "{r:?}"
                    );
                    Ok(())
                },
            ))
            .step(Step::ok(Call::Leave(LeaveCall {
                channels: names([ODD_CHANNEL]),
                ..LeaveCall::default()
            })))
            .step(Step::ok_with(where_now(None), |o| {
                ensure!(o.where_now()?.channels.is_empty(), "{o:?}");
                Ok(())
            })),
        Scenario {
            identity: Identity {
                user_id: "us/er ü?&#=+".to_owned(),
                ..Identity::default()
            },
            ..Scenario::new("odd user id and group name round-trip", G)
        }
        .step(Step::ok(add_to_group("grp ü/#?", [ODD_CHANNEL, "b"])))
        .step(Step::ok_with(
            Call::ListGroupChannels {
                group: "grp ü/#?".to_owned(),
            },
            |o| {
                let g = o.group_channels()?;
                ensure!(g.group == "grp ü/#?", "{g:?}");
                ensure!(g.channels == ["b", ODD_CHANNEL], "{g:?}");
                Ok(())
            },
        ))
        .step(Step::ok(Call::Heartbeat(HeartbeatCall {
            groups: names(["grp ü/#?"]),
            ..HeartbeatCall::default()
        })))
        .step(Step::ok_with(Call::HereNow(here_now([ODD_CHANNEL])), |o| {
            ensure!(
                occupants(o.here_now()?, ODD_CHANNEL)? == ["us/er ü?&#=+"],
                "{o:?}"
            );
            Ok(())
        }))
        .step(
            Step::ok_with(where_now(Some("us/er ü?&#=+")), |o| {
                ensure!(o.where_now()?.channels == ["b", ODD_CHANNEL], "{o:?}");
                Ok(())
            })
            .as_user("bob"),
        ),
    ]
}

fn groups() -> Vec<Scenario> {
    use Group::Groups as G;
    let list = || Call::ListGroupChannels {
        group: "friends".to_owned(),
    };
    vec![
        Scenario::new("channel groups: add, list, remove, delete", G)
            .step(Step::ok_with(list(), |o| {
                ensure!(o.group_channels()?.channels.is_empty(), "{o:?}");
                Ok(())
            }))
            .step(Step::ok(add_to_group("friends", ["c", "a", "b"])))
            .step(Step::ok_with(list(), |o| {
                let g = o.group_channels()?;
                ensure!(
                    g.group == "friends" && g.channels == ["a", "b", "c"],
                    "{g:?}"
                );
                Ok(())
            }))
            .step(Step::ok(Call::RemoveChannelsFromGroup {
                group: "friends".to_owned(),
                channels: names(["b"]),
            }))
            .step(Step::ok_with(list(), |o| {
                ensure!(o.group_channels()?.channels == ["a", "c"], "{o:?}");
                Ok(())
            }))
            .step(Step::ok(Call::DeleteGroup {
                group: "friends".to_owned(),
            }))
            .step(Step::ok_with(list(), |o| {
                ensure!(o.group_channels()?.channels.is_empty(), "{o:?}");
                Ok(())
            }))
            .step(Step::err(add_to_group("bad,group", ["a"]), ErrorKind::InvalidInput).requests(0))
            .step(Step::err(add_to_group("friends", []), ErrorKind::InvalidInput).requests(0)),
    ]
}

fn signed_keyset() -> KeysetOptions {
    KeysetOptions::new()
        .secret_key("sec-c-scenario")
        .publish_key("pub-c-scenario")
}

fn signed_identity(secret: Option<&str>) -> Identity {
    Identity {
        publish_key: Some("pub-c-scenario".to_owned()),
        secret_key: secret.map(str::to_owned),
        auth_token: Some("token/with+odd=chars".to_owned()),
        ..Identity::default()
    }
}

fn signing() -> Vec<Scenario> {
    use Group::Signing as G;
    let denied = |e: &Error| {
        let api = e.api().ok_or("not an API error")?;
        ensure!(
            api.status == 403 && api.service.as_deref() == Some("Access Manager"),
            "{api:?}"
        );
        Ok(())
    };
    vec![
        Scenario {
            identity: signed_identity(Some("sec-c-scenario")),
            ..Scenario::new("signing: every operation signed and accepted", G)
        }
        .keyset(signed_keyset())
        .step(Step::ok(add_to_group("g", [ODD_CHANNEL, "b"])))
        .step(Step::ok(Call::Heartbeat(HeartbeatCall {
            channels: names(["a", ODD_CHANNEL]),
            groups: names(["g"]),
            presence_timeout: Some(120),
            state: vec![("a".to_owned(), json!({"q": "a,b~*'()!"}))],
        })))
        .step(Step::ok_with(
            Call::HereNow(HereNowCall {
                groups: names(["g"]),
                include_state: Some(true),
                limit: Some(10),
                offset: Some(0),
                ..here_now(["a"])
            }),
            |o| {
                ensure!(o.here_now()?.total_occupancy == 3, "{o:?}");
                Ok(())
            },
        ))
        .step(Step::ok(Call::HereNow(HereNowCall::default())))
        .step(Step::ok(where_now(Some("alice"))))
        .step(Step::ok(Call::SetState(SetStateCall {
            channels: names([ODD_CHANNEL]),
            state: json!({"x": "y z"}),
            ..SetStateCall::default()
        })))
        .step(Step::ok_with(
            Call::GetState(GetStateCall {
                channels: names([ODD_CHANNEL]),
                ..GetStateCall::default()
            }),
            |o| {
                ensure!(
                    o.get_state()?.state(ODD_CHANNEL) == Some(&json!({"x": "y z"})),
                    "{o:?}"
                );
                Ok(())
            },
        ))
        .step(Step::ok(Call::ListGroupChannels {
            group: "g".to_owned(),
        }))
        .step(Step::ok(Call::RemoveChannelsFromGroup {
            group: "g".to_owned(),
            channels: names(["b"]),
        }))
        .step(Step::ok(Call::Leave(LeaveCall {
            channels: names(["a"]),
            groups: names(["g"]),
        })))
        .step(Step::ok(Call::DeleteGroup {
            group: "g".to_owned(),
        })),
        Scenario {
            identity: signed_identity(Some("not-the-secret")),
            ..Scenario::new("signing: wrong secret key is refused", G)
        }
        .keyset(signed_keyset())
        .step(Step::err_with(
            Call::HereNow(here_now(["a"])),
            ErrorKind::AccessDenied,
            denied,
        ))
        .step(Step::err_with(
            heartbeat(["a"]),
            ErrorKind::AccessDenied,
            denied,
        )),
        Scenario {
            identity: signed_identity(None),
            ..Scenario::new("signing: unsigned request is refused", G)
        }
        .keyset(signed_keyset())
        .step(Step::err_with(
            where_now(None),
            ErrorKind::AccessDenied,
            denied,
        )),
    ]
}

fn errors() -> Vec<Scenario> {
    use Group::Errors as G;
    let respond_once = |status: u16, body: &str| {
        FaultRule::respond(status, body).operation(presence_emulator::Operation::HereNow)
    };
    let long_channels: Vec<String> = (0..400)
        .map(|i| format!("{i:03}-{}", "c".repeat(96)))
        .collect();
    vec![
        Scenario::new("402: presence not enabled", G)
            .keyset(KeysetOptions::new().presence_enabled(false))
            .step(Step::err_with(Call::HereNow(here_now(["a"])), ErrorKind::NotEnabled, |e| {
                api_status(e, 402, 402)
            }))
            .step(Step::err(heartbeat(["a"]), ErrorKind::NotEnabled)),
        Scenario::new("402: global here now disabled", G)
            .keyset(KeysetOptions::new().global_here_now(false))
            .step(Step::ok(Call::HereNow(here_now(["a"]))))
            .step(Step::err_with(Call::HereNow(HereNowCall::default()), ErrorKind::NotEnabled, |e| {
                api_status(e, 402, 402)
            })),
        Scenario {
            identity: Identity {
                auth_token: Some("tok-a".to_owned()),
                ..Identity::default()
            },
            ..Scenario::new("403: Access Manager names the refused channels and groups", G)
        }
        .keyset(KeysetOptions::new().access_manager(
            AccessManager::new()
                .grant_channel("tok-a", "open", Permissions::READ)
                .grant_group("tok-a", "open-group", Permissions::ALL),
        ))
        .step(Step::ok(heartbeat(["open"])))
        .step(Step::ok(add_to_group("open-group", ["open"])))
        .step(Step::err_with(
            Call::HereNow(here_now(["open", "secret"])),
            ErrorKind::AccessDenied,
            |e| {
                api_status(e, 403, 403)?;
                let api = e.api().ok_or("no api")?;
                ensure!(api.channels == ["secret"] && api.groups.is_empty(), "{api:?}");
                Ok(())
            },
        ))
        .step(Step::err_with(
            Call::Heartbeat(HeartbeatCall {
                groups: names(["secret-group"]),
                ..HeartbeatCall::default()
            }),
            ErrorKind::AccessDenied,
            |e| {
                let api = e.api().ok_or("no api")?;
                ensure!(api.groups == ["secret-group"], "{api:?}");
                Ok(())
            },
        ))
        .step(Step::err(
            Call::ListGroupChannels {
                group: "secret-group".to_owned(),
            },
            ErrorKind::AccessDenied,
        )),
        Scenario::new("400: error carried in an HTTP 200 body", G)
            .step(Step::err_with(
                Call::SetState(SetStateCall {
                    groups: names(["no-such-group"]),
                    state: json!({"a": 1}),
                    ..SetStateCall::default()
                }),
                ErrorKind::BadRequest,
                |e| {
                    api_status(e, 400, 200)?;
                    let api = e.api().ok_or("no api")?;
                    ensure!(api.message.as_deref() == Some("No valid channels specified"), "{api:?}");
                    Ok(())
                },
            ))
            .step(Step::err(
                Call::GetState(GetStateCall {
                    groups: names(["no-such-group"]),
                    ..GetStateCall::default()
                }),
                ErrorKind::BadRequest,
            )),
        Scenario::new("400, 404, 414 from the service", G)
            .step(Step::err_with(Call::HereNow(here_now(["a"])), ErrorKind::BadRequest, |e| api_status(e, 400, 400))
                .fault(respond_once(400, &json_body(400, "Invalid Arguments"))))
            .step(Step::err_with(Call::HereNow(here_now(["a"])), ErrorKind::NotFound, |e| api_status(e, 404, 404))
                .fault(respond_once(404, &json_body(404, "Not Found"))))
            .step(Step::err_with(Call::HereNow(here_now(["a"])), ErrorKind::TooLarge, |e| api_status(e, 414, 414))
                .fault(respond_once(414, "<html>URI Too Long</html>"))),
        Scenario::new("client-side: URL over 32 KiB is refused before sending", G)
            .step(Step::err_with(
                Call::HereNow(HereNowCall {
                    channels: long_channels,
                    ..HereNowCall::default()
                }),
                ErrorKind::TooLarge,
                |e| {
                    ensure!(matches!(e, Error::UrlTooLong { .. }), "{e:?}");
                    Ok(())
                },
            ).requests(0))
            .step(Step::err(heartbeat([]), ErrorKind::InvalidInput).requests(0))
            .step(Step::err(heartbeat([" "]), ErrorKind::InvalidInput).requests(0)),
        Scenario::new("429 and 5xx without a retry policy", G)
            .step(Step::err_with(Call::HereNow(here_now(["a"])), ErrorKind::TooManyRequests, |e| {
                api_status(e, 429, 429)?;
                ensure!(e.retry_after() == Some(Duration::from_secs(1)), "retry_after {:?}", e.retry_after());
                ensure!(e.is_retryable(), "429 must be retryable");
                Ok(())
            })
            .fault(respond_once(429, &json_body(429, "Too Many Requests")).retry_after(1))
            .requests(1))
            .step(Step::err_with(Call::HereNow(here_now(["a"])), ErrorKind::Server, |e| api_status(e, 500, 500))
                .fault(FaultRule::new(FaultAction::Respond {
                    status: 500,
                    body: "<html><body>Internal Server Error</body></html>".to_owned(),
                    content_type: Some("text/html".to_owned()),
                }))
                .requests(1))
            .step(Step::err_with(Call::HereNow(here_now(["a"])), ErrorKind::Server, |e| api_status(e, 503, 200))
                .fault(respond_once(200, r#"{"status": 503, "message": "Service Unavailable", "error": 1, "service": "Presence"}"#))
                .requests(1))
            .step(Step::err(Call::HereNow(here_now(["a"])), ErrorKind::Server)
                .fault(respond_once(502, ""))
                .requests(1)),
    ]
}

fn faults() -> Vec<Scenario> {
    use Group::Faults as G;
    let fast_retries = |n: u32| ClientOptions {
        retry_policy: RetryPolicy::linear(Duration::from_millis(20), n),
        ..ClientOptions::default()
    };
    let short_timeout = |ms: u64| ClientOptions {
        request_timeout: Some(Duration::from_millis(ms)),
        ..ClientOptions::default()
    };
    let here = || Call::HereNow(here_now(["a"]));
    let check_here = |o: &Outcome| {
        ensure!(occupants(o.here_now()?, "a")? == ["alice"], "{o:?}");
        Ok(())
    };
    vec![
        Scenario::new("fault: 5xx then success with a retry policy", G)
            .client(fast_retries(3))
            .step(Step::ok(heartbeat(["a"])))
            .step(Step::ok_with(here(), check_here)
                .fault(FaultRule::respond(503, json_body(503, "Service Unavailable")).times(2))
                .requests(3)),
        Scenario::new("fault: retries used up", G)
            .client(fast_retries(2))
            .step(Step::err(here(), ErrorKind::Server)
                .fault(FaultRule::respond(500, json_body(500, "boom")).forever())
                .requests(3)),
        Scenario::new("fault: 4xx is never retried", G)
            .client(fast_retries(3))
            .step(Step::err(here(), ErrorKind::NotFound)
                .fault(FaultRule::respond(404, json_body(404, "Not Found")).forever())
                .requests(1)),
        Scenario::new("fault: 429 honours Retry-After", G)
            .client(ClientOptions {
                // Retry-After (1 s) is honoured up to the policy's own longest wait (2 s).
                retry_policy: RetryPolicy::linear(Duration::from_secs(2), 2),
                ..ClientOptions::default()
            })
            .step(Step::ok(heartbeat(["a"])))
            .step(Step::ok_with(here(), check_here)
                .fault(FaultRule::respond(429, json_body(429, "Too Many Requests")).retry_after(1))
                .elapsed(Duration::from_secs(1), None)
                .requests(2)),
        Scenario::new("fault: delay longer than the timeout", G)
            .client(short_timeout(300))
            .step(Step::err_with(here(), ErrorKind::Timeout, |e| {
                ensure!(matches!(e, Error::Timeout { after } if *after == Duration::from_millis(300)), "{e:?}");
                Ok(())
            })
            .fault(FaultRule::delay(Duration::from_secs(5)))
            .elapsed(Duration::from_millis(300), Some(Duration::from_secs(3)))),
        Scenario::new("fault: timeout, then success on retry", G)
            .client(ClientOptions {
                request_timeout: Some(Duration::from_millis(300)),
                retry_policy: RetryPolicy::linear(Duration::from_millis(10), 1),
                ..ClientOptions::default()
            })
            .step(Step::ok(heartbeat(["a"])))
            .step(Step::ok_with(here(), check_here)
                .fault(FaultRule::delay(Duration::from_secs(5)))
                .elapsed(Duration::from_millis(300), None)
                .requests(2)),
        Scenario::new("fault: body stalled mid-way", G)
            .client(short_timeout(300))
            .step(Step::ok(heartbeat(["a"])))
            .step(Step::err(here(), ErrorKind::Timeout)
                .fault(FaultRule::stall(10, Duration::from_secs(5)))
                .elapsed(Duration::from_millis(300), Some(Duration::from_secs(3)))),
        // The emulator announces the whole body in Content-Length, sends part of it and closes:
        // the HTTP layer sees the body end early, before any JSON parsing, so this is a
        // network error ("read body"), not a decode error.
        Scenario::new("fault: truncated body", G)
            .step(Step::ok(heartbeat(["a"])))
            .step(Step::err(here(), ErrorKind::Network).fault(FaultRule::truncate(10))),
        // Valid HTTP whose JSON is cut in half: the core's parser reports it.
        Scenario::new("fault: invalid JSON", G)
            .step(Step::ok(heartbeat(["a"])))
            .step(Step::err_with(here(), ErrorKind::Decode, |e| {
                ensure!(e.status() == Some(200), "{e:?}");
                Ok(())
            })
            .fault(FaultRule::invalid_json())),
        Scenario {
            emulator: EmulatorSetup {
                gzip_threshold: Some(usize::MAX),
                ..EmulatorSetup::default()
            },
            ..Scenario::new("fault: oversized body", G)
        }
        .client(ClientOptions {
            max_body_size: Some(64 * 1024),
            ..ClientOptions::default()
        })
        .step(Step::ok(heartbeat(["a"])))
        .step(Step::ok(here()).fault(FaultRule::pad_to(60 * 1024)))
        .step(Step::err_with(here(), ErrorKind::TooLarge, |e| {
            ensure!(matches!(e, Error::BodyTooLarge { limit: 65_536 }), "{e:?}");
            Ok(())
        })
        .fault(FaultRule::pad_to(100 * 1024))),
        Scenario {
            emulator: EmulatorSetup {
                gzip_threshold: Some(usize::MAX),
                ..EmulatorSetup::default()
            },
            ..Scenario::new("fault: body over the default 8 MiB cap", G)
        }
        .step(Step::err_with(here(), ErrorKind::TooLarge, |e| {
            ensure!(matches!(e, Error::BodyTooLarge { limit } if *limit == 8 * 1024 * 1024), "{e:?}");
            Ok(())
        })
        .fault(FaultRule::pad_to(9 * 1024 * 1024))),
        Scenario {
            emulator: EmulatorSetup {
                gzip_threshold: Some(0),
                ..EmulatorSetup::default()
            },
            ..Scenario::new("gzip replies are inflated by the core", G)
        }
        .step(Step::ok(heartbeat(["a"])))
        .step(Step::ok_with(here(), check_here))
        .step(Step::ok(here()).fault(FaultRule::pad_to(2 * 1024 * 1024))),
        Scenario::new("fault: dropped connection", G)
            .step(Step::err(here(), ErrorKind::Network).fault(FaultRule::drop_connection().forever())),
        Scenario::new("fault: dropped connection, then success on retry", G)
            .client(fast_retries(2))
            .step(Step::ok(heartbeat(["a"])))
            .step(Step::ok_with(here(), check_here)
                .fault(FaultRule::drop_connection().times(2))
                .requests(3)),
    ]
}
