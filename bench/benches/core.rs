//! Criterion benchmarks of the core's hot paths: route hints through the
//! Reconciler, and the diff of two large snapshots.
//!
//! Run: `cargo bench -p netstate-bench --bench core`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netstate_bench::synthetic_snapshot;
use netstate_core::{
    Action, Config, Family, Filter, Input, Reconciler, RouteEvent, RouteEventKind, Snapshot,
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

fn diff(c: &mut Criterion) {
    let old = synthetic_snapshot(10_000, 4, 0);
    let new = synthetic_snapshot(10_000, 4, 1);
    let mut group = c.benchmark_group("snapshot");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("diff_10000_interfaces_4_addrs", |b| {
        b.iter(|| black_box(Snapshot::diff(black_box(&old), black_box(&new))))
    });
    let copy = old.clone();
    group.bench_function("equal_10000_interfaces_4_addrs", |b| {
        b.iter(|| black_box(black_box(&old) == black_box(&copy)))
    });
    group.finish();
}

criterion_group!(benches, handle_input, diff);
criterion_main!(benches);
