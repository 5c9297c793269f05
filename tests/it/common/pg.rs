//! A real PostgreSQL server for the tests: the one `bash tests/run.sh` started
//! (`KLK_ETL_TEST_PG_URL`, `KLK_ETL_TEST_PG_TLS_URL`, `KLK_ETL_TEST_PG_CA`), else one started
//! here with `.ci/pg-cluster.sh` (left running for the next `cargo test`; `.ci/pg-cluster.sh
//! stop` ends it). A test that cannot get a server fails with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The server's admin URL (role `klk`, CREATEDB, password in the URL: a test server).
pub fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| from_env_or_start("KLK_ETL_TEST_PG_URL", &["start", "--fast"]))
}

/// A second server that accepts TLS only (`?sslmode=require` in its URL).
pub fn tls_server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| from_env_or_start("KLK_ETL_TEST_PG_TLS_URL", &["start", "--tls", "--fast"]))
}

/// The CA that signed the TLS server's certificate.
pub fn tls_ca() -> PathBuf {
    tls_server_url();
    match std::env::var("KLK_ETL_TEST_PG_CA") {
        Ok(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(cluster(&["ca", "--tls"])),
    }
}

fn from_env_or_start(var: &str, args: &[&str]) -> String {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => cluster(args),
    }
}

fn cluster(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/pg-cluster.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "PostgreSQL for the tests: `.ci/pg-cluster.sh {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `url` with another database name (the path), keeping user, password, host and query.
pub fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("server URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// `url` without its password (for URLs that must get it elsewhere).
pub fn without_password(url: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("server URL");
    parsed.set_password(None).expect("a URL with a host");
    parsed.to_string()
}

/// The password of `url`.
pub fn password(url: &str) -> String {
    url::Url::parse(url)
        .expect("server URL")
        .password()
        .expect("the test server's URL has a password")
        .to_string()
}

/// A new, empty database of the test server, dropped when this goes out of scope.
pub struct TestDatabase {
    pub name: String,
    /// Its URL, with the password.
    pub url: String,
    admin: String,
}

impl TestDatabase {
    pub fn new() -> TestDatabase {
        TestDatabase::on(server_url())
    }

    pub fn on(admin: &str) -> TestDatabase {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "klk_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut client = connect(admin);
        // One statement per call: DROP/CREATE DATABASE refuse a multi-statement batch.
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drop the test database");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        TestDatabase {
            url: with_database(admin, &name),
            name,
            admin: admin.to_string(),
        }
    }

    /// A client of this database (the tests' own reads and crafted writes).
    pub fn client(&self) -> postgres::Client {
        connect(&self.url)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&plain(&self.admin), postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The tests' own connections are plain TCP on 127.0.0.1 (the TLS server is only reached by
/// the binary under test).
fn plain(url: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("server URL");
    parsed.set_query(None);
    parsed.to_string()
}

pub fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(&plain(url), postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to the test server: {e}"))
}

/// `klk-etl db copy` of `env`'s configured file (`data/klk-etl.duckdb`) into `db` (it must
/// succeed).
pub fn copy_file_into(env: &super::TestEnv, db: &TestDatabase) {
    let out = env
        .cmd()
        .args([
            "db",
            "copy",
            "--from",
            "data/klk-etl.duckdb",
            "--to",
            &db.url,
        ])
        .output()
        .expect("klk-etl db copy");
    assert!(
        out.status.success(),
        "db copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
