//! Issue 19: TLS completed end to end against the emulator serving HTTPS, certificate failures
//! typed and non-retryable, and HTTP proxies (explicit, with Basic credentials, and from the
//! environment with `NO_PROXY`) through a real proxy started here — through both adapters.

#[path = "net/proxy.rs"]
mod proxy;

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use presence_emulator::{BackgroundEmulator, EmulatorBuilder, TlsIdentity};
use presence_proto::{CertificateProblem, Config, Error, ErrorKind};
use proxy::TestProxy;

const PROXY_USER: &str = "proxyuser";
const PROXY_PASSWORD: &str = "hunter2-proxy";
/// `Basic base64(proxyuser:hunter2-proxy)`.
const PROXY_AUTH: &str = "Basic cHJveHl1c2VyOmh1bnRlcjItcHJveHk=";

/// Everything logged (tracing and `log`, TRACE) by any test in this binary.
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    Arc::clone(LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .try_init();
        buffer
    }))
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn https_emulator(identity: TlsIdentity) -> BackgroundEmulator {
    EmulatorBuilder::new()
        .tls(identity)
        .start_in_background()
        .expect("emulator")
}

fn config(origin: &str) -> Config {
    Config::builder("demo", "alice")
        .origin(origin)
        .build()
        .expect("config")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// How a client is set up for one call.
#[derive(Clone, Default)]
struct Setup {
    root: Option<String>,
    proxy: Option<String>,
    no_proxy: bool,
}

/// One heartbeat then one here now through presence-tokio.
fn call_tokio(origin: &str, setup: &Setup) -> Result<u64, Error> {
    let mut builder =
        presence_tokio::Client::builder(config(origin)).request_timeout(Duration::from_secs(10));
    if let Some(pem) = &setup.root {
        builder = builder.add_root_certificate(pem);
    }
    if let Some(url) = &setup.proxy {
        builder = builder.proxy(url.clone());
    }
    if setup.no_proxy {
        builder = builder.no_proxy();
    }
    runtime().block_on(async {
        let client = builder.build()?;
        client.heartbeat().channels(["tls-lobby"]).await?;
        let here = client.here_now().channels(["tls-lobby"]).await?;
        Ok(here.total_occupancy)
    })
}

/// The same through presence-blocking.
fn call_blocking(origin: &str, setup: &Setup) -> Result<u64, Error> {
    let mut builder =
        presence_blocking::Client::builder(config(origin)).request_timeout(Duration::from_secs(10));
    if let Some(pem) = &setup.root {
        builder = builder.add_root_certificate(pem);
    }
    if let Some(url) = &setup.proxy {
        builder = builder.proxy(url.clone());
    }
    if setup.no_proxy {
        builder = builder.no_proxy();
    }
    let client = builder.build()?;
    client.heartbeat().channels(["tls-lobby"]).call()?;
    Ok(client
        .here_now()
        .channels(["tls-lobby"])
        .call()?
        .total_occupancy)
}

fn both(origin: &str, setup: &Setup) -> [(&'static str, Result<u64, Error>); 2] {
    [
        ("tokio", call_tokio(origin, setup)),
        ("blocking", call_blocking(origin, setup)),
    ]
}

#[test]
fn both_adapters_complete_calls_over_tls_to_the_emulator() {
    let identity = TlsIdentity::self_signed(["localhost", "127.0.0.1"]).expect("cert");
    let pem = identity.certificate_pem().to_owned();
    let emulator = https_emulator(identity);
    assert!(emulator.origin().starts_with("https://127.0.0.1:"));
    assert_eq!(emulator.certificate_pem(), Some(pem.as_str()));
    let setup = Setup {
        root: Some(pem),
        no_proxy: true,
        ..Setup::default()
    };
    for (adapter, result) in both(&emulator.origin(), &setup) {
        assert_eq!(result.expect(adapter), 1, "{adapter}");
    }
    // By name too (the certificate covers localhost).
    let by_name = emulator.origin().replace("127.0.0.1", "localhost");
    for (adapter, result) in both(&by_name, &setup) {
        assert!(result.is_ok(), "{adapter}: {result:?}");
    }
}

/// Each refusal is `Error::Certificate` with the right problem, kind `Certificate`, not
/// retryable, and says which in its message.
fn assert_refused(origin: &str, setup: &Setup, expected: CertificateProblem) {
    for (adapter, result) in both(origin, setup) {
        let err = result.expect_err(adapter);
        assert!(
            matches!(&err, Error::Certificate { problem, .. } if *problem == expected),
            "{adapter}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Certificate, "{adapter}");
        assert!(!err.is_retryable(), "{adapter}");
        assert!(err.to_string().contains(&expected.to_string()), "{err}");
    }
}

#[test]
fn an_unknown_ca_is_refused_as_such() {
    let emulator = https_emulator(TlsIdentity::self_signed(["127.0.0.1"]).expect("cert"));
    let setup = Setup {
        no_proxy: true,
        ..Setup::default()
    };
    assert_refused(
        &emulator.origin(),
        &setup,
        CertificateProblem::UnknownIssuer,
    );
}

#[test]
fn a_name_mismatch_is_refused_as_such() {
    let identity = TlsIdentity::self_signed(["example.test"]).expect("cert");
    let setup = Setup {
        root: Some(identity.certificate_pem().to_owned()),
        no_proxy: true,
        ..Setup::default()
    };
    let emulator = https_emulator(identity);
    assert_refused(&emulator.origin(), &setup, CertificateProblem::NameMismatch);
}

#[test]
fn an_expired_certificate_is_refused_as_such() {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    params.not_before = rcgen::date_time_ymd(2001, 1, 1);
    params.not_after = rcgen::date_time_ymd(2002, 1, 1);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    let identity = TlsIdentity::from_pem(cert.pem(), key.serialize_pem()).expect("identity");
    let setup = Setup {
        root: Some(cert.pem()),
        no_proxy: true,
        ..Setup::default()
    };
    let emulator = https_emulator(identity);
    assert_refused(&emulator.origin(), &setup, CertificateProblem::Expired);
}

#[test]
fn a_custom_root_that_is_not_pem_is_invalid_input() {
    let setup = Setup {
        root: Some("not a certificate".to_owned()),
        ..Setup::default()
    };
    for (adapter, result) in both("https://127.0.0.1:9", &setup) {
        assert_eq!(
            result.unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{adapter}"
        );
    }
}

#[test]
fn an_explicit_proxy_with_credentials_carries_http_and_https() {
    let log = captured();
    let proxy = TestProxy::start(Some(PROXY_AUTH));
    let url = format!("http://{PROXY_USER}:{PROXY_PASSWORD}@{}", proxy.addr);
    let plain = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let identity = TlsIdentity::self_signed(["127.0.0.1"]).expect("cert");
    let pem = identity.certificate_pem().to_owned();
    let secure = https_emulator(identity);
    let setup = Setup {
        root: Some(pem),
        proxy: Some(url.clone()),
        ..Setup::default()
    };
    for origin in [plain.origin(), secure.origin()] {
        for (adapter, result) in both(&origin, &setup) {
            assert!(
                result.is_ok(),
                "{adapter} via proxy to {origin}: {result:?}"
            );
        }
    }
    let seen = proxy.seen();
    assert!(seen.iter().all(|s| s.authorized), "{seen:?}");
    // https: CONNECT (both adapters); http: forwarded by presence-tokio, CONNECT by ureq.
    let secure_host = secure.host_port();
    let plain_host = plain.host_port();
    assert!(
        seen.iter()
            .filter(|s| s.method == "CONNECT" && s.target == secure_host)
            .count()
            >= 2,
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.method != "CONNECT" && s.target.contains(&plain_host)),
        "presence-tokio forwards plain http: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.method == "CONNECT" && s.target == plain_host),
        "ureq tunnels plain http: {seen:?}"
    );

    // Wrong credentials: refused by the proxy; the password shows nowhere.
    let wrong = Setup {
        proxy: Some(format!(
            "http://{PROXY_USER}:wrong-{PROXY_PASSWORD}@{}",
            proxy.addr
        )),
        no_proxy: false,
        ..Setup::default()
    };
    for (adapter, result) in both(&plain.origin(), &wrong) {
        let err = result.expect_err(adapter);
        let shown = format!("{err} {err:?} {}", chain(&err));
        assert!(!shown.contains(PROXY_PASSWORD), "{adapter}: {shown}");
    }
    // Debug of the clients and their options.
    let tokio_client = runtime().block_on(async {
        presence_tokio::Client::builder(config(&plain.origin()))
            .proxy(url.clone())
            .build()
            .expect("client")
    });
    let blocking_client = presence_blocking::Client::builder(config(&plain.origin()))
        .proxy(url.clone())
        .build()
        .expect("client");
    for shown in [format!("{tokio_client:?}"), format!("{blocking_client:?}")] {
        assert!(
            !shown.contains(PROXY_PASSWORD) && !shown.contains(PROXY_USER),
            "{shown}"
        );
    }
    let logged = String::from_utf8_lossy(&log.lock().expect("log")).into_owned();
    assert!(!logged.contains(PROXY_PASSWORD), "password logged");
    assert!(
        !logged.contains("cHJveHl1c2VyOmh1bnRlcjItcHJveHk="),
        "credentials logged"
    );
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut current = err.source();
    while let Some(e) = current {
        let _ = write!(out, " <- {e} {e:?}");
        current = e.source();
    }
    out
}

const CHILD: &str = "PRESENCE_PROXY_TEST_CHILD_ORIGIN";

/// Runs `proxy_from_env_child` in a fresh process with these proxy variables (no `unsafe`
/// `set_var` here), every other proxy variable removed.
fn run_child(origin: &str, vars: &[(&str, String)]) {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = std::process::Command::new(exe);
    command.args([
        "proxy_from_env_child",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ]);
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
        command.env_remove(name).env_remove(name.to_lowercase());
    }
    command.env(CHILD, origin);
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("child");
    std::io::stderr().write_all(&output.stdout).ok();
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// In the child: both adapters, default proxy settings (the environment), must succeed.
#[test]
fn proxy_from_env_child() {
    let Ok(origin) = std::env::var(CHILD) else {
        return; // only meaningful when started by `run_child`
    };
    for (adapter, result) in both(&origin, &Setup::default()) {
        assert!(result.is_ok(), "{adapter}: {result:?}");
    }
}

#[test]
fn the_environment_names_the_proxy_and_no_proxy_bypasses_it() {
    let plain = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    for (upper, lower) in [
        ("HTTP_PROXY", false),
        ("ALL_PROXY", false),
        ("HTTP_PROXY", true),
    ] {
        let proxy = TestProxy::start(None);
        let name = if lower {
            upper.to_lowercase()
        } else {
            upper.to_owned()
        };
        // HTTP_PROXY names the proxy for http origins (hyper-util); ureq reads it for all.
        run_child(&plain.origin(), &[(name.as_str(), proxy.url())]);
        assert!(
            proxy.seen().len() >= 2,
            "{name}: both adapters through the proxy: {:?}",
            proxy.seen()
        );
    }
    let proxy = TestProxy::start(None);
    run_child(
        &plain.origin(),
        &[
            ("HTTP_PROXY", proxy.url()),
            ("HTTPS_PROXY", proxy.url()),
            ("ALL_PROXY", proxy.url()),
            ("NO_PROXY", "localhost,127.0.0.1".to_owned()),
        ],
    );
    assert!(
        proxy.seen().is_empty(),
        "NO_PROXY bypasses: {:?}",
        proxy.seen()
    );
    // And an explicit `no_proxy()` ignores the environment: covered by every TLS test above
    // (they set it); here the default with nothing set goes direct.
    let untouched = TestProxy::start(None);
    run_child(&plain.origin(), &[]);
    assert!(untouched.seen().is_empty());
}
