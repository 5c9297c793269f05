//! The dashboard and its pages, rendered on the server (maud): readable without JavaScript;
//! a small script only refreshes the live executions. Words in Spanish or English (see
//! `i18n`), data in the database's vocabulary.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::Shared;
use super::auth::{Identity, LANG_COOKIE, check_csrf, check_same_origin};
use super::http::{self, ApiError, LoggedAs, query_pairs, with_db};
use super::i18n::{self, Lang, Text};
use super::recover::{self, RecoverAsk};
use crate::monitor::coverage_map::{CellState, DayRow, MapInputs, MapStore, SlotRow};
use crate::monitor::health::{self, Health, Status};
use crate::monitor::{StoreState, snapshot};
use crate::tracker::engine::Session;
use crate::tracker::executions::{self, ExecutionFilter, ExecutionRow};
use crate::tracker::gaps::{self, Gap, GapQuery};
use crate::tracker::invocations::{self, Invocation};
use crate::tracker::metrics::{self, DayMetrics, MetricsQuery, MetricsReport};
use crate::tracker::vocab::{Estado, EtlTipo, Modo};
use crate::tracker::{TrackerError, coverage};

/// Days of the half-hour map, today included.
const MAP_DAYS: i64 = 7;
/// Days of the day map.
const DAY_MAP_DAYS: i64 = 30;
/// Days of the per-store charts.
const CHART_DAYS: u32 = 14;
/// Gaps listed on the dashboard (the rest on /gaps).
const DASHBOARD_GAPS: usize = 50;
const LIVE_ROWS: usize = 20;

// ---------------------------------------------------------------------------------------
// Shared pieces

struct PageCtx {
    lang: Lang,
    who: Option<Identity>,
    /// Set the language cookie (the switch was used).
    set_lang: bool,
}

impl PageCtx {
    fn t(&self) -> &'static Text {
        self.lang.text()
    }

    fn csrf(&self) -> Option<&str> {
        match &self.who {
            Some(Identity::Session { session, .. }) => Some(&session.csrf),
            _ => None,
        }
    }
}

/// Who reads the page and in which language; anonymous readers are sent to /login when
/// reading needs a token.
fn page_ctx(
    state: &Shared,
    headers: &HeaderMap,
    peer: SocketAddr,
    query: Option<&str>,
    here: &str,
) -> Result<PageCtx, Box<Response>> {
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect::<Vec<_>>();
    let query_lang = http::last(&pairs, "lang");
    let lang = i18n::choose(headers, query_lang);
    let who = match state.auth.reader(headers, peer.ip()) {
        Ok(who) => who,
        Err(err)
            if err.status == StatusCode::UNAUTHORIZED
                && headers.get(header::AUTHORIZATION).is_none() =>
        {
            return Err(Box::new(
                Redirect::to(&format!("/login?next={}", encode(here))).into_response(),
            ));
        }
        Err(err) => return Err(Box::new(error_page(lang, err))),
    };
    Ok(PageCtx {
        lang,
        who,
        set_lang: query_lang.and_then(Lang::parse).is_some(),
    })
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A relative path on this server (an open redirect is refused).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn html_response(ctx: &PageCtx, status: StatusCode, markup: Markup) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    if ctx.set_lang
        && let Ok(value) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            ctx.lang.code()
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    if let Some(who) = &ctx.who {
        response
            .extensions_mut()
            .insert(LoggedAs(who.name().to_string()));
    }
    response
}

fn error_page(lang: Lang, err: ApiError) -> Response {
    let t = lang.text();
    let status = err.status;
    let markup = layout(
        &PageCtx {
            lang,
            who: None,
            set_lang: false,
        },
        t.title,
        "/",
        html! {
            p.error { (status.as_u16()) " " (status.canonical_reason().unwrap_or_default()) ": " (err.message) }
            p { a href="/" { (t.back) } }
        },
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

fn layout(ctx: &PageCtx, title: &str, here: &str, body: Markup) -> Markup {
    let t = ctx.t();
    let other = ctx.lang.other();
    let sep = if here.contains('?') { '&' } else { '?' };
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/style.css";
                noscript { meta http-equiv="refresh" content="60"; }
            }
            body {
                header.top {
                    h1 { a href="/" { (t.title) } }
                    a href={ (here) (sep) "lang=" (other.code()) } lang=(other.code()) { (t.switch_to) }
                    @match &ctx.who {
                        Some(who) => {
                            span.muted { (t.signed_in_as) " " strong { (who.name()) } }
                            @if let Some(csrf) = ctx.csrf() {
                                form method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { (t.sign_out) }
                                }
                            }
                        }
                        None => { a.button href={ "/login?next=" (encode(here)) } { (t.sign_in) } }
                    }
                }
                main { (body) }
                script src="/assets/dashboard.js" {}
            }
        }
    }
}

fn time_text(t: Option<NaiveTime>) -> String {
    t.map(|t| t.format("%H:%M").to_string()).unwrap_or_default()
}

fn window_text(
    from: NaiveDate,
    to: NaiveDate,
    h1: Option<NaiveTime>,
    h2: Option<NaiveTime>,
) -> String {
    let dates = if from == to {
        from.to_string()
    } else {
        format!("{from}..{to}")
    };
    match (h1, h2) {
        (None, None) => dates,
        _ => format!("{dates} {}-{}", time_text(h1), time_text(h2)),
    }
}

fn state_label(t: &Text, state: CellState) -> &'static str {
    match state {
        CellState::Covered => t.state_covered,
        CellState::Gap => t.state_gap,
        CellState::BackingOff => t.state_backing_off,
        CellState::InFlight => t.state_in_flight,
        CellState::NotDue => t.state_not_due,
        CellState::Closed => t.state_closed,
        CellState::Unverified => t.state_unverified,
    }
}

fn executions_link(store: &str, from: NaiveDateTime, to: NaiveDateTime) -> String {
    format!(
        "/executions?store={}&from={}&to={}",
        encode(store),
        from.format("%Y-%m-%dT%H:%M"),
        to.format("%Y-%m-%dT%H:%M")
    )
}

fn legend(t: &Text, states: &[CellState]) -> Markup {
    html! {
        p.legend {
            @for s in states {
                span { i class={ "c-" (s.as_str()) } {} (state_label(t, *s)) }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Data

struct LiveData {
    rows: Vec<ExecutionRow>,
}

fn live_rows(db: &mut Session) -> Result<LiveData, TrackerError> {
    let mut running = executions::list_in(
        db,
        &ExecutionFilter {
            estado: Some(Estado::EnProceso),
            limit: 200,
            ..ExecutionFilter::default()
        },
    )?;
    let latest = executions::list_in(
        db,
        &ExecutionFilter {
            limit: LIVE_ROWS,
            ..ExecutionFilter::default()
        },
    )?;
    for row in latest {
        if !running.iter().any(|r| r.id == row.id) {
            running.push(row);
        }
    }
    Ok(LiveData { rows: running })
}

struct DashboardData {
    now: NaiveDateTime,
    health: Health,
    stores: Vec<StoreState>,
    gaps: Vec<Gap>,
    live: LiveData,
    metrics: MetricsReport,
    map: Vec<SlotRow>,
    map_from: NaiveDateTime,
    web: Vec<Invocation>,
}

fn map_stores(
    state: &Shared,
    stores: &[StoreState],
    expected: &HashMap<String, Option<NaiveDateTime>>,
) -> Vec<MapStore> {
    let mut ids: Vec<(String, String)> = state
        .config
        .stores
        .iter()
        .filter(|s| s.active)
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    for s in stores.iter().filter(|s| s.etl_tipo == "ventas") {
        if !ids.iter().any(|(id, _)| *id == s.ubicacion_id) {
            ids.push((s.ubicacion_id.clone(), s.ubicacion_nombre.clone()));
        }
    }
    ids.into_iter()
        .map(|(id, name)| MapStore {
            opening_hours: state.config.store(&id).and_then(|s| s.opening_hours),
            expected_since: expected.get(&id).copied().flatten(),
            id,
            name,
        })
        .collect()
}

fn map_inputs<'a>(
    state: &Shared,
    now: NaiveDateTime,
    stores: Vec<MapStore>,
    gaps: &'a [Gap],
    running: &'a [ExecutionRow],
    marks: &'a HashMap<String, NaiveDateTime>,
) -> MapInputs<'a> {
    let tracking = &state.config.tracking;
    MapInputs {
        now,
        slot_minutes: tracking.slot_minutes,
        grace: Duration::from_std(tracking.gap_grace).unwrap_or(Duration::minutes(30)),
        live_since: now - Duration::from_std(tracking.stuck_after).unwrap_or(Duration::hours(1)),
        stores,
        gaps,
        in_progress: running,
        watermarks: marks,
    }
}

fn dashboard_data(
    state: &Shared,
    db: &mut Session,
    now: NaiveDateTime,
) -> Result<DashboardData, TrackerError> {
    let config = &state.config;
    let snap = snapshot(db, config, now)?;
    let health = health::evaluate(&snap, &config.monitoring);
    let live = live_rows(db)?;
    let metrics = metrics::report_in(
        db,
        &MetricsQuery {
            now_local: now,
            days: CHART_DAYS,
            etl_tipo: Some(EtlTipo::Ventas),
            stores: Vec::new(),
        },
    )?;
    let map_from = (now.date() - Duration::days(MAP_DAYS - 1)).and_time(NaiveTime::MIN);
    let map_to = (now.date() + Duration::days(1)).and_time(NaiveTime::MIN);
    let map_gaps;
    let gaps_for_map: &[Gap] =
        if config.tracking.horizon >= std::time::Duration::from_secs(MAP_DAYS as u64 * 86400) {
            &snap.gaps
        } else {
            map_gaps = gaps::list_in(
                db,
                &GapQuery {
                    now_local: now,
                    tracking: config.tracking,
                    horizon: std::time::Duration::from_secs(MAP_DAYS as u64 * 86400),
                    etl_tipo: Some(EtlTipo::Ventas),
                    stores: Vec::new(),
                },
            )?;
            &map_gaps
        };
    let marks = coverage::sales_watermarks(db, map_from - Duration::days(1))?;
    let expected = coverage::expected_sales_start(db)?;
    let stores = map_stores(state, &snap.stores, &expected);
    let map = map_inputs(state, now, stores, gaps_for_map, &live.rows, &marks)
        .slot_rows(map_from, map_to);
    let web = invocations::recent_requested(db, 5)?;
    Ok(DashboardData {
        now,
        health,
        stores: snap.stores,
        gaps: snap.gaps,
        live,
        metrics,
        map,
        map_from,
        web,
    })
}

// ---------------------------------------------------------------------------------------
// The dashboard

/// The dashboard but its gap table (whose Recover buttons carry the session's CSRF token),
/// rendered once per cached answer and language: at 100 stores the heat-map and the charts
/// are most of a request's cost.
struct DashboardParts {
    data: Arc<DashboardData>,
    before_gaps: String,
    after_gaps: String,
}

async fn dashboard_parts(state: &Shared, lang: Lang) -> Result<Arc<DashboardParts>, ApiError> {
    let shared = state.clone();
    state
        .cache
        .get(format!("dashboard-{}", lang.code()), move || async move {
            let worker = shared.clone();
            let data = shared
                .cache
                .get("dashboard".to_string(), || {
                    with_db(&shared, move |db, now| dashboard_data(&worker, db, now))
                })
                .await?;
            Ok(render_dashboard_parts(&shared, lang.text(), data))
        })
        .await
}

fn render_dashboard_parts(state: &Shared, t: &Text, data: Arc<DashboardData>) -> DashboardParts {
    let before_gaps = html! {
        (health_box(t, &data.health))
        section #coverage {
            h2 { (t.coverage) ": " (t.last_7_days) " · " a href="/days" { (t.last_30_days) } }
            p.help { (t.coverage_help) }
            (legend(t, &[CellState::Covered, CellState::Gap, CellState::BackingOff, CellState::InFlight, CellState::NotDue, CellState::Closed, CellState::Unverified]))
            (slot_map(t, &data.map, data.map_from, &data.stores, &data.gaps))
        }
    };
    let after_gaps = html! {
        section {
            h2 { (t.live) }
            p.help { (t.live_help) }
            div #live data-src="/fragments/live" data-every="5" { (live_table(t, &data.live.rows, data.now)) }
        }
        section #reliability {
            h2 { (t.reliability) }
            p.help { (t.reliability_help) }
            (reliability(t, &data.metrics, &data.stores))
        }
        @if !data.web.is_empty() {
            section #web {
                h2 { (t.web_recoveries) }
                table {
                    tr { th { (t.started) } th { (t.asked_by) } th { (t.tipo) } th { (t.state) } th.num { (t.rows) } }
                    @for inv in &data.web {
                        tr {
                            td.nowrap { (inv.inicio.format("%Y-%m-%d %H:%M:%S")) }
                            td { (inv.solicitado_por.clone().unwrap_or_default()) }
                            td { (inv.tipos) }
                            td class={ "estado-" (inv.estado) } { (inv.estado) }
                            td.num { (inv.lineas.unwrap_or(0)) }
                        }
                    }
                }
            }
        }
        p.muted { (t.updated) " " (data.now.format("%Y-%m-%d %H:%M:%S")) " (" (state.config.timezone.name()) ")" }
    };
    DashboardParts {
        data,
        before_gaps: before_gaps.into_string(),
        after_gaps: after_gaps.into_string(),
    }
}

pub async fn dashboard(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match page_ctx(&state, &headers, peer, raw.as_deref(), "/") {
        Ok(ctx) => ctx,
        Err(response) => return *response,
    };
    let parts = match dashboard_parts(&state, ctx.lang).await {
        Ok(parts) => parts,
        Err(err) => return error_page(ctx.lang, err),
    };
    let flash = match &ctx.who {
        Some(Identity::Session { id, .. }) => state.auth.take_flash(id),
        _ => None,
    };
    let t = ctx.t();
    let gaps = &parts.data.gaps;
    let body = html! {
        @if let Some(message) = &flash { p.flash #flash { (message) } }
        (PreEscaped(&parts.before_gaps))
        section #gaps {
            h2 { (t.open_gaps) " (" (gaps.len()) ")" }
            (gap_table(&ctx, gaps, DASHBOARD_GAPS, "/"))
            @if gaps.len() > DASHBOARD_GAPS { p { a href="/gaps" { (t.all_gaps) } } }
        }
        (PreEscaped(&parts.after_gaps))
    };
    html_response(&ctx, StatusCode::OK, layout(&ctx, t.title, "/", body))
}

fn health_box(t: &Text, health: &Health) -> Markup {
    let class = match health.status {
        Status::Ok => "st-ok",
        Status::Warning => "st-warning",
        Status::Critical => "st-critical",
        Status::Unknown => "st-unknown",
    };
    html! {
        details class={ "health " (class) } #health data-status=(health.status.label()) {
            summary { (t.health) ": " (health.summary) }
            ul {
                @for check in &health.checks {
                    li { strong { (check.status.label()) } " " (check.name) ": " (check.message) }
                }
            }
        }
    }
}

fn slot_map(
    t: &Text,
    rows: &[SlotRow],
    from: NaiveDateTime,
    stores: &[StoreState],
    gaps: &[Gap],
) -> Markup {
    let slots: u32 = rows
        .first()
        .map_or(0, |r| r.segments.iter().map(|s| s.slots).sum());
    let per_day = if MAP_DAYS > 0 {
        slots / MAP_DAYS as u32
    } else {
        slots
    };
    html! {
        table.map {
            tr {
                th.store { (t.store) }
                td.strip {
                    div.axis {
                        @for d in 0..MAP_DAYS { span { ((from.date() + Duration::days(d)).format("%Y-%m-%d")) } }
                    }
                }
                th { (t.stock) }
            }
            @for row in rows {
                tr data-store=(row.ubicacion_id) {
                    th.store { a href={ "/executions?store=" (encode(&row.ubicacion_id)) } { (row.ubicacion_id) " " span.muted { (row.ubicacion_nombre) } } }
                    td.strip {
                        svg.strip viewBox={ "0 0 " (slots) " 10" } preserveAspectRatio="none" {
                            @for (x, seg) in row.segments.iter().scan(0u32, |x, seg| { let at = *x; *x += seg.slots; Some((at, seg)) }) {
                                @let width = seg.slots;
                                a href=(executions_link(&row.ubicacion_id, seg.start, seg.end)) {
                                    rect class={ "c-" (seg.state.as_str()) } x=(x) y="0" width=(width) height="10"
                                        data-state=(seg.state.as_str()) data-from=(seg.start.format("%Y-%m-%dT%H:%M")) data-to=(seg.end.format("%Y-%m-%dT%H:%M")) {
                                        title {
                                            (row.ubicacion_id) " " (seg.start.format("%Y-%m-%d %H:%M")) "–" (seg.end.format("%H:%M")) ": " (state_label(t, seg.state))
                                            @if let Some(c) = &seg.causa { " (" (c) @if let Some(e) = &seg.error_tipo { ", " (e) } ")" }
                                            @if let Some(n) = seg.next_try { "; " (t.next_try) " " (n.format("%Y-%m-%d %H:%M")) }
                                        }
                                    }
                                }
                            }
                            @for d in 1..MAP_DAYS { line.day x1=(d as u32 * per_day) x2=(d as u32 * per_day) y1="0" y2="10" {} }
                            @for day in &row.unverified_days {
                                @let offset = (*day - from.date()).num_days();
                                @if (0..MAP_DAYS).contains(&offset) {
                                    a href=(executions_link(&row.ubicacion_id, day.and_time(NaiveTime::MIN), (*day + Duration::days(1)).and_time(NaiveTime::MIN))) {
                                        rect.mark-unverified x=(offset as u32 * per_day) y="0" width=(per_day) height="2.5" data-state="unverified" {
                                            title { (row.ubicacion_id) " " (day) ": " (t.state_unverified) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    (stock_cell(t, &row.ubicacion_id, stores, gaps))
                }
            }
        }
    }
}

fn stock_cell(t: &Text, store: &str, stores: &[StoreState], gaps: &[Gap]) -> Markup {
    let gap = gaps
        .iter()
        .find(|g| g.etl_tipo == "inventario" && g.ubicacion_id == store);
    let age = stores
        .iter()
        .find(|s| s.etl_tipo == "inventario" && s.ubicacion_id == store)
        .and_then(|s| s.inventory_age_seconds);
    let age_text = age.map(|s| {
        if s < 5400.0 {
            format!("{:.0} min", s / 60.0)
        } else {
            format!("{:.1} h", s / 3600.0)
        }
    });
    html! {
        @match gap {
            Some(g) => td.nowrap.st-critical title=(format!("{}: {} ({})", t.state_gap, g.causa, g.error_tipo)) { (t.state_gap) @if let Some(a) = &age_text { " · " (a) } }
            None => td.nowrap.st-ok { (age_text.unwrap_or_default()) }
        }
    }
}

fn gap_table(ctx: &PageCtx, gaps: &[Gap], limit: usize, back: &str) -> Markup {
    let t = ctx.t();
    html! {
        @if gaps.is_empty() {
            p #no-gaps { (t.no_gaps) }
        } @else {
            table #gap-list {
                tr {
                    th { (t.store) } th { (t.tipo) } th { (t.window) } th { (t.cause) } th { (t.error) }
                    th.num { (t.age_hours) } th.num { (t.attempts) } th {}
                }
                @for g in gaps.iter().take(limit) {
                    tr.gap data-store=(g.ubicacion_id) data-tipo=(g.etl_tipo) data-fecha=(g.fecha_desde) data-from=(time_text(g.hora_desde)) {
                        td { (g.ubicacion_id) " " span.muted { (g.ubicacion_nombre) } }
                        td { (g.etl_tipo) }
                        td.nowrap { (window_text(g.fecha_desde, g.fecha_hasta, g.hora_desde, g.hora_hasta)) }
                        td { (g.causa) }
                        td title=(g.error_mensaje.clone().unwrap_or_default()) {
                            (g.error_tipo)
                            @if let Some(m) = &g.error_mensaje { br; span.muted { (m.chars().take(80).collect::<String>()) } }
                        }
                        td.num { (format!("{:.1}", g.horas_desde_fallo)) }
                        td.num { (g.intentos) }
                        td {
                            @if let Some(csrf) = ctx.csrf() {
                                form.recover method="post" action="/recover" data-busy=(t.recovering) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="etl_tipo" value=(g.etl_tipo);
                                    input type="hidden" name="ubicacion_id" value=(g.ubicacion_id);
                                    input type="hidden" name="fecha_desde" value=(g.fecha_desde);
                                    input type="hidden" name="fecha_hasta" value=(g.fecha_hasta);
                                    input type="hidden" name="hora_desde" value=(g.hora_desde.map(|h| h.format("%H:%M:%S").to_string()).unwrap_or_default());
                                    input type="hidden" name="hora_hasta" value=(g.hora_hasta.map(|h| h.format("%H:%M:%S").to_string()).unwrap_or_default());
                                    input type="hidden" name="next" value=(back);
                                    button.primary type="submit" { (t.recover) }
                                }
                            } @else {
                                a href={ "/login?next=" (encode(back)) } { (t.recover_needs_sign_in) }
                            }
                        }
                    }
                }
            }
            @if gaps.len() > limit { p.muted { (gaps.len() - limit) " " (t.more) } }
        }
    }
}

fn live_table(t: &Text, rows: &[ExecutionRow], now: NaiveDateTime) -> Markup {
    html! {
        @if rows.is_empty() {
            p { (t.no_executions) }
        } @else {
            table #live-list {
                tr {
                    th.num { "#" } th { (t.started) } th { (t.store) } th { (t.tipo) } th { (t.window) }
                    th { (t.mode) } th { (t.state) } th.num { (t.rows) } th.num { (t.seconds) } th { (t.error) }
                }
                @for r in rows {
                    tr data-id=(r.id) data-estado=(r.estado) {
                        td.num { (r.id) }
                        td.nowrap { (r.fecha_inicio.format("%Y-%m-%d %H:%M:%S")) }
                        td { (r.ubicacion_id) " " span.muted { (r.ubicacion_nombre) } }
                        td { (r.etl_tipo) }
                        td.nowrap { (window_text(r.fecha_desde, r.fecha_hasta, r.hora_desde, r.hora_hasta)) }
                        td { (r.modo.clone().unwrap_or_default()) }
                        td class={ "estado-" (r.estado) } {
                            (r.estado)
                            @if r.estado == "en_proceso" { " " span.muted { ((now - r.fecha_inicio).num_seconds().max(0)) " s" } }
                        }
                        td.num { (r.registros_cargados.unwrap_or(0)) }
                        td.num { (r.duracion_segundos.map(|d| format!("{d:.1}")).unwrap_or_default()) }
                        td title=(r.error_mensaje.clone().unwrap_or_default()) { (r.error_tipo.clone().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// A line of `values` (None: a gap in the line) scaled to `max`, in a 120 x 26 box.
fn sparkline(values: &[Option<f64>], max: f64, bars: bool, title: String) -> Markup {
    let n = values.len().max(1) as f64;
    let step = 120.0 / n;
    let y = |v: f64| 25.0 - (v / max.max(1e-9)).clamp(0.0, 1.0) * 23.0;
    let points: String = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1} ", i as f64 * step + step / 2.0, y(v))))
        .collect();
    html! {
        svg.spark viewBox="0 0 120 26" role="img" {
            title { (title) }
            line.base x1="0" x2="120" y1="25.5" y2="25.5" {}
            @if bars {
                @for (i, v) in values.iter().enumerate() {
                    @if let Some(v) = v {
                        rect x=(format!("{:.1}", i as f64 * step + 1.0)) y=(format!("{:.1}", y(*v))) width=(format!("{:.1}", (step - 2.0).max(1.0))) height=(format!("{:.1}", 25.0 - y(*v))) {}
                    }
                }
            } @else {
                polyline points=(points) {}
            }
        }
    }
}

fn reliability(t: &Text, report: &MetricsReport, stores: &[StoreState]) -> Markup {
    let mut by_store: BTreeMap<&str, (&str, BTreeMap<NaiveDate, &DayMetrics>)> = BTreeMap::new();
    for d in report.por_dia.iter().filter(|d| d.etl_tipo == "ventas") {
        by_store
            .entry(d.ubicacion_id.as_str())
            .or_insert_with(|| (d.ubicacion_nombre.as_str(), BTreeMap::new()))
            .1
            .insert(d.fecha, d);
    }
    let days: Vec<NaiveDate> = {
        let mut v = Vec::new();
        let mut d = report.desde;
        while d <= report.hasta {
            v.push(d);
            d += Duration::days(1);
        }
        v
    };
    html! {
        table #reliability-table {
            tr {
                th { (t.store) } th { (t.success_rate) } th { (t.p95_duration) } th { (t.lines_loaded) }
                th.num { (t.late_lines) } th.num { (t.unverified_days) }
            }
            @for (store, (name, per_day)) in &by_store {
                @let rate: Vec<Option<f64>> = days.iter().map(|d| per_day.get(d).and_then(|m| m.tasa_exito_pct)).collect();
                @let p95: Vec<Option<f64>> = days.iter().map(|d| per_day.get(d).and_then(|m| m.duracion_p95_seg)).collect();
                @let lines: Vec<Option<f64>> = days.iter().map(|d| per_day.get(d).map(|m| m.total_registros_cargados as f64)).collect();
                @let max_p95 = p95.iter().flatten().cloned().fold(0.0f64, f64::max);
                @let max_lines = lines.iter().flatten().cloned().fold(0.0f64, f64::max);
                @let last_rate = rate.iter().rev().flatten().next().cloned();
                @let state = stores.iter().find(|s| s.etl_tipo == "ventas" && s.ubicacion_id == *store);
                tr data-store=(store) {
                    td { (store) " " span.muted { (name) } }
                    td.nowrap { (sparkline(&rate, 100.0, false, format!("{store} {}", t.success_rate))) span.muted { (last_rate.map(|r| format!("{r:.0}%")).unwrap_or_default()) } }
                    td.nowrap { (sparkline(&p95, max_p95, false, format!("{store} {}", t.p95_duration))) span.muted { (format!("max {max_p95:.1}")) } }
                    td.nowrap { (sparkline(&lines, max_lines, true, format!("{store} {}", t.lines_loaded))) span.muted { (format!("max {max_lines:.0}")) } }
                    td.num { (state.map_or(0, |s| s.late_lines)) }
                    td.num { (state.map_or(0, |s| s.unverified_days)) }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Other pages

struct DaysData {
    rows: Vec<DayRow>,
    first: NaiveDate,
}

pub async fn days(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match page_ctx(&state, &headers, peer, raw.as_deref(), "/days") {
        Ok(ctx) => ctx,
        Err(response) => return *response,
    };
    let lang = ctx.lang;
    let shared = state.clone();
    // Rendered once per cached answer and language (3,000 cells at 100 stores).
    let rendered = state
        .cache
        .get(format!("days-{}", lang.code()), move || async move {
            let worker = shared.clone();
            let data = shared
                .cache
                .get("days".to_string(), || {
                    with_db(&shared, move |db, now| {
                        let config = &worker.config;
                        let found = gaps::list_in(
                            db,
                            &GapQuery {
                                now_local: now,
                                tracking: config.tracking,
                                horizon: std::time::Duration::from_secs(
                                    DAY_MAP_DAYS as u64 * 86400,
                                ),
                                etl_tipo: Some(EtlTipo::Ventas),
                                stores: Vec::new(),
                            },
                        )?;
                        let running = executions::list_in(
                            db,
                            &ExecutionFilter {
                                estado: Some(Estado::EnProceso),
                                limit: 200,
                                ..ExecutionFilter::default()
                            },
                        )?;
                        let first = now.date() - Duration::days(DAY_MAP_DAYS - 1);
                        let marks = coverage::sales_watermarks(db, first.and_time(NaiveTime::MIN))?;
                        let expected = coverage::expected_sales_start(db)?;
                        let stores: Vec<StoreState> = expected
                            .keys()
                            .map(|id| StoreState {
                                etl_tipo: "ventas".into(),
                                ubicacion_id: id.clone(),
                                ubicacion_nombre: id.clone(),
                                ..StoreState::default()
                            })
                            .collect();
                        let map_stores = map_stores(&worker, &stores, &expected);
                        let rows = map_inputs(&worker, now, map_stores, &found, &running, &marks)
                            .day_rows(first, now.date());
                        Ok(DaysData { rows, first })
                    })
                })
                .await;
            let data = data?;
            Ok::<_, ApiError>(days_map(lang.text(), &data).into_string())
        })
        .await;
    let body = match rendered {
        Ok(body) => body,
        Err(err) => return error_page(ctx.lang, err),
    };
    let t = ctx.t();
    html_response(
        &ctx,
        StatusCode::OK,
        layout(&ctx, t.title, "/days", PreEscaped(body.as_ref().clone())),
    )
}

fn days_map(t: &Text, data: &DaysData) -> Markup {
    html! {
        section #coverage-days {
            h2 { (t.coverage) ": " (t.last_30_days) " · " a href="/" { (t.last_7_days) } }
            p.help { (t.coverage_help) }
            (legend(t, &[CellState::Covered, CellState::Gap, CellState::BackingOff, CellState::InFlight, CellState::Unverified, CellState::NotDue, CellState::Closed]))
            table.days {
                tr {
                    th { (t.store) }
                    @for d in 0..DAY_MAP_DAYS { th.num title=((data.first + Duration::days(d)).to_string()) { ((data.first + Duration::days(d)).format("%d")) } }
                }
                @for row in &data.rows {
                    tr data-store=(row.ubicacion_id) {
                        th.nowrap { (row.ubicacion_id) " " span.muted { (row.ubicacion_nombre) } }
                        @for cell in &row.days {
                            td class={ "day c-" (cell.state.as_str()) } data-state=(cell.state.as_str()) data-fecha=(cell.fecha) {
                                a href=(executions_link(&row.ubicacion_id, cell.fecha.and_time(NaiveTime::MIN), (cell.fecha + Duration::days(1)).and_time(NaiveTime::MIN)))
                                  title=(format!("{} {}: {}; {} {} / {}{}", row.ubicacion_id, cell.fecha, state_label(t, cell.state), cell.gap_slots, t.state_gap, cell.expected_slots, if cell.unverified { format!("; {}", t.state_unverified) } else { String::new() })) {}
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn gaps_page(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match page_ctx(&state, &headers, peer, raw.as_deref(), "/gaps") {
        Ok(ctx) => ctx,
        Err(response) => return *response,
    };
    let tracking = state.config.tracking;
    let found = state
        .cache
        .get("gaps-page".to_string(), || {
            with_db(&state, move |db, now| {
                gaps::list_in(
                    db,
                    &GapQuery {
                        now_local: now,
                        tracking,
                        horizon: tracking.horizon,
                        etl_tipo: None,
                        stores: Vec::new(),
                    },
                )
            })
        })
        .await;
    let found = match found {
        Ok(found) => found,
        Err(err) => return error_page(ctx.lang, err),
    };
    let t = ctx.t();
    let body = html! {
        section #gaps {
            h2 { (t.open_gaps) " (" (found.len()) ")" }
            (gap_table(&ctx, &found, usize::MAX, "/gaps"))
        }
    };
    html_response(
        &ctx,
        StatusCode::OK,
        layout(&ctx, t.open_gaps, "/gaps", body),
    )
}

fn parse_when(text: &str, field: &str) -> Result<NaiveDateTime, ApiError> {
    let text = text.trim();
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })
        .ok_or_else(|| {
            ApiError::bad_request(format!("{field} must be YYYY-MM-DDTHH:MM or YYYY-MM-DD"))
        })
}

pub async fn executions_page(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let here = format!("/executions?{}", raw.clone().unwrap_or_default());
    let ctx = match page_ctx(&state, &headers, peer, raw.as_deref(), &here) {
        Ok(ctx) => ctx,
        Err(response) => return *response,
    };
    let filter = (|| {
        let pairs = query_pairs(
            raw.as_deref(),
            &[
                "store", "tipo", "estado", "modo", "from", "to", "limit", "lang",
            ],
            false,
        )?;
        let stores = http::all(&pairs, "store");
        http::check_stores(&state, &stores)?;
        let window = match (http::last(&pairs, "from"), http::last(&pairs, "to")) {
            (Some(from), Some(to)) => {
                let (from, to) = (parse_when(from, "from")?, parse_when(to, "to")?);
                if to <= from {
                    return Err(ApiError::bad_request("from must be before to"));
                }
                Some((from, to))
            }
            (None, None) => None,
            _ => return Err(ApiError::bad_request("give both from and to, or neither")),
        };
        Ok::<_, ApiError>(ExecutionFilter {
            etl_tipo: http::vocabulary(
                &pairs,
                "tipo",
                EtlTipo::parse,
                EtlTipo::ALL,
                EtlTipo::as_str,
            )?,
            stores,
            estado: http::vocabulary(&pairs, "estado", Estado::parse, Estado::ALL, Estado::as_str)?,
            modo: http::vocabulary(&pairs, "modo", Modo::parse, Modo::ALL, Modo::as_str)?,
            window,
            limit: http::number(&pairs, "limit", 100, 1, 1000)? as usize,
        })
    })();
    let filter = match filter {
        Ok(filter) => filter,
        Err(err) => return error_page(ctx.lang, err),
    };
    let title_window = filter.window;
    let title_stores = filter.stores.join(", ");
    let key = format!("executions-page?{filter:?}");
    let rows = state
        .cache
        .get(key, || {
            with_db(&state, move |db, now| {
                Ok((executions::list_in(db, &filter)?, now))
            })
        })
        .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(err) => return error_page(ctx.lang, err),
    };
    let t = ctx.t();
    let body = html! {
        section {
            h2 {
                (t.executions)
                @if !title_stores.is_empty() { " · " (title_stores) }
                @if let Some((from, to)) = title_window { " · " (from.format("%Y-%m-%d %H:%M")) "–" (to.format("%Y-%m-%d %H:%M")) }
            }
            (live_table(t, &rows.0, rows.1))
            p { a href="/" { (t.back) } }
        }
    };
    html_response(
        &ctx,
        StatusCode::OK,
        layout(&ctx, t.executions, &here, body),
    )
}

pub async fn live_fragment(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = match page_ctx(&state, &headers, peer, raw.as_deref(), "/") {
        Ok(ctx) => ctx,
        Err(_) => return ApiError::new(StatusCode::UNAUTHORIZED, "sign in").into_response(),
    };
    let live = state
        .cache
        .get("live".to_string(), || {
            with_db(&state, |db, now| Ok((live_rows(db)?, now)))
        })
        .await;
    match live {
        Ok(live) => html_response(
            &ctx,
            StatusCode::OK,
            live_table(ctx.t(), &live.0.rows, live.1),
        ),
        Err(err) => err.into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// Signing in and out, recovering

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

fn login_page(ctx: &PageCtx, next: &str, error: Option<&str>) -> Markup {
    let t = ctx.t();
    layout(
        ctx,
        t.sign_in,
        &format!("/login?next={}", encode(next)),
        html! {
            section {
                h2 { (t.sign_in) }
                @if let Some(e) = error { p.error #login-error { (e) } }
                form.login method="post" action="/login" {
                    label for="token" { (t.token) }
                    input #token type="password" name="token" autocomplete="current-password" required;
                    input type="hidden" name="next" value=(next);
                    button.primary #sign-in type="submit" { (t.sign_in) }
                    p.help { (t.login_help) }
                }
            }
        },
    )
}

pub async fn login_form(headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect::<Vec<_>>();
    let lang = i18n::choose(&headers, http::last(&pairs, "lang"));
    let ctx = PageCtx {
        lang,
        who: None,
        set_lang: http::last(&pairs, "lang").is_some(),
    };
    let next = safe_next(http::last(&pairs, "next"));
    html_response(&ctx, StatusCode::OK, login_page(&ctx, &next, None))
}

pub async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let lang = i18n::choose(&headers, None);
    let ctx = PageCtx {
        lang,
        who: None,
        set_lang: false,
    };
    if let Err(err) = check_same_origin(&headers) {
        return error_page(lang, err);
    }
    let Ok(Form(form)) = form else {
        return error_page(
            lang,
            ApiError::bad_request("the sign-in form is malformed or too large"),
        );
    };
    let next = safe_next(form.next.as_deref());
    match state.auth.sign_in(&form.token, peer.ip()) {
        Ok((id, session)) => {
            let mut response = Redirect::to(&next).into_response();
            if let Ok(value) = HeaderValue::from_str(&state.auth.session_cookie(&id)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response.extensions_mut().insert(LoggedAs(session.name));
            response
        }
        Err(err) if err.status == StatusCode::UNAUTHORIZED => html_response(
            &ctx,
            StatusCode::UNAUTHORIZED,
            login_page(&ctx, &next, Some(ctx.t().wrong_token)),
        ),
        Err(err) => {
            let message = err.message.clone();
            let mut response =
                html_response(&ctx, err.status, login_page(&ctx, &next, Some(&message)));
            if let Some(seconds) = err.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: Option<String>,
}

pub async fn logout(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let lang = i18n::choose(&headers, None);
    if let Ok(Some(Identity::Session { id, session })) = state.auth.identify(&headers, peer.ip()) {
        let csrf = form.ok().and_then(|Form(f)| f.csrf);
        if let Err(err) = check_csrf(&headers, &session, csrf.as_deref()) {
            return error_page(lang, err);
        }
        state.auth.sign_out(&id);
    }
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&state.auth.expired_cookie()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct RecoverForm {
    #[serde(default)]
    csrf: Option<String>,
    etl_tipo: String,
    ubicacion_id: String,
    fecha_desde: String,
    fecha_hasta: String,
    #[serde(default)]
    hora_desde: Option<String>,
    #[serde(default)]
    hora_hasta: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

/// The dashboard's Recover button (a form with the session's CSRF token): recovers, then
/// back to the page with the outcome.
pub async fn recover_form(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<RecoverForm>, FormRejection>,
) -> Response {
    let lang = i18n::choose(&headers, None);
    let (id, session) = match state.auth.identify(&headers, peer.ip()) {
        Ok(Some(Identity::Session { id, session })) => (id, session),
        Ok(_) => return Redirect::to("/login?next=%2F").into_response(),
        Err(err) => return error_page(lang, err),
    };
    let Ok(Form(form)) = form else {
        return error_page(
            lang,
            ApiError::bad_request("the recover form is malformed or too large"),
        );
    };
    if let Err(err) = check_csrf(&headers, &session, form.csrf.as_deref()) {
        return error_page(lang, err);
    }
    let next = safe_next(form.next.as_deref());
    let ask = (|| {
        let tipo = EtlTipo::parse(&form.etl_tipo)
            .ok_or_else(|| ApiError::bad_request("etl_tipo must be ventas or inventario"))?;
        let time =
            |text: &Option<String>, field: &str| -> Result<Option<(NaiveTime, bool)>, ApiError> {
                text.as_deref()
                    .filter(|t| !t.is_empty())
                    .map(|t| recover::parse_time(t, field))
                    .transpose()
            };
        Ok::<_, ApiError>(RecoverAsk {
            tipo,
            store: form.ubicacion_id.clone(),
            fecha_desde: recover::parse_date(&form.fecha_desde, "fecha_desde")?,
            fecha_hasta: recover::parse_date(&form.fecha_hasta, "fecha_hasta")?,
            hora_desde: time(&form.hora_desde, "hora_desde")?.map(|(t, _)| t),
            hora_hasta: time(&form.hora_hasta, "hora_hasta")?
                .and_then(|(t, end)| (!end).then_some(t)),
        })
    })();
    let message = match ask {
        Err(err) => err.message,
        Ok(ask) => {
            let what = format!(
                "{} {} {}",
                ask.store,
                ask.tipo,
                window_text(
                    ask.fecha_desde,
                    ask.fecha_hasta,
                    ask.hora_desde,
                    ask.hora_hasta
                )
            );
            match recover::execute(&state, ask, &session.name).await {
                Ok(outcome) => {
                    let ids: Vec<String> = outcome
                        .ejecuciones
                        .iter()
                        .map(|e| format!("#{} {}", e.ejecucion_id.unwrap_or_default(), e.estado))
                        .collect();
                    let detail = outcome
                        .ejecuciones
                        .iter()
                        .filter_map(|e| {
                            e.error_mensaje.as_ref().map(|m| {
                                format!("{}: {m}", e.error_tipo.clone().unwrap_or_default())
                            })
                        })
                        .next()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default();
                    format!(
                        "{}: {what}: {} [{}]{detail}",
                        lang.text().recover,
                        outcome.estado,
                        ids.join(", ")
                    )
                }
                Err(err) => format!("{}: {what}: {}", lang.text().recover, err.message),
            }
        }
    };
    state.auth.set_flash(&id, message);
    let mut response = Redirect::to(&next).into_response();
    response.extensions_mut().insert(LoggedAs(session.name));
    response
}

pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "dashboard.js" => (
            include_str!("assets/dashboard.js"),
            "text/javascript; charset=utf-8",
        ),
        "style.css" => (include_str!("assets/style.css"), "text/css; charset=utf-8"),
        _ => return ApiError::new(StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
