//! The model-based money test: long random sequences of what people do to orders and their
//! money (place by bank, card, allowance or both, straight, through a host's promo link or its
//! live session; pay, pay late, cancel, expire, ship part, deliver, refund in parts and in full,
//! record bank refunds, run payouts, change the platform fee), run through the shop's own code
//! on SQLite and on PostgreSQL. After every step the shop must agree with a model worked out
//! from the rules (order statuses, members' allowances, stock on hand, the session's quota) and
//! its ledgers with each other (`invariants`): money in equals what went back plus what growers,
//! hosts and the platform hold plus what paid orders still hold, to the fen; no allowance grant
//! or fund below zero or above what was granted or deposited, and no allowance refunded as
//! cash; stock equals its ledger and unpaid orders and quotas hold what is reserved; each
//! delivered line's entries reverse its refunds at the sale's rates; nothing paid or refunded
//! twice, at Stripe included.
//!
//! **One database per backend per test**: the shop starts once (with Stripe's stand-in) and
//! every case gets fresh people (a union and its two members with their grants, a stranger, a
//! host with its links and an approved session), so a case costs a few inserts instead of a
//! database; the stock and payout checks cover the whole shop, the others the case's orders.
//!
//! CI runs a fixed seed and a bounded number of cases. A longer run:
//! `HUAKAI_MODEL_CASES=500 HUAKAI_MODEL_SEED=$RANDOM cargo test --test api model -- --nocapture`
//! (`HUAKAI_MODEL_STEPS` bounds a sequence, 60 by default; `HUAKAI_MODEL_VERBOSE=1` prints what
//! every step of every sequence did). A failure is shrunk by proptest to
//! the shortest sequence that still breaks a rule, printed one numbered step a line with what
//! each step did.

mod invariants;
mod ops;
mod sold;
mod state;
mod steps;
mod world;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Instant;

use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

use crate::support::Backend;
use ops::{Op, readable};
use steps::Runner;
use world::World;

#[test]
fn money_model_sqlite() {
    run(Backend::Sqlite);
}

#[test]
fn money_model_postgres() {
    run(Backend::Postgres);
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {value:?}")),
        Err(_) => default,
    }
}

fn run(backend: Backend) {
    let cases: u32 = setting("HUAKAI_MODEL_CASES", 24);
    let max_steps: usize = setting("HUAKAI_MODEL_STEPS", 60);
    let seed: u64 = setting("HUAKAI_MODEL_SEED", 22);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let Some(world) = runtime.block_on(World::start(backend)) else {
        return;
    };
    let started = Instant::now();
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 500,
        max_shrink_time: 600_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let (numbers, steps) = (AtomicU32::new(0), AtomicUsize::new(0));
    let result = runner.run(&ops::sequence(max_steps), |ops| {
        let number = numbers.fetch_add(1, Ordering::Relaxed);
        steps.fetch_add(ops.len(), Ordering::Relaxed);
        runtime
            .block_on(run_case(&world, number, &ops))
            .map_err(TestCaseError::fail)
    });
    eprintln!(
        "money model on {backend:?}: {} sequences, {} steps, seed {seed}, in {:.1} s",
        numbers.load(Ordering::Relaxed),
        steps.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(async move { drop(world) });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, ops)) => panic!(
            "a money rule broke on {backend:?} (seed {seed}). The shortest sequence found ({} steps; \
             #n picks an order the step can act on, see Model::pick):\n{}\nWhat each step did:\n{reason}",
            ops.len(),
            readable(&ops)
        ),
        Err(TestError::Abort(reason)) => panic!("the model test stopped: {reason}"),
    }
}

/// One sequence on fresh people: each step, then every check.
async fn run_case(world: &World, number: u32, ops: &[Op]) -> Result<(), String> {
    let mut runner = Runner::new(world, number).await;
    let mut transcript = String::new();
    for (step, op) in ops.iter().enumerate() {
        let done = runner
            .apply(op)
            .await
            .map_err(|problem| format!("{transcript}  {:>2}. {op}: BROKEN: {problem}", step + 1))?;
        transcript.push_str(&format!("  {:>2}. {op}: {done}\n", step + 1));
        invariants::check(world, &runner.case, &runner.model)
            .await
            .map_err(|problem| format!("{transcript}  after step {}: {problem}", step + 1))?;
    }
    if std::env::var("HUAKAI_MODEL_VERBOSE").is_ok_and(|v| v == "1") {
        eprintln!("sequence {number}:\n{transcript}");
    }
    Ok(())
}
