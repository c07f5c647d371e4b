//! The proxy under test: nginx with a config made from the scenario's
//! balancer, `fleetsim proxy` (this binary), or one already running at
//! `--target`. A started proxy is a child process held by [`Child`], which
//! kills and reaps it when dropped, so it ends on every exit path (an
//! error, a panic unwinding, the end of the run); each also gets a
//! lifetime bound of its own where it takes one.

use super::plan::Plan;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use strategies::balance::StrategyKind;

/// A child process killed and reaped on drop.
pub(crate) struct Child {
    child: std::process::Child,
    /// A directory it owns, removed after it ends.
    dir: Option<PathBuf>,
}

/// Children alive now and the directories they own, for the Ctrl-C
/// handler to stop and remove.
static LIVE: std::sync::Mutex<Vec<(u32, Option<PathBuf>)>> = std::sync::Mutex::new(Vec::new());

/// Asks process `pid` to stop (SIGTERM: nginx's master then stops its
/// workers; SIGKILL would orphan them).
fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops every live child and removes its directory: for the Ctrl-C
/// handler.
pub(crate) fn terminate_all() {
    if let Ok(live) = LIVE.lock() {
        for (pid, _) in live.iter() {
            terminate(*pid);
        }
        // A moment for them to stop writing into their directories.
        std::thread::sleep(Duration::from_millis(300));
        for (_, dir) in live.iter() {
            if let Some(d) = dir {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
}

impl Child {
    fn new(child: std::process::Child, dir: Option<PathBuf>) -> Child {
        if let Ok(mut live) = LIVE.lock() {
            live.push((child.id(), dir.clone()));
        }
        Child { child, dir }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let pid = self.child.id();
        terminate(pid);
        // Up to 3 s to stop in order, then killed.
        let until = crate::progress::now() + Duration::from_secs(3);
        while crate::progress::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|(p, _)| *p != pid);
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The proxy the load goes through.
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    /// `nginx 1.22.1`, `fleetsim proxy`, `external`.
    pub(crate) name: String,
    _child: Option<Child>,
}

/// `addr` if it is a loopback address with a port.
pub(crate) fn loopback(addr: &str, what: &str) -> Result<SocketAddr, String> {
    let a: SocketAddr = addr.parse().map_err(|_| {
        format!("{what} `{addr}`: give an IP address and port on loopback, such as 127.0.0.1:8080")
    })?;
    if !a.ip().is_loopback() {
        return Err(format!(
            "{what} `{addr}`: calibrate sends traffic to loopback only (127.0.0.1 or ::1)"
        ));
    }
    Ok(a)
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until `addr` accepts a connection, up to `limit`.
fn wait_ready(addr: SocketAddr, limit: Duration, child: &mut Child) -> Result<(), String> {
    let until = crate::progress::now() + limit;
    while crate::progress::now() < until {
        if let Ok(Some(status)) = child.child.try_wait() {
            return Err(format!("the proxy exited before it was ready ({status})"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "the proxy did not accept connections on {addr} within {limit:?}"
    ))
}

/// nginx's upstream directive for the scenario's balancer.
fn nginx_method(kind: StrategyKind) -> &'static str {
    match kind {
        StrategyKind::LeastConnections => "least_conn;",
        StrategyKind::PowerOfTwo => "random two least_conn;",
        StrategyKind::Random => "random;",
        // Round robin and weighted round robin are nginx's default.
        _ => "",
    }
}

/// An nginx config: one worker (one balancer, as simulated), the
/// scenario's balancer and weights over `backends`, keep-alive upstream
/// connections, everything under `dir`.
pub(crate) fn nginx_conf(plan: &Plan, backends: &[SocketAddr], port: u16, dir: &Path) -> String {
    let weighted = plan.strategy == StrategyKind::Weighted;
    let servers: String = backends
        .iter()
        .zip(&plan.instances)
        .map(|(a, b)| {
            let w = if weighted && b.weight != 1 {
                format!(" weight={}", b.weight)
            } else {
                String::new()
            };
            // No passive ejection: the simulated deployment has none.
            format!("    server {a}{w} max_fails=0;\n")
        })
        .collect();
    let d = dir.display();
    format!(
        "worker_processes 1;\n\
         error_log {d}/error.log warn;\n\
         pid {d}/nginx.pid;\n\
         events {{ worker_connections 8192; }}\n\
         http {{\n  access_log off;\n\
         \x20 client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         \x20 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         \x20 upstream fleet {{\n    {}\n{servers}    keepalive 1024;\n  }}\n\
         \x20 server {{\n    listen 127.0.0.1:{port};\n    keepalive_requests 1000000;\n\
         \x20   location / {{\n      proxy_pass http://fleet;\n      proxy_http_version 1.1;\n\
         \x20     proxy_set_header Connection \"\";\n      proxy_read_timeout 120s;\n    }}\n  }}\n}}\n",
        nginx_method(plan.strategy)
    )
}

fn nginx_binary() -> Result<PathBuf, String> {
    if let Some(paths) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&paths) {
            let p = d.join("nginx");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    for p in [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ] {
        if Path::new(p).is_file() {
            return Ok(PathBuf::from(p));
        }
    }
    Err(
        "--proxy nginx: no nginx on PATH or in /usr/sbin (install it: apt-get install nginx-light)"
            .into(),
    )
}

impl Target {
    /// A proxy already running at `addr` (loopback only).
    pub(crate) fn external(addr: &str) -> Result<Target, String> {
        let addr = loopback(addr, "--target")?;
        Ok(Target {
            addr,
            name: format!("the proxy at {addr}"),
            _child: None,
        })
    }

    /// nginx as a child, configured from `plan` in front of `backends`.
    pub(crate) fn nginx(plan: &Plan, backends: &[SocketAddr]) -> Result<Target, String> {
        let bin = nginx_binary()?;
        let dir = std::env::temp_dir().join(format!(
            "fleetsim-calibrate-nginx-{}-{}",
            std::process::id(),
            free_port().unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = free_port().map_err(|e| format!("no free loopback port: {e}"))?;
        let conf = nginx_conf(plan, backends, port, &dir);
        std::fs::write(dir.join("nginx.conf"), conf)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let version = Command::new(&bin)
            .arg("-v")
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(&o.stderr)
                    .trim()
                    .replace("nginx version: ", "")
            })
            .unwrap_or_else(|| "nginx".into());
        let child = Command::new(&bin)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-g")
            .arg("daemon off;")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut child = Child::new(child, Some(dir.clone()));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_ready(addr, Duration::from_secs(10), &mut child).map_err(|e| {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            format!("nginx: {e}\n{log}")
        })?;
        Ok(Target {
            addr,
            name: version,
            _child: Some(child),
        })
    }

    /// `fleetsim proxy SCENARIO` (this binary) as a child in front of
    /// `backends`, for at most `lifetime`; its address is read from its
    /// `listening on ADDR` line on stderr.
    pub(crate) fn fleetsim(
        scenario: &Path,
        backends: &[SocketAddr],
        lifetime: Duration,
    ) -> Result<Target, String> {
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find fleetsim itself: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.arg("proxy")
            .arg(scenario)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--duration")
            .arg(format!("{}s", lifetime.as_secs().max(1)));
        for b in backends {
            cmd.arg("--backend").arg(b.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start fleetsim proxy: {e}"))?;
        let stderr = child.stderr.take();
        let mut child = Child::new(child, None);
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(err) = stderr {
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for line in BufReader::new(err)
                    .lines()
                    .map_while(Result::ok)
                    .take(10_000)
                {
                    if let Some(a) = line.trim().strip_prefix("listening on ") {
                        let _ = tx.send(Ok(a.trim().to_string()));
                    } else if seen.len() < 20 {
                        seen.push(line);
                    }
                }
                let _ = tx.send(Err(seen.join("\n")));
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(Ok(a)) => loopback(&a, "fleetsim proxy's address")?,
            Ok(Err(log)) => {
                return Err(format!("fleetsim proxy exited before it listened:\n{log}"))
            }
            Err(_) => return Err("fleetsim proxy printed no `listening on` within 15 s".into()),
        };
        wait_ready(addr, Duration::from_secs(10), &mut child)?;
        Ok(Target {
            addr,
            name: "fleetsim proxy".into(),
            _child: Some(child),
        })
    }
}
