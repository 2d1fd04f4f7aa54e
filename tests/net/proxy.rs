//! A small HTTP proxy for the tests: `CONNECT` tunnels and absolute-form forwarding, optional
//! Basic credentials (a wrong or missing `Proxy-Authorization` gets 407), and a log of what it
//! saw. std threads only, bound to 127.0.0.1:0; stops when dropped (the listener thread ends
//! on its next accept).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the proxy saw: `CONNECT host:port` or `GET http://…`.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) authorized: bool,
}

pub(crate) struct TestProxy {
    pub(crate) addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl TestProxy {
    /// `credentials`: the `Proxy-Authorization` value required (`Basic …`), if any.
    pub(crate) fn start(credentials: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let required = credentials.map(str::to_owned);
        let (log, halt) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (log, required) = (Arc::clone(&log), required.clone());
                std::thread::spawn(move || handle(conn, &log, required.as_deref()));
            }
        });
        Self { addr, seen, stop }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("proxy log").clone()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

fn handle(mut client: TcpStream, log: &Mutex<Vec<Seen>>, required: Option<&str>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default().to_owned();
    let auth = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.trim().to_owned());
    let authorized = required.is_none_or(|r| auth.as_deref() == Some(r));
    log.lock().expect("proxy log").push(Seen {
        method: method.clone(),
        target: target.clone(),
        authorized,
    });
    if !authorized {
        let _ = client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    let (upstream_addr, forward_head) = if method == "CONNECT" {
        (target.clone(), None)
    } else {
        // Absolute form: http://host:port/path → connect to host:port, forward the head as is.
        let rest = target.strip_prefix("http://").unwrap_or(&target);
        let host = rest.split('/').next().unwrap_or_default().to_owned();
        (host, Some(head))
    };
    let Ok(mut upstream) = TcpStream::connect(&upstream_addr) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    match forward_head {
        None => {
            let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        }
        Some(head) => {
            let _ = upstream.write_all(&head);
        }
    }
    let _ = client.set_read_timeout(None);
    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
}
