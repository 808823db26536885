//! Criterion benchmarks of the core's hot paths: route hints through the
//! Reconciler, one change read by a targeted read from hint to publication
//! on a small and a large table, and the diff of two large snapshots.
//!
//! Run: `cargo bench -p netstate-bench --bench core`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netstate_bench::synthetic_snapshot;
use netstate_core::{
    Action, Address, Config, Family, Filter, Input, Reconciler, Refresh, RouteEvent,
    RouteEventKind, RouteHops, Scope, Snapshot,
};

fn handle_input(c: &mut Criterion) {
    let config = Config::builder()
        .filter(Filter::new().ignore_prefix("veth"))
        .build()
        .expect("valid config");
    let start = Instant::now();
    let mut r = Reconciler::new(config, start);
    if let Some(Action::Enumerate { id, .. }) = r.poll_action() {
        let result = Ok(synthetic_snapshot(16, 2, 0));
        r.handle_input(start, Input::Enumerated { id, result });
    }
    while r.poll_action().is_some() {}
    let events = [
        RouteEvent::new(RouteEventKind::AddrNew)
            .with_family(Family::V6)
            .with_index(3),
        RouteEvent::new(RouteEventKind::RouteNew)
            .with_family(Family::V4)
            .with_route(254, 32),
        RouteEvent::new(RouteEventKind::LinkNew)
            .with_index(40)
            .with_name("veth1234"),
        RouteEvent::new(RouteEventKind::RouteDel)
            .with_family(Family::V6)
            .with_route(254, 0),
    ];
    let mut group = c.benchmark_group("reconciler");
    group.throughput(Throughput::Elements(events.len() as u64));
    let mut now = start;
    group.bench_function("handle_input_route_hints", |b| {
        b.iter(|| {
            for e in &events {
                now += Duration::from_micros(1);
                r.handle_input(now, Input::Route(*e));
            }
            black_box(r.poll_timeout());
            while let Some(a) = r.poll_action() {
                black_box(a);
            }
        })
    });
    group.finish();
}

/// One address change on one interface, as the monitor handles it with
/// debounce 0: the hint, the targeted read it asks for (answered at once
/// with the interface holding one more or one fewer address), the merge,
/// the diff and the publication, and the release of the state before. The
/// same work on a table of 5 interfaces and of 4,005 (the peers benchmark's
/// crowded host): flat in the table's size is the promise of issue 14.
fn targeted_change(c: &mut Criterion) {
    let mut group = c.benchmark_group("targeted_change");
    for size in [5u32, 4005] {
        // No periodic reconcile: it would make one iteration in millions a
        // full read.
        let config = Config::builder()
            .debounce(Duration::ZERO)
            .reconcile_interval(None)
            .build()
            .expect("valid config");
        let start = Instant::now();
        let mut r = Reconciler::new(config, start);
        let table = synthetic_snapshot(size, 1, 0);
        if let Some(Action::Enumerate { id, .. }) = r.poll_action() {
            r.handle_input(
                start,
                Input::Enumerated {
                    id,
                    result: Ok(table.clone()),
                },
            );
        }
        while r.poll_action().is_some() {}
        let index = size / 2;
        let plain = table.by_index(index).expect("in the table").clone();
        let mut grown = plain.clone();
        grown
            .addrs
            .push(Address::new("10.123.0.1/32".parse().expect("a net")));
        let hint = RouteEvent::new(RouteEventKind::AddrNew)
            .with_family(Family::V4)
            .with_index(index);
        let mut now = start;
        let mut add = true;
        group.bench_function(format!("{size}_interfaces"), |b| {
            b.iter(|| {
                now += Duration::from_micros(10);
                r.handle_input(now, Input::Route(hint));
                let action = r.poll_action();
                let Some(Action::Enumerate {
                    id,
                    scope: Scope::Targeted(targets),
                }) = action
                else {
                    panic!("a targeted read, not {action:?}");
                };
                let found = if add { grown.clone() } else { plain.clone() };
                add = !add;
                let refresh = Refresh::new(targets, vec![found], RouteHops::default())
                    .expect("one interface");
                r.handle_input(
                    now,
                    Input::Refreshed {
                        id,
                        result: Ok(refresh),
                    },
                );
                let Some(Action::Publish(change)) = r.poll_action() else {
                    panic!("a publication");
                };
                black_box(change);
            })
        });
    }
    group.finish();
}

fn diff(c: &mut Criterion) {
    let old = synthetic_snapshot(10_000, 4, 0);
    let new = synthetic_snapshot(10_000, 4, 1);
    let mut group = c.benchmark_group("snapshot");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("diff_10000_interfaces_4_addrs", |b| {
        b.iter(|| black_box(Snapshot::diff(black_box(&old), black_box(&new))))
    });
    // Built again, not cloned: a clone shares every chunk and compares by
    // pointer.
    let copy = synthetic_snapshot(10_000, 4, 0);
    group.bench_function("equal_10000_interfaces_4_addrs", |b| {
        b.iter(|| black_box(black_box(&old) == black_box(&copy)))
    });
    group.finish();
}

criterion_group!(benches, handle_input, targeted_change, diff);
criterion_main!(benches);
