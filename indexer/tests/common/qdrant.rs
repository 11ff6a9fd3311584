//! A real Qdrant server for the tests: `../shared/bin/qdrant` (or
//! `SCRY_QDRANT_BIN`), started on free loopback ports in a temporary folder with
//! its own storage, once per test binary, and killed when the binary exits. No
//! mock: where the binary is missing the tests that need it skip with a message,
//! unless `SCRY_REQUIRE_QDRANT=1` (CI), where they fail.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct QdrantServer {
    child: Mutex<Option<Child>>,
    dir: PathBuf,
    pub http: u16,
    pub grpc: u16,
    /// A cluster node's peer-to-peer port, and the p2p port of the node it
    /// joins (none for the first node).
    p2p: Option<u16>,
    bootstrap: Option<u16>,
}

fn binary() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("SCRY_QDRANT_BIN") {
        return Some(PathBuf::from(b));
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("Cargo.lock").exists())?
        .to_path_buf();
    let b = repo.parent()?.join("shared/bin/qdrant");
    b.is_file().then_some(b)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthy(http: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", http)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200")
}

impl QdrantServer {
    /// The server shared by this test binary, started on first use; `None` (with
    /// a message) where the binary is missing and not required.
    pub fn shared() -> Option<&'static QdrantServer> {
        static SERVER: OnceLock<Option<QdrantServer>> = OnceLock::new();
        SERVER
            .get_or_init(|| {
                let Some(bin) = binary() else {
                    if std::env::var_os("SCRY_REQUIRE_QDRANT").is_some_and(|v| v == "1") {
                        panic!(
                            "SCRY_REQUIRE_QDRANT=1 but no Qdrant binary: expected ../shared/bin/qdrant \
                             beside the repository, or SCRY_QDRANT_BIN"
                        );
                    }
                    eprintln!(
                        "skipping the Qdrant tests: no ../shared/bin/qdrant (set SCRY_QDRANT_BIN)"
                    );
                    return None;
                };
                Some(QdrantServer::start(&bin))
            })
            .as_ref()
    }

    /// A server of its own (for tests that stop it), killed when dropped; `None`
    /// as for [`QdrantServer::shared`].
    pub fn own() -> Option<QdrantServer> {
        QdrantServer::shared()?;
        Some(QdrantServer::start(&binary()?))
    }

    /// The URL of a collection of this server (searched exactly unless `hnsw`).
    pub fn url(&self, name: &str, exact: bool) -> String {
        format!(
            "qdrant://127.0.0.1:{}/{name}{}",
            self.grpc,
            if exact { "?exact=true" } else { "" }
        )
    }

    /// A new server in a new temporary folder, on free ports.
    fn start(bin: &Path) -> QdrantServer {
        let server = QdrantServer::unstarted(None, None);
        server.start_with(bin);
        server
    }

    fn unstarted(p2p: Option<u16>, bootstrap: Option<u16>) -> QdrantServer {
        let dir = tempfile::Builder::new()
            .prefix("scry-qdrant-")
            .tempdir()
            .unwrap()
            .keep();
        QdrantServer {
            child: Mutex::new(None),
            dir,
            http: free_port(),
            grpc: free_port(),
            p2p,
            bootstrap,
        }
    }

    fn start_with(&self, bin: &Path) {
        let (bin, dir, http, grpc) = (bin.to_path_buf(), self.dir.clone(), self.http, self.grpc);
        let (p2p, bootstrap) = (self.p2p, self.bootstrap);
        // Started from a thread that lives as long as the process: the server
        // gets SIGKILL when its parent thread ends (PR_SET_PDEATHSIG), so it
        // never outlives the tests, and not before.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let log = std::fs::File::create(dir.join("qdrant.log")).unwrap();
            let mut cmd = Command::new(&bin);
            cmd.arg("--disable-telemetry")
                .current_dir(&dir)
                .env("RUN_MODE", "production")
                .env("QDRANT__SERVICE__HOST", "127.0.0.1")
                .env("QDRANT__SERVICE__HTTP_PORT", http.to_string())
                .env("QDRANT__SERVICE__GRPC_PORT", grpc.to_string())
                .env("QDRANT__STORAGE__STORAGE_PATH", dir.join("storage"))
                .env("QDRANT__STORAGE__SNAPSHOTS_PATH", dir.join("snapshots"))
                .env("QDRANT__LOG_LEVEL", "WARN");
            if let Some(p2p) = p2p {
                // A cluster node: its p2p address, and the peer it joins.
                cmd.env("QDRANT__CLUSTER__ENABLED", "true")
                    .env("QDRANT__CLUSTER__P2P__PORT", p2p.to_string())
                    .args(["--uri", &format!("http://127.0.0.1:{p2p}")]);
                if let Some(b) = bootstrap {
                    cmd.args(["--bootstrap", &format!("http://127.0.0.1:{b}")]);
                }
            }
            cmd.stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            #[cfg(target_os = "linux")]
            unsafe {
                use std::os::unix::process::CommandExt;
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            tx.send(cmd.spawn().expect("start qdrant")).unwrap();
            loop {
                std::thread::park();
            }
        });
        let child = rx.recv().unwrap();
        *self.child.lock().unwrap() = Some(child);
        let t = Instant::now();
        while !healthy(self.http) || TcpStream::connect(("127.0.0.1", self.grpc)).is_err() {
            if t.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(self.dir.join("qdrant.log")).unwrap_or_default();
                panic!("Qdrant did not start within 60 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server (as a crash would).
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The server's process id (for its memory).
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
    }

    /// The folder holding its storage.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `GET path` on the HTTP port: the body of a 200 answer.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.http)).ok()?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let (head, body) = out.split_once("\r\n\r\n")?;
        (head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"))
            .then(|| body.to_string())
    }

    /// Starts it again on the same ports and storage.
    /// (Its storage folder is removed when an owned server is dropped.)
    pub fn restart(&self) {
        self.kill();
        self.start_with(&binary().expect("qdrant binary"));
    }
}

/// Three (or more) Qdrant nodes on loopback forming one cluster: the first
/// bootstraps it, the others join through its p2p port (as Qdrant's own
/// consensus tests start them). Killed and removed when dropped.
pub struct QdrantCluster {
    pub nodes: Vec<QdrantServer>,
}

impl QdrantCluster {
    /// `None` (with a message) where the binary is missing and not required.
    pub fn start(n: usize) -> Option<QdrantCluster> {
        QdrantServer::shared()?;
        let bin = binary()?;
        let first_p2p = free_port();
        let mut nodes = vec![QdrantServer::unstarted(Some(first_p2p), None)];
        nodes[0].start_with(&bin);
        for _ in 1..n {
            let node = QdrantServer::unstarted(Some(free_port()), Some(first_p2p));
            node.start_with(&bin);
            nodes.push(node);
        }
        let cluster = QdrantCluster { nodes };
        cluster.wait("every node to join", Duration::from_secs(60), |c| {
            c.nodes.iter().all(|node| {
                node.get("/cluster").is_some_and(|b| {
                    let v: serde_json::Value = serde_json::from_str(&b).unwrap_or_default();
                    v["result"]["peers"].as_object().map_or(0, |p| p.len()) == n
                })
            })
        });
        Some(cluster)
    }

    /// A `qdrant://` URL naming every node, the node `first` first.
    pub fn url(&self, name: &str, first: usize, options: &str) -> String {
        let n = self.nodes.len();
        let nodes: Vec<String> = (0..n)
            .map(|i| format!("127.0.0.1:{}", self.nodes[(first + i) % n].grpc))
            .collect();
        format!("qdrant://{}/{name}{options}", nodes.join(","))
    }

    /// The collection an alias points at, as the first live node says.
    pub fn alias_target(&self, alias: &str) -> Option<String> {
        let body = self.nodes.iter().find_map(|n| n.get("/aliases"))?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["result"]["aliases"]
            .as_array()?
            .iter()
            .find(|a| a["alias_name"] == alias)
            .and_then(|a| a["collection_name"].as_str())
            .map(str::to_string)
    }

    /// The state of every replica of `collection` as each live node reports
    /// its own (`Active`, `Dead`, `Partial`, …), by shard.
    pub fn replica_states(&self, collection: &str) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for node in &self.nodes {
            let Some(body) = node.get(&format!("/collections/{collection}/cluster")) else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            for s in v["result"]["local_shards"].as_array().into_iter().flatten() {
                out.push((
                    s["shard_id"].as_u64().unwrap_or(u64::MAX),
                    s["state"].as_str().unwrap_or("?").to_string(),
                ));
            }
        }
        out.sort();
        out
    }

    /// Waits until `ready` holds, panicking with the nodes' logs after `limit`.
    pub fn wait(&self, what: &str, limit: Duration, ready: impl Fn(&Self) -> bool) {
        let t = Instant::now();
        while !ready(self) {
            if t.elapsed() > limit {
                let logs: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|n| std::fs::read_to_string(n.dir.join("qdrant.log")).unwrap_or_default())
                    .collect();
                panic!(
                    "waited {limit:?} for {what}; logs:\n{}",
                    logs.join("\n---\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for QdrantServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
