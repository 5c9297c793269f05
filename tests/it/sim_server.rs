//! The simulator over real HTTP on 127.0.0.1: request semantics, determinism, fault
//! scripting and stopping.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use klk_etl::klk::SalesRequest;
use klk_etl::sim::{
    Endpoint, FaultAction, FaultRule, SimData, SimHandle, SimOptions, Simulator, truth,
};
use serde_json::{Value, json};

fn small_data() -> SimData {
    SimData {
        articles_per_warehouse: 200,
        ..SimData::default()
    }
}

fn start_with(data: SimData, faults: Vec<FaultRule>) -> SimHandle {
    Simulator::start(SimOptions {
        port: 0,
        data,
        faults,
    })
    .expect("simulator starts")
}

/// One raw HTTP exchange: (status, body bytes).
fn exchange(sim: &SimHandle, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(sim.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response[split + 4..].to_vec())
}

fn post_json(sim: &SimHandle, path: &str, body: Value) -> (u16, Value) {
    let (status, bytes) = exchange(sim, "POST", path, &body.to_string());
    (status, serde_json::from_slice(&bytes).expect("a JSON body"))
}

fn sales_body(extra: Value) -> Value {
    let mut body =
        json!({"sucursal": "SUC001", "fecha_desde": "2025-11-17", "fecha_hasta": "2025-11-17"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[test]
fn the_same_request_gets_the_same_bytes_even_from_another_instance() {
    let request = sales_body(json!({"hora_desde": "12:00", "hora_hasta": "13:00"})).to_string();
    let first = start_with(small_data(), Vec::new());
    let second = start_with(small_data(), Vec::new());
    let (status, body) = exchange(&first, "POST", "/ventas", &request);
    assert_eq!(status, 200);
    assert_eq!(exchange(&first, "POST", "/ventas", &request).1, body);
    assert_eq!(exchange(&second, "POST", "/ventas", &request).1, body);
    let other_seed = start_with(
        SimData {
            seed: 2,
            ..small_data()
        },
        Vec::new(),
    );
    assert_ne!(exchange(&other_seed, "POST", "/ventas", &request).1, body);
}

#[test]
fn the_answer_is_klk_shaped_with_meta_and_realistic_lines() {
    let sim = start_with(small_data(), Vec::new());
    let (status, body) = post_json(&sim, "/ventas", sales_body(json!({})));
    assert_eq!(status, 200);
    let ventas = body["ventas"].as_array().unwrap();
    assert_eq!(body["meta"]["sucursal_codigo"], "SUC001");
    assert_eq!(body["meta"]["total_registros"], ventas.len());
    let line = &ventas[0];
    for key in [
        "numero_factura",
        "linea",
        "fecha",
        "hora",
        "fecha_hora_completa",
        "total_factura",
        "tasa_usd",
        "es_no_fiscal",
    ] {
        assert!(line.get(key).is_some(), "{key} missing in {line}");
    }
    assert_eq!(line["producto"].as_array().unwrap().len(), 1);
    let multi_line_invoice = ventas.iter().any(|line| line["linea"] == 3);
    assert!(multi_line_invoice);
    let fractions: std::collections::BTreeSet<usize> = ventas
        .iter()
        .map(|line| {
            line["hora"]
                .as_str()
                .unwrap()
                .split('.')
                .nth(1)
                .map_or(0, str::len)
        })
        .collect();
    assert_eq!(
        fractions.into_iter().collect::<Vec<_>>(),
        (0..=7).collect::<Vec<_>>()
    );
    let warehouses: std::collections::BTreeSet<&str> = ventas
        .iter()
        .map(|line| line["cantidad"][0]["codigo_almacen"].as_str().unwrap())
        .collect();
    assert_eq!(
        warehouses.len(),
        2,
        "sales come from both warehouses of the store"
    );
}

#[test]
fn hour_filters_accept_both_formats_and_reject_undefined_combinations() {
    let sim = start_with(small_data(), Vec::new());
    let short = post_json(
        &sim,
        "/ventas",
        sales_body(json!({"hora_desde": "12:00", "hora_hasta": "12:30"})),
    );
    let long = post_json(
        &sim,
        "/ventas",
        sales_body(json!({"hora_desde": "12:00:00", "hora_hasta": "12:30:00"})),
    );
    assert_eq!(short.0, 200);
    assert_eq!(short.1["ventas"], long.1["ventas"]);

    for (bad, reason) in [
        (
            json!({"fecha_hasta": "2025-11-18", "hora_desde": "12:00"}),
            "single date",
        ),
        (
            json!({"hora_desde": "13:00", "hora_hasta": "12:00"}),
            "not before",
        ),
        (
            json!({"hora_desde": "12:00", "hora_hasta": "12:00"}),
            "not before",
        ),
        (json!({"hora_desde": "12"}), "HH:MM"),
        (json!({"fecha_desde": "17/11/2025"}), "YYYY-MM-DD"),
        (json!({"fecha_desde": "2025-11-18"}), "before fecha_desde"),
        (json!({"sucursal": null}), "sucursal is required"),
        (json!({"fecha_hasta": "2026-11-17"}), "at most"),
    ] {
        let (status, body) = post_json(&sim, "/ventas", sales_body(bad.clone()));
        assert_eq!(status, 400, "{bad}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(reason), "{bad}: {message}");
    }
    let (status, body) = exchange(&sim, "POST", "/ventas", "not json");
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("not JSON"));
}

#[test]
fn windows_are_half_open_and_235959_reaches_the_end_of_the_day() {
    // A busy store, so that some day has a sale in its very last second.
    let mut data = small_data();
    data.stores[0].volume_multiplier = 20.0;
    let at = |date: NaiveDate, h, m, s| date.and_time(NaiveTime::from_hms_opt(h, m, s).unwrap());
    let (date, last_second_lines) = (1..=60)
        .map(|day| NaiveDate::from_ymd_opt(2025, 10, 1).unwrap() + chrono::Days::new(day))
        .map(|date| {
            let next = date.succ_opt().unwrap();
            let lines =
                truth::sales_lines(&data, "SUC001", at(date, 23, 59, 59), at(next, 0, 0, 0));
            (date, lines)
        })
        .find(|(_, lines)| !lines.is_empty())
        .expect("some day has a sale in 23:59:59");
    let sim = start_with(data.clone(), Vec::new());
    let window = |hasta: &str| {
        let body = json!({"sucursal": "SUC001", "fecha_desde": date.to_string(), "fecha_hasta": date.to_string(),
                          "hora_desde": "23:30", "hora_hasta": hasta});
        let (status, body) = post_json(&sim, "/ventas", body);
        assert_eq!(status, 200);
        body["ventas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| {
                (
                    line["numero_factura"].as_str().unwrap().to_owned(),
                    line["linea"].as_i64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let to_end = window("23:59:59");
    let before_last_second = window("23:59:58");
    for line in &last_second_lines {
        let key = (line.numero_factura.clone(), line.linea);
        assert!(to_end.contains(&key), "23:59:59 includes {key:?}");
        assert!(
            !before_last_second.contains(&key),
            "[.., 23:59:58) excludes {key:?}"
        );
    }
    let request = SalesRequest::hours(
        "SUC001",
        date,
        NaiveTime::from_hms_opt(23, 30, 0).unwrap(),
        NaiveTime::from_hms_opt(23, 59, 59).unwrap(),
    );
    let expected = truth::sales_for_request(&data, &request);
    let mut distinct = to_end.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), expected.len());
}

#[test]
fn unknown_stores_and_warehouses_have_no_data_and_filters_apply() {
    let sim = start_with(small_data(), Vec::new());
    let (status, body) = post_json(&sim, "/ventas", sales_body(json!({"sucursal": "SUC999"})));
    assert_eq!((status, body["ventas"].as_array().unwrap().len()), (200, 0));
    let (status, body) = post_json(
        &sim,
        "/maestra/articulos/almacen",
        json!({"Codigoalmacen": "NOPE"}),
    );
    assert_eq!(
        (status, body["articulos"].as_array().unwrap().len()),
        (200, 0)
    );
    let (_, both) = post_json(
        &sim,
        "/maestra/articulos/almacen",
        json!({"Codigoalmacen": ["APP-TPF", "APP-TBQ"]}),
    );
    assert_eq!(both["articulos"].as_array().unwrap().len(), 400);
    assert_eq!(
        both["meta"]["almacences_filtrados"],
        "[\"APP-TPF\",\"APP-TBQ\"]"
    );
    let (status, _) = post_json(
        &sim,
        "/maestra/articulos/almacen",
        json!({"CodigoAlmacen": "APP-TPF"}),
    );
    assert_eq!(status, 400, "the vendor's key is Codigoalmacen");

    let (_, one_article) = post_json(
        &sim,
        "/ventas",
        sales_body(json!({"CodArticulo": "000007"})),
    );
    assert!(
        one_article["ventas"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["producto"][0]["codigo_producto"] == "000007")
    );
    let (_, replenishment) = post_json(
        &sim,
        "/maestra/articulos/reposicion",
        json!({"CodigoSucursal": "SUC001"}),
    );
    assert!(
        replenishment["articulos"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["stock"].as_f64().unwrap() <= 0.0)
    );

    assert_eq!(exchange(&sim, "GET", "/nowhere", "").0, 404);
    assert_eq!(exchange(&sim, "GET", "/ventas", "").0, 405);
    let (status, body) = exchange(
        &sim,
        "GET",
        "/maestra/almacenes/Reposicion?sucursal=SUC002",
        "",
    );
    let rows: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(rows.as_array().unwrap().len(), 2);
}

#[test]
fn a_big_store_sells_ten_times_more() {
    let mut data = small_data();
    data.stores[1].volume_multiplier = 10.0;
    let day = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
    let count = |sucursal| {
        truth::sales_for_request(&data, &SalesRequest::days(sucursal, day, day)).len() as f64
    };
    let ratio = count("SUC002") / count("SUC001");
    assert!((8.5..11.5).contains(&ratio), "{ratio}");
}

#[test]
fn rules_count_their_own_matching_requests() {
    let rules = vec![
        FaultRule::new(FaultAction::Status(503))
            .store("SUC001")
            .endpoint(Endpoint::Ventas)
            .requests(2, 3),
        FaultRule::new(FaultAction::Status(500)).endpoint(Endpoint::Stock),
    ];
    let sim = start_with(small_data(), rules);
    let statuses: Vec<u16> = (0..5)
        .map(|_| post_json(&sim, "/ventas", sales_body(json!({}))).0)
        .collect();
    assert_eq!(statuses, [200, 503, 503, 200, 200]);
    assert_eq!(
        post_json(&sim, "/ventas", sales_body(json!({"sucursal": "SUC002"}))).0,
        200
    );
    assert_eq!(
        post_json(
            &sim,
            "/maestra/articulos/almacen",
            json!({"Codigoalmacen": "TANT"})
        )
        .0,
        500
    );
    assert_eq!(sim.request_count(Endpoint::Ventas, Some("SUC001")), 5);
    assert_eq!(sim.request_count(Endpoint::Stock, Some("SUC003")), 1);
    let log = sim.requests();
    assert_eq!(log[1].fault, Some(FaultAction::Status(503)));
    assert_eq!(log[1].status, Some(503));
    assert_eq!(log[0].fault, None);
    let window = log[0].window.unwrap();
    let midnight = |d: u32| {
        NaiveDateTime::new(
            NaiveDate::from_ymd_opt(2025, 11, d).unwrap(),
            NaiveTime::MIN,
        )
    };
    assert_eq!(window, (midnight(17), midnight(18)));
}

#[test]
fn truncated_and_malformed_bodies_are_what_they_claim() {
    let sim = start_with(
        small_data(),
        vec![
            FaultRule::new(FaultAction::Truncate).requests(1, 1),
            FaultRule::new(FaultAction::Malformed).requests(2, 2),
        ],
    );
    let mut stream = TcpStream::connect(sim.addr()).unwrap();
    let body = sales_body(json!({})).to_string();
    write!(
        stream,
        "POST /ventas HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    let announced: usize = text
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let received = response.len() - text.find("\r\n\r\n").unwrap() - 4;
    assert_eq!(received, announced / 2);

    let (status, body) = exchange(&sim, "POST", "/ventas", &sales_body(json!({})).to_string());
    assert_eq!(status, 200);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
}

#[test]
fn stopping_ends_hanging_connections_promptly() {
    let sim = start_with(small_data(), vec![FaultRule::new(FaultAction::Hang(None))]);
    let addr = sim.addr();
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /maestra/almacenes/pisoventa HTTP/1.1\r\n\r\n")
            .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        response
    });
    std::thread::sleep(Duration::from_millis(200));
    let idle = TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    sim.stop();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(client.join().unwrap().is_empty(), "a hang never answers");
    drop(idle);
    assert!(
        TcpStream::connect(addr).is_err(),
        "the port is closed after stop"
    );
}
