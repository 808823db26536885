//! The BSD/macOS routing-socket parser, both platforms, on arbitrary bytes:
//! never panics, always ends, and its counts add up. The first byte sets
//! the route-prefix limit; the rest is the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&limit, buf)) = data.split_first() else {
        return;
    };
    netstate_fuzz::check_route_socket(buf, limit % 130);
});
