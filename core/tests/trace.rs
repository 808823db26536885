//! A recorded trace, written as JSON lines and read back, replays to exactly
//! the changes the live run published.

use std::time::{Duration, Instant};

use netstate_core::trace::{ReplayError, Replayer, TraceEvent, TraceHeader, TraceRecord};
use netstate_core::{
    Action, Address, Change, Config, Family, Filter, Input, Interface, InterfaceFlags,
    MonitorFailure, OsError, Reconciler, RouteEvent, RouteEventKind, Snapshot,
};

fn snap(addr: &str) -> Snapshot {
    let mut i = Interface::new(2, "eth0");
    i.flags = InterfaceFlags::UP;
    i.addrs.push(Address::new(addr.parse().unwrap()));
    Snapshot::new(vec![i, Interface::new(3, "veth0")], Default::default()).unwrap()
}

#[test]
fn a_trace_replays_to_the_same_publications() {
    let config = Config::builder()
        .filter(Filter::new().ignore_prefix("veth"))
        .build()
        .unwrap();
    let start = Instant::now();
    let mut live = Reconciler::new(config.clone(), start);
    let mut lines = vec![serde_json::to_string(&TraceHeader::new(&config)).unwrap()];
    let mut published: Vec<Change> = Vec::new();
    let mut pending = Vec::new();
    let mut now = start;
    let record = |now: Instant, event: TraceEvent, lines: &mut Vec<String>| {
        lines.push(serde_json::to_string(&TraceRecord::new(start, now, event)).unwrap());
    };
    for step in 0..40u32 {
        now += Duration::from_millis(u64::from(step % 4) * 150);
        let input = match step % 5 {
            0 => Input::Route(
                RouteEvent::new(RouteEventKind::AddrNew)
                    .with_family(Family::V4)
                    .with_index(2),
            ),
            1 => Input::SleepClock(Duration::from_secs(u64::from(step) * 10)),
            2 if step % 3 == 0 => Input::MonitorFailed(MonitorFailure::Overflow),
            3 => Input::MonitorRebound(Err(OsError::new("nope"))),
            _ => Input::ForceCheck,
        };
        record(now, TraceEvent::Input(input.clone()), &mut lines);
        live.handle_input(now, input);
        record(now, TraceEvent::Timeout, &mut lines);
        live.handle_timeout(now);
        while let Some(a) = live.poll_action() {
            match a {
                Action::Enumerate { id, .. } => pending.push(id),
                Action::Publish(c) => published.push(c),
                Action::RebindMonitor => {}
            }
        }
        for id in pending.drain(..) {
            let result = if step % 7 == 6 {
                Err(OsError::new("EINTR"))
            } else {
                Ok(snap(if step % 2 == 0 {
                    "10.0.0.1/24"
                } else {
                    "10.0.0.2/24"
                }))
            };
            let input = Input::Enumerated { id, result };
            record(now, TraceEvent::Input(input.clone()), &mut lines);
            live.handle_input(now, input);
            while let Some(a) = live.poll_action() {
                if let Action::Publish(c) = a {
                    published.push(c);
                }
            }
        }
    }
    assert!(published.len() > 3);

    let header: TraceHeader = serde_json::from_str(&lines[0]).unwrap();
    let mut replay = Replayer::new(&header, Instant::now()).unwrap();
    let mut replayed = Vec::new();
    for line in &lines[1..] {
        let r: TraceRecord = serde_json::from_str(line).unwrap();
        for a in replay.apply(r).unwrap() {
            if let Action::Publish(c) = a {
                replayed.push(c);
            }
        }
    }
    assert_eq!(replayed, published);
    assert_eq!(replay.reconciler().stats(), live.stats());
}

#[test]
fn a_corrupt_trace_is_a_typed_error() {
    let mut header = TraceHeader::new(&Config::default());
    header.netstate_trace = 99;
    assert_eq!(
        Replayer::new(&header, Instant::now()).unwrap_err(),
        ReplayError::UnsupportedVersion(99)
    );
    let mut header = TraceHeader::new(&Config::default());
    header.config.max_wait = Duration::from_millis(1);
    assert!(matches!(
        Replayer::new(&header, Instant::now()),
        Err(ReplayError::Config(_))
    ));
    let mut r = Replayer::new(&TraceHeader::new(&Config::default()), Instant::now()).unwrap();
    r.apply(TraceRecord {
        at_ns: 10,
        event: TraceEvent::Timeout,
    })
    .unwrap();
    let e = r
        .apply(TraceRecord {
            at_ns: 5,
            event: TraceEvent::Timeout,
        })
        .unwrap_err();
    assert!(matches!(e, ReplayError::TimeWentBackwards { .. }));
}

/// A replayer past the initial enumeration (answered), and the id it used.
fn replayer_after_initial() -> (Replayer, netstate_core::EnumerationId) {
    let mut r = Replayer::new(&TraceHeader::new(&Config::default()), Instant::now()).unwrap();
    let actions = r
        .apply(TraceRecord {
            at_ns: 0,
            event: TraceEvent::Timeout,
        })
        .unwrap();
    let Some(Action::Enumerate { id, .. }) = actions.first().cloned() else {
        panic!("the initial enumeration: {actions:?}");
    };
    let published = r
        .apply(TraceRecord {
            at_ns: 1,
            event: TraceEvent::Input(Input::Enumerated {
                id,
                result: Ok(snap("10.0.0.1/24")),
            }),
        })
        .unwrap();
    assert!(matches!(published.as_slice(), [Action::Publish(_)]));
    (r, id)
}

#[test]
fn a_result_for_an_enumeration_never_asked_for_is_a_typed_error() {
    let (mut r, id) = replayer_after_initial();
    let unasked = netstate_core::EnumerationId(id.0 + 1);
    let e = r
        .apply(TraceRecord {
            at_ns: 2,
            event: TraceEvent::Input(Input::Enumerated {
                id: unasked,
                result: Ok(snap("10.0.0.2/24")),
            }),
        })
        .unwrap_err();
    assert_eq!(e, ReplayError::EnumerationNotAsked { id: unasked });
    assert!(e.to_string().contains(&format!("{}", unasked.0)), "{e}");

    let (mut r, id) = replayer_after_initial();
    let unasked = netstate_core::EnumerationId(id.0 + 1);
    let e = r
        .apply(TraceRecord {
            at_ns: 2,
            event: TraceEvent::Input(Input::EnumerationInterrupted { id: unasked }),
        })
        .unwrap_err();
    assert_eq!(e, ReplayError::EnumerationNotAsked { id: unasked });
}

#[test]
fn a_result_given_twice_is_a_typed_error() {
    let (mut r, id) = replayer_after_initial();
    let e = r
        .apply(TraceRecord {
            at_ns: 2,
            event: TraceEvent::Input(Input::Enumerated {
                id,
                result: Err(OsError::new("again")),
            }),
        })
        .unwrap_err();
    assert_eq!(e, ReplayError::EnumerationAnsweredTwice { id });
    assert!(e.to_string().contains(&format!("{}", id.0)), "{e}");

    let (mut r, id) = replayer_after_initial();
    let e = r
        .apply(TraceRecord {
            at_ns: 2,
            event: TraceEvent::Input(Input::EnumerationInterrupted { id }),
        })
        .unwrap_err();
    assert_eq!(e, ReplayError::EnumerationAnsweredTwice { id });
}

#[test]
fn a_late_answer_to_an_enumeration_that_timed_out_is_not_an_error() {
    let config = Config::default();
    let mut r = Replayer::new(&TraceHeader::new(&config), Instant::now()).unwrap();
    let actions = r
        .apply(TraceRecord {
            at_ns: 0,
            event: TraceEvent::Timeout,
        })
        .unwrap();
    let Some(Action::Enumerate { id, .. }) = actions.first().cloned() else {
        panic!("the initial enumeration: {actions:?}");
    };
    // The enumeration times out; its answer arrives later and is stale,
    // which is what a live run does too.
    let late = u64::try_from(config.enumeration_timeout().as_nanos()).unwrap() + 1;
    r.apply(TraceRecord {
        at_ns: late,
        event: TraceEvent::Timeout,
    })
    .unwrap();
    r.apply(TraceRecord {
        at_ns: late + 1,
        event: TraceEvent::Input(Input::Enumerated {
            id,
            result: Ok(snap("10.0.0.1/24")),
        }),
    })
    .unwrap();
    assert_eq!(r.reconciler().stats().stale_results, 1);
}

#[test]
fn durations_survive_a_trace_to_the_nanosecond() {
    // A valid configuration whose durations are not whole milliseconds: its
    // trace must replay with the same configuration (before: the 900 µs
    // reconcile interval was written as 0 ms, and the trace was refused).
    let config = Config::builder()
        .debounce(Duration::from_micros(250))
        .max_wait(Duration::from_nanos(1_000_001))
        .reconcile_interval(Some(Duration::from_micros(900)))
        .build()
        .unwrap();
    let text = serde_json::to_string(&TraceHeader::new(&config)).unwrap();
    let header: TraceHeader = serde_json::from_str(&text).unwrap();
    let r = Replayer::new(&header, Instant::now()).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(r.reconciler().config(), &config, "{text}");
    // Whole milliseconds are still written as integers (older readers).
    let text = serde_json::to_string(&TraceHeader::new(&Config::default())).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let debounce = &value["config"]["debounce_ms"];
    assert!(debounce.is_u64(), "not an integer: {debounce} in {text}");
    assert_eq!(debounce.as_u64(), Some(250));
}

/// A duration in a trace that no `Duration` can be — negative, or beyond
/// what a trace can mean — is refused when read, not taken as zero or as
/// the largest duration.
#[test]
fn a_negative_or_absurd_duration_in_a_trace_is_refused() {
    let text = serde_json::to_string(&TraceHeader::new(&Config::default())).unwrap();
    for bad in ["-1.5", "1e300"] {
        let edited = text.replace("\"debounce_ms\":250", &format!("\"debounce_ms\":{bad}"));
        assert_ne!(edited, text);
        let read = serde_json::from_str::<TraceHeader>(&edited);
        assert!(read.is_err(), "{bad} was read as {read:?}");
    }
}

/// An engine's trace says it drains once per wake-up, so that a replay
/// drains where the engine did; other traces drain after every record.
#[test]
fn an_engines_trace_header_says_it_drains_per_wake_up() {
    use netstate_core::trace::{Drains, TraceHeader};
    let config = Config::default();
    assert_eq!(TraceHeader::for_engine(&config).drains, Drains::PerWake);
    assert_eq!(TraceHeader::new(&config).drains, Drains::PerRecord);
    assert_eq!(
        TraceHeader::for_engine(&config).config,
        TraceHeader::new(&config).config
    );
}

/// The records of one drain-placement test: the first state read, then two
/// hints of one wake-up, then that wake-up's timeout record (debounce 0).
fn wake_up_records(start: Instant) -> Vec<TraceRecord> {
    let at = |ms| start + Duration::from_millis(ms);
    let hint = || {
        TraceEvent::Input(Input::Route(
            RouteEvent::new(RouteEventKind::AddrNew)
                .with_family(Family::V4)
                .with_index(2),
        ))
    };
    vec![
        TraceRecord::new(start, at(0), TraceEvent::Timeout),
        TraceRecord::new(
            start,
            at(0),
            TraceEvent::Input(Input::Enumerated {
                id: netstate_core::EnumerationId(0),
                result: Ok(snap("10.0.0.2/24")),
            }),
        ),
        TraceRecord::new(start, at(10), hint()),
        TraceRecord::new(start, at(10), hint()),
        TraceRecord::new(start, at(10), TraceEvent::Timeout),
    ]
}

/// What each record's `apply` returned, as the kinds of its actions.
fn replayed_kinds(header: &TraceHeader, records: Vec<TraceRecord>) -> Vec<Vec<&'static str>> {
    let mut r = Replayer::new(header, Instant::now()).unwrap();
    records
        .into_iter()
        .map(|record| {
            r.apply(record)
                .unwrap()
                .iter()
                .map(|a| match a {
                    Action::Enumerate { .. } => "enumerate",
                    Action::Publish(_) => "publish",
                    Action::RebindMonitor => "rebind",
                })
                .collect()
        })
        .collect()
}

/// An engine's trace drains where the engine did: after a wake-up's timeout
/// record and after an answer fed while carrying out its actions, never
/// between the hints of one wake-up (so the burst costs one enumeration);
/// a trace of a driver that drains after every record drains after each.
#[test]
fn a_replay_drains_where_the_recorded_driver_did() {
    let config = Config::builder().debounce(Duration::ZERO).build().unwrap();
    let start = Instant::now();
    assert_eq!(
        replayed_kinds(&TraceHeader::for_engine(&config), wake_up_records(start)),
        [
            vec!["enumerate"],
            vec!["publish"],
            vec![],
            vec![],
            vec!["enumerate"]
        ],
    );
    assert_eq!(
        replayed_kinds(&TraceHeader::new(&config), wake_up_records(start)),
        [
            vec!["enumerate"],
            vec!["publish"],
            vec!["enumerate"],
            vec![],
            vec![]
        ],
    );
}

/// An engine trace written before timeout records were drained on (an
/// answer with no timeout record before it) still replays: an answer to an
/// enumeration not asked for yet drains first.
#[test]
fn an_answer_before_any_timeout_record_drains_first() {
    let config = Config::default();
    let start = Instant::now();
    let records = wake_up_records(start).split_off(1);
    let kinds = replayed_kinds(&TraceHeader::for_engine(&config), records);
    assert_eq!(
        kinds[0],
        ["enumerate"],
        "the enumeration the answer answers"
    );
    assert_eq!(
        kinds.concat().iter().filter(|k| **k == "publish").count(),
        1,
        "{kinds:?}"
    );
}
