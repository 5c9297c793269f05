//! The KLK client against an in-process simulator on 127.0.0.1: data, every fault class,
//! retries and their bounds, and secrecy of the token.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime};
use klk_etl::klk::{
    ApiError, Client, ClientOptions, ErrorKind, ResponseFormat, RetryPolicy, SalesRequest,
    StockRequest, TimeoutPhase,
};
use klk_etl::sim::{
    Endpoint, FaultAction, FaultRule, SimData, SimHandle, SimOptions, Simulator, truth,
};

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, 17).unwrap()
}

fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

fn small_data() -> SimData {
    SimData {
        articles_per_warehouse: 300,
        ..SimData::default()
    }
}

fn start(faults: Vec<FaultRule>) -> SimHandle {
    Simulator::start(SimOptions {
        port: 0,
        data: small_data(),
        faults,
    })
    .expect("simulator starts")
}

/// Small timeouts and backoff so that every fault test stays well under a few seconds.
fn fast_options(base_url: String) -> ClientOptions {
    ClientOptions {
        base_url,
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_millis(400),
        total_timeout: Duration::from_secs(3),
        token: None,
        headers: Vec::new(),
        ca_file: None,
        proxy: None,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_elapsed: Duration::from_secs(5),
        },
    }
}

fn client(sim: &SimHandle) -> Client {
    Client::new(fast_options(sim.base_url())).unwrap()
}

fn noon_window(sucursal: &str) -> SalesRequest {
    SalesRequest::hours(sucursal, day(), hm(12, 0), hm(12, 30))
}

fn sales_fault(action: &str) -> FaultRule {
    FaultRule::new(action.parse().unwrap())
        .store("SUC003")
        .endpoint(Endpoint::Ventas)
}

/// Fetches SUC003's noon window from a simulator with `rules`; returns the error and the
/// time the call took.
fn failing_fetch(rules: Vec<FaultRule>) -> (ApiError, Duration, SimHandle) {
    let sim = start(rules);
    let started = Instant::now();
    let error = client(&sim)
        .fetch_sales(&noon_window("SUC003"))
        .expect_err("the fault must surface as an error");
    (error, started.elapsed(), sim)
}

#[test]
fn a_window_matches_the_simulators_truth() {
    let sim = start(Vec::new());
    let request = noon_window("SUC001");
    let batch = client(&sim).fetch_sales(&request).unwrap();
    let expected = truth::sales_for_request(sim.data(), &request);
    assert!(!expected.is_empty());
    assert_eq!(batch.lines, expected);
    assert_eq!(batch.attempts, 1);
    assert_eq!(batch.format, ResponseFormat::Object);
    assert_eq!(batch.outside_window, 0);
    assert_eq!(batch.received, batch.lines.len() + batch.duplicates_removed);
    assert_eq!(batch.conflicting_duplicates, 0);
}

#[test]
fn duplicated_lines_of_a_busy_day_are_removed_and_counted() {
    let sim = start(Vec::new());
    let request = SalesRequest::days("SUC002", day(), day());
    let batch = client(&sim).fetch_sales(&request).unwrap();
    assert!(
        batch.duplicates_removed > 0,
        "a day holds some duplicated lines"
    );
    assert_eq!(batch.lines, truth::sales_for_request(sim.data(), &request));
    let sum: f64 = batch.lines.iter().map(|l| l.venta_total_usd).sum();
    let totals = truth::totals(&batch.lines.to_vec());
    assert_eq!(totals.lines, batch.lines.len());
    assert!((totals.venta_total_usd - sum).abs() < 1e-6);
}

#[test]
fn the_union_of_two_half_windows_is_the_whole_window() {
    let sim = start(Vec::new());
    let client = client(&sim);
    let whole = client.fetch_sales(&noon_window("SUC001")).unwrap().lines;
    let mut halves = client
        .fetch_sales(&SalesRequest::hours("SUC001", day(), hm(12, 0), hm(12, 15)))
        .unwrap()
        .lines;
    halves.extend(
        client
            .fetch_sales(&SalesRequest::hours(
                "SUC001",
                day(),
                hm(12, 15),
                hm(12, 30),
            ))
            .unwrap()
            .lines,
    );
    assert_eq!(halves, whole);
}

#[test]
fn the_last_window_of_the_day_reaches_midnight_and_a_whole_day_is_every_window() {
    let sim = start(Vec::new());
    let client = client(&sim);
    let whole_day = client
        .fetch_sales(&SalesRequest::days("SUC001", day(), day()))
        .unwrap()
        .lines;
    let mut windows = Vec::new();
    for slot in 0..48 {
        let from = NaiveTime::from_num_seconds_from_midnight_opt(slot * 1800, 0).unwrap();
        let to = if slot == 47 {
            NaiveTime::from_hms_opt(23, 59, 59).unwrap()
        } else {
            NaiveTime::from_num_seconds_from_midnight_opt((slot + 1) * 1800, 0).unwrap()
        };
        windows.extend(
            client
                .fetch_sales(&SalesRequest::hours("SUC001", day(), from, to))
                .unwrap()
                .lines,
        );
    }
    assert_eq!(windows, whole_day);
    let late = whole_day
        .iter()
        .filter(|l| l.hora >= NaiveTime::from_hms_opt(23, 59, 59).unwrap());
    assert!(late.count() <= whole_day.len());
}

#[test]
fn stock_and_warehouse_lists_match_the_simulator() {
    let sim = start(Vec::new());
    let client = client(&sim);
    let batch = client.fetch_stock(&StockRequest::new("APP-TPF")).unwrap();
    assert_eq!(batch.items, truth::stock_items(sim.data(), "APP-TPF"));
    assert_eq!(batch.total_articulos, Some(300));
    assert!(batch.items.iter().any(|item| item.stock < 0.0));
    let floors = client.list_sales_floor_warehouses().unwrap();
    assert_eq!(floors.warehouses.len(), 19);
    let suc001 = client
        .list_replenishment_warehouses(Some("SUC001"))
        .unwrap();
    assert_eq!(suc001.warehouses.len(), 2);
    assert!(
        suc001
            .warehouses
            .iter()
            .all(|w| w.codigo_sucursal == "SUC001")
    );
}

#[test]
fn almacen_filter_restricts_lines_to_the_warehouse() {
    let sim = start(Vec::new());
    let mut request = SalesRequest::days("SUC001", day(), day());
    request.almacen = Some("APP-TPF-DEP".to_owned());
    let batch = client(&sim).fetch_sales(&request).unwrap();
    assert!(!batch.lines.is_empty());
    assert!(
        batch
            .lines
            .iter()
            .all(|line| line.codigo_almacen == "APP-TPF-DEP")
    );
    assert_eq!(batch.outside_window, 0);
}

#[test]
fn server_errors_are_retried_until_they_stop() {
    let sim = start(vec![sales_fault("500").requests(1, 2)]);
    let batch = client(&sim).fetch_sales(&noon_window("SUC003")).unwrap();
    assert_eq!(batch.attempts, 3);
    assert_eq!(sim.request_count(Endpoint::Ventas, Some("SUC003")), 3);
    assert_eq!(
        batch.lines,
        truth::sales_for_request(sim.data(), &noon_window("SUC003"))
    );
}

#[test]
fn persistent_503_is_an_api_error_after_every_attempt() {
    let (error, elapsed, sim) = failing_fetch(vec![sales_fault("503")]);
    assert_eq!(error.error_tipo(), "api_error");
    assert_eq!(error.status(), Some(503));
    assert_eq!(error.attempts(), 3);
    assert_eq!(sim.request_count(Endpoint::Ventas, None), 3);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(error.to_string().contains("HTTP 503"), "{error}");
    assert!(error.to_string().contains("after 3 attempts"), "{error}");
}

#[test]
fn too_many_requests_honours_retry_after() {
    let sim = start(vec![sales_fault("429=1").requests(1, 1)]);
    let started = Instant::now();
    let batch = client(&sim).fetch_sales(&noon_window("SUC003")).unwrap();
    assert_eq!(batch.attempts, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
}

#[test]
fn retry_after_beyond_the_elapsed_budget_gives_up_at_once() {
    let sim = start(vec![sales_fault("429=30")]);
    let started = Instant::now();
    let error = client(&sim)
        .fetch_sales(&noon_window("SUC003"))
        .unwrap_err();
    assert_eq!(error.error_tipo(), "api_error");
    assert_eq!(error.status(), Some(429));
    assert_eq!(error.attempts(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_hang_is_a_read_timeout_retried_within_bounds() {
    let (error, elapsed, sim) = failing_fetch(vec![sales_fault("hang")]);
    assert_eq!(error.error_tipo(), "timeout");
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Timeout {
                phase: TimeoutPhase::Read,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.attempts(), 3);
    assert_eq!(sim.request_count(Endpoint::Ventas, None), 3);
    // 3 attempts x 400 ms read timeout + backoff.
    assert!(
        elapsed >= Duration::from_millis(1200) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}

#[test]
fn a_slow_body_hits_the_total_timeout() {
    let sim = start(vec![sales_fault("trickle=3s")]);
    let mut options = fast_options(sim.base_url());
    options.total_timeout = Duration::from_millis(600);
    options.read_timeout = Duration::from_secs(2);
    options.retry = RetryPolicy::NONE;
    let started = Instant::now();
    let error = Client::new(options)
        .unwrap()
        .fetch_sales(&noon_window("SUC003"))
        .unwrap_err();
    assert_eq!(error.error_tipo(), "timeout");
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Timeout {
                phase: TimeoutPhase::Total,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.attempts(), 1);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn total_timeout_is_enforced_between_reads_when_longer_than_the_read_timeout() {
    let sim = start(vec![sales_fault("trickle=3s")]);
    let mut options = fast_options(sim.base_url());
    options.read_timeout = Duration::from_millis(500);
    options.total_timeout = Duration::from_millis(800);
    options.retry = RetryPolicy::NONE;
    let started = Instant::now();
    let error = Client::new(options)
        .unwrap()
        .fetch_sales(&noon_window("SUC003"))
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Timeout {
                phase: TimeoutPhase::Total,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn latency_below_the_timeout_is_only_slow() {
    let sim = start(vec![sales_fault("latency=150ms")]);
    let started = Instant::now();
    let batch = client(&sim).fetch_sales(&noon_window("SUC003")).unwrap();
    assert_eq!(batch.attempts, 1);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[test]
fn closing_without_a_response_is_a_connection_error() {
    let (error, _, sim) = failing_fetch(vec![sales_fault("refuse")]);
    assert_eq!(error.error_tipo(), "conexion", "{error}");
    assert_eq!(error.attempts(), 3);
    assert_eq!(sim.request_count(Endpoint::Ventas, None), 3);
}

#[test]
fn a_reset_is_a_connection_error() {
    let (error, _, _sim) = failing_fetch(vec![sales_fault("reset")]);
    assert_eq!(error.error_tipo(), "conexion", "{error}");
    assert_eq!(error.attempts(), 3);
}

#[test]
fn a_refused_connection_is_a_connection_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let client = Client::new(fast_options(format!("http://127.0.0.1:{port}"))).unwrap();
    let error = client.fetch_sales(&noon_window("SUC001")).unwrap_err();
    assert_eq!(error.error_tipo(), "conexion", "{error}");
    assert!(error.is_retryable());
    assert_eq!(error.attempts(), 3);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn bad_bodies_are_api_errors_and_not_retried() {
    for (action, expected) in [
        ("malformed", "malformed response body"),
        ("truncate", "truncated"),
        (
            "error=Sucursal no disponible",
            "the API reported an error: Sucursal no disponible",
        ),
        ("shape", "without a `ventas` list"),
    ] {
        let (error, _, sim) = failing_fetch(vec![sales_fault(action)]);
        assert_eq!(error.error_tipo(), "api_error", "{action}: {error}");
        assert_eq!(error.attempts(), 1, "{action}: {error}");
        assert_eq!(sim.request_count(Endpoint::Ventas, None), 1, "{action}");
        assert!(error.to_string().contains(expected), "{action}: {error}");
    }
}

#[test]
fn a_bad_line_fails_the_window_as_validacion() {
    let (error, _, _sim) = failing_fetch(vec![sales_fault("bad-line")]);
    assert_eq!(error.error_tipo(), "validacion");
    assert_eq!(error.attempts(), 1);
    assert!(
        error
            .to_string()
            .contains("`producto` should hold exactly one element, found 2"),
        "{error}"
    );
}

#[test]
fn an_empty_answer_is_no_data_and_a_conflict_is_counted() {
    let sim = start(vec![
        sales_fault("empty").requests(1, 1),
        sales_fault("conflict").requests(2, 2),
        sales_fault("bare-array").requests(3, 3),
    ]);
    let client = client(&sim);
    let request = noon_window("SUC003");
    let empty = client.fetch_sales(&request).unwrap();
    assert!(empty.lines.is_empty());
    let conflicted = client.fetch_sales(&request).unwrap();
    assert_eq!(conflicted.conflicting_duplicates, 1);
    assert_eq!(
        conflicted.lines.len(),
        truth::sales_for_request(sim.data(), &request).len()
    );
    let bare = client.fetch_sales(&request).unwrap();
    assert_eq!(bare.format, ResponseFormat::BareArray);
    assert_eq!(bare.lines, truth::sales_for_request(sim.data(), &request));
}

#[test]
fn retries_stop_at_the_elapsed_budget() {
    let sim = start(vec![sales_fault("hang")]);
    let mut options = fast_options(sim.base_url());
    options.retry.max_attempts = 100;
    options.retry.max_elapsed = Duration::from_millis(1000);
    let started = Instant::now();
    let error = Client::new(options)
        .unwrap()
        .fetch_sales(&noon_window("SUC003"))
        .unwrap_err();
    assert_eq!(error.error_tipo(), "timeout");
    assert!(
        error.attempts() >= 2 && error.attempts() <= 4,
        "{}",
        error.attempts()
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn faults_can_target_a_time_range_of_the_requested_window() {
    let window = "2025-11-17T12:00/2025-11-17T12:30".parse().unwrap();
    let sim = start(vec![
        FaultRule::new(FaultAction::Status(500)).window(window),
    ]);
    let client = client(&sim);
    assert!(client.fetch_sales(&noon_window("SUC001")).is_err());
    let afternoon = SalesRequest::hours("SUC001", day(), hm(12, 30), hm(13, 0));
    assert_eq!(client.fetch_sales(&afternoon).unwrap().attempts, 1);
    assert!(client.fetch_stock(&StockRequest::new("APP-TPF")).is_ok());
}

#[test]
fn stock_faults_and_retries() {
    let rule = FaultRule::new(FaultAction::Reset)
        .endpoint(Endpoint::Stock)
        .store("SUC001")
        .requests(1, 1);
    let sim = start(vec![rule]);
    let batch = client(&sim)
        .fetch_stock(&StockRequest::new("APP-TPF"))
        .unwrap();
    assert_eq!(batch.attempts, 2);
    assert_eq!(sim.request_count(Endpoint::Stock, Some("SUC001")), 2);
}

#[test]
fn requests_the_vendor_leaves_undefined_are_never_sent() {
    let sim = start(Vec::new());
    let client = client(&sim);
    let mut multi_day = SalesRequest::days("SUC001", day(), day().succ_opt().unwrap());
    multi_day.hora_desde = Some(hm(10, 0));
    let inverted = SalesRequest::hours("SUC001", day(), hm(13, 0), hm(12, 0));
    for request in [multi_day, inverted] {
        let error = client.fetch_sales(&request).unwrap_err();
        assert_eq!(error.error_tipo(), "validacion");
        assert_eq!(error.attempts(), 0);
        assert!(
            error
                .to_string()
                .contains("/ventas not sent: invalid request"),
            "{error}"
        );
    }
    assert_eq!(sim.requests().len(), 0);
}

#[test]
fn the_token_is_sent_but_never_shown() {
    let token = "tok-3f9a1c77e2";
    let api_key = "key-88d0e1";
    let sim = start(vec![sales_fault(&format!(
        "error=denied for Bearer {token} and {api_key}"
    ))]);
    let mut options = fast_options(sim.base_url());
    options.token = Some(token.into());
    options.headers = vec![("X-Api-Key".to_owned(), api_key.into())];
    let shown_options = format!("{options:?}");
    let client = Client::new(options).unwrap();
    let error = client.fetch_sales(&noon_window("SUC003")).unwrap_err();

    let record = &sim.requests()[0];
    let header = |name: &str| {
        record
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("authorization"), Some(format!("Bearer {token}")));
    assert_eq!(header("x-api-key"), Some(api_key.to_owned()));
    for shown in [
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#}"),
        shown_options,
    ] {
        assert!(
            !shown.contains(token) && !shown.contains(api_key),
            "secret leaked: {shown}"
        );
    }
    assert!(error.to_string().contains("[redacted]"), "{error}");
}

#[test]
fn invalid_options_are_refused_up_front() {
    for base_url in ["ftp://klk:7002", "klk:7002", "http://user:pw@klk:7002"] {
        assert!(
            Client::new(ClientOptions::new(base_url)).is_err(),
            "{base_url}"
        );
    }
    // An https:// API is accepted (tests/integrations.rs talks to one over TLS); a ca_file
    // that cannot be read is refused before any request.
    assert!(Client::new(ClientOptions::new("https://klk:7443")).is_ok());
    let mut options = ClientOptions::new("https://klk:7443");
    options.ca_file = Some("/nonexistent/klk-ca.pem".into());
    let err = Client::new(options).err().expect("refused");
    assert!(err.to_string().contains("/nonexistent/klk-ca.pem"), "{err}");
    let mut options = ClientOptions::new("http://127.0.0.1:7002");
    options.retry.max_attempts = 0;
    assert!(Client::new(options).is_err());
}
