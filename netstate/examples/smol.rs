//! The smol quick-start (any `async-io` executor): prints the network
//! state, then every change until interrupted, reading the subscriber as
//! a `Stream`.
//!
//! `cargo run -p netstate --example quickstart-smol`

use futures_lite::StreamExt;
use netstate::Config;

fn main() -> Result<(), netstate::Error> {
    let ex = async_executor::Executor::new();
    futures_lite::future::block_on(ex.run(async {
        let spawn = |task| ex.spawn(task).detach();
        let monitor = netstate::smol::Monitor::new(Config::default(), spawn).await?;
        let (state, mut changes) = monitor.subscribe();
        println!("have_v4={} have_v6={}", state.have_v4(), state.have_v6());
        while let Some(change) = changes.next().await {
            println!("{change}");
        }
        Ok(())
    }))
}
