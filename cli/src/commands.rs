//! What each subcommand does.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use netstate_core::trace::{Replayer, TraceEvent, TraceHeader, TraceRecord};
use netstate_core::{Action, Change, Config, Filter};
use netstate_sys::{Recorded, Recorder};
use netstate_tokio::Monitor;
use tokio::signal::unix::{signal, SignalKind};

use crate::args::{Command, FilterArgs, WatchArgs};
use crate::text;

/// Why the command failed: printed as one line.
#[derive(Debug)]
pub(crate) enum CliError {
    Config(netstate_core::ConfigError),
    Monitor(netstate_tokio::Error),
    Enumerate(String),
    Open(io::Error),
    File {
        path: PathBuf,
        why: io::Error,
    },
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
            CliError::Enumerate(e) => write!(f, "cannot read the network state: {e}"),
            CliError::Open(e) => write!(f, "cannot open the route monitor: {e}"),
            CliError::File { path, why } => write!(f, "{}: {why}", path.display()),
            CliError::Trace { path, line, why } => write!(f, "{}:{line}: {why}", path.display()),
            CliError::Signal(e) => write!(f, "cannot listen for signals: {e}"),
        }
    }
}

/// Writes whole lines and flushes each; remembers a closed pipe.
struct Out {
    closed: bool,
}

impl Out {
    fn new() -> Self {
        Out { closed: false }
    }

    fn print(&mut self, s: &str) {
        if self.closed {
            return;
        }
        let mut o = io::stdout().lock();
        if o.write_all(s.as_bytes()).and_then(|()| o.flush()).is_err() {
            // The reader went away (a closed pipe): stop printing.
            self.closed = true;
        }
    }

    fn line(&mut self, s: &str) {
        self.print(&format!("{s}\n"));
    }
}

pub(crate) async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Snapshot { json, filter } => snapshot(json, &filter),
        Command::Watch(args) => watch(args, None).await,
        Command::Record { file, watch: args } => watch(args, Some(file)).await,
        Command::Replay { file, json } => replay(&file, json),
    }
}

fn filter(args: &FilterArgs) -> Filter {
    args.ignore.iter().fold(Filter::new(), |f, pattern| {
        match pattern.strip_suffix('*') {
            Some(prefix) => f.ignore_prefix(prefix),
            None => f.ignore_name(pattern.as_str()),
        }
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
    let f = filter(args);
    let mut backend = netstate_sys::default_backend().map_err(CliError::Open)?;
    let s = backend
        .enumerate()
        .map_err(|e| CliError::Enumerate(e.to_string()))?
        .retain(|i| f.keeps(i));
    let mut out = Out::new();
    if json {
        out.line(&to_json(&s));
    } else {
        out.print(&text::state(&s));
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // The model's serialisation cannot fail: no map keys, no non-string keys.
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn print_change(out: &mut Out, json: bool, time: &str, c: &Change) {
    if json {
        out.line(&to_json(c));
    } else if c.seq == 1 {
        out.print(
            &text::change(time, c)
                .lines()
                .next()
                .map(|l| format!("{l}\n"))
                .unwrap_or_default(),
        );
        out.print(&text::state(&c.new));
    } else {
        out.print(&text::change(time, c));
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
}

/// A trace file being written, and the first write error, if any.
struct TraceFile {
    error: Arc<Mutex<Option<io::Error>>>,
}

fn recorder(path: &Path, config: &Config) -> Result<(Recorder, TraceFile), CliError> {
    let file_error = |why| CliError::File {
        path: path.to_owned(),
        why,
    };
    let mut w = io::LineWriter::new(File::create(path).map_err(file_error)?);
    writeln!(w, "{}", to_json(&TraceHeader::new(config))).map_err(file_error)?;
    let error = Arc::new(Mutex::new(None));
    let seen = error.clone();
    let mut start = Instant::now();
    let r: Recorder = Box::new(move |now, rec| {
        let event = match rec {
            Recorded::Start => {
                start = now;
                return;
            }
            Recorded::Input(input) => TraceEvent::Input(input.clone()),
            Recorded::Timeout => TraceEvent::Timeout,
        };
        if let Err(e) = writeln!(w, "{}", to_json(&TraceRecord::new(start, now, event))) {
            seen.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(e);
        }
    });
    Ok((r, TraceFile { error }))
}

async fn watch(args: WatchArgs, record: Option<PathBuf>) -> Result<(), CliError> {
    let config = config(&args)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(CliError::Signal)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(CliError::Signal)?;
    let mut builder = Monitor::builder(config.clone());
    let mut trace = None;
    if let Some(path) = &record {
        let (r, t) = recorder(path, &config)?;
        builder = builder.recorder(r);
        trace = Some((path.clone(), t));
    }
    let (monitor, mut changes) = builder
        .start_subscribed()
        .await
        .map_err(CliError::Monitor)?;
    let mut out = Out::new();
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Some(c) => print_change(&mut out, args.json, &text::clock(), &c),
                None => break,
            },
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
        }
        if out.closed {
            break;
        }
        if let Some((path, t)) = &trace {
            if let Some(e) = t
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                return Err(CliError::File {
                    path: path.clone(),
                    why: e,
                });
            }
        }
    }
    let stats = monitor.stats();
    monitor.shutdown().await;
    if args.stats {
        let s = stats.core;
        out.line(&to_json(&StatsLine {
            stats: StatsFields {
                route_events: s.route_events,
                enumerations: s.enumerations,
                publications: s.publications,
                overflows: s.overflows,
                rebinds: s.rebinds,
            },
        }));
    }
    if let Some((path, t)) = trace {
        if let Some(e) = t
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            return Err(CliError::File { path, why: e });
        }
    }
    Ok(())
}

fn replay(path: &Path, json: bool) -> Result<(), CliError> {
    let file = File::open(path).map_err(|why| CliError::File {
        path: path.to_owned(),
        why,
    })?;
    let bad = |line: usize, why: String| CliError::Trace {
        path: path.to_owned(),
        line,
        why,
    };
    let mut lines = BufReader::new(file).lines().enumerate();
    let header: TraceHeader = match lines.next() {
        Some((_, Ok(l))) => {
            serde_json::from_str(&l).map_err(|e| bad(1, format!("not a trace header: {e}")))?
        }
        Some((_, Err(e))) => return Err(bad(1, e.to_string())),
        None => return Err(bad(1, "empty file: no trace header".into())),
    };
    let mut replayer = Replayer::new(&header, Instant::now()).map_err(|e| bad(1, e.to_string()))?;
    let mut out = Out::new();
    for (i, line) in lines {
        let n = i + 1;
        let line = line.map_err(|e| bad(n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: TraceRecord = serde_json::from_str(&line).map_err(|e| bad(n, e.to_string()))?;
        let at = record.at_ns;
        for action in replayer.apply(record).map_err(|e| bad(n, e.to_string()))? {
            if let Action::Publish(c) = action {
                let time = format!("+{:.3}s", Duration::from_nanos(at).as_secs_f64());
                print_change(&mut out, json, &time, &c);
            }
        }
        if out.closed {
            break;
        }
    }
    Ok(())
}
