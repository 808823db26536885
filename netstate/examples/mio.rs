//! The mio quick-start: the monitor and a TCP listener in one `Poll`. It
//! prints every change (the first is the initial state) and answers each
//! connection with one line about the current state.
//!
//! `cargo run -p netstate --example quickstart-mio [ADDRESS:PORT]`

use std::io::Write;

use mio::{net::TcpListener, Events, Interest, Poll, Token};
use netstate::mio::MonitorSource;

const NET: Token = Token(0);
const TCP: Token = Token(1);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:0".into());
    let (mut poll, mut events) = (Poll::new()?, Events::with_capacity(64));
    let mut net = MonitorSource::new(netstate::Config::default())?;
    let mut tcp = TcpListener::bind(addr.parse()?)?;
    poll.registry()
        .register(&mut net, NET, Interest::READABLE)?;
    poll.registry()
        .register(&mut tcp, TCP, Interest::READABLE)?;
    println!("listening on {}", tcp.local_addr()?);
    loop {
        while let Some(change) = net.next_change() {
            println!("{change}");
        }
        poll.poll(&mut events, net.timeout_from(std::time::Instant::now()))?;
        for event in &events {
            if event.token() == NET {
                net.handle_ready();
            }
        }
        // Edge-triggered: accept until the listener would block.
        while let Ok((mut peer, _)) = tcp.accept() {
            let s = net.state();
            let _ = writeln!(peer, "have_v4={} have_v6={}", s.have_v4(), s.have_v6());
        }
        net.handle_timeout();
    }
}
