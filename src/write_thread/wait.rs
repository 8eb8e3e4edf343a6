//! Setting a writer's state and waiting for one: spin, adaptive yield, then block.

#[cfg(not(loom))]
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
#[cfg(not(loom))]
use std::time::{Duration, Instant};

use super::state::*;
use super::{Site, WriteThread, Writer};
use crate::sync::spin_loop;
#[cfg(not(loom))]
use crate::sync::yield_now;

/// Iterations of the pause spin (about a microsecond in all).
const SPIN_ITERATIONS: usize = 200;

impl WriteThread {
    /// Sets `w`'s state, waking it if it blocked.
    pub(super) fn set_state(&self, w: &Writer<'_>, new_state: u8) {
        let current = w.state.load(Acquire);
        if current == LOCKED_WAITING
            || w.state
                .compare_exchange(current, new_state, AcqRel, Acquire)
                .is_err()
        {
            // The only state anyone else sets is LOCKED_WAITING: the writer is blocking (or
            // about to) on its condvar. Store under its mutex so the wake-up cannot be lost.
            let guard = w.state_mu.lock();
            w.state.store(new_state, Release);
            w.state_cv.notify_one();
            drop(guard);
        }
    }

    /// Blocks until `w`'s state is in `goal`, after announcing LOCKED_WAITING.
    fn blocking_await_state(&self, w: &Writer<'_>, goal: u8) -> u8 {
        let mut state = w.state.load(Acquire);
        if state & goal == 0 {
            match w
                .state
                .compare_exchange(state, LOCKED_WAITING, AcqRel, Acquire)
            {
                Ok(_) => {
                    let mut guard = w.state_mu.lock();
                    loop {
                        state = w.state.load(Acquire);
                        if state != LOCKED_WAITING {
                            break;
                        }
                        guard = w.state_cv.wait(guard);
                    }
                    drop(guard);
                }
                // The waker got there first and set the goal state.
                Err(actual) => state = actual,
            }
        }
        debug_assert!(state & goal != 0);
        state
    }

    /// Waits until `w`'s state is in `goal`: spin, then adaptive yield, then block.
    ///
    /// A sync writer waiting to join blocks at once: its wait lasts at least one `fdatasync`
    /// (hundreds of microseconds), so spinning or yielding only takes the CPU from the leader
    /// and from the writers about to rejoin.
    pub fn await_state(&self, w: &Writer<'_>, goal: u8, site: Site) -> u8 {
        // A sync writer joining blocks at once (see above); other waiters spin or yield only
        // while a spinning slot is free.
        if !(w.sync && matches!(site, Site::JoinBatchGroup)) && self.start_spinning() {
            let reached = self.spin_and_yield(w, goal, site);
            self.stop_spinning();
            if let Some(state) = reached {
                return state;
            }
        }
        // Checks the state before it blocks, so a goal reached meanwhile returns at once.
        self.blocking_await_state(w, goal)
    }

    /// Yields until `w`'s state is in `goal` or `limit` passes; true if it got there.
    ///
    /// For the members of a sync group waiting for the group's parallel inserts to end: they
    /// were all just woken from an `fdatasync`, nobody else is queued to run meanwhile (sync
    /// joiners block), and the inserts take microseconds. Blocking would cost each member a
    /// second futex wake-up from the writer that ends the group: at 8 sync threads on 2 cores,
    /// yielding instead measured 22.4 K → 26.6 K sync writes/s and 44.8 K → 56.6 K at 32
    /// (medians of 3 A/B runs). Groups without sync do not yield here: their members' CPU is
    /// what the next writers need (yielding halved 4- and 16-thread throughput without sync).
    #[cfg(not(loom))]
    pub(super) fn yield_until(&self, w: &Writer<'_>, goal: u8, limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            if w.state.load(Acquire) & goal != 0 {
                return true;
            }
            if start.elapsed() >= limit {
                return false;
            }
            yield_now();
        }
    }

    /// Takes a spinning slot if one is free. Only as many waiters spin or yield as there are
    /// other cores: with more, the waiters keep every core busy, and a leader preempted among
    /// them holds up the whole queue for a scheduler time slice. The rest block at once.
    fn start_spinning(&self) -> bool {
        #[cfg(not(loom))]
        if self.spinners.fetch_add(1, Relaxed) >= self.max_spinners {
            self.spinners.fetch_sub(1, Relaxed);
            return false;
        }
        true
    }

    /// Gives back the slot taken by `start_spinning`.
    fn stop_spinning(&self) {
        #[cfg(not(loom))]
        self.spinners.fetch_sub(1, Relaxed);
    }

    /// The spin and adaptive-yield phases of `await_state`: the state if it reached `goal`.
    fn spin_and_yield(&self, w: &Writer<'_>, goal: u8, site: Site) -> Option<u8> {
        for _ in 0..SPIN_ITERATIONS {
            let state = w.state.load(Acquire);
            if state & goal != 0 {
                return Some(state);
            }
            spin_loop();
            #[cfg(loom)]
            break;
        }
        #[cfg(not(loom))]
        return self.yield_phase(w, goal, site);
        #[cfg(loom)]
        {
            let _ = site;
            None
        }
    }

    /// The adaptive yield phase: returns the state if it reached the goal.
    #[cfg(not(loom))]
    fn yield_phase(&self, w: &Writer<'_>, goal: u8, site: Site) -> Option<u8> {
        if self.max_yield_usec == 0 {
            return None;
        }
        let credit = &self.credits[site as usize];
        // Yield when it has paid off lately, and 1 in 256 times anyway to re-measure (a
        // per-thread count: a shared one would be a contended cache line among waiters).
        thread_local!(static WAITS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
        let sampling = WAITS.with(|c| {
            let n = c.get().wrapping_add(1);
            c.set(n);
            n % 256 == 0
        });
        if credit.load(Relaxed) < 0 && !sampling {
            return None;
        }
        let max_yield = Duration::from_micros(self.max_yield_usec);
        let slow_yield = Duration::from_micros(self.slow_yield_usec);
        let begin = Instant::now();
        let mut iter_begin = begin;
        let mut slow_yields = 0;
        let mut update = sampling;
        let mut reached = None;
        while iter_begin - begin <= max_yield {
            yield_now();
            let state = w.state.load(Acquire);
            if state & goal != 0 {
                reached = Some(state);
                break;
            }
            let now = Instant::now();
            if now == iter_begin || now - iter_begin >= slow_yield {
                // Slow yields mean other threads want this core: stop burning it.
                slow_yields += 1;
                if slow_yields >= 3 {
                    update = true;
                    break;
                }
            }
            iter_begin = now;
        }
        if update {
            let v = credit.load(Relaxed);
            let delta: i32 = if reached.is_some() { 131_072 } else { -131_072 };
            credit.store(v - v / 1024 + delta, Relaxed);
        }
        reached
    }
}
