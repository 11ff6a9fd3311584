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
        let dir = tempfile::Builder::new()
            .prefix("scry-qdrant-")
            .tempdir()
            .unwrap()
            .keep();
        let server = QdrantServer {
            child: Mutex::new(None),
            dir,
            http: free_port(),
            grpc: free_port(),
        };
        server.start_with(bin);
        server
    }

    fn start_with(&self, bin: &Path) {
        let (bin, dir, http, grpc) = (bin.to_path_buf(), self.dir.clone(), self.http, self.grpc);
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
                .env("QDRANT__LOG_LEVEL", "WARN")
                .stdin(Stdio::null())
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

    /// Starts it again on the same ports and storage.
    /// (Its storage folder is removed when an owned server is dropped.)
    pub fn restart(&self) {
        self.kill();
        self.start_with(&binary().expect("qdrant binary"));
    }
}

impl Drop for QdrantServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
