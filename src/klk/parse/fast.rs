//! `/ventas` bodies parsed on every core, from slices, with the results and the messages of
//! the streaming parser (`envelope::read_envelope` + `SalesCollector`).
//!
//! - The calling thread reads the body in blocks and cuts each `{...}` element of the sales
//!   list out of it. Everything else (the envelope, separators, elements that are not objects,
//!   are too large or too deep, or are cut short) is copied verbatim into a *skeleton* in
//!   which each cut element stands as `{}`.
//! - Worker threads parse the cut elements with `serde_json::from_slice` (much faster than a
//!   reader) and convert them to `SalesLine`s.
//! - One more thread runs the streaming parser over the skeleton: the envelope code decides
//!   everything it decided before (layouts, `error` keys, shape and syntax errors, truncation,
//!   I/O errors), and takes each `{}` as the worker's result for that element, in order.
//!   The skeleton reader knows which body position each skeleton byte stands for, so a
//!   message names the same line and column as before; an element that did not parse is
//!   parsed again as the streaming parser would have, for its exact message.
//!
//! Memory stays bounded: blocks, batches and results in flight are capped.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess};
use serde_json::Value;

use super::envelope::{ElementSink, Envelope, classify_json_error_at, read_envelope_at};
use super::quick;
use super::sales::{SalesCollector, fill_sales_line_from_typed};
use super::typed::{LineSeed, TypedLine};
use crate::klk::error::{ErrorKind, LineError};
use crate::klk::model::SalesLine;

const READ_BLOCK: usize = 256 * 1024;
/// Elements per batch handed to a worker.
const BATCH_ELEMENTS: usize = 512;
/// Batches waiting for a worker, and skeleton chunks waiting for the envelope thread.
const QUEUE_DEPTH: usize = 4;
/// A skeleton chunk is sent once this large even without elements.
const SKELETON_CHUNK: usize = 64 * 1024;
/// Elements larger than this are left in the skeleton (streamed), keeping memory bounded.
pub(super) const MAX_ELEMENT: usize = 1024 * 1024;
/// Elements nested deeper than this are left in the skeleton: `from_slice` would start them
/// at depth 0 and accept nesting the streaming parser's recursion limit refuses.
const MAX_ELEMENT_DEPTH: usize = 64;

/// A position as serde_json reports it: line (from 1) and bytes read on that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    line: usize,
    column: usize,
}

impl Position {
    const START: Position = Position { line: 1, column: 0 };

    fn advance(&mut self, byte: u8) {
        if byte == b'\n' {
            self.line += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
    }
}

/// What the skeleton holds at a place where the list has an element.
#[derive(Debug)]
enum Mark {
    /// `{}` standing for the element parsed by a worker as number `ordinal`, which spans
    /// `start..end` in the body.
    Cut {
        ordinal: u64,
        start: Position,
        end: Position,
    },
    /// The element itself follows, verbatim.
    Verbatim,
}

struct SkeletonChunk {
    bytes: Vec<u8>,
    /// Offsets in `bytes` where an element starts, in order.
    marks: Vec<(usize, Mark)>,
}

enum Message {
    Chunk(SkeletonChunk),
    /// The body could not be read further.
    Failed(io::Error),
}

struct Batch {
    first_ordinal: u64,
    bytes: Vec<u8>,
    /// Each element's span in `bytes` and body position of its first byte.
    elements: Vec<(usize, usize, Position)>,
}

enum Outcome {
    /// Boxed: lines are recycled box and all ([`Recycled`]), so a line is moved between
    /// threads as a pointer, not as its ~700 bytes.
    Line(Box<SalesLine>),
    Rejected(LineError),
    /// The element is not valid JSON: the failure, as the streaming parser reports it.
    Malformed(ErrorKind),
    /// A worker panicked on this batch.
    Panicked(Box<dyn std::any::Any + Send>),
}

/// Parses a `/ventas` body like the streaming parser, on `workers` threads.
pub(crate) fn parse_sales_parallel<R: Read>(
    reader: R,
    workers: usize,
) -> (Result<Envelope, ErrorKind>, SalesCollector) {
    let (batch_tx, batch_rx) = mpsc::sync_channel::<Batch>(QUEUE_DEPTH);
    let (outcome_tx, outcome_rx) = mpsc::channel::<(u64, Vec<Outcome>)>();
    let (skeleton_tx, skeleton_rx) = mpsc::sync_channel::<Message>(QUEUE_DEPTH);
    let (recycle_tx, recycle_rx) = mpsc::channel::<BoxedLines>();
    let batch_rx = Arc::new(Mutex::new(batch_rx));
    let recycle_rx = Arc::new(Mutex::new(recycle_rx));
    let stop = AtomicBool::new(false);

    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let batch_rx = Arc::clone(&batch_rx);
            let recycle_rx = Arc::clone(&recycle_rx);
            let outcome_tx = outcome_tx.clone();
            scope.spawn(move || parse_batches(&batch_rx, &outcome_tx, &recycle_rx));
        }
        drop(outcome_tx);
        let stop = &stop;
        let envelope = scope.spawn(move || {
            let result = read_skeleton(skeleton_rx, outcome_rx, recycle_tx);
            stop.store(true, Ordering::SeqCst);
            result
        });
        let mut cutter = Cutter::new(reader, batch_tx, skeleton_tx, stop);
        cutter.run();
        drop(cutter);
        match envelope.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

// ---------------------------------------------------------------------------------------
// Workers

/// Sales lines already collected, sent back to the workers to be filled again: their strings
/// keep their room, so a line costs no allocation (and no free on another thread).
type Recycled = Mutex<Receiver<BoxedLines>>;

/// Boxed so that moving a line between threads moves a pointer (see [`Outcome::Line`]).
type BoxedLines = Vec<Box<SalesLine>>;

fn parse_batches(
    batches: &Mutex<Receiver<Batch>>,
    outcomes: &Sender<(u64, Vec<Outcome>)>,
    recycled: &Recycled,
) {
    let mut scratch = TypedLine::default();
    let mut spares = BoxedLines::new();
    loop {
        let batch = match batches.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(batch) = batch else { return };
        if spares.len() < batch.elements.len()
            && let Ok(receiver) = recycled.lock()
        {
            while let Ok(mut lines) = receiver.try_recv() {
                spares.append(&mut lines);
                if spares.len() >= batch.elements.len() {
                    break;
                }
            }
        }
        // A panic must reach the caller as one, not leave the envelope thread waiting for
        // this batch: it is handed over in place of the batch's outcomes.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            batch
                .elements
                .iter()
                .map(|&(start, end, position)| {
                    parse_element(
                        &batch.bytes[start..end],
                        position,
                        &mut scratch,
                        &mut spares,
                    )
                })
                .collect()
        }))
        .unwrap_or_else(|panic| vec![Outcome::Panicked(panic)]);
        if outcomes.send((batch.first_ordinal, parsed)).is_err() {
            return;
        }
    }
}

fn parse_element(
    bytes: &[u8],
    start: Position,
    scratch: &mut TypedLine,
    spares: &mut BoxedLines,
) -> Outcome {
    let read = quick::read_line(bytes, scratch) || {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        (LineSeed { line: scratch }).deserialize(&mut de).is_ok()
    };
    if !read {
        return Outcome::Malformed(streaming_failure(bytes, start, scratch));
    }
    let mut line = spares.pop().unwrap_or_default();
    match fill_sales_line_from_typed(scratch, &mut line) {
        Ok(()) => Outcome::Line(line),
        Err(error) => {
            spares.push(line);
            Outcome::Rejected(error)
        }
    }
}

/// Parses a malformed element the way the streaming parser read it (a reader), for its
/// exact message, at its position in the body.
fn streaming_failure(bytes: &[u8], start: Position, scratch: &mut TypedLine) -> ErrorKind {
    let mut de = serde_json::Deserializer::from_reader(bytes);
    let error = match (LineSeed { line: scratch }).deserialize(&mut de) {
        Err(error) => error,
        // Cannot happen (the same bytes failed from a slice); say so rather than guess.
        Ok(()) => {
            return ErrorKind::MalformedBody {
                detail: "a sales line could not be parsed".to_owned(),
            };
        }
    };
    // A position inside the element, moved to where the element starts in the body.
    classify_json_error_at(&error, |line, column| {
        Some(if line == 1 {
            (start.line, start.column + column)
        } else {
            (start.line + line - 1, column)
        })
    })
}

// ---------------------------------------------------------------------------------------
// The envelope thread

/// State shared by the skeleton reader (inside serde_json's deserializer) and the sink.
struct Shared {
    /// Marks of the elements served so far and not yet taken by the sink.
    marks: VecDeque<Mark>,
    /// Where skeleton and body positions correspond: the start, and both sides of every
    /// `{}` (the last few). Between anchors the skeleton is the body verbatim.
    anchors: VecDeque<(Position, Position)>,
}

/// serde_json reports a position at most one token back from where it stopped reading, and
/// a token never spans a `{}`: a few anchors are enough.
const ANCHORS: usize = 64;

impl Shared {
    /// The body position of a skeleton position, as serde_json reports them.
    fn body_position(&self, line: usize, column: usize) -> Option<(usize, usize)> {
        let wanted = Position { line, column };
        let (skeleton, body) = self
            .anchors
            .iter()
            .rev()
            .find(|(skeleton, _)| (skeleton.line, skeleton.column) <= (line, column))?;
        Some(if wanted.line == skeleton.line {
            (body.line, body.column + (wanted.column - skeleton.column))
        } else {
            (body.line + (wanted.line - skeleton.line), wanted.column)
        })
    }

    fn anchor(&mut self, skeleton: Position, body: Position) {
        if self.anchors.len() == ANCHORS {
            self.anchors.pop_front();
        }
        self.anchors.push_back((skeleton, body));
    }
}

fn read_skeleton(
    skeleton: Receiver<Message>,
    outcomes: Receiver<(u64, Vec<Outcome>)>,
    recycle: Sender<BoxedLines>,
) -> (Result<Envelope, ErrorKind>, SalesCollector) {
    let shared = std::rc::Rc::new(std::cell::RefCell::new(Shared {
        marks: VecDeque::new(),
        anchors: VecDeque::from([(Position::START, Position::START)]),
    }));
    let reader = SkeletonReader {
        skeleton_position: Position::START,
        messages: skeleton,
        chunk: Vec::new(),
        at: 0,
        marks: VecDeque::new(),
        cut_second_byte: None,
        failed: false,
        shared: std::rc::Rc::clone(&shared),
    };
    let mut sink = CutSink {
        collector: SalesCollector::default(),
        shared: std::rc::Rc::clone(&shared),
        outcomes,
        waiting: BTreeMap::new(),
        current: Vec::new().into_iter(),
        next_ordinal: 0,
        body_error: None,
        collected: Vec::with_capacity(BATCH_ELEMENTS),
        recycle,
    };
    let result = read_envelope_at(reader, "ventas", &mut sink, |line, column| {
        shared.borrow().body_position(line, column)
    });
    (result, sink.collector)
}

/// Serves the skeleton one byte per call (as serde_json reads it), keeping track of the
/// body position each byte stands for.
struct SkeletonReader {
    skeleton_position: Position,
    messages: Receiver<Message>,
    chunk: Vec<u8>,
    at: usize,
    /// Marks of the current chunk not yet reached, by offset.
    marks: VecDeque<(usize, Mark)>,
    /// Where the body is once the second byte of the current `{}` is served.
    cut_second_byte: Option<Position>,
    failed: bool,
    shared: std::rc::Rc<std::cell::RefCell<Shared>>,
}

impl Read for SkeletonReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.at >= self.chunk.len() {
            if self.failed {
                return Ok(0);
            }
            match self.messages.recv() {
                Ok(Message::Chunk(chunk)) => {
                    self.chunk = chunk.bytes;
                    self.at = 0;
                    self.marks = chunk.marks.into();
                }
                Ok(Message::Failed(error)) => {
                    self.failed = true;
                    return Err(error);
                }
                Err(_) => return Ok(0),
            }
        }
        let byte = self.chunk[self.at];
        let mut shared = self.shared.borrow_mut();
        self.skeleton_position.advance(byte);
        if let Some(end) = self.cut_second_byte.take() {
            // The `}` of a `{}`: the body is at the end of the element.
            shared.anchor(self.skeleton_position, end);
        } else if self
            .marks
            .front()
            .is_some_and(|(offset, _)| *offset == self.at)
        {
            let (_, mark) = self.marks.pop_front().unwrap_or((0, Mark::Verbatim));
            if let Mark::Cut { start, end, .. } = &mark {
                // The `{` of a `{}` stands for the element's first byte.
                let mut body = *start;
                body.advance(byte);
                shared.anchor(self.skeleton_position, body);
                self.cut_second_byte = Some(*end);
            }
            shared.marks.push_back(mark);
        }
        buf[0] = byte;
        self.at += 1;
        Ok(1)
    }
}

/// Takes the list's elements from the skeleton: a `{}` gets its worker's result, a
/// verbatim element is read from the skeleton as the streaming parser reads it.
struct CutSink {
    collector: SalesCollector,
    shared: std::rc::Rc<std::cell::RefCell<Shared>>,
    outcomes: Receiver<(u64, Vec<Outcome>)>,
    /// Batches of outcomes received ahead of their turn, by first ordinal.
    waiting: BTreeMap<u64, Vec<Outcome>>,
    /// The batch being taken from, and the ordinal of its next outcome.
    current: std::vec::IntoIter<Outcome>,
    next_ordinal: u64,
    body_error: Option<ErrorKind>,
    /// Lines collected, to be sent back to the workers a batch at a time.
    collected: BoxedLines,
    recycle: Sender<BoxedLines>,
}

impl CutSink {
    /// The outcome of the next cut element (they are taken in order).
    fn next_outcome(&mut self) -> Option<Outcome> {
        loop {
            if let Some(outcome) = self.current.next() {
                self.next_ordinal += 1;
                return Some(outcome);
            }
            if let Some(batch) = self.waiting.remove(&self.next_ordinal) {
                self.current = batch.into_iter();
                continue;
            }
            let (first, outcomes) = self.outcomes.recv().ok()?;
            self.waiting.insert(first, outcomes);
        }
    }
}

/// What the sink's seed found in the list.
enum Taken {
    Cut(u64),
    Streamed,
}

impl ElementSink for CutSink {
    fn accept(&mut self, index: usize, element: Value) -> Result<(), LineError> {
        self.collector.accept(index, element)
    }

    fn body_error(&mut self) -> Option<ErrorKind> {
        self.body_error.take()
    }

    fn read_next<'de, A: SeqAccess<'de>>(
        &mut self,
        seq: &mut A,
        index: usize,
    ) -> Result<Option<Result<(), LineError>>, A::Error> {
        let seed = CutSeed {
            shared: &self.shared,
            collector: &mut self.collector,
        };
        let Some(taken) = seq.next_element_seed(seed)? else {
            return Ok(None);
        };
        match taken {
            Taken::Streamed => return Ok(Some(self.collector.take_scratch(index))),
            Taken::Cut(ordinal) => debug_assert_eq!(ordinal, self.next_ordinal),
        }
        match self.next_outcome() {
            Some(Outcome::Line(line)) => {
                self.collector.collect(&line);
                self.collected.push(line);
                if self.collected.len() >= BATCH_ELEMENTS {
                    let lines =
                        std::mem::replace(&mut self.collected, Vec::with_capacity(BATCH_ELEMENTS));
                    // The workers may be gone (the body is read): the lines are then dropped.
                    let _ = self.recycle.send(lines);
                }
                Ok(Some(Ok(())))
            }
            Some(Outcome::Rejected(error)) => Ok(Some(Err(LineError { index, ..error }))),
            Some(Outcome::Malformed(kind)) => {
                self.body_error = Some(kind);
                Err(de::Error::custom("malformed sales line"))
            }
            Some(Outcome::Panicked(panic)) => std::panic::resume_unwind(panic),
            None => Err(de::Error::custom("a sales line was lost between threads")),
        }
    }
}

struct CutSeed<'a> {
    shared: &'a std::rc::Rc<std::cell::RefCell<Shared>>,
    collector: &'a mut SalesCollector,
}

impl<'de> DeserializeSeed<'de> for CutSeed<'_> {
    type Value = Taken;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Taken, D::Error> {
        // serde_json has read the element's first byte by now, so its mark is known.
        let mark = self.shared.borrow_mut().marks.pop_front();
        match mark {
            Some(Mark::Cut { ordinal, .. }) => {
                IgnoredAny::deserialize(deserializer)?;
                Ok(Taken::Cut(ordinal))
            }
            Some(Mark::Verbatim) | None => {
                self.collector.read_scratch(deserializer)?;
                Ok(Taken::Streamed)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The cutter (calling thread)

struct Cutter<'a, R> {
    reader: R,
    input: Vec<u8>,
    /// Next byte to look at in `input`.
    at: usize,
    /// `input[copied..at]` has been looked at but not yet copied to its destination.
    copied: usize,
    /// Body offset of `input[0]`, line of `input[at]` and body offset where that line starts.
    base: usize,
    line: usize,
    line_start: usize,
    exhausted: bool,
    read_error: Option<io::Error>,
    /// Where looked-at bytes go: the batch (an element being cut), or the skeleton.
    into_batch: bool,
    skeleton: Vec<u8>,
    marks: Vec<(usize, Mark)>,
    batch: Batch,
    next_ordinal: u64,
    batches: SyncSender<Batch>,
    chunks: SyncSender<Message>,
    stop: &'a AtomicBool,
    stopped: bool,
    list_key_seen: bool,
    error_seen: bool,
    /// The object or array being followed: open brackets, deepest nesting, and whether
    /// the scan is inside a string (just after a backslash).
    nesting: Vec<u8>,
    deepest: usize,
    in_string: bool,
    escaped: bool,
}

/// Why the cutter stops following the structure: the rest is copied verbatim.
struct Bail;

/// Why an element could not be cut whole.
enum Unfinished {
    /// Larger than the limit: the cut stopped inside it.
    TooLarge,
    /// The body ended (or could not be read) inside it.
    Ended,
}

impl<'a, R: Read> Cutter<'a, R> {
    fn new(
        reader: R,
        batches: SyncSender<Batch>,
        chunks: SyncSender<Message>,
        stop: &'a AtomicBool,
    ) -> Self {
        Cutter {
            reader,
            input: Vec::with_capacity(READ_BLOCK),
            at: 0,
            copied: 0,
            base: 0,
            line: 1,
            line_start: 0,
            exhausted: false,
            read_error: None,
            into_batch: false,
            skeleton: Vec::new(),
            marks: Vec::new(),
            batch: Batch {
                first_ordinal: 0,
                bytes: Vec::new(),
                elements: Vec::new(),
            },
            next_ordinal: 0,
            batches,
            chunks,
            stop,
            stopped: false,
            list_key_seen: false,
            error_seen: false,
            nesting: Vec::new(),
            deepest: 0,
            in_string: false,
            escaped: false,
        }
    }

    fn run(&mut self) {
        let _ = self.top_level();
        // Whatever is left (all of it after a bail) goes verbatim.
        self.into_batch = false;
        while !self.stopped && self.peek().is_some() {
            self.at = self.input.len();
        }
        self.flush_copied();
        self.send();
        if let Some(error) = self.read_error.take()
            && !self.stopped
        {
            let _ = self.chunks.send(Message::Failed(error));
        }
    }

    // --- input

    /// Body position of `input[at]`.
    fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.base + self.at - self.line_start,
        }
    }

    /// The next byte, reading more of the body when needed; `None` at its end, on a read
    /// error (kept for the skeleton) or once the envelope thread has stopped.
    fn peek(&mut self) -> Option<u8> {
        if self.at < self.input.len() {
            return Some(self.input[self.at]);
        }
        self.refill();
        self.input.get(self.at).copied()
    }

    fn refill(&mut self) {
        if self.exhausted || self.stopped {
            return;
        }
        if self.stop.load(Ordering::SeqCst) {
            self.stopped = true;
            return;
        }
        self.flush_copied();
        if !self.into_batch && self.skeleton.len() >= SKELETON_CHUNK {
            self.send();
        }
        self.base += self.input.len();
        self.input.clear();
        self.at = 0;
        self.copied = 0;
        self.input.resize(READ_BLOCK, 0);
        let read = loop {
            match self.reader.read(&mut self.input) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.read_error = Some(error);
                    break 0;
                }
            }
        };
        self.input.truncate(read);
        if read == 0 {
            self.exhausted = true;
        }
    }

    fn newline_at(&mut self, index: usize) {
        self.line += 1;
        self.line_start = self.base + index + 1;
    }

    fn bump(&mut self) {
        if self.input[self.at] == b'\n' {
            self.newline_at(self.at);
        }
        self.at += 1;
    }

    /// Copies what has been looked at to the current destination.
    fn flush_copied(&mut self) {
        let looked_at = &self.input[self.copied..self.at];
        if self.into_batch {
            self.batch.bytes.extend_from_slice(looked_at);
        } else {
            self.skeleton.extend_from_slice(looked_at);
        }
        self.copied = self.at;
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.bump();
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), Bail> {
        if self.peek() == Some(byte) {
            self.bump();
            Ok(())
        } else {
            Err(Bail)
        }
    }

    // --- structure

    fn top_level(&mut self) -> Result<(), Bail> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'[') => {
                self.bump();
                self.list()
            }
            Some(b'{') => {
                self.bump();
                self.top_object()
            }
            _ => Err(Bail),
        }
    }

    fn top_object(&mut self) -> Result<(), Bail> {
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            let key = self.key()?;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            let is_list_key = key.as_deref() == Some("ventas");
            if key.as_deref() == Some("error") {
                self.error_seen = true;
            }
            if is_list_key && !self.list_key_seen && !self.error_seen && self.peek() == Some(b'[') {
                self.list_key_seen = true;
                self.bump();
                self.list()?;
            } else {
                self.list_key_seen |= is_list_key;
                self.value()?;
            }
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return Ok(());
                }
                _ => return Err(Bail),
            }
        }
    }

    /// A key of the top-level object, decoded (`None` if it is not a valid string).
    fn key(&mut self) -> Result<Option<String>, Bail> {
        if self.peek() != Some(b'"') {
            return Err(Bail);
        }
        let mut raw = vec![b'"'];
        self.bump();
        let mut escaped = false;
        loop {
            let byte = self.peek().ok_or(Bail)?;
            raw.push(byte);
            self.bump();
            match (escaped, byte) {
                (false, b'\\') => escaped = true,
                (false, b'"') => break,
                _ => escaped = false,
            }
        }
        Ok(serde_json::from_slice::<String>(&raw).ok())
    }

    /// The elements of the sales list, after its `[`.
    fn list(&mut self) -> Result<(), Bail> {
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            if self.peek() == Some(b'{') {
                self.cut_element()?;
            } else {
                self.flush_copied();
                self.marks.push((self.skeleton.len(), Mark::Verbatim));
                self.value()?;
            }
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return Ok(());
                }
                _ => return Err(Bail),
            }
        }
    }

    /// Any JSON value, copied to the current destination; only its structure is followed.
    fn value(&mut self) -> Result<(), Bail> {
        match self.peek().ok_or(Bail)? {
            b'{' | b'[' | b'"' => self.follow(None).map_err(|_| Bail),
            _ => {
                // A scalar: up to the next delimiter.
                while let Some(byte) = self.peek() {
                    if matches!(byte, b',' | b']' | b'}' | b' ' | b'\n' | b'\t' | b'\r') {
                        break;
                    }
                    self.bump();
                }
                Ok(())
            }
        }
    }

    /// Follows the string, object or array starting at `input[at]` to its end (a bracket
    /// that does not match ends it too: the parser will report it). With a `limit`, stops
    /// when the element being cut grows larger, keeping the state to continue from.
    fn follow(&mut self, limit: Option<usize>) -> Result<(), Unfinished> {
        self.nesting.clear();
        self.deepest = 0;
        self.in_string = false;
        self.escaped = false;
        self.follow_on(limit, true)
    }

    fn follow_on(&mut self, limit: Option<usize>, mut at_start: bool) -> Result<(), Unfinished> {
        let element_start = self.batch.bytes.len();
        loop {
            if self.at >= self.input.len() {
                if let Some(limit) = limit
                    && self.batch.bytes.len() - element_start + (self.at - self.copied) > limit
                {
                    return Err(Unfinished::TooLarge);
                }
                if self.peek().is_none() {
                    return Err(Unfinished::Ended);
                }
            }
            let mut i = self.at;
            let end = self.input.len();
            while i < end {
                // Inside an object or array, 64 bytes at a time while there is no backslash.
                if !self.escaped && !at_start && !self.nesting.is_empty() && end - i >= BLOCK {
                    match self.follow_block(i) {
                        Block::Ended(after) => {
                            self.at = after;
                            return Ok(());
                        }
                        Block::Followed => {
                            i += BLOCK;
                            continue;
                        }
                        Block::ToByteLoop => {}
                    }
                }
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                        if self.input[i] == b'\n' {
                            self.newline_at(i);
                        }
                        i += 1;
                        continue;
                    }
                    let Some(found) = find_string_special(&self.input[i..end]) else {
                        i = end;
                        break;
                    };
                    i += found;
                    match self.input[i] {
                        b'"' => {
                            self.in_string = false;
                            if self.nesting.is_empty() {
                                self.at = i + 1;
                                return Ok(());
                            }
                        }
                        b'\\' => self.escaped = true,
                        _ => self.newline_at(i),
                    }
                    i += 1;
                    continue;
                }
                let byte = self.input[i];
                i += 1;
                match byte {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => {
                        self.nesting.push(byte);
                        self.deepest = self.deepest.max(self.nesting.len());
                    }
                    b'}' | b']' => {
                        let Some(innermost) = self.nesting.pop() else {
                            // A closing bracket where a value starts: the parser reports it.
                            self.at = i;
                            return Ok(());
                        };
                        if (innermost == b'{') != (byte == b'}') {
                            self.nesting.clear();
                        }
                        if self.nesting.is_empty() {
                            self.at = i;
                            return Ok(());
                        }
                    }
                    b'\n' => self.newline_at(i - 1),
                    _ if at_start => {
                        // Not a string, object or array: the parser reports it.
                        self.at = i;
                        return Ok(());
                    }
                    _ => {}
                }
                at_start = false;
            }
            self.at = i;
        }
    }

    /// Follows the 64 bytes at `input[i..]` as `follow_on` does byte by byte, from bit
    /// masks: which bytes are inside strings (the quotes, prefix-XORed) and which brackets
    /// are outside them. A block with a backslash is left to the byte loop.
    fn follow_block(&mut self, i: usize) -> Block {
        let Some(block) = self
            .input
            .get(i..i + BLOCK)
            .and_then(|bytes| <&[u8; BLOCK]>::try_from(bytes).ok())
        else {
            return Block::ToByteLoop;
        };
        let masks = BlockMasks::of(block);
        if masks.backslash != 0 {
            return Block::ToByteLoop;
        }
        let carried = if self.in_string { u64::MAX } else { 0 };
        let inside = prefix_xor(masks.quote) ^ carried;
        let mut brackets = (masks.open | masks.close) & !inside;
        while brackets != 0 {
            let bit = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            let byte = block[bit];
            if masks.open & (1 << bit) != 0 {
                self.nesting.push(byte);
                self.deepest = self.deepest.max(self.nesting.len());
                continue;
            }
            let innermost = self.nesting.pop().unwrap_or(byte);
            if (innermost == b'{') != (byte == b'}') {
                self.nesting.clear();
            }
            if self.nesting.is_empty() {
                let up_to_bit = u64::MAX >> (63 - bit);
                self.count_newlines(i, masks.newline & up_to_bit);
                self.in_string = false;
                return Block::Ended(i + bit + 1);
            }
        }
        self.count_newlines(i, masks.newline);
        self.in_string = inside >> 63 == 1;
        Block::Followed
    }

    /// Newlines at the set bits of `newlines`, a mask of the block at `input[i..]`.
    fn count_newlines(&mut self, i: usize, newlines: u64) {
        if newlines != 0 {
            self.line += newlines.count_ones() as usize;
            let last = 63 - newlines.leading_zeros() as usize;
            self.line_start = self.base + i + last + 1;
        }
    }

    /// An object element of the list: cut out for a worker when complete and reasonable,
    /// else left verbatim in the skeleton.
    fn cut_element(&mut self) -> Result<(), Bail> {
        let start = self.position();
        self.flush_copied();
        self.into_batch = true;
        let from = self.batch.bytes.len();
        let cut = self.follow(Some(MAX_ELEMENT));
        self.flush_copied();
        self.into_batch = false;
        match cut {
            Ok(()) if self.deepest <= MAX_ELEMENT_DEPTH => {
                let ordinal = self.next_ordinal;
                self.next_ordinal += 1;
                self.batch
                    .elements
                    .push((from, self.batch.bytes.len(), start));
                self.marks.push((
                    self.skeleton.len(),
                    Mark::Cut {
                        ordinal,
                        start,
                        end: self.position(),
                    },
                ));
                self.skeleton.extend_from_slice(b"{}");
                if self.batch.elements.len() >= BATCH_ELEMENTS
                    || self.batch.bytes.len() >= MAX_ELEMENT
                {
                    self.send();
                }
                Ok(())
            }
            Ok(()) => {
                self.verbatim_element(from);
                Ok(())
            }
            Err(Unfinished::TooLarge) => {
                // The rest of the element follows verbatim, from the same state.
                self.verbatim_element(from);
                self.follow_on(None, false).map_err(|_| Bail)
            }
            Err(Unfinished::Ended) => {
                self.verbatim_element(from);
                Err(Bail)
            }
        }
    }

    /// Moves the element cut so far (from `from` in the batch) into the skeleton, marked
    /// verbatim.
    fn verbatim_element(&mut self, from: usize) {
        self.marks.push((self.skeleton.len(), Mark::Verbatim));
        self.skeleton.extend(self.batch.bytes.drain(from..));
    }

    // --- output

    /// Sends the batch of cut elements, then the skeleton that refers to them.
    fn send(&mut self) {
        if !self.batch.elements.is_empty() {
            let next = Batch {
                first_ordinal: self.next_ordinal,
                bytes: Vec::with_capacity(self.batch.bytes.capacity()),
                elements: Vec::with_capacity(BATCH_ELEMENTS),
            };
            let batch = std::mem::replace(&mut self.batch, next);
            if self.batches.send(batch).is_err() {
                self.stopped = true;
            }
        }
        if !self.skeleton.is_empty() {
            let chunk = SkeletonChunk {
                bytes: std::mem::take(&mut self.skeleton),
                marks: std::mem::take(&mut self.marks),
            };
            if self.chunks.send(Message::Chunk(chunk)).is_err() {
                self.stopped = true;
            }
        }
    }
}

/// Bytes looked at together by [`Cutter::follow_block`].
const BLOCK: usize = 64;

enum Block {
    /// The element ended in the block; it continues at this input index.
    Ended(usize),
    /// Followed to the block's end.
    Followed,
    /// Not followed (a backslash in the block): left to the byte loop.
    ToByteLoop,
}

/// Where the bytes that matter to the cutter are in a 64-byte block: bit `i` is byte `i`.
#[derive(Debug, PartialEq, Eq)]
struct BlockMasks {
    quote: u64,
    backslash: u64,
    newline: u64,
    /// `{` and `[`.
    open: u64,
    /// `}` and `]`.
    close: u64,
}

impl BlockMasks {
    const EMPTY: BlockMasks = BlockMasks {
        quote: 0,
        backslash: 0,
        newline: 0,
        open: 0,
        close: 0,
    };

    #[cfg(target_arch = "x86_64")]
    fn of(block: &[u8; BLOCK]) -> BlockMasks {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        let mut masks = BlockMasks::EMPTY;
        // SAFETY: SSE2 is part of every x86_64 CPU; each load reads 16 bytes inside `block`.
        unsafe {
            // `[` and `{` differ only in bit 0x20, as do `]` and `}`.
            let case = _mm_set1_epi8(0x20);
            let [quote, backslash, newline, open, close] =
                [b'"', b'\\', b'\n', b'{', b'}'].map(|byte| _mm_set1_epi8(byte as i8));
            for part in 0..BLOCK / 16 {
                let bytes = _mm_loadu_si128(block.as_ptr().add(16 * part).cast::<__m128i>());
                let folded = _mm_or_si128(bytes, case);
                let bits = |vector, needle| {
                    let found = _mm_movemask_epi8(_mm_cmpeq_epi8(vector, needle)) as u16;
                    u64::from(found) << (16 * part)
                };
                masks.quote |= bits(bytes, quote);
                masks.backslash |= bits(bytes, backslash);
                masks.newline |= bits(bytes, newline);
                masks.open |= bits(folded, open);
                masks.close |= bits(folded, close);
            }
        }
        masks
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn of(block: &[u8; BLOCK]) -> BlockMasks {
        BlockMasks::of_bytes(block)
    }

    /// The same masks, one byte at a time.
    #[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
    fn of_bytes(block: &[u8; BLOCK]) -> BlockMasks {
        let mut masks = BlockMasks::EMPTY;
        for (i, &byte) in block.iter().enumerate() {
            let bit = 1u64 << i;
            match byte {
                b'"' => masks.quote |= bit,
                b'\\' => masks.backslash |= bit,
                b'\n' => masks.newline |= bit,
                b'{' | b'[' => masks.open |= bit,
                b'}' | b']' => masks.close |= bit,
                _ => {}
            }
        }
        masks
    }
}

/// Bit `i` of the result is the XOR of bits `0..=i` of `bits`: set inside quoted spans.
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

/// The first `"`, `\` or newline in `bytes`, eight bytes at a time.
fn find_string_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero exactly where the lowest flagged byte of this is (borrows
    // only run upwards from a zero byte, so the first flag is always a true one).
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let found = zero_bytes(word ^ (ONES * u64::from(b'"')))
            | zero_bytes(word ^ (ONES * u64::from(b'\\')))
            | zero_bytes(word ^ (ONES * u64::from(b'\n')));
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&byte| matches!(byte, b'"' | b'\\' | b'\n'))
        .map(|found| offset + found)
}

#[cfg(test)]
mod tests {
    use super::{BLOCK, BlockMasks, find_string_special, prefix_xor};

    #[test]
    fn block_masks_match_the_byte_by_byte_masks() {
        // The bytes that matter, their neighbours (0x5a/0x7a/0x7c/0x7e fold onto brackets'
        // neighbours with 0x20) and non-ASCII bytes, whose signed compares must not match.
        let alphabet = b"\"\\\n{}[]:,a0 zZ|~;\x5a\x7a\x7c\x7e\x3b\x1b\x7f\xc3\xa9\xfb\xdb\xdd\xfd";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5_000 {
            let mut block = [0u8; BLOCK];
            for byte in &mut block {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *byte = alphabet[(seed % alphabet.len() as u64) as usize];
            }
            assert_eq!(
                BlockMasks::of(&block),
                BlockMasks::of_bytes(&block),
                "{block:?}"
            );
        }
    }

    #[test]
    fn prefix_xor_marks_the_quoted_spans() {
        assert_eq!(prefix_xor(0), 0);
        assert_eq!(prefix_xor(0b1), u64::MAX);
        assert_eq!(prefix_xor(0b1001_0010), (u64::MAX << 7) | 0b1110);
        assert_eq!(prefix_xor(1 << 63), 1 << 63);
    }

    #[test]
    fn finds_the_first_special_byte_at_any_offset() {
        for length in 0..40 {
            for special in [b'"', b'\\', b'\n'] {
                for at in 0..length {
                    let mut bytes = vec![b'a'; length];
                    // Near misses around it: bytes one above and below the specials.
                    for (i, byte) in bytes.iter_mut().enumerate() {
                        *byte = [b'!', b'#', b'[', b']', 0x0b, 0x09, 0xff, b'a'][i % 8];
                    }
                    bytes[at] = special;
                    if at + 3 < length {
                        bytes[at + 3] = b'"';
                    }
                    assert_eq!(find_string_special(&bytes), Some(at), "{bytes:?}");
                }
            }
            let plain = vec![b'!'; length];
            assert_eq!(find_string_special(&plain), None);
        }
    }
}
