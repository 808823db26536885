//! Scripts for the simulation: a [`Scenario`] is a seed, a configuration,
//! the host's faults and a timed list of [`Step`]s, generated from a seed or
//! by proptest strategies that shrink ([`Scenario::strategy`]), runnable
//! against any [`Core`] and checkable against every property
//! ([`check_scenario`]).
//!
//! A failing check returns a [`Failure`] whose text holds the seed, the
//! scenario as JSON (paste it into [`Scenario::from_json`] to reproduce the
//! run exactly) and the run's log around the violation.

use core::fmt;
use std::time::{Duration, Instant};

use netstate_core::{Config, ConfigError, Filter, Reconciler};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use serde::{Deserialize, Serialize};

use crate::net::{starting_table, NetOp, SLOT_ADDRS};
use crate::props::{self, Bounds, Checked, Violation};
use crate::sim::{Core, EnumerationModel, LogEntry, Sim, SimError, SimParams, Step};
use crate::socket::{SocketFault, SocketFaults};

/// A configuration in a form that prints and shrinks well.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSpec {
    /// The debounce (ms).
    pub debounce_ms: u64,
    /// The maximum wait (ms).
    pub max_wait_ms: u64,
    /// The reconcile interval (ms), or none.
    pub reconcile_ms: Option<u64>,
    /// Whether interfaces named `veth*` are ignored.
    pub ignore_veth: bool,
}

impl Default for ConfigSpec {
    /// The defaults of [`Config::default`].
    fn default() -> Self {
        ConfigSpec {
            debounce_ms: 250,
            max_wait_ms: 2_000,
            reconcile_ms: Some(15_000),
            ignore_veth: false,
        }
    }
}

impl ConfigSpec {
    /// The [`Config`] it describes.
    pub fn build(&self) -> Result<Config, ConfigError> {
        let mut filter = Filter::new();
        if self.ignore_veth {
            filter = filter.ignore_prefix("veth");
        }
        Config::builder()
            .debounce(Duration::from_millis(self.debounce_ms))
            .max_wait(Duration::from_millis(self.max_wait_ms))
            .reconcile_interval(self.reconcile_ms.map(Duration::from_millis))
            .filter(filter)
            .build()
    }
}

/// A step and when it happens. Steps at the same instant run in the order
/// of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timed {
    /// Milliseconds since the start.
    pub at_ms: u64,
    /// The step.
    pub step: Step,
}

/// Families of generated scenarios: each stresses different promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Profile {
    /// Every hint reaches the core, possibly late, reordered, duplicated or
    /// replaced by an overflow; enumerations may fail or hang. The tight
    /// convergence bound applies.
    Flowing,
    /// Hints are dropped (up to all of them), the socket errors and closes,
    /// rebinds fail. Reconcile is on; the reconcile bound applies.
    Lossy,
    /// The socket goes silent forever early in the run, with no error.
    /// Reconcile is on; the reconcile bound applies.
    Silent,
    /// A storm of hints runs from the start to the end, with changes in it;
    /// enumerations never fail.
    Storm,
}

/// A complete, reproducible simulation script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// The seed of every random draw in the run.
    pub seed: u64,
    /// The core's configuration.
    pub config: ConfigSpec,
    /// The host's faults and timings.
    pub params: SimParams,
    /// The script, applied to [`starting_table`].
    pub steps: Vec<Timed>,
}

/// Why a scenario could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScenarioError {
    /// Its configuration is invalid.
    Config(ConfigError),
    /// The simulation refused it or stopped.
    Sim(SimError),
    /// It could not be generated or parsed; the text says why.
    Invalid(String),
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Config(e) => write!(f, "scenario configuration: {e}"),
            ScenarioError::Sim(e) => write!(f, "simulation: {e}"),
            ScenarioError::Invalid(e) => write!(f, "scenario: {e}"),
        }
    }
}

impl std::error::Error for ScenarioError {}

impl From<ConfigError> for ScenarioError {
    fn from(e: ConfigError) -> Self {
        ScenarioError::Config(e)
    }
}

impl From<SimError> for ScenarioError {
    fn from(e: SimError) -> Self {
        ScenarioError::Sim(e)
    }
}

/// How long a run goes on after its last activity when no convergence bound
/// applies.
const QUIET_TAIL: Duration = Duration::from_secs(60);

impl Scenario {
    /// The configuration.
    pub fn build_config(&self) -> Result<Config, ScenarioError> {
        Ok(self.config.build()?)
    }

    /// The bounds of this scenario's properties.
    pub fn bounds(&self) -> Result<Bounds, ScenarioError> {
        Ok(Bounds::new(&self.build_config()?, &self.params))
    }

    /// Whether every hint reaches the core (no drop, error, close or silence,
    /// random or scripted).
    #[must_use]
    pub fn events_flow(&self) -> bool {
        self.params.socket.delivers_everything()
            && !self.steps.iter().any(|t| {
                matches!(
                    t.step,
                    Step::Socket(SocketFault::Error | SocketFault::Close | SocketFault::Silent)
                )
            })
    }

    /// The convergence bound that applies: [`Bounds::converge_flowing`] when
    /// events flow, else [`Bounds::converge_silent`] (none with reconcile off).
    pub fn convergence_bound(&self) -> Result<Option<Duration>, ScenarioError> {
        let b = self.bounds()?;
        Ok(if self.events_flow() {
            Some(b.converge_flowing)
        } else {
            b.converge_silent
        })
    }

    /// When the last step happens, or the last hint of a storm is sent.
    #[must_use]
    pub fn activity_end(&self) -> Duration {
        let mut end = Duration::ZERO;
        for s in &self.steps {
            let t = Duration::from_millis(s.at_ms);
            let until = match s.step {
                Step::Storm {
                    period_ms, count, ..
                } => t + Duration::from_millis(period_ms.max(1) * u64::from(count)),
                _ => t,
            };
            end = end.max(until);
        }
        end
    }

    /// When the run stops: the activity's end plus the convergence bound
    /// (or a minute without one), plus a second.
    pub fn end(&self) -> Result<Duration, ScenarioError> {
        let tail = self.convergence_bound()?.unwrap_or(QUIET_TAIL);
        Ok(self.activity_end() + tail + Duration::from_secs(1))
    }

    /// The simulation of the real Reconciler, with the script scheduled.
    pub fn sim(&self) -> Result<Sim, ScenarioError> {
        self.sim_with(Reconciler::new)
    }

    /// The simulation of the core `make` builds, with the script scheduled.
    pub fn sim_with<C: Core>(
        &self,
        make: impl FnOnce(Config, Instant) -> C,
    ) -> Result<Sim<C>, ScenarioError> {
        let config = self.build_config()?;
        let mut sim = Sim::with_core(
            make,
            config,
            self.params.clone(),
            starting_table(),
            self.seed,
        )?;
        let mut steps = self.steps.clone();
        steps.sort_by_key(|s| s.at_ms);
        for s in &steps {
            sim.schedule(Duration::from_millis(s.at_ms), s.step);
        }
        Ok(sim)
    }

    /// Runs the real Reconciler to [`Scenario::end`], logging everything.
    pub fn run(&self) -> Result<Sim, ScenarioError> {
        let mut sim = self.sim()?;
        sim.run_until(self.end()?)?;
        Ok(sim)
    }

    /// The scenario as one line of JSON.
    pub fn to_json(&self) -> Result<String, ScenarioError> {
        serde_json::to_string(self).map_err(|e| ScenarioError::Invalid(e.to_string()))
    }

    /// A scenario from its JSON.
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        serde_json::from_str(text).map_err(|e| ScenarioError::Invalid(e.to_string()))
    }

    /// The scenario of `profile` that `seed` generates (through the same
    /// strategy as the property tests, with a ChaCha generator seeded from
    /// `seed`), whose simulation also runs from `seed`.
    pub fn generate(seed: u64, profile: Profile) -> Result<Self, ScenarioError> {
        let mut bytes = [0u8; 32];
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&(seed ^ (i as u64).wrapping_mul(0x9e37_79b9)).to_le_bytes());
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let mut runner = TestRunner::new_with_rng(proptest::test_runner::Config::default(), rng);
        let tree = Scenario::strategy(profile)
            .new_tree(&mut runner)
            .map_err(|e| ScenarioError::Invalid(e.to_string()))?;
        let mut s = tree.current();
        s.seed = seed;
        Ok(s)
    }

    /// The proptest strategy for scenarios of `profile`; it shrinks towards
    /// fewer steps, smaller numbers and fewer faults.
    pub fn strategy(profile: Profile) -> BoxedStrategy<Scenario> {
        let config = config_strategy(profile);
        let params = params_strategy(profile);
        let max_steps = if profile == Profile::Storm { 10 } else { 25 };
        let steps = prop::collection::vec(timed_strategy(profile), 1..=max_steps);
        (any::<u64>(), config, params, steps, 0u64..=3_000)
            .prop_map(move |(seed, config, params, mut steps, lead)| {
                match profile {
                    Profile::Silent => steps.insert(
                        0,
                        Timed {
                            at_ms: lead,
                            step: Step::Socket(SocketFault::Silent),
                        },
                    ),
                    Profile::Storm => {
                        // A storm from the start to past the end of the
                        // script, and past the time to converge after it.
                        let mut s = Scenario {
                            seed,
                            config: config.clone(),
                            params: params.clone(),
                            steps: steps.clone(),
                        };
                        s.config.ignore_veth = false;
                        let span = s.end().unwrap_or_default();
                        let period_ms = 5 + lead % 96;
                        let count = (span.as_millis() as u64 / period_ms + 1) as u32;
                        s.steps.insert(
                            0,
                            Timed {
                                at_ms: 0,
                                step: Step::Storm {
                                    slot: (lead % 3) as u8,
                                    period_ms,
                                    count,
                                },
                            },
                        );
                        steps = s.steps;
                        return Scenario {
                            seed,
                            config: s.config,
                            params,
                            steps,
                        };
                    }
                    Profile::Flowing | Profile::Lossy => {}
                }
                Scenario {
                    seed,
                    config,
                    params,
                    steps,
                }
            })
            .boxed()
    }
}

fn config_strategy(profile: Profile) -> BoxedStrategy<ConfigSpec> {
    let must_reconcile = matches!(profile, Profile::Lossy | Profile::Silent);
    let reconcile = if must_reconcile {
        (2_000u64..=30_000).prop_map(Some).boxed()
    } else {
        prop::option::weighted(0.8, 2_000u64..=30_000).boxed()
    };
    // Storms test bounded work, which needs a debounce.
    let least_debounce = if profile == Profile::Storm { 10 } else { 0 };
    let random = (
        least_debounce..=500u64,
        0u64..=2_500,
        reconcile,
        any::<bool>(),
    )
        .prop_map(
            |(debounce_ms, extra, reconcile_ms, ignore_veth)| ConfigSpec {
                debounce_ms,
                max_wait_ms: debounce_ms + extra,
                reconcile_ms,
                ignore_veth,
            },
        );
    prop_oneof![1 => Just(ConfigSpec::default()), 3 => random].boxed()
}

fn params_strategy(profile: Profile) -> BoxedStrategy<SimParams> {
    let lossy = profile == Profile::Lossy;
    let delays = (0u64..=50, 0u64..=300).prop_map(|(a, b)| [a, a + b]);
    let drop = if lossy {
        prop_oneof![1 => Just(1000u16), 3 => 0u16..=900].boxed()
    } else {
        Just(0u16).boxed()
    };
    let fails = if lossy { 0u16..=30 } else { 0u16..=0 };
    let socket = (
        drop,
        delays,
        any::<bool>(),
        1u8..=4,
        prop::option::weighted(0.3, 1u32..=64),
        0u16..=30,
        fails.clone(),
        fails,
        if lossy { 0u16..=700 } else { 0u16..=0 },
    )
        .prop_map(
            |(drop, delay_ms, reorder, burst_max, capacity, overflow, error, close, rebind)| {
                SocketFaults {
                    drop_per_mille: drop,
                    delay_ms,
                    reorder,
                    burst_max,
                    capacity,
                    overflow_per_mille: overflow,
                    error_per_mille: error,
                    close_per_mille: close,
                    rebind_fail_per_mille: rebind,
                }
            },
        );
    let can_fail = profile != Profile::Storm;
    let enumeration = (
        0u64..=50,
        0u64..=500,
        if can_fail { 0u16..=300 } else { 0u16..=0 },
        if can_fail { 0u16..=100 } else { 0u16..=0 },
        if can_fail { 0u32..=4 } else { 0u32..=0 },
    )
        .prop_map(|(a, b, fail, hang, k)| EnumerationModel {
            duration_ms: [a, a + b],
            fail_per_mille: fail,
            hang_per_mille: hang,
            max_consecutive_failures: k,
        });
    (socket, enumeration, (0u64..=20, 0u64..=50))
        .prop_map(|(socket, enumeration, (a, b))| SimParams {
            socket,
            enumeration,
            rebind_ms: [a, a + b],
        })
        .boxed()
}

fn net_op_strategy() -> impl Strategy<Value = NetOp> {
    let slot = 0u8..4;
    let addr = 0u8..SLOT_ADDRS;
    prop_oneof![
        4 => (slot.clone(), addr.clone()).prop_map(|(slot, addr)| NetOp::AddAddr { slot, addr }),
        3 => (slot.clone(), addr.clone()).prop_map(|(slot, addr)| NetOp::RemoveAddr { slot, addr }),
        1 => (slot.clone(), addr, any::<bool>())
            .prop_map(|(slot, addr, on)| NetOp::Tentative { slot, addr, on }),
        2 => (slot.clone(), any::<bool>()).prop_map(|(slot, up)| NetOp::Link { slot, up }),
        1 => slot.clone().prop_map(|slot| NetOp::AddInterface { slot }),
        1 => slot.clone().prop_map(|slot| NetOp::RemoveInterface { slot }),
        2 => (any::<bool>(), prop::option::weighted(0.8, slot))
            .prop_map(|(v6, slot)| NetOp::DefaultRoute { v6, slot }),
    ]
}

fn step_strategy(profile: Profile) -> BoxedStrategy<Step> {
    let net = net_op_strategy().prop_map(Step::Net);
    let storm = (0u8..4, 1u64..=400, 1u32..=300).prop_map(|(slot, period_ms, count)| Step::Storm {
        slot,
        period_ms,
        count,
    });
    let suspend = (0u64..=120_000).prop_map(|ms| Step::Suspend { ms });
    let back = (0u64..=7_200_000).prop_map(|ms| Step::ClockBack { ms });
    let socket_faults = if profile == Profile::Lossy {
        prop_oneof![
            Just(SocketFault::Overflow),
            Just(SocketFault::Error),
            Just(SocketFault::Close),
            Just(SocketFault::Silent),
        ]
        .boxed()
    } else {
        Just(SocketFault::Overflow).boxed()
    };
    let storms = if profile == Profile::Storm { 0 } else { 1 };
    prop_oneof![
        12 => net,
        storms => storm,
        1 => suspend,
        1 => back,
        1 => Just(Step::ForceCheck),
        1 => socket_faults.prop_map(Step::Socket),
    ]
    .boxed()
}

/// Steps happen in clusters (a burst of changes, then quiet), each cluster
/// 20 s after the previous; each step's time shrinks independently.
fn timed_strategy(profile: Profile) -> impl Strategy<Value = Timed> {
    let clusters = if profile == Profile::Storm { 2u64 } else { 6 };
    // Within 100 ms: one burst; 150 to 900 ms: when the burst's enumeration
    // is likely in flight (the race between a change and an enumeration).
    let offset = prop_oneof![
        2 => 0u64..=100,
        2 => 150u64..=900,
        2 => 0u64..=3_000,
        1 => 0u64..=15_000,
    ];
    (0..clusters, offset, step_strategy(profile)).prop_map(|(cluster, offset, step)| Timed {
        at_ms: cluster * 20_000 + offset,
        step,
    })
}

/// A property a run can be checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Property {
    /// [`props::check_convergence`] with the scenario's bound.
    Convergence,
    /// [`props::check_no_spurious`].
    NoSpurious,
    /// [`props::check_bounded_work`] over one-minute windows.
    BoundedWork,
    /// [`props::check_no_starvation`] over the scenario's storm.
    NoStarvation,
    /// [`props::check_overflow_recovery`].
    OverflowRecovery,
    /// [`props::check_rebind_recovery`].
    RebindRecovery,
    /// [`props::check_time_jumps`].
    TimeJumps,
}

impl Property {
    /// Every property that applies to any scenario ([`Property::NoStarvation`]
    /// only applies to storms).
    pub const GENERAL: [Property; 6] = [
        Property::Convergence,
        Property::NoSpurious,
        Property::BoundedWork,
        Property::OverflowRecovery,
        Property::RebindRecovery,
        Property::TimeJumps,
    ];
}

/// The window of the bounded-work property.
pub const WORK_WINDOW: Duration = Duration::from_secs(60);

/// What a passing check looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Each property checked and its summary.
    pub checked: Vec<(Property, Checked)>,
    /// Changes of the (filtered) truth.
    pub truth_changes: usize,
    /// Enumerations asked for.
    pub enumerations: usize,
    /// Publications.
    pub publications: usize,
    /// Hints the kernel sent.
    pub hints: u64,
}

impl Summary {
    /// The summary of one property, if it was checked.
    #[must_use]
    pub fn of(&self, p: Property) -> Option<Checked> {
        self.checked.iter().find(|(q, _)| *q == p).map(|(_, c)| *c)
    }
}

/// A failed check: the violation and everything needed to reproduce it.
#[derive(Clone, Debug)]
pub struct Failure {
    /// What went wrong.
    pub violation: Violation,
    /// The scenario that shows it.
    pub scenario: Scenario,
    /// The run's log around the violation.
    pub log: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.violation)?;
        writeln!(f, "seed: {}", self.scenario.seed)?;
        match self.scenario.to_json() {
            Ok(json) => {
                writeln!(f, "scenario: {json}")?;
                writeln!(
                    f,
                    "reproduce: Scenario::from_json(<scenario>)?.run()? gives this run; \
                     its .log_text() shows it whole, replay::Trace::from_sim(&run) its trace"
                )?;
            }
            Err(e) => writeln!(f, "scenario: {:?} ({e})", self.scenario)?,
        }
        writeln!(f, "log:")?;
        f.write_str(&self.log)
    }
}

impl std::error::Error for Failure {}

fn excerpt<C: Core>(sim: &Sim<C>, around: Duration, span: Duration) -> String {
    excerpt_of(sim.log(), around, span)
}

/// The log whole if it is short; else its first `HEAD` lines, a line
/// saying how many are left out, and the (at most 400) last lines from
/// `2 * span` before `around` to one second after it. The lines of the
/// window that are already among the first ones are not repeated, so the
/// count left out cannot go below zero even when the violation is at the
/// start of a long log (it once subtracted with overflow there).
fn excerpt_of(log: &[LogEntry], around: Duration, span: Duration) -> String {
    const MOST: usize = 400;
    const HEAD: usize = 20;
    let mut out = String::new();
    if log.len() <= MOST {
        for e in log {
            out.push_str(&format!("{e}\n"));
        }
        return out;
    }
    let from = around.saturating_sub(span.saturating_mul(2));
    let to = around.saturating_add(Duration::from_secs(1));
    let near: Vec<_> = log
        .iter()
        .skip(HEAD)
        .filter(|e| e.at >= from && e.at <= to)
        .collect();
    let skip = near.len().saturating_sub(MOST);
    let shown = HEAD.saturating_add(near.len().saturating_sub(skip));
    for e in log.iter().take(HEAD) {
        out.push_str(&format!("{e}\n"));
    }
    out.push_str(&format!(
        "[… {} of {} lines left out: showing those from {:.3}s to {:.3}s …]\n",
        log.len().saturating_sub(shown),
        log.len(),
        near.get(skip).map_or(from, |e| e.at).as_secs_f64(),
        to.as_secs_f64(),
    ));
    for e in near.into_iter().skip(skip) {
        out.push_str(&format!("{e}\n"));
    }
    out
}

/// Runs `scenario` against the core `make` builds (without logging) and
/// checks `properties`. On a violation it runs the scenario again with
/// logging (the run is deterministic) to report the log.
pub fn check_scenario<C: Core>(
    scenario: &Scenario,
    make: impl Fn(Config, Instant) -> C,
    properties: &[Property],
) -> Result<Summary, Box<Failure>> {
    let fail = |violation: Violation| {
        let log = match scenario.sim_with(&make) {
            Ok(mut sim) => {
                let _ = sim.run_until(scenario.end().unwrap_or_default());
                let span = scenario
                    .convergence_bound()
                    .ok()
                    .flatten()
                    .unwrap_or(QUIET_TAIL);
                excerpt(&sim, violation.at, span)
            }
            Err(e) => format!("(could not re-run: {e})"),
        };
        Box::new(Failure {
            violation,
            scenario: scenario.clone(),
            log,
        })
    };
    let setup = |e: ScenarioError| {
        fail(Violation {
            property: "setup",
            at: Duration::ZERO,
            detail: e.to_string(),
        })
    };
    let config = scenario.build_config().map_err(setup)?;
    let bounds = Bounds::new(&config, &scenario.params);
    let mut sim = scenario.sim_with(&make).map_err(setup)?;
    sim.set_logging(false);
    sim.set_tracing(false);
    let end = scenario.end().map_err(setup)?;
    if let Err(e) = sim.run_until(end) {
        let at = match e {
            SimError::BusyLoop { at } => at,
            SimError::InvalidParams(_) => Duration::ZERO,
        };
        return Err(fail(Violation {
            property: "no busy loop",
            at,
            detail: e.to_string(),
        }));
    }
    let obs = sim.observations();
    let mut summary = Summary {
        truth_changes: obs.truth_changes(),
        enumerations: obs.enumeration_count(),
        publications: obs.publications.len(),
        hints: obs.hints_sent,
        ..Summary::default()
    };
    for p in properties {
        let result = match p {
            Property::Convergence => match scenario.convergence_bound().map_err(setup)? {
                Some(bound) => props::check_convergence(obs, bound),
                None => continue,
            },
            Property::NoSpurious => props::check_no_spurious(obs),
            Property::BoundedWork => props::check_bounded_work(obs, &config, &bounds, WORK_WINDOW),
            Property::NoStarvation => {
                props::check_no_starvation(obs, &config, scenario.activity_end())
            }
            Property::OverflowRecovery => {
                props::check_overflow_recovery(obs, &config, &scenario.params)
            }
            Property::RebindRecovery => props::check_rebind_recovery(obs, &config),
            Property::TimeJumps => props::check_time_jumps(obs, &config, &bounds),
        };
        summary.checked.push((*p, result.map_err(&fail)?));
    }
    Ok(summary)
}

/// [`check_scenario`] with the real Reconciler.
pub fn check_reconciler(
    scenario: &Scenario,
    properties: &[Property],
) -> Result<Summary, Box<Failure>> {
    check_scenario(scenario, Reconciler::new, properties)
}

/// [`check_scenario`] with the real engine around the Reconciler
/// ([`EngineCore`](crate::EngineCore)): the same scenario and properties,
/// through the loop every driver runs.
pub fn check_engine(scenario: &Scenario, properties: &[Property]) -> Result<Summary, Box<Failure>> {
    check_scenario(scenario, crate::EngineCore::new, properties)
}

/// The script of the trace shipped in `testkit/traces/` (written by
/// `cargo run -p netstate-testkit --example write_shipped_trace`): the field
/// failures netstate exists for, one after the other.
pub fn shipped_trace_script() -> Scenario {
    let at = |at_ms: u64, step: Step| Timed { at_ms, step };
    let net = |op| Step::Net(op);
    Scenario {
        seed: 2024,
        config: Default::default(),
        params: SimParams {
            socket: SocketFaults {
                delay_ms: [20, 20],
                rebind_fail_per_mille: 500,
                ..SocketFaults::default()
            },
            enumeration: EnumerationModel {
                duration_ms: [5, 40],
                fail_per_mille: 200,
                hang_per_mille: 0,
                max_consecutive_failures: 2,
            },
            rebind_ms: [1, 5],
        },
        steps: vec![
            // An address appears: published after the debounce.
            at(2_000, net(NetOp::AddAddr { slot: 0, addr: 1 })),
            // A storm of re-announcements with a change inside: one
            // publication, within the maximum wait.
            at(
                4_000,
                Step::Storm {
                    slot: 0,
                    period_ms: 10,
                    count: 300,
                },
            ),
            at(4_500, net(NetOp::AddAddr { slot: 0, addr: 2 })),
            // A change whose hint is lost in an overflow.
            at(10_000, net(NetOp::RemoveAddr { slot: 0, addr: 2 })),
            at(10_010, Step::Socket(SocketFault::Overflow)),
            // The socket fails; a change while it is down; rebinds.
            at(14_000, Step::Socket(SocketFault::Error)),
            at(
                14_050,
                net(NetOp::DefaultRoute {
                    v6: true,
                    slot: Some(0),
                }),
            ),
            // Suspend and resume, then an NTP step back.
            at(30_000, Step::Suspend { ms: 600_000 }),
            at(31_000, Step::ClockBack { ms: 3_600_000 }),
            // The socket goes silent forever; the link goes down.
            at(40_000, Step::Socket(SocketFault::Silent)),
            at(41_000, net(NetOp::Link { slot: 0, up: false })),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::LogEvent;

    fn line(at_ms: u64) -> LogEntry {
        LogEntry {
            at: Duration::from_millis(at_ms),
            what: LogEvent::Timeout,
        }
    }

    #[test]
    fn a_violation_at_the_start_of_a_long_log_gives_a_report_not_an_overflow() {
        // 410 lines: the first 395 in the first 0.4 s, the last 15 at 100 s.
        // A violation at 0 s with a 1 s span shows the window 0 s ..= 1 s.
        let mut log: Vec<LogEntry> = (0..395).map(line).collect();
        log.extend((0..15).map(|i| line(100_000 + i)));
        let text = excerpt_of(&log, Duration::ZERO, Duration::from_secs(1));

        let lines: Vec<&str> = text.lines().collect();
        // Every line of the window once (the first 20 are not repeated),
        // plus the line saying what is left out: the 15 lines at 100 s.
        assert_eq!(lines.len(), 395 + 1, "{text}");
        assert_eq!(
            lines[20],
            "[… 15 of 410 lines left out: showing those from 0.020s to 1.000s …]"
        );
        let timeouts: Vec<&&str> = lines.iter().filter(|l| l.ends_with("timeout")).collect();
        assert_eq!(timeouts.len(), 395);
        assert!(lines[0].starts_with("[     0.000s]"), "{}", lines[0]);
        assert!(lines[395].starts_with("[     0.394s]"), "{}", lines[395]);
        assert!(!text.contains("100.000s"), "{text}");
    }

    #[test]
    fn a_violation_in_the_middle_of_a_long_log_shows_the_start_and_the_window() {
        // 1000 lines one second apart; a violation at 500 s with a 10 s span
        // shows the first 20 lines and the window 480 s ..= 501 s: 22 lines.
        let log: Vec<LogEntry> = (0..1000).map(|i| line(i * 1000)).collect();
        let text = excerpt_of(&log, Duration::from_secs(500), Duration::from_secs(10));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20 + 1 + 22, "{text}");
        assert_eq!(
            lines[20],
            "[… 958 of 1000 lines left out: showing those from 480.000s to 501.000s …]"
        );
        assert!(lines[21].starts_with("[   480.000s]"), "{}", lines[21]);
        assert!(lines[42].starts_with("[   501.000s]"), "{}", lines[42]);
    }

    #[test]
    fn a_short_log_is_shown_whole() {
        let log: Vec<LogEntry> = (0..400).map(line).collect();
        let text = excerpt_of(&log, Duration::ZERO, Duration::ZERO);
        assert_eq!(text.lines().count(), 400);
        assert!(!text.contains("left out"));
    }
}
