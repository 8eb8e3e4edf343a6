//! Loom model of the board blocked writers sleep on (`WakeBoard` in `src/sync.rs`): one waker
//! changes several waiters' conditions and wakes them all with one call, as a leader does when
//! it launches or completes a group. Run with `RUSTFLAGS="--cfg loom" cargo test --release
//! --test loom_wake_board`.
//!
//! Checks: no waiter sleeps through its wake-up (loom reports a deadlock), whether it checks
//! its condition before or after the waker changes it; two waiters on one channel and on two
//! channels; and two wakers each waking only its own waiter's channel. (That the write
//! thread never touches a writer after setting it `COMPLETED` is checked by the write-thread
//! models, which run the real `write_impl` over this board.)
#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use groupkv::loom_api::WakeBoard;
use loom::sync::atomic::{AtomicU8, Ordering::SeqCst};
use loom::sync::Arc;

const WAITING: u8 = 1;
const DONE: u8 = 2;

/// `channels[i]` is waiter i's channel; one waker sets every waiter DONE, then wakes the
/// union of their channels with one call.
fn one_wake_for_all(channels: &'static [u32]) {
    model(move || {
        let board = Arc::new(WakeBoard::new());
        let states: Arc<Vec<AtomicU8>> =
            Arc::new(channels.iter().map(|_| AtomicU8::new(WAITING)).collect());
        let waiters: Vec<_> = channels
            .iter()
            .enumerate()
            .map(|(i, &bit)| {
                let (board, states) = (board.clone(), states.clone());
                loom::thread::spawn(move || {
                    board.wait_while(bit, || states[i].load(SeqCst) == WAITING);
                    assert_eq!(states[i].load(SeqCst), DONE);
                })
            })
            .collect();
        let mut mask = 0;
        for (i, &bit) in channels.iter().enumerate() {
            states[i].store(DONE, SeqCst);
            mask |= bit;
        }
        board.wake(mask);
        for w in waiters {
            w.join().unwrap();
        }
    });
}

#[test]
fn two_waiters_two_channels_one_wake() {
    one_wake_for_all(&[1, 2]);
    println!("loom models run: two_waiters_two_channels_one_wake");
}

#[test]
fn two_waiters_one_channel_one_wake() {
    one_wake_for_all(&[4, 4]);
    println!("loom models run: two_waiters_one_channel_one_wake");
}

/// The waker wakes one channel, then the other: the first wake must not be what the second
/// waiter relies on, and each waiter returns only once its own condition is set.
#[test]
fn separate_wakes_per_channel() {
    model(|| {
        let board = Arc::new(WakeBoard::new());
        let states = Arc::new([AtomicU8::new(WAITING), AtomicU8::new(WAITING)]);
        let waiters: Vec<_> = [1u32, 2]
            .into_iter()
            .enumerate()
            .map(|(i, bit)| {
                let (board, states) = (board.clone(), states.clone());
                loom::thread::spawn(move || {
                    board.wait_while(bit, || states[i].load(SeqCst) == WAITING);
                    assert_eq!(states[i].load(SeqCst), DONE);
                })
            })
            .collect();
        states[1].store(DONE, SeqCst);
        board.wake(2);
        states[0].store(DONE, SeqCst);
        board.wake(1);
        for t in waiters {
            t.join().unwrap();
        }
    });
    println!("loom models run: separate_wakes_per_channel");
}

/// Explores every interleaving with up to 3 preemptions (the models of the write thread use 2
/// or 3: enough for each waiter to be preempted between its word read, its check and its sleep).
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}
