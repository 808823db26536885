//! The tokio quick-start: prints the network state, checks it once, then
//! prints every change until interrupted.
//!
//! `cargo run -p netstate --example quickstart-tokio`

use netstate::{CheckOutcome, Config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monitor = netstate::tokio::Monitor::new(Config::default()).await?;
    // The state and a subscriber to every change after it, in one call.
    let (state, mut changes) = monitor.subscribe();
    println!("have_v4={} have_v6={}", state.have_v4(), state.have_v6());
    match monitor.check_now().await? {
        CheckOutcome::Changed(change) => println!("{change}"),
        _ => println!("checked: unchanged"),
    }
    while let Some(change) = changes.recv().await {
        println!("{change}");
    }
    Ok(())
}
