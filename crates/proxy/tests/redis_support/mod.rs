//! Redis stand-ins for the rate-limit tests: a real `redis-server` child that can be stopped
//! and restarted, a listener that never answers, and a fake Redis that answers every command
//! with an error.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A `redis-server` child on a fixed port, killed on drop.
pub struct RedisChild {
    child: Child,
}

impl RedisChild {
    /// Starts `redis-server` (no persistence, so a restart begins empty); `None` when the
    /// binary is not installed.
    pub fn start(port: u16, directory: &Path) -> Option<RedisChild> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(directory)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(RedisChild { child })
    }

    /// Starts one on a free port, or says loudly why not (a failure under `CI=true`).
    pub fn start_on_free_port(directory: &Path) -> Option<(RedisChild, u16)> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        match RedisChild::start(port, directory) {
            Some(server) => Some((server, port)),
            None => {
                if std::env::var("CI").is_ok_and(|value| value == "true") {
                    panic!("redis-server is not installed and CI=true");
                }
                eprintln!("SKIPPED: redis-server not installed; this test did not run");
                None
            }
        }
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP listener that accepts connections and never answers.
pub struct SilentListener {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl SilentListener {
    pub async fn start() -> SilentListener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        SilentListener { port, task }
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The error line the fake answers every command with.
pub const INJECTED_ERROR: &[u8] = b"-ERR injected failure\r\n";

/// A fake Redis that speaks RESP and answers every command — the client's connection set-up
/// (`CLIENT SETINFO`) as much as `EVALSHA` — with [`INJECTED_ERROR`]. It records the
/// commands it was sent (the name, plus the sub-command for `CLIENT`/`SCRIPT`).
pub struct ErroringRedis {
    pub port: u16,
    commands: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ErroringRedis {
    pub async fn start() -> ErroringRedis {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&commands);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer_with_errors(socket, Arc::clone(&seen)));
            }
        });
        ErroringRedis {
            port,
            commands,
            task,
        }
    }

    /// The commands received so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().expect("command log").clone()
    }

    /// How many received commands are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.commands()
            .iter()
            .filter(|command| command.as_str() == name)
            .count()
    }
}

impl Drop for ErroringRedis {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer_with_errors(mut socket: tokio::net::TcpStream, seen: Arc<Mutex<Vec<String>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some((command, used)) = parse_command(&buffer) {
            buffer.drain(..used);
            seen.lock().expect("command log").push(command);
            if socket.write_all(INJECTED_ERROR).await.is_err() {
                return;
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

/// One complete RESP command at the start of `buffer` (an array of bulk strings, or an inline
/// line): its name and the bytes it used; `None` while it is incomplete.
fn parse_command(buffer: &[u8]) -> Option<(String, usize)> {
    let (first, mut at) = line(buffer, 0)?;
    let Some(count) = first.strip_prefix(b"*") else {
        let text = String::from_utf8_lossy(first);
        let name = text.split_whitespace().next().unwrap_or("").to_uppercase();
        return Some((name, at));
    };
    let count: usize = std::str::from_utf8(count).ok()?.parse().ok()?;
    let mut words = Vec::with_capacity(count);
    for _ in 0..count {
        let (header, after_header) = line(buffer, at)?;
        let length: usize = std::str::from_utf8(header.strip_prefix(b"$")?)
            .ok()?
            .parse()
            .ok()?;
        let end = after_header + length;
        if buffer.len() < end + 2 {
            return None;
        }
        words.push(String::from_utf8_lossy(&buffer[after_header..end]).to_uppercase());
        at = end + 2;
    }
    let name = match words.as_slice() {
        [command, sub, ..] if command == "CLIENT" || command == "SCRIPT" => {
            format!("{command} {sub}")
        }
        [command, ..] => command.clone(),
        [] => String::new(),
    };
    Some((name, at))
}

/// The line starting at `from` (without its CRLF) and the offset after it.
fn line(buffer: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = buffer.get(from..)?;
    let end = rest.windows(2).position(|pair| pair == b"\r\n")?;
    Some((&rest[..end], from + end + 2))
}
