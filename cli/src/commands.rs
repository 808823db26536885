//! What each subcommand does.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use netstate_core::trace::{Replayer, TraceHeader, TraceLine, TraceReader};
use netstate_core::{Action, Change, Config, Filter};
use netstate_sys::Recorder;
use netstate_tokio::Monitor;
use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{oneshot, Notify};

use crate::args::{Command, FilterArgs, Ignore, WatchArgs};
use crate::text;

/// The longest trace line `replay` reads, without its newline. A longer
/// one is an error: it is never read whole into memory.
const MAX_TRACE_LINE: usize = 16 << 20;

/// Free descriptors checked for before the runtime starts (see
/// [`runtime`]).
const RUNTIME_DESCRIPTORS: usize = 8;

/// Why the command failed: printed as one line.
#[derive(Debug)]
pub(crate) enum CliError {
    Config(netstate_core::ConfigError),
    Monitor(netstate_tokio::Error),
    Open(io::Error),
    /// The runtime (or the descriptors it needs) could not be had.
    Runtime(io::Error),
    /// Writing to standard output failed (other than a closed pipe).
    Stdout(io::Error),
    /// Standard output could not be duplicated to watch for its reader.
    WatchStdout(io::Error),
    /// A file could not be opened, created or written: `doing` says which.
    File {
        path: PathBuf,
        doing: &'static str,
        why: io::Error,
    },
    /// A line of a trace is wrong.
    Trace {
        path: PathBuf,
        line: usize,
        why: String,
    },
    Signal(io::Error),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Config(e) => write!(f, "invalid settings: {e}"),
            CliError::Monitor(e) => write!(f, "{e}"),
            CliError::Open(e) => write!(f, "cannot open the route monitor: {e}"),
            CliError::Runtime(e) => write!(f, "cannot start the runtime: {e}"),
            CliError::Stdout(e) => write!(f, "cannot write to standard output: {e}"),
            CliError::WatchStdout(e) => write!(f, "cannot watch standard output: {e}"),
            CliError::File { path, doing, why } => {
                write!(f, "{}: cannot {doing}: {why}", path.display())
            }
            CliError::Trace { path, line, why } => write!(f, "{}:{line}: {why}", path.display()),
            CliError::Signal(e) => write!(f, "cannot listen for signals: {e}"),
        }
    }
}

/// Writes whole strings to standard output and flushes each. A closed pipe
/// (`EPIPE`) is remembered and ends the printing quietly; any other write
/// error is returned.
struct Out {
    closed: bool,
}

impl Out {
    fn new() -> Self {
        Out { closed: false }
    }

    fn print(&mut self, s: &str) -> Result<(), CliError> {
        if self.closed {
            return Ok(());
        }
        let mut o = io::stdout().lock();
        match o.write_all(s.as_bytes()).and_then(|()| o.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                // The reader went away: stop printing, quietly.
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(CliError::Stdout(e)),
        }
    }

    fn line(&mut self, s: &str) -> Result<(), CliError> {
        self.print(&format!("{s}\n"))
    }
}

/// Runs `command`: `watch` and `record` in a runtime of their own,
/// `snapshot` and `replay` without one.
pub(crate) fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Snapshot { json, filter } => snapshot(json, &filter),
        Command::Watch(args) => runtime()?.block_on(watch(args, None)),
        Command::Record { file, watch: args } => runtime()?.block_on(watch(args, Some(file))),
        Command::Replay { file, json } => replay(&file, json),
    }
}

/// The runtime `watch` and `record` run in.
///
/// tokio sets up its signal handling with `expect` (a panic, not an error)
/// when it cannot get a socket pair, after taking a few descriptors of its
/// own. So check first that more descriptors than that are free: nothing
/// else runs yet, so the ones found free are the ones the runtime gets, and
/// a low descriptor limit is an error rather than a panic.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    let probe = (0..RUNTIME_DESCRIPTORS / 2)
        .map(|_| UnixStream::pair())
        .collect::<Result<Vec<_>, _>>()
        .map_err(CliError::Runtime)?;
    drop(probe);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

fn filter(args: &FilterArgs) -> Filter {
    args.ignore
        .iter()
        .fold(Filter::new(), |f, pattern| match pattern {
            Ignore::Prefix(prefix) => f.ignore_prefix(prefix.as_str()),
            Ignore::Name(name) => f.ignore_name(name.as_str()),
        })
}

fn config(args: &WatchArgs) -> Result<Config, CliError> {
    let debounce = Duration::from_millis(args.debounce_ms);
    let reconcile = (args.reconcile_secs > 0).then(|| Duration::from_secs(args.reconcile_secs));
    Config::builder()
        .debounce(debounce)
        // A debounce longer than the default maximum wait keeps its meaning.
        .max_wait(debounce.max(netstate_core::DEFAULT_MAX_WAIT))
        .reconcile_interval(reconcile)
        .filter(filter(&args.filter))
        .build()
        .map_err(CliError::Config)
}

fn snapshot(json: bool, args: &FilterArgs) -> Result<(), CliError> {
    let config = Config::builder()
        .filter(filter(args))
        .build()
        .map_err(CliError::Config)?;
    let backend = netstate_sys::default_backend().map_err(CliError::Open)?;
    // The one start path every monitor takes, run on this thread until the
    // first state is read (the engine's own poller waits for the replies).
    let mut engine =
        netstate_sys::Engine::new(config, backend, Instant::now()).map_err(CliError::Monitor)?;
    engine.block_until_started().map_err(CliError::Monitor)?;
    let s = engine.handle().state();
    let mut out = Out::new();
    if json {
        out.line(&to_json(&*s))
    } else {
        out.print(&text::state(&s))
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // The model's serialisation cannot fail: no map keys, no non-string keys.
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn print_change(out: &mut Out, json: bool, time: &str, c: &Change) -> Result<(), CliError> {
    if json {
        out.line(&to_json(c))
    } else if c.seq == 1 {
        out.print(
            &text::change(time, c)
                .lines()
                .next()
                .map(|l| format!("{l}\n"))
                .unwrap_or_default(),
        )?;
        out.print(&text::state(&c.new))
    } else {
        out.print(&text::change(time, c))
    }
}

/// The `--stats` line, fields in the documented order.
#[derive(serde::Serialize)]
struct StatsLine {
    stats: StatsFields,
}

#[derive(serde::Serialize)]
struct StatsFields {
    route_events: u64,
    enumerations: u64,
    publications: u64,
    overflows: u64,
    rebinds: u64,
    /// Added after the documented five: enumeration attempts the kernel
    /// interrupted (the table changed while it was read).
    interrupted_dumps: u64,
    /// Added: records an enumeration skipped because they could not be used.
    skipped_records: u64,
    /// Added: of `enumerations`, those that read only the interfaces the
    /// hints named (and the default routes).
    targeted_reads: u64,
}

/// A trace file being written: the first write error, if any, and a
/// notification when there is one.
struct TraceFile {
    path: PathBuf,
    error: Arc<Mutex<Option<io::Error>>>,
    failed: Arc<Notify>,
}

impl TraceFile {
    /// The write error, if writing failed.
    fn take_error(&self) -> Result<(), CliError> {
        match self
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            None => Ok(()),
            Some(why) => Err(CliError::File {
                path: self.path.clone(),
                doing: "write the trace",
                why,
            }),
        }
    }
}

/// A recorder writing the trace to `path`, a line at a time (each line is
/// flushed, so a write error shows at once); the first error stops the
/// writing and is reported through the [`TraceFile`].
fn recorder(path: &Path, config: &Config) -> Result<(Recorder, TraceFile), CliError> {
    let file_error = |doing| {
        move |why| CliError::File {
            path: path.to_owned(),
            doing,
            why,
        }
    };
    let mut w = io::LineWriter::new(File::create(path).map_err(file_error("create the trace"))?);
    writeln!(w, "{}", to_json(&TraceHeader::for_engine(config)))
        .map_err(file_error("write the trace"))?;
    let error = Arc::new(Mutex::new(None));
    let failed = Arc::new(Notify::new());
    let (seen, notify) = (error.clone(), failed.clone());
    let mut broken = false;
    let r: Recorder = Box::new(move |record| {
        if broken {
            return;
        }
        if let Err(e) = writeln!(w, "{}", to_json(&record)) {
            broken = true;
            seen.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(e);
            // Wakes the command (or leaves a permit for it) to stop.
            notify.notify_one();
        }
    });
    Ok((
        r,
        TraceFile {
            path: path.to_owned(),
            error,
            failed,
        },
    ))
}

/// Notices that the reader of standard output went away (the read end of a
/// pipe closed, a socket hung up) without writing to it: a thread waits in
/// `poll` on a duplicate of standard output for an error or a hang-up.
struct ReaderGone(Option<oneshot::Receiver<()>>);

impl ReaderGone {
    /// Starts watching. What has no reader to lose (a file, `/dev/null`)
    /// never reports one gone.
    fn new() -> Result<Self, CliError> {
        let fd = match io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => fd,
            // Standard output is closed: nothing to watch (nor to print).
            Err(e) if e.raw_os_error() == Some(Errno::BADF.raw_os_error()) => {
                return Ok(ReaderGone(None));
            }
            Err(e) => return Err(CliError::WatchStdout(e)),
        };
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("stdout-reader".into())
            .spawn(move || {
                if hung_up(&fd) {
                    let _ = tx.send(());
                }
            })
            .map_err(CliError::WatchStdout)?;
        Ok(ReaderGone(Some(rx)))
    }

    /// Resolves when the reader is gone; never if that cannot be known.
    async fn gone(&mut self) {
        if let Some(rx) = &mut self.0 {
            if rx.await.is_ok() {
                return;
            }
            // The watch ended without an answer: never again.
            self.0 = None;
        }
        std::future::pending().await
    }
}

/// Blocks until `fd` reports an error (a pipe whose reader closed) or a
/// hang-up (a socket or terminal gone): true then, false if `poll` fails.
/// With no events asked for, `poll` reports only those, so room to write
/// does not wake it; a file, which has no reader, never does.
fn hung_up(fd: &OwnedFd) -> bool {
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::empty())];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) => {
                let revents = fds[0].revents();
                if revents.intersects(PollFlags::ERR | PollFlags::HUP) {
                    return true;
                }
                if !revents.is_empty() {
                    return false;
                }
            }
            Err(Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}

async fn watch(args: WatchArgs, record: Option<PathBuf>) -> Result<(), CliError> {
    let config = config(&args)?;
    let mut reader = ReaderGone::new()?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(CliError::Signal)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(CliError::Signal)?;
    let mut builder = Monitor::builder(config.clone());
    let mut trace = None;
    if let Some(path) = &record {
        let (r, t) = recorder(path, &config)?;
        builder = builder.recorder(r);
        trace = Some(t);
    }
    let (monitor, mut changes) = Monitor::start_subscribed(builder)
        .await
        .map_err(CliError::Monitor)?;
    let trace_failed = async {
        match &trace {
            Some(t) => t.failed.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(trace_failed);
    // A finished future is never polled again.
    let mut trace_notified = false;
    let mut out = Out::new();
    let ended = loop {
        tokio::select! {
            change = changes.recv() => match change {
                Some(c) => {
                    if let Err(e) = print_change(&mut out, args.json, &text::clock(), &c) {
                        break Err(e);
                    }
                }
                None => break Ok(()),
            },
            () = reader.gone() => {
                out.closed = true;
                break Ok(());
            }
            () = &mut trace_failed, if !trace_notified => trace_notified = true,
            _ = sigint.recv() => break Ok(()),
            _ = sigterm.recv() => break Ok(()),
        }
        if out.closed {
            break Ok(());
        }
        if let Some(t) = &trace {
            if let Err(e) = t.take_error() {
                break Err(e);
            }
        }
    };
    let stats = monitor.stats();
    monitor.shutdown().await;
    ended?;
    if let Some(t) = &trace {
        t.take_error()?;
    }
    if args.stats {
        let s = stats.core;
        out.line(&to_json(&StatsLine {
            stats: StatsFields {
                route_events: s.route_events,
                enumerations: s.enumerations,
                publications: s.publications,
                overflows: s.overflows,
                rebinds: s.rebinds,
                interrupted_dumps: stats.interrupted_dumps,
                skipped_records: stats.skipped_records,
                targeted_reads: s.targeted_reads,
            },
        }))?;
    }
    Ok(())
}

/// Reads lines of at most `max` bytes (without the newline), never holding
/// more than that in memory, and numbers them from 1.
struct Lines<R> {
    reader: R,
    max: usize,
    number: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R, max: usize) -> Self {
        Lines {
            reader,
            max,
            number: 0,
            buf: Vec::new(),
        }
    }

    /// The next line and its number, `None` at the end; an error names the
    /// line it is about.
    fn next_line(&mut self) -> Result<Option<(usize, &str)>, (usize, String)> {
        self.buf.clear();
        self.number += 1;
        let n = self.number;
        let mut read_any = false;
        loop {
            let (used, done) = {
                let available = match self.reader.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err((n, format!("cannot read: {e}"))),
                };
                if available.is_empty() {
                    if !read_any {
                        return Ok(None);
                    }
                    break;
                }
                read_any = true;
                let (part, used, done) = match available.iter().position(|&b| b == b'\n') {
                    Some(i) => (&available[..i], i + 1, true),
                    None => (available, available.len(), false),
                };
                if self.buf.len() + part.len() > self.max {
                    return Err((n, format!("line longer than {}", size(self.max))));
                }
                self.buf.extend_from_slice(part);
                (used, done)
            };
            self.reader.consume(used);
            if done {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        match std::str::from_utf8(&self.buf) {
            Ok(line) => Ok(Some((n, line))),
            Err(e) => Err((n, format!("not UTF-8: {e}"))),
        }
    }
}

/// `bytes` for an error message: in MiB when it is a whole number of them.
fn size(bytes: usize) -> String {
    const MIB: usize = 1 << 20;
    if bytes > 0 && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn replay(path: &Path, json: bool) -> Result<(), CliError> {
    let file = File::open(path).map_err(|why| CliError::File {
        path: path.to_owned(),
        doing: "open the trace",
        why,
    })?;
    let bad = |(line, why): (usize, String)| CliError::Trace {
        path: path.to_owned(),
        line,
        why,
    };
    let mut lines = Lines::new(BufReader::new(file), MAX_TRACE_LINE);
    let mut reader = TraceReader::new();
    let mut replayer = None;
    let mut out = Out::new();
    while let Some((n, line)) = lines.next_line().map_err(bad)? {
        let record = match reader.read_line(line) {
            Ok(Some(TraceLine::Header(header))) => {
                let r =
                    Replayer::new(&header, Instant::now()).map_err(|e| bad((n, e.to_string())))?;
                replayer = Some(r);
                continue;
            }
            Ok(Some(TraceLine::Record(record))) => record,
            Ok(None) => continue,
            Err(e) => return Err(bad((e.line(), e.to_string()))),
        };
        // A record is read only after the header, which made the replayer.
        let Some(replayer) = replayer.as_mut() else {
            continue;
        };
        let at = record.at_ns;
        for action in replayer
            .apply(record)
            .map_err(|e| bad((n, e.to_string())))?
        {
            if let Action::Publish(c) = action {
                let time = format!("+{:.3}s", Duration::from_nanos(at).as_secs_f64());
                print_change(&mut out, json, &time, &c)?;
            }
        }
        if out.closed {
            break;
        }
    }
    reader
        .finish()
        .map_err(|e| bad((e.line(), e.to_string())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_lines(text: &[u8], max: usize) -> Result<Vec<(usize, String)>, (usize, String)> {
        let mut lines = Lines::new(BufReader::with_capacity(3, text), max);
        let mut v = Vec::new();
        while let Some((n, l)) = lines.next_line()? {
            v.push((n, l.to_owned()));
        }
        Ok(v)
    }

    fn watch_args(options: &[&str]) -> WatchArgs {
        use clap::Parser;
        let argv = ["netstate", "watch"].iter().chain(options);
        match crate::args::Cli::try_parse_from(argv).unwrap().command {
            Command::Watch(args) => args,
            other => panic!("not watch: {other:?}"),
        }
    }

    #[test]
    fn watch_options_become_the_configuration() {
        let c = config(&watch_args(&[])).unwrap();
        assert_eq!(c.debounce(), Duration::from_millis(250));
        assert_eq!(c.max_wait(), netstate_core::DEFAULT_MAX_WAIT);
        assert_eq!(c.reconcile_interval(), Some(Duration::from_secs(15)));
        assert!(c.filter().ignores_nothing());

        let c = config(&watch_args(&[
            "--debounce-ms",
            "3000",
            "--reconcile-secs",
            "0",
            "--ignore",
            "veth*",
            "--ignore",
            "lo",
        ]))
        .unwrap();
        assert_eq!(c.debounce(), Duration::from_secs(3));
        assert_eq!(
            c.max_wait(),
            Duration::from_secs(3),
            "a debounce longer than the default maximum wait keeps its meaning"
        );
        assert_eq!(c.reconcile_interval(), None, "0 switches reconcile off");
        assert_eq!(c.filter().ignored_names(), ["lo"]);
        assert_eq!(c.filter().ignored_prefixes(), ["veth"]);

        let c = config(&watch_args(&["--reconcile-secs", "1"])).unwrap();
        assert_eq!(c.reconcile_interval(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn sizes_are_in_mib_when_whole() {
        assert_eq!(size(4 << 20), "4 MiB");
        assert_eq!(size(1000), "1000 bytes");
        assert_eq!(size(0), "0 bytes");
    }

    #[test]
    fn a_line_read_in_one_piece_is_capped_too() {
        let mut lines = Lines::new(&b"ab\ncdefg\n"[..], 4);
        assert_eq!(lines.next_line().unwrap(), Some((1, "ab")));
        let (n, why) = lines.next_line().unwrap_err();
        assert_eq!(n, 2);
        assert!(why.contains("longer than 4 bytes"), "{why}");
    }

    /// A reader that is interrupted once, then gives `data` (or fails).
    struct Interrupted {
        interrupted: bool,
        data: &'static [u8],
        then_fail: bool,
    }

    impl io::Read for Interrupted {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            unreachable!("read through BufRead")
        }
    }

    impl BufRead for Interrupted {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.then_fail {
                return Err(io::Error::other("disk gone"));
            }
            Ok(self.data)
        }
        fn consume(&mut self, n: usize) {
            self.data = &self.data[n..];
        }
    }

    #[test]
    fn an_interrupted_read_is_retried_and_another_error_names_the_line() {
        let reader = Interrupted {
            interrupted: false,
            data: b"ok\n",
            then_fail: false,
        };
        let mut lines = Lines::new(reader, 16);
        assert_eq!(lines.next_line().unwrap(), Some((1, "ok")));
        let reader = Interrupted {
            interrupted: false,
            data: b"",
            then_fail: true,
        };
        let (n, why) = Lines::new(reader, 16).next_line().unwrap_err();
        assert_eq!(n, 1);
        assert!(why.contains("disk gone"), "{why}");
    }

    #[test]
    fn a_pipe_whose_reader_closed_is_hung_up() {
        let (reader, writer) = rustix::pipe::pipe().unwrap();
        drop(reader);
        assert!(hung_up(&writer));
    }

    #[test]
    fn lines_are_numbered_and_capped() {
        let v = all_lines(b"ab\r\n\ncdef\ngh", 4).unwrap();
        let want = [(1, "ab"), (2, ""), (3, "cdef"), (4, "gh")];
        assert_eq!(v, want.map(|(n, l)| (n, l.to_owned())));
        assert_eq!(all_lines(b"", 4).unwrap(), []);
        let (n, why) = all_lines(b"ab\ncdefg\n", 4).unwrap_err();
        assert_eq!(n, 2);
        assert!(why.contains("longer than"), "{why}");
        let (n, why) = all_lines(b"ok\n\xff\n", 4).unwrap_err();
        assert_eq!(n, 2);
        assert!(why.contains("UTF-8"), "{why}");
    }
}
