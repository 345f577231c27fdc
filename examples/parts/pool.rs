//! A fixed pool of worker threads, and the accept loop that feeds it. Step
//! 06 builds this module (it is the design of the Rust Book's web server);
//! steps 07 to 10 serve their connections with it.
//!
//! A job is a closure. `execute` sends it down a channel; every worker
//! holds the receiving end, behind a `Mutex` because only one thread may
//! receive at a time, takes the next job, runs it, and comes back for
//! another. However many connections arrive, there are never more than
//! `size` threads: the rest wait in the channel.

// A step includes this module and uses the parts it needs.
#![allow(dead_code)]

use std::io;
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// The receiving end of the job channel, shared by the workers.
pub type Jobs = Mutex<Receiver<Job>>;

pub struct ThreadPool {
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `size` workers.
    pub fn new(size: usize) -> ThreadPool {
        ThreadPool::with_worker_loop(size, work)
    }

    /// Starts `size` workers that each run `worker_loop`. `new` passes
    /// `work`; the tests pass the trap that step 06 warns about.
    pub fn with_worker_loop(size: usize, worker_loop: fn(&Jobs)) -> ThreadPool {
        let (sender, receiver) = mpsc::channel();
        let jobs = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|_| {
                let jobs = Arc::clone(&jobs);
                thread::spawn(move || worker_loop(&jobs))
            })
            .collect();
        let sender = Some(sender);
        ThreadPool { sender, workers }
    }

    /// Queues `job` for the next free worker.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        if let Some(sender) = &self.sender {
            // Fails only once every worker is gone, and then there is no one
            // left to run the job anyway.
            let _ = sender.send(Box::new(job));
        }
    }
}

/// What each worker does until the pool is dropped.
fn work(jobs: &Jobs) {
    loop {
        // `lock()` returns a guard that holds the lock until it is dropped.
        // Here it is a temporary of this `let` statement, so it is dropped
        // at the `;`: the lock is held while waiting for a job, not while
        // running it, and the other workers can take the next jobs.
        let next = jobs.lock().unwrap().recv();
        match next {
            // A job that panics must not take its worker with it.
            Ok(job) => drop(catch_unwind(AssertUnwindSafe(job))),
            // The channel is closed: the pool was dropped.
            Err(_) => return,
        }
    }
}

impl Drop for ThreadPool {
    /// Closes the channel, then waits for each worker to finish the jobs
    /// already queued and return.
    fn drop(&mut self) {
        drop(self.sender.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// Hands each connection `incoming` yields to a worker, which runs
/// `answer` on it. When `incoming` ends, the pool is dropped, which waits
/// for the connections in progress.
pub fn serve<F>(
    incoming: impl Iterator<Item = io::Result<TcpStream>>,
    pool: ThreadPool,
    answer: F,
) -> io::Result<()>
where
    F: Fn(TcpStream) -> io::Result<()> + Send + Sync + 'static,
{
    let answer = Arc::new(answer);
    for stream in incoming {
        match stream {
            Ok(stream) => {
                let answer = Arc::clone(&answer);
                pool.execute(move || {
                    if let Err(error) = answer(stream) {
                        eprintln!("connection failed: {error}");
                    }
                });
            }
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
    Ok(())
}
