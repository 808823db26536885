//! placeholder
#[derive(Debug)]
pub struct SimMonitor;
