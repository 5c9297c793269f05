//! The simulator's socket side: accept loop, one thread per connection, fault execution.

use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::api::{self, EditCounts, ListPayload, Rejection, SalesEdits, Target};
use super::http::{self, HttpRequest, ReadError};
use super::options::{SimData, SimOptions, SimQuirks};
use super::scenario::{Endpoint, FaultAction, FaultRule};

/// How long a connection may take to send its request.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_POLL: Duration = Duration::from_millis(20);
const TRICKLE_PIECES: u32 = 40;

/// A running KLK API simulator.
pub struct Simulator;

impl Simulator {
    /// Binds 127.0.0.1:`options.port` (0 = any free port) and serves in background threads
    /// until the handle is stopped or dropped. The API has the default quirks.
    pub fn start(options: SimOptions) -> io::Result<SimHandle> {
        Self::start_with(options, SimQuirks::default())
    }

    /// [`Simulator::start`] with the API's `quirks` (bound semantics, edge lines). An
    /// invalid rule (e.g. `hide` without a window) is an `InvalidInput` error.
    pub fn start_with(options: SimOptions, quirks: SimQuirks) -> io::Result<SimHandle> {
        for rule in &options.faults {
            rule.validate()
                .map_err(|reason| io::Error::new(io::ErrorKind::InvalidInput, reason))?;
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            counters: Mutex::new(vec![0; options.faults.len()]),
            data: options.data,
            quirks,
            faults: options.faults,
            log: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            workers: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = std::thread::Builder::new()
            .name("klk-sim-accept".to_owned())
            .spawn(move || accept_loop(&accept_shared, &listener))?;
        Ok(SimHandle {
            shared,
            addr,
            accept_thread: Some(accept_thread),
        })
    }
}

/// Controls a running simulator; dropping it stops the simulator.
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept_thread: Option<JoinHandle<()>>,
}

/// One request the simulator received, and what it did with it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// 1 for the first request.
    pub seq: u64,
    pub received_at: Instant,
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// Always [`Endpoint::Ventas`] for sales, whole-day or not (see `whole_day`).
    pub endpoint: Option<Endpoint>,
    pub store: Option<String>,
    /// Sales: the requested window read as the client means it, `[hora_desde, hora_hasta)`
    /// with `23:59:59` as the end of the day, whatever the simulator's bound semantics.
    pub window: Option<(NaiveDateTime, NaiveDateTime)>,
    /// Sales: the instants `[from, to)` (full precision) the answer covered under the
    /// simulator's bound semantics; the same as `window` under `half-open`. Rule windows
    /// are matched against this.
    pub served: Option<(NaiveDateTime, NaiveDateTime)>,
    /// A sales request without `hora_desde` and `hora_hasta` (what `ventas-dia` matches).
    pub whole_day: bool,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The request body as sent (the hours as the client wrote them).
    pub body: String,
    /// The fault that decided the answer (latency, `hide` and `change` excluded), if any.
    pub fault: Option<FaultAction>,
    /// The `hide`/`change` rules applied to the data, in rule order.
    pub data_faults: Vec<FaultAction>,
    /// Lines of the normal answer left out by `hide` rules (each line once, even when the
    /// API sends it twice). A deciding `fault` may have replaced the whole answer.
    pub hidden_lines: usize,
    /// Lines of the normal answer changed by `change` rules (counted like `hidden_lines`).
    pub changed_lines: usize,
    pub latency: Duration,
    /// The status sent, `None` when no response was sent.
    pub status: Option<u16>,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn data(&self) -> &SimData {
        &self.shared.data
    }

    /// The API quirks it was started with: pass them to the `truth::*_with` functions.
    pub fn quirks(&self) -> SimQuirks {
        self.shared.quirks
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// Requests received for `endpoint` (and `store` when given); `VentasDia` counts the
    /// whole-day sales requests.
    pub fn request_count(&self, endpoint: Endpoint, store: Option<&str>) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|record| endpoint_matches(endpoint, record.endpoint, record.whole_day))
            .filter(|record| store.is_none_or(|store| record.store.as_deref() == Some(store)))
            .count()
    }

    /// Stops accepting, aborts open connections (hangs included) and waits for the threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the blocking accept(); failing to connect means it is already gone.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        for (_, stream) in lock(&self.shared.connections).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let workers = std::mem::take(&mut *lock(&self.shared.workers));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Shared {
    data: SimData,
    quirks: SimQuirks,
    faults: Vec<FaultRule>,
    /// Matching requests seen so far, per rule.
    counters: Mutex<Vec<u64>>,
    log: Mutex<Vec<RequestRecord>>,
    stopping: AtomicBool,
    /// Clones of open connections, to abort them on stop.
    connections: Mutex<HashMap<u64, TcpStream>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    next_id: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps up to `duration`, returning early (false) when the simulator stops.
    fn pause(&self, duration: Duration) -> bool {
        let until = Instant::now().checked_add(duration);
        while !self.is_stopping() {
            let remaining = match until {
                Some(until) => until.saturating_duration_since(Instant::now()),
                None => STOP_POLL,
            };
            if remaining.is_zero() {
                return true;
            }
            std::thread::sleep(STOP_POLL.min(remaining));
        }
        false
    }

    /// Counts the request against every matching rule; returns what the rules whose
    /// request range holds do to it.
    fn select_faults(&self, target: &Target) -> Selection {
        let mut counters = lock(&self.counters);
        let mut selection = Selection::default();
        for (rule, counter) in self.faults.iter().zip(counters.iter_mut()) {
            if !rule_matches(rule, target) {
                continue;
            }
            *counter += 1;
            if !rule.requests.contains(*counter) {
                continue;
            }
            match (&rule.action, rule.window) {
                (FaultAction::Latency(delay), _) => selection.latency += *delay,
                (FaultAction::Hide, Some(window)) => {
                    selection.edits.hide.push(window);
                    selection.data_faults.push(FaultAction::Hide);
                }
                (FaultAction::Change, Some(window)) => {
                    selection.edits.change.push(window);
                    selection.data_faults.push(FaultAction::Change);
                }
                // Rules are validated at start: hide and change always have a window.
                (FaultAction::Hide | FaultAction::Change, None) => {}
                (other, _) if selection.action.is_none() => selection.action = Some(other.clone()),
                _ => {}
            }
        }
        selection
    }
}

/// What the fault rules do to one request: latency, `hide` and `change` add up; the first
/// other action decides the answer.
#[derive(Default)]
struct Selection {
    latency: Duration,
    action: Option<FaultAction>,
    edits: SalesEdits,
    data_faults: Vec<FaultAction>,
}

fn rule_matches(rule: &FaultRule, target: &Target) -> bool {
    let store_matches = rule
        .store
        .as_ref()
        .is_none_or(|store| target.store.as_ref() == Some(store));
    let endpoint_matches = rule
        .endpoint
        .is_none_or(|endpoint| endpoint_matches(endpoint, target.endpoint, target.whole_day));
    let window_matches = rule.window.is_none_or(|range| {
        target
            .served
            .is_some_and(|(from, to)| range.overlaps(from, to))
    });
    store_matches && endpoint_matches && window_matches
}

/// Whether a rule (or count) for `wanted` covers a request to `endpoint`: `VentasDia` is
/// the whole-day part of `Ventas`.
fn endpoint_matches(wanted: Endpoint, endpoint: Option<Endpoint>, whole_day: bool) -> bool {
    match wanted {
        Endpoint::VentasDia => endpoint == Some(Endpoint::Ventas) && whole_day,
        other => endpoint == Some(other),
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    for stream in listener.incoming() {
        if shared.is_stopping() {
            break;
        }
        let Ok(stream) = stream else {
            // E.g. too many open files: back off instead of spinning.
            std::thread::sleep(STOP_POLL);
            continue;
        };
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.connections).insert(id, clone);
        }
        let worker_shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("klk-sim-conn".to_owned())
            .spawn(move || serve_connection(&worker_shared, id, stream));
        let mut workers = lock(&shared.workers);
        workers.retain(|worker| !worker.is_finished());
        match spawned {
            Ok(worker) => workers.push(worker),
            Err(_) => {
                lock(&shared.connections).remove(&id);
            }
        }
    }
}

/// What to do on the socket.
enum Reply {
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
        delivery: Delivery,
    },
    Hang(Option<Duration>),
    Close,
    Reset,
}

enum Delivery {
    Whole,
    Truncated,
    Trickle(Duration),
}

fn serve_connection(shared: &Shared, id: u64, stream: TcpStream) {
    let reply = read_and_decide(shared, &stream);
    // The registry's clone must go before the stream closes, or the close (or reset) is
    // delayed until the simulator stops.
    let registered = lock(&shared.connections).remove(&id);
    if let Some(reply) = reply {
        deliver(shared, reply, stream, registered);
    }
}

fn read_and_decide(shared: &Shared, stream: &TcpStream) -> Option<Reply> {
    let _ = stream.set_read_timeout(Some(REQUEST_READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let request = match http::read_request(&mut reader, &mut writer) {
        Ok(request) => request,
        Err(ReadError::Bad(message)) => return Some(json_reply(400, &message)),
        Err(ReadError::Closed | ReadError::Io) => return None,
    };
    if shared.is_stopping() {
        return None;
    }
    Some(decide(shared, &request))
}

fn decide(shared: &Shared, request: &HttpRequest) -> Reply {
    let received_at = Instant::now();
    let (target, query) = api::parse(&shared.data, &shared.quirks, request);
    let Selection {
        latency,
        action: fault,
        edits,
        data_faults,
    } = shared.select_faults(&target);
    let mut counts = EditCounts::default();
    let answer = query.map(|query| {
        let (payload, edit_counts) = api::build(&shared.data, &shared.quirks, &query, &edits);
        counts = edit_counts;
        payload
    });
    let reply = if shared.pause(latency) {
        apply_fault(fault.as_ref(), answer)
    } else {
        Reply::Close
    };
    let status = match &reply {
        Reply::Respond { status, .. } => Some(*status),
        _ => None,
    };
    let mut log = lock(&shared.log);
    let seq = log.len() as u64 + 1;
    log.push(RequestRecord {
        seq,
        received_at,
        method: request.method.clone(),
        target: request.target.clone(),
        endpoint: target.endpoint,
        store: target.store,
        window: target.window,
        served: target.served,
        whole_day: target.whole_day,
        headers: request.headers.clone(),
        body: String::from_utf8_lossy(&request.body).into_owned(),
        fault,
        data_faults,
        hidden_lines: counts.hidden,
        changed_lines: counts.changed,
        latency,
        status,
    });
    reply
}

fn json_reply(status: u16, message: &str) -> Reply {
    Reply::Respond {
        status,
        headers: Vec::new(),
        body: api::error_body(message),
        delivery: Delivery::Whole,
    }
}

fn apply_fault(fault: Option<&FaultAction>, answer: Result<ListPayload, Rejection>) -> Reply {
    let ok = |body: Vec<u8>, delivery: Delivery| Reply::Respond {
        status: 200,
        headers: Vec::new(),
        body,
        delivery,
    };
    let mut payload = match (fault, answer) {
        (None | Some(FaultAction::Latency(_)), Err(rejection)) => {
            return json_reply(rejection.status, &rejection.message);
        }
        (None | Some(FaultAction::Latency(_)), Ok(payload)) => {
            return ok(payload.into_body(false), Delivery::Whole);
        }
        (Some(fault), answer) => match fault {
            FaultAction::Hang(duration) => return Reply::Hang(*duration),
            FaultAction::Refuse => return Reply::Close,
            FaultAction::Reset => return Reply::Reset,
            FaultAction::Status(code) => {
                return json_reply(*code, &format!("simulated HTTP {code}"));
            }
            FaultAction::TooManyRequests { retry_after_secs } => {
                return Reply::Respond {
                    status: 429,
                    headers: retry_after_secs
                        .map(|secs| ("Retry-After", secs.to_string()))
                        .into_iter()
                        .collect(),
                    body: api::error_body("simulated rate limit"),
                    delivery: Delivery::Whole,
                };
            }
            FaultAction::Malformed => {
                return ok(
                    b"{\"meta\": {\"total_registros\": 1}, \"ventas\": [{\"numero_factura\": ]"
                        .to_vec(),
                    Delivery::Whole,
                );
            }
            FaultAction::ErrorBody(message) => {
                return ok(api::error_body(message), Delivery::Whole);
            }
            FaultAction::WrongShape => return ok(b"{\"data\": 1}".to_vec(), Delivery::Whole),
            _ => match answer {
                Ok(payload) => payload,
                Err(rejection) => return json_reply(rejection.status, &rejection.message),
            },
        },
    };
    match fault {
        Some(FaultAction::Truncate) => ok(payload.into_body(false), Delivery::Truncated),
        Some(FaultAction::Trickle(duration)) => {
            ok(payload.into_body(false), Delivery::Trickle(*duration))
        }
        Some(FaultAction::Empty) => {
            payload.clear();
            ok(payload.into_body(false), Delivery::Whole)
        }
        Some(FaultAction::BadLine) => {
            payload.push_bad_element();
            ok(payload.into_body(false), Delivery::Whole)
        }
        Some(FaultAction::Conflict) => {
            payload.push_conflicting_copy();
            ok(payload.into_body(false), Delivery::Whole)
        }
        Some(FaultAction::BareArray) => ok(payload.into_body(true), Delivery::Whole),
        _ => ok(payload.into_body(false), Delivery::Whole),
    }
}

fn deliver(shared: &Shared, reply: Reply, mut stream: TcpStream, registered: Option<TcpStream>) {
    drop(registered);
    match reply {
        Reply::Close => {}
        Reply::Reset => reset(&stream),
        Reply::Hang(duration) => {
            shared.pause(duration.unwrap_or(Duration::MAX));
        }
        Reply::Respond {
            status,
            headers,
            body,
            delivery,
        } => {
            let head = http::response_head(status, body.len(), &headers);
            // A client that went away is not the simulator's problem.
            let _ = write_reply(shared, &mut stream, head.as_bytes(), &body, &delivery);
        }
    }
}

fn write_reply(
    shared: &Shared,
    stream: &mut TcpStream,
    head: &[u8],
    body: &[u8],
    delivery: &Delivery,
) -> io::Result<()> {
    stream.write_all(head)?;
    match delivery {
        Delivery::Whole => stream.write_all(body)?,
        Delivery::Truncated => stream.write_all(&body[..body.len() / 2])?,
        Delivery::Trickle(duration) => {
            let piece = body.len().div_ceil(TRICKLE_PIECES as usize).max(1);
            for chunk in body.chunks(piece) {
                if !shared.pause(*duration / TRICKLE_PIECES) {
                    return Ok(());
                }
                stream.write_all(chunk)?;
                stream.flush()?;
            }
        }
    }
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}

/// Aborts the connection: SO_LINGER with a zero timeout makes close() send a RST.
fn reset(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the descriptor is open (owned by `stream`) and `linger` is a valid
    // `struct linger` whose size is passed along.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
