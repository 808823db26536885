//! One hour of simulated time with constant churn leaves memory flat: the
//! Reconciler, a subscriber that reads and one that never does, driven on a
//! virtual clock (no sleep: the hour passes in well under a second).

use std::time::{Duration, Instant};

use netstate_core::ipnet::IpNet;
use netstate_core::{Action, Config, Input, Reconciler};
use netstate_sys::fanout::{Fanout, DEFAULT_QUEUE};
use netstate_testkit::net::{starting_table, NetTable};

struct Host {
    table: NetTable,
    core: Reconciler,
    fanout: Fanout,
    now: Instant,
    tick: u64,
}

impl Host {
    /// One churn step every 200 ms: an address comes or goes on `eth0`,
    /// its hints reach the core, timers run, enumerations are answered with
    /// the truth, changes are published.
    fn run_for(&mut self, d: Duration, reader: &mut netstate_sys::fanout::Subscriber) -> u64 {
        let end = self.now + d;
        let mut published = 0;
        while self.now < end {
            self.now += Duration::from_millis(200);
            self.tick += 1;
            let net: IpNet = format!("10.200.{}.1/24", self.tick % 32)
                .parse()
                .expect("net");
            let hints = if self
                .table
                .snapshot()
                .by_name("eth0")
                .is_some_and(|i| i.address(&net).is_some())
            {
                self.table.remove_address("eth0", net)
            } else {
                self.table.add_address("eth0", net)
            }
            .expect("eth0 exists");
            for h in hints {
                self.core.handle_input(self.now, Input::Route(h));
            }
            self.core.handle_timeout(self.now);
            while let Some(a) = self.core.poll_action() {
                match a {
                    Action::Enumerate { id, .. } => {
                        let result = Ok(self.table.snapshot().clone());
                        self.core
                            .handle_input(self.now, Input::Enumerated { id, result });
                    }
                    Action::Publish(c) => {
                        self.fanout.publish(&c);
                        published += 1;
                    }
                    Action::RebindMonitor => {}
                }
            }
            while reader.try_recv().is_ok() {}
        }
        published
    }
}

#[test]
fn an_hour_of_churn_leaves_memory_flat() {
    let start = Instant::now();
    let mut host = Host {
        table: starting_table(),
        core: Reconciler::new(Config::default(), start),
        fanout: Fanout::default(),
        now: start,
        tick: 0,
    };
    let mut reader = host.fanout.subscribe();
    let idle = host.fanout.subscribe();
    // Ten minutes to reach the steady state (queues full, buffers grown).
    let warm = host.run_for(Duration::from_secs(600), &mut reader);
    let mut published = 0;
    let info = allocation_counter::measure(|| {
        published = host.run_for(Duration::from_secs(3000), &mut reader);
    });
    assert!(
        warm > 100 && published > 1000,
        "the churn published ({warm}, {published})"
    );
    assert_eq!(
        idle.len(),
        DEFAULT_QUEUE,
        "the idle subscriber is full, not growing"
    );
    // Net growth over the last 50 simulated minutes: nothing retained.
    assert!(
        info.bytes_current.abs() < 16 << 10,
        "memory grew by {} bytes",
        info.bytes_current
    );
    // The peak above the starting point stays small too (one snapshot or
    // merged change in flight, not a backlog).
    assert!(
        info.bytes_max < 256 << 10,
        "peak {} bytes above the start",
        info.bytes_max
    );
}
