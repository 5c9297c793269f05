//! Peak memory of the client on a 50 MB `/ventas` response, through real HTTP.
//!
//! The body is written to a temporary file and streamed from disk by a bare TCP server
//! thread, so the process's peak RSS (`VmHWM`) is the client's cost: the parsed lines plus
//! buffers. The measurement runs in a process of its own (this test binary again, running
//! only [`measure_in_this_process`]), so no other test shares it.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use chrono::NaiveDate;
use klk_etl::klk::{Client, ClientOptions, RetryPolicy, SalesRequest};
use serde_json::{Value, json};

const TARGET_BYTES: u64 = 50 * 1024 * 1024;

fn sample_line() -> Value {
    let path = format!(
        "{}/tests/fixtures/klk/ventas_sample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let body: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    body["ventas"][0].clone()
}

/// Writes a KLK body of distinct lines until it reaches `TARGET_BYTES`; returns the line count.
fn write_body(file: &File) -> usize {
    let mut writer = BufWriter::new(file);
    let mut line = sample_line();
    write!(
        writer,
        r#"{{"meta": {{"sucursal_codigo": "SUC001"}}, "ventas": ["#
    )
    .unwrap();
    let mut written = 0u64;
    let mut count = 0;
    while written < TARGET_BYTES {
        line["numero_factura"] = json!(format!("C{:02}-01-{:08}", count % 12, count / 3));
        line["linea"] = json!(count % 3 + 1);
        let bytes = serde_json::to_vec(&line).unwrap();
        if count > 0 {
            writer.write_all(b",").unwrap();
        }
        writer.write_all(&bytes).unwrap();
        written += bytes.len() as u64 + 1;
        count += 1;
    }
    writer.write_all(b"]}").unwrap();
    writer.flush().unwrap();
    count
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

/// Set in the child process that measures.
const CHILD: &str = "KLK_ETL_MEMORY_TEST_CHILD";

#[test]
fn a_50_mb_response_parses_in_less_memory_than_its_size() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "klk_memory::measure_in_this_process",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the measuring process failed:\n{stdout}\n{stderr}"
    );
    eprint!("{stderr}");
}

/// The measurement itself; does nothing unless started by the test above as its own process.
#[test]
fn measure_in_this_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let body = tempfile::tempfile().unwrap();
    let lines = write_body(&body);
    let body_len = body.metadata().unwrap().len();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                content_length = value.trim().parse().unwrap();
            }
            if header.trim().is_empty() {
                break;
            }
        }
        reader
            .by_ref()
            .take(content_length)
            .read_to_end(&mut Vec::new())
            .unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut body = body;
        std::io::Seek::rewind(&mut body).unwrap();
        std::io::copy(&mut body, &mut stream).unwrap();
    });

    let client = Client::new(ClientOptions {
        read_timeout: Duration::from_secs(30),
        total_timeout: Duration::from_secs(60),
        retry: RetryPolicy::NONE,
        ..ClientOptions::new(format!("http://{addr}"))
    })
    .unwrap();
    let day = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
    let batch = client
        .fetch_sales(&SalesRequest::days("SUC001", day, day))
        .unwrap();
    let peak = peak_rss_bytes();
    server.join().unwrap();

    assert_eq!(batch.lines.len(), lines);
    assert_eq!(batch.duplicates_removed, 0);
    let ratio = peak as f64 / body_len as f64;
    eprintln!(
        "body {:.1} MB, {lines} lines, peak RSS {:.1} MB ({ratio:.2}x the body)",
        body_len as f64 / 1e6,
        peak as f64 / 1e6
    );
    // The lines are kept column by column (`SalesLines`): about 0.7x here, where a
    // `Vec<SalesLine>` alone took about the body's size.
    assert!(
        ratio < 1.0,
        "peak RSS {peak} bytes is {ratio:.2}x a {body_len}-byte body"
    );
}
