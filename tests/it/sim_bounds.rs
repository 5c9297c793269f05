//! The simulator's unkind modes over real HTTP on 127.0.0.1: every reading of the hour
//! bounds, the edge lines, and data that changes between requests (`hide`, `change`), plus
//! `ventas-dia` rules. Every answer is compared with `klk_etl::sim::truth` and with
//! expectations stated by hand.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use klk_etl::klk::SalesRequest;
use klk_etl::sim::{
    BoundSemantics, Endpoint, FaultAction, FaultRule, SimData, SimHandle, SimOptions, SimQuirks,
    Simulator, TimeRange, truth,
};
use serde_json::{Value, json};

const DAY: &str = "2025-11-17";

type Key = (String, i64);

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, 17).unwrap()
}

fn small_data() -> SimData {
    SimData {
        articles_per_warehouse: 200,
        ..SimData::default()
    }
}

fn quirks(bounds: BoundSemantics) -> SimQuirks {
    SimQuirks {
        bounds,
        edge_lines: true,
    }
}

fn start(quirks: SimQuirks, faults: Vec<FaultRule>) -> SimHandle {
    Simulator::start_with(
        SimOptions {
            port: 0,
            data: small_data(),
            faults,
        },
        quirks,
    )
    .expect("simulator starts")
}

fn rules(texts: &[&str]) -> Vec<FaultRule> {
    texts
        .iter()
        .map(|text| text.parse().expect("a valid rule"))
        .collect()
}

/// One raw HTTP exchange: (status, body bytes).
fn exchange(sim: &SimHandle, body: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(sim.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /ventas HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
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

/// A `/ventas` request body for one day with the hours exactly as given.
fn sales_body(sucursal: &str, desde: Option<&str>, hasta: Option<&str>) -> Value {
    let mut body = json!({"sucursal": sucursal, "fecha_desde": DAY, "fecha_hasta": DAY});
    if let Some(desde) = desde {
        body["hora_desde"] = json!(desde);
    }
    if let Some(hasta) = hasta {
        body["hora_hasta"] = json!(hasta);
    }
    body
}

fn parse_hour(text: &str) -> NaiveTime {
    let format = if text.len() == 5 { "%H:%M" } else { "%H:%M:%S" };
    NaiveTime::parse_from_str(text, format).unwrap()
}

fn request(desde: Option<&str>, hasta: Option<&str>) -> SalesRequest {
    SalesRequest {
        hora_desde: desde.map(parse_hour),
        hora_hasta: hasta.map(parse_hour),
        ..SalesRequest::days("SUC001", day(), day())
    }
}

/// The lines of an answer (duplicates included) after checking it is a 200 whose
/// `total_registros` counts them.
fn ventas(sim: &SimHandle, body: &Value) -> Vec<Value> {
    let (status, bytes) = exchange(sim, &body.to_string());
    let answer: Value = serde_json::from_slice(&bytes).expect("a JSON body");
    assert_eq!(status, 200, "{body}: {answer}");
    let lines = answer["ventas"].as_array().expect("a ventas list").clone();
    assert_eq!(answer["meta"]["total_registros"], lines.len(), "{body}");
    lines
}

fn key(line: &Value) -> Key {
    (
        line["numero_factura"].as_str().unwrap().to_owned(),
        line["linea"].as_i64().unwrap(),
    )
}

fn keys(lines: &[Value]) -> BTreeSet<Key> {
    lines.iter().map(key).collect()
}

fn truth_keys(lines: &[klk_etl::klk::SalesLine]) -> BTreeSet<Key> {
    lines
        .iter()
        .map(|line| (line.numero_factura.clone(), line.linea))
        .collect()
}

/// The key of the edge line of `DAY` stamped `hora` (as sent, e.g. `12:00:00.0000000`).
fn edge(hora: &str) -> Key {
    (format!("EDGE-251117-{}", hora.replace(':', "")), 1)
}

fn boundary(hhmm: &str) -> Key {
    edge(&format!("{hhmm}:00.0000000"))
}

/// Asks `desde..hasta` and checks the answer against the truth functions.
fn ask(sim: &SimHandle, desde: Option<&str>, hasta: Option<&str>) -> BTreeSet<Key> {
    let answer = keys(&ventas(sim, &sales_body("SUC001", desde, hasta)));
    let expected = truth::sales_for_request_with(sim.data(), &sim.quirks(), &request(desde, hasta));
    assert_eq!(
        answer,
        truth_keys(&expected),
        "{} {desde:?}..{hasta:?}: the answer differs from truth::sales_for_request_with",
        sim.quirks().bounds
    );
    answer
}

#[test]
fn the_end_of_the_day_under_every_reading() {
    let late = [edge("23:59:59.8"), edge("23:59:59.9999999")];
    // (semantics, the request ending 23:59:59 has the 23:59:59.8 and .9999999 lines)
    for (bounds, ending_235959_has_them) in [
        (BoundSemantics::HalfOpen, true),
        (BoundSemantics::Between, false),
        (BoundSemantics::ExclusiveLower, false),
        (BoundSemantics::Exclusive, false),
        (BoundSemantics::Truncated, true),
        (BoundSemantics::Minutes, false),
    ] {
        let sim = start(quirks(bounds), Vec::new());
        let ending = ask(&sim, Some("23:30"), Some("23:59:59"));
        let open = ask(&sim, Some("23:30"), None);
        let whole_day = ask(&sim, None, None);
        for line in &late {
            assert_eq!(
                ending.contains(line),
                ending_235959_has_them,
                "{bounds}: {line:?}"
            );
            assert!(
                open.contains(line),
                "{bounds}: no hora_hasta reaches {line:?}"
            );
            assert!(
                whole_day.contains(line),
                "{bounds}: the whole day has {line:?}"
            );
        }
        assert!(open.is_superset(&ending), "{bounds}");
        // The line at 23:59:59.0000000 itself: only `exclusive` and `minutes` cut it.
        let last_second = truth::sales_lines_with(
            sim.data(),
            &sim.quirks(),
            "SUC001",
            at("23:59:59"),
            at("23:59:59") + TimeDelta::nanoseconds(1),
        );
        for line in truth_keys(&last_second) {
            let cut = matches!(bounds, BoundSemantics::Exclusive | BoundSemantics::Minutes);
            assert_eq!(ending.contains(&line), !cut, "{bounds}: {line:?}");
        }
    }
}

fn at(time: &str) -> NaiveDateTime {
    day().and_time(NaiveTime::parse_from_str(time, "%H:%M:%S%.f").unwrap())
}

#[test]
fn the_start_of_the_day_under_every_reading() {
    let midnight = boundary("00:00");
    // (semantics, a request starting 00:00 has the 00:00:00.0000000 line)
    for (bounds, starting_0000_has_it) in [
        (BoundSemantics::HalfOpen, true),
        (BoundSemantics::Between, true),
        (BoundSemantics::ExclusiveLower, false),
        (BoundSemantics::Exclusive, false),
        (BoundSemantics::Truncated, true),
        (BoundSemantics::Minutes, true),
    ] {
        let sim = start(quirks(bounds), Vec::new());
        let starting = ask(&sim, Some("00:00"), Some("00:30"));
        let open = ask(&sim, None, Some("00:30"));
        assert_eq!(
            starting.contains(&midnight),
            starting_0000_has_it,
            "{bounds}"
        );
        assert!(
            open.contains(&midnight),
            "{bounds}: no hora_desde starts at 00:00:00.0"
        );
        assert!(open.is_superset(&starting), "{bounds}");
    }
}

#[test]
fn which_adjacent_window_gets_the_line_on_their_common_boundary() {
    let noon = boundary("12:00");
    let half_past_eleven = boundary("11:30");
    let half_past_twelve = boundary("12:30");
    // (semantics, [11:30,12:00] has 12:00, [12:00,12:30] has 12:00, [11:30,12:00] has 11:30)
    for (bounds, first_has_noon, second_has_noon, first_has_its_start) in [
        (BoundSemantics::HalfOpen, false, true, true),
        (BoundSemantics::Between, true, true, true),
        (BoundSemantics::ExclusiveLower, true, false, false),
        (BoundSemantics::Exclusive, false, false, false),
        (BoundSemantics::Truncated, true, true, true),
        (BoundSemantics::Minutes, false, true, true),
    ] {
        let sim = start(quirks(bounds), Vec::new());
        let first = ask(&sim, Some("11:30"), Some("12:00"));
        let second = ask(&sim, Some("12:00"), Some("12:30"));
        assert_eq!(
            first.contains(&noon),
            first_has_noon,
            "{bounds}: [11:30,12:00]"
        );
        assert_eq!(
            second.contains(&noon),
            second_has_noon,
            "{bounds}: [12:00,12:30]"
        );
        assert_eq!(
            first.contains(&half_past_eleven),
            first_has_its_start,
            "{bounds}"
        );
        assert_eq!(
            second.contains(&half_past_twelve),
            first_has_noon,
            "{bounds}: the upper bound is read the same way in both windows"
        );
        // Only the lines on the boundary (its whole second when truncated) may be in both
        // windows or in neither.
        let boundary_width = if bounds == BoundSemantics::Truncated {
            TimeDelta::seconds(1)
        } else {
            TimeDelta::nanoseconds(1)
        };
        let both: Vec<&Key> = first.intersection(&second).collect();
        let on_the_boundary = truth_keys(&truth::sales_lines_with(
            sim.data(),
            &sim.quirks(),
            "SUC001",
            at("12:00:00"),
            at("12:00:00") + boundary_width,
        ));
        assert!(on_the_boundary.contains(&noon));
        assert!(
            both.iter().all(|line| on_the_boundary.contains(*line)),
            "{bounds}: {both:?}"
        );
        let hour = ask(&sim, Some("11:30"), Some("12:30"));
        let joined: BTreeSet<Key> = first.union(&second).cloned().collect();
        let missing: Vec<&Key> = hour.difference(&joined).collect();
        assert!(
            missing.iter().all(|line| on_the_boundary.contains(*line)),
            "{bounds}: {missing:?}"
        );
        assert_eq!(
            missing.is_empty(),
            first_has_noon || second_has_noon,
            "{bounds}: a boundary line neither window returns"
        );
    }
}

/// A generated (not edge) line of `DAY` whose `hora` has a fraction and whose second is
/// neither the first nor the last of its minute.
fn a_fractional_line(sim: &SimHandle) -> klk_etl::klk::SalesLine {
    truth::sales_lines_with(
        sim.data(),
        &sim.quirks(),
        "SUC001",
        at("10:00:00"),
        at("14:00:00"),
    )
    .into_iter()
    .find(|line| {
        use chrono::Timelike;
        !line.numero_factura.starts_with("EDGE-")
            && line.hora.nanosecond() > 0
            && (1..59).contains(&line.hora.second())
    })
    .expect("a line with a fraction of a second")
}

fn whole_seconds(time: NaiveTime, plus: i64) -> String {
    use chrono::Timelike;
    let whole = time.with_nanosecond(0).unwrap() + TimeDelta::seconds(plus);
    whole.format("%H:%M:%S").to_string()
}

#[test]
fn truncation_keeps_the_whole_last_second() {
    let sim = start(quirks(BoundSemantics::Truncated), Vec::new());
    let line = a_fractional_line(&sim);
    let key = (line.numero_factura.clone(), line.linea);
    let hasta = whole_seconds(line.hora, 0);
    // hasta = the line's second, without its fraction: truncated, the line is in.
    let ending = ask(&sim, Some("00:00"), Some(&hasta));
    assert!(
        ending.contains(&key),
        "truncated keeps {key:?} ({}) <= {hasta}",
        line.hora
    );
    for (bounds, has_it) in [
        (BoundSemantics::HalfOpen, false),
        (BoundSemantics::Between, false),
        (BoundSemantics::ExclusiveLower, false),
        (BoundSemantics::Exclusive, false),
    ] {
        let other = start(quirks(bounds), Vec::new());
        assert_eq!(
            ask(&other, Some("00:00"), Some(&hasta)).contains(&key),
            has_it,
            "{bounds}"
        );
    }
    // truncated [12:00, 12:30] is half-open [12:00, 12:30:01).
    let half_open = start(quirks(BoundSemantics::HalfOpen), Vec::new());
    assert_eq!(
        ask(&sim, Some("12:00"), Some("12:30")),
        ask(&half_open, Some("12:00:00"), Some("12:30:01"))
    );
    // A line starting a second is kept by a request starting at that second.
    let starting = ask(&sim, Some(&hasta), Some("23:00"));
    assert!(starting.contains(&key));
}

#[test]
fn minutes_ignore_the_seconds_of_both_bounds() {
    let sim = start(quirks(BoundSemantics::Minutes), Vec::new());
    let half_open = start(quirks(BoundSemantics::HalfOpen), Vec::new());
    let with_seconds = ask(&sim, Some("12:00:40"), Some("12:30:20"));
    assert_eq!(with_seconds, ask(&sim, Some("12:00"), Some("12:30")));
    assert_eq!(with_seconds, ask(&half_open, Some("12:00"), Some("12:30")));
    assert_ne!(
        with_seconds,
        ask(&half_open, Some("12:00:40"), Some("12:30:20")),
        "half-open does read the seconds"
    );

    let line = a_fractional_line(&sim);
    let key = (line.numero_factura.clone(), line.linea);
    let after_it = whole_seconds(line.hora, 1);
    // Starting one second after the line: minutes still start at the line's minute.
    assert!(ask(&sim, Some(&after_it), None).contains(&key));
    assert!(!ask(&half_open, Some(&after_it), None).contains(&key));
    // Ending one second after it: minutes end at the line's minute, before it.
    assert!(!ask(&sim, None, Some(&after_it)).contains(&key));
    assert!(ask(&half_open, None, Some(&after_it)).contains(&key));
    // And 23:59:59 is read as 23:59: the whole last minute is cut.
    let ending = ask(&sim, Some("23:30"), Some("23:59:59"));
    let last_minute = truth::sales_lines_with(
        sim.data(),
        &sim.quirks(),
        "SUC001",
        at("23:59:00"),
        at("00:00:00") + TimeDelta::days(1),
    );
    assert!(!last_minute.is_empty());
    assert!(truth_keys(&last_minute).is_disjoint(&ending));
}

#[test]
fn edge_lines_are_on_the_boundaries_and_only_when_asked() {
    let plain = start(SimQuirks::default(), Vec::new());
    let with_edges = start(quirks(BoundSemantics::HalfOpen), Vec::new());
    let day_plain = ventas(&plain, &sales_body("SUC001", None, None));
    let day_edges = ventas(&with_edges, &sales_body("SUC001", None, None));
    let edges: Vec<&Value> = day_edges
        .iter()
        .filter(|line| {
            line["numero_factura"]
                .as_str()
                .unwrap()
                .starts_with("EDGE-")
        })
        .collect();
    assert!(
        keys(&day_plain)
            .iter()
            .all(|(invoice, _)| !invoice.starts_with("EDGE-"))
    );
    assert_eq!(
        edges.len(),
        24 * 4 + 2,
        "00:00, every quarter hour, and two late ones"
    );
    assert_eq!(day_edges.len(), day_plain.len() + edges.len());
    assert!(
        keys(&day_plain).is_subset(&keys(&day_edges)),
        "the other lines are unchanged"
    );
    let mut horas: Vec<&str> = edges
        .iter()
        .map(|line| line["hora"].as_str().unwrap())
        .collect();
    horas.sort_unstable();
    let mut expected: Vec<String> = (0..96)
        .map(|quarter| format!("{:02}:{:02}:00.0000000", quarter / 4, quarter % 4 * 15))
        .collect();
    expected.extend(["23:59:59.8".to_owned(), "23:59:59.9999999".to_owned()]);
    assert_eq!(horas, expected);
    for line in &edges {
        let hora = line["hora"].as_str().unwrap();
        assert_eq!(line["fecha"], DAY);
        assert_eq!(
            line["fecha_hora_completa"].as_str().unwrap(),
            format!("{DAY}T{}", &hora[..8])
        );
        assert_eq!(key(line), edge(hora));
    }
    assert_eq!(
        keys(&day_edges).len(),
        truth::sales_for_request_with(
            with_edges.data(),
            &with_edges.quirks(),
            &request(None, None)
        )
        .len(),
        "keys are unique and the truth has the edge lines"
    );
    assert_eq!(
        keys(&day_plain).len(),
        truth::sales_for_request(plain.data(), &request(None, None)).len()
    );
    // Every store has its own, with the same invoice numbers (keys are per store).
    let other_store = keys(&ventas(
        &with_edges,
        &sales_body("SUC002", Some("12:00"), Some("12:30")),
    ));
    assert!(other_store.contains(&boundary("12:00")));
}

#[test]
fn the_log_tells_the_asked_window_from_the_served_one() {
    let sim = start(quirks(BoundSemantics::Between), Vec::new());
    ventas(&sim, &sales_body("SUC001", Some("23:30"), Some("23:59:59")));
    ventas(&sim, &sales_body("SUC001", None, None));
    let log = sim.requests();
    let next_midnight = at("00:00:00") + TimeDelta::days(1);
    assert_eq!(log[0].window, Some((at("23:30:00"), next_midnight)));
    assert_eq!(
        log[0].served,
        Some((at("23:30:00"), at("23:59:59") + TimeDelta::nanoseconds(1)))
    );
    assert!(log[0].body.contains("\"hora_hasta\":\"23:59:59\""));
    assert!(!log[0].whole_day);
    assert!(log[1].whole_day);
    assert_eq!(log[1].served, Some((at("00:00:00"), next_midnight)));
    assert_eq!(
        truth::request_span(
            BoundSemantics::Between,
            &request(Some("23:30"), Some("23:59:59"))
        ),
        log[0].served.unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// Data that changes over time

/// 2025-11-17 14:10 to 14:11, the minute the rules below act on.
const MINUTE: &str = "2025-11-17T14:10/2025-11-17T14:11";

fn minute_lines(sim: &SimHandle) -> BTreeSet<Key> {
    let window: TimeRange = MINUTE.parse().unwrap();
    let lines = truth_keys(&truth::sales_lines_with(
        sim.data(),
        &sim.quirks(),
        "SUC001",
        window.from,
        window.to,
    ));
    assert!(!lines.is_empty(), "the minute has lines");
    lines
}

/// The keys of an answer, without comparing them with the truth (faults change it).
fn fetch(sim: &SimHandle, desde: Option<&str>, hasta: Option<&str>) -> BTreeSet<Key> {
    keys(&ventas(sim, &sales_body("SUC001", desde, hasta)))
}

fn truth_for(sim: &SimHandle, desde: Option<&str>, hasta: Option<&str>) -> BTreeSet<Key> {
    truth_keys(&truth::sales_for_request_with(
        sim.data(),
        &sim.quirks(),
        &request(desde, hasta),
    ))
}

#[test]
fn a_late_line_is_missing_from_the_first_requests_then_arrives() {
    for bounds in BoundSemantics::ALL {
        let sim = start(
            quirks(bounds),
            rules(&[&format!("SUC001:ventas:hide:1-2@{MINUTE}")]),
        );
        let minute = minute_lines(&sim);
        let full = truth_for(&sim, Some("14:00"), Some("14:30"));
        assert!(minute.is_subset(&full));
        let without_minute: BTreeSet<Key> = full.difference(&minute).cloned().collect();
        // A request that does not overlap the minute is normal and not counted.
        assert_eq!(
            fetch(&sim, Some("12:00"), Some("12:30")),
            truth_for(&sim, Some("12:00"), Some("12:30"))
        );
        assert_eq!(
            fetch(&sim, Some("14:00"), Some("14:30")),
            without_minute,
            "{bounds}: 1st"
        );
        assert_eq!(
            fetch(&sim, Some("14:00"), Some("14:30")),
            without_minute,
            "{bounds}: 2nd"
        );
        assert_eq!(
            fetch(&sim, Some("14:00"), Some("14:30")),
            full,
            "{bounds}: 3rd"
        );
        let log = sim.requests();
        assert!(log[0].data_faults.is_empty() && log[0].hidden_lines == 0);
        assert_eq!(log[1].data_faults, [FaultAction::Hide]);
        assert_eq!(log[1].hidden_lines, minute.len());
        assert_eq!(log[1].fault, None, "hide does not decide the answer");
        assert_eq!(log[1].status, Some(200));
        assert_eq!(log[2].hidden_lines, minute.len());
        assert!(log[3].data_faults.is_empty() && log[3].hidden_lines == 0);
    }
}

#[test]
fn a_vanished_line_is_there_at_first_then_gone() {
    let sim = start(
        quirks(BoundSemantics::HalfOpen),
        rules(&[&format!("SUC001:ventas:hide:3-@{MINUTE}")]),
    );
    let minute = minute_lines(&sim);
    let full = truth_for(&sim, None, None);
    let without_minute: BTreeSet<Key> = full.difference(&minute).cloned().collect();
    assert_eq!(fetch(&sim, None, None), full);
    assert_eq!(fetch(&sim, Some("14:10"), Some("14:11")), minute);
    assert_eq!(fetch(&sim, None, None), without_minute);
    assert!(fetch(&sim, Some("14:10"), Some("14:11")).is_empty());
    assert_eq!(fetch(&sim, None, None), without_minute);
}

#[test]
fn a_changed_line_comes_back_with_other_values_and_the_same_key() {
    let sim = start(
        quirks(BoundSemantics::HalfOpen),
        rules(&[&format!("SUC001:ventas:change:2@{MINUTE}")]),
    );
    let minute = minute_lines(&sim);
    let body = sales_body("SUC001", Some("14:00"), Some("14:30"));
    let first = ventas(&sim, &body);
    let second = ventas(&sim, &body);
    let third = ventas(&sim, &body);
    assert_eq!(first, third, "only the 2nd request is changed");
    assert_eq!(keys(&first), keys(&second));
    let window: TimeRange = MINUTE.parse().unwrap();
    let changed: std::collections::HashMap<Key, klk_etl::klk::SalesLine> =
        truth::changed_sales_lines(sim.data(), &sim.quirks(), "SUC001", window.from, window.to)
            .into_iter()
            .map(|line| ((line.numero_factura.clone(), line.linea), line))
            .collect();
    assert_eq!(changed.keys().cloned().collect::<BTreeSet<Key>>(), minute);
    let mut seen_changed = 0;
    for (before, after) in first.iter().zip(&second) {
        assert_eq!(key(before), key(after), "same order, same keys");
        let Some(expected) = changed.get(&key(after)) else {
            assert_eq!(before, after, "lines outside the window are untouched");
            continue;
        };
        seen_changed += 1;
        let number = |line: &Value, path: [&str; 2]| line[path[0]][0][path[1]].as_f64().unwrap();
        assert_eq!(
            number(after, ["cantidad", "cantidad_vendida"]),
            number(before, ["cantidad", "cantidad_vendida"]) + 1.0
        );
        assert_eq!(
            number(after, ["cantidad", "cantidad_vendida"]),
            expected.cantidad_vendida
        );
        assert_eq!(
            number(after, ["financiero", "venta_total_usd"]),
            expected.venta_total_usd
        );
        assert_eq!(
            number(after, ["financiero", "venta_total_bs"]),
            expected.venta_total_bs
        );
        assert_eq!(
            Some(number(after, ["financiero", "costo_total_usd"])),
            expected.costo_total_usd
        );
        assert!(
            number(after, ["financiero", "venta_total_usd"])
                > number(before, ["financiero", "venta_total_usd"])
        );
        assert_eq!(after["total_factura"].as_f64(), expected.total_factura);
        assert_ne!(after["total_factura"], before["total_factura"]);
    }
    assert!(
        seen_changed >= minute.len(),
        "every line of the minute (duplicates twice)"
    );
    let log = sim.requests();
    assert_eq!(log[1].data_faults, [FaultAction::Change]);
    assert_eq!(log[1].changed_lines, minute.len());
    assert_eq!((log[0].changed_lines, log[2].changed_lines), (0, 0));
}

#[test]
fn hide_and_change_add_up_with_latency_and_the_first_other_rule_decides() {
    let other_minute = "2025-11-17T14:20/2025-11-17T14:21";
    let sim = start(
        quirks(BoundSemantics::HalfOpen),
        rules(&[
            &format!("SUC001:ventas:hide@{MINUTE}"),
            "SUC001:ventas:latency=30ms",
            "SUC001:ventas:503:1",
            &format!("SUC001:ventas:change:2@{other_minute}"),
        ]),
    );
    let minute = minute_lines(&sim);
    let (status, _) = exchange(
        &sim,
        &sales_body("SUC001", Some("14:00"), Some("14:30")).to_string(),
    );
    assert_eq!(status, 503, "the 503 decides even after a hide");
    let second = ventas(&sim, &sales_body("SUC001", Some("14:00"), Some("14:30")));
    assert!(keys(&second).is_disjoint(&minute));
    let log = sim.requests();
    assert_eq!(log[0].fault, Some(FaultAction::Status(503)));
    assert_eq!(log[0].data_faults, [FaultAction::Hide]);
    assert_eq!(log[0].latency, Duration::from_millis(30));
    assert_eq!(log[1].fault, None);
    assert_eq!(log[1].data_faults, [FaultAction::Hide, FaultAction::Change]);
    assert_eq!(log[1].hidden_lines, minute.len());
    assert!(log[1].changed_lines > 0);
}

#[test]
fn ventas_dia_rules_match_whole_day_requests_only() {
    let sim = start(SimQuirks::default(), rules(&["SUC001:ventas-dia:500"]));
    let status = |body: Value| exchange(&sim, &body.to_string()).0;
    assert_eq!(
        status(sales_body("SUC001", Some("12:00"), Some("12:30"))),
        200
    );
    assert_eq!(
        status(sales_body("SUC001", None, None)),
        500,
        "the nightly re-pull"
    );
    assert_eq!(
        status(sales_body("SUC001", Some("23:30"), None)),
        200,
        "one bound is hours"
    );
    assert_eq!(status(sales_body("SUC001", None, Some("00:30"))), 200);
    let several_days =
        json!({"sucursal": "SUC001", "fecha_desde": "2025-11-16", "fecha_hasta": DAY});
    assert_eq!(status(several_days), 500);
    assert_eq!(status(sales_body("SUC002", None, None)), 200);
    assert_eq!(sim.request_count(Endpoint::VentasDia, Some("SUC001")), 2);
    assert_eq!(sim.request_count(Endpoint::VentasDia, None), 3);
    assert_eq!(sim.request_count(Endpoint::Ventas, Some("SUC001")), 5);
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.endpoint == Some(Endpoint::Ventas))
    );

    // A rule's count advances on whole-day requests only.
    let sim = start(SimQuirks::default(), rules(&["SUC001:ventas-dia:503:2"]));
    let hourly = sales_body("SUC001", Some("12:00"), Some("12:30"));
    let daily = sales_body("SUC001", None, None);
    let statuses: Vec<u16> = [&daily, &hourly, &hourly, &daily, &daily]
        .iter()
        .map(|body| exchange(&sim, &body.to_string()).0)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 503, 200]);

    // And data can differ between the half-hourly requests and the re-pull.
    let sim = start(
        quirks(BoundSemantics::HalfOpen),
        rules(&[&format!("SUC001:ventas-dia:hide@{MINUTE}")]),
    );
    let minute = minute_lines(&sim);
    assert!(minute.is_subset(&fetch(&sim, Some("14:00"), Some("14:30"))));
    assert!(minute.is_disjoint(&fetch(&sim, None, None)));
}

#[test]
fn rules_that_cannot_apply_are_refused_at_start() {
    let start_with = |rule: FaultRule| {
        Simulator::start_with(
            SimOptions {
                port: 0,
                data: small_data(),
                faults: vec![rule],
            },
            SimQuirks::default(),
        )
    };
    let error = start_with(FaultRule::new(FaultAction::Hide).store("SUC001"))
        .err()
        .expect("hide without a window is refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("hide needs @WINDOW"), "{error}");
    let window: TimeRange = MINUTE.parse().unwrap();
    let error = start_with(
        FaultRule::new(FaultAction::Change)
            .endpoint(Endpoint::Stock)
            .window(window),
    )
    .err()
    .expect("change on stock is refused");
    assert!(error.to_string().contains("endpoint stock"), "{error}");
    assert!(start_with(FaultRule::new(FaultAction::Change).window(window)).is_ok());
}
