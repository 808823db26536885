//! The three monitors behind one face, for the worker: start one, wait for
//! its next notification, and read the set of addresses it currently
//! reports. Each is used the way its documentation shows.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_lite::StreamExt;
use n0_watcher::Watcher;
use netstate_core::ipnet::IpNet;
use netstate_core::{Config, Snapshot};

/// Which library a worker runs, and how.
#[derive(Clone, Debug)]
pub(crate) enum Lib {
    /// netstate's tokio driver with this debounce (`None`: the default)
    /// and the default reconcile interval (15 s).
    Netstate { debounce_ms: Option<u64> },
    /// `netwatch::netmon::Monitor` as it comes (250 ms debounce, built in).
    Netwatch,
    /// `if_watch::tokio::IfWatcher` as it comes.
    IfWatch,
}

impl Lib {
    pub(crate) fn parse(name: &str, debounce_ms: Option<u64>) -> Result<Lib, String> {
        match name {
            "netstate" => Ok(Lib::Netstate { debounce_ms }),
            "netwatch" => Ok(Lib::Netwatch),
            "if-watch" => Ok(Lib::IfWatch),
            other => Err(format!("unknown library {other:?}")),
        }
    }

    pub(crate) fn config(debounce_ms: Option<u64>) -> Result<Config, String> {
        let mut b = Config::builder();
        if let Some(ms) = debounce_ms {
            b = b.debounce(Duration::from_millis(ms));
        }
        b.build().map_err(|e| format!("config: {e:?}"))
    }
}

/// A running monitor of one of the three libraries.
pub(crate) enum Mon {
    Netstate {
        monitor: netstate_tokio::Monitor,
        sub: netstate_tokio::Subscriber,
    },
    Netwatch {
        _monitor: netwatch::netmon::Monitor,
        watcher: n0_watcher::Direct<netwatch::interfaces::State>,
    },
    IfWatch {
        watcher: Box<if_watch::tokio::IfWatcher>,
    },
}

impl Mon {
    /// Starts the monitor and returns once it knows the initial state (for
    /// if-watch: once its initial address dump has been consumed, that is
    /// when no event came for 200 ms).
    pub(crate) async fn start(lib: &Lib) -> Result<Mon, String> {
        match lib {
            Lib::Netstate { debounce_ms } => {
                let builder = netstate_tokio::Monitor::builder(Lib::config(*debounce_ms)?);
                let (monitor, mut sub) = netstate_tokio::Monitor::start_subscribed(builder)
                    .await
                    .map_err(|e| format!("netstate: {e}"))?;
                while sub.try_recv().is_ok() {}
                Ok(Mon::Netstate { monitor, sub })
            }
            Lib::Netwatch => {
                let monitor = netwatch::netmon::Monitor::new()
                    .await
                    .map_err(|e| format!("netwatch: {e:?}"))?;
                let watcher = monitor.interface_state();
                Ok(Mon::Netwatch {
                    _monitor: monitor,
                    watcher,
                })
            }
            Lib::IfWatch => {
                let mut watcher =
                    if_watch::tokio::IfWatcher::new().map_err(|e| format!("if-watch: {e}"))?;
                loop {
                    match tokio::time::timeout(Duration::from_millis(200), watcher.next()).await {
                        Ok(Some(Ok(_))) => {}
                        Ok(Some(Err(e))) => return Err(format!("if-watch: {e}")),
                        Ok(None) => return Err("if-watch: stream ended".into()),
                        Err(_) => break,
                    }
                }
                Ok(Mon::IfWatch {
                    watcher: Box::new(watcher),
                })
            }
        }
    }

    /// Waits for the next notification: a published change (netstate), a
    /// new value of the watched state (netwatch), an `IfEvent` (if-watch).
    /// Cancel-safe.
    pub(crate) async fn changed(&mut self) -> Result<(), String> {
        match self {
            Mon::Netstate { sub, .. } => match sub.recv().await {
                Some(change) => {
                    if std::env::var_os("PEERS_DEBUG").is_some() {
                        eprintln!(
                            "netstate change #{} {:?}: {:?}",
                            change.seq, change.cause, change.delta
                        );
                    }
                    Ok(())
                }
                None => Err("netstate: subscriber closed".into()),
            },
            Mon::Netwatch { watcher, .. } => watcher
                .updated()
                .await
                .map(|_| ())
                .map_err(|_| "netwatch: disconnected".into()),
            Mon::IfWatch { watcher } => match watcher.next().await {
                Some(Ok(_)) => Ok(()),
                Some(Err(e)) => Err(format!("if-watch: {e}")),
                None => Err("if-watch: stream ended".into()),
            },
        }
    }

    /// Every address (with its prefix length) the library reports now, on
    /// any interface.
    pub(crate) fn addrs(&mut self) -> BTreeSet<IpNet> {
        match self {
            Mon::Netstate { monitor, .. } => snapshot_addrs(&monitor.state()),
            Mon::Netwatch { watcher, .. } => {
                let state = watcher.get();
                state
                    .interfaces
                    .values()
                    .flat_map(|i| i.addrs())
                    .map(|a| match a {
                        netwatch::interfaces::IpNet::V4(n) => IpNet::V4(n),
                        netwatch::interfaces::IpNet::V6 { net, .. } => IpNet::V6(net),
                    })
                    .collect()
            }
            Mon::IfWatch { watcher } => watcher.iter().copied().collect(),
        }
    }

    /// Whether the library reports `net` now.
    pub(crate) fn has(&mut self, net: &IpNet) -> bool {
        match self {
            Mon::IfWatch { watcher } => watcher.iter().any(|n| n == net),
            _ => self.addrs().contains(net),
        }
    }

    /// Whether the library reports `net` on the interface `index` / `dev`
    /// now, without copying its whole state (so the check costs the same
    /// with 4 interfaces and with 4,000): netstate looks the interface up
    /// by index, netwatch by name; if-watch keeps one set of addresses for
    /// every interface and is asked whether it holds `net`.
    pub(crate) fn has_on(&mut self, index: u32, dev: &str, net: &IpNet) -> bool {
        match self {
            Mon::Netstate { monitor, .. } => monitor
                .state()
                .by_index(index)
                .is_some_and(|i| i.addrs.iter().any(|a| a.net == *net)),
            Mon::Netwatch { watcher, .. } => {
                // `update` + `peek`: `get` would clone the whole state.
                watcher.update();
                watcher.peek().interfaces.get(dev).is_some_and(|i| {
                    i.addrs().any(|a| match a {
                        netwatch::interfaces::IpNet::V4(n) => IpNet::V4(n) == *net,
                        netwatch::interfaces::IpNet::V6 { net: n, .. } => IpNet::V6(n) == *net,
                    })
                })
            }
            Mon::IfWatch { watcher } => watcher.iter().any(|n| n == net),
        }
    }

    /// netstate's monitor, for its counters and test hooks.
    pub(crate) fn netstate(&self) -> Option<&netstate_tokio::Monitor> {
        match self {
            Mon::Netstate { monitor, .. } => Some(monitor),
            _ => None,
        }
    }
}

/// Every address in a netstate snapshot.
pub(crate) fn snapshot_addrs(s: &Snapshot) -> BTreeSet<IpNet> {
    s.interfaces()
        .iter()
        .flat_map(|i| i.addrs.iter().map(|a| a.net))
        .collect()
}
