//! The in-kernel filter of the route socket (classic BPF,
//! `SO_ATTACH_FILTER`): route messages whose destination prefix is longer
//! than the filter's limit cannot change the default route, so the kernel
//! drops them before they are queued. A storm of 100,000 host routes then
//! costs the monitor no wake-up, no read and no buffer space (so it cannot
//! cause an overflow either). Everything else passes.
//!
//! Each route notification is one message in its own socket buffer, so the
//! program reads the first message's header: `nlmsg_type` (native byte
//! order, bytes 4-5) and `rtm_dst_len` (byte 17).

use netstate_core::wire::netlink::{HEADER_LEN, RTM_DELROUTE, RTM_NEWROUTE};

const BPF_LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The byte offsets of `nlmsg_type`'s low and high byte.
const fn type_bytes() -> (u32, u32) {
    if cfg!(target_endian = "little") {
        (4, 5)
    } else {
        (5, 4)
    }
}

/// The program: accept unless the message is `RTM_NEWROUTE`/`RTM_DELROUTE`
/// with a destination prefix longer than `max_prefix_len`.
pub(crate) fn route_filter(max_prefix_len: u8) -> [libc::sock_filter; 9] {
    let (lo, hi) = type_bytes();
    let dst_len = (HEADER_LEN + 1) as u32;
    // Instruction 7 accepts, 8 drops; jump offsets are relative to the next
    // instruction.
    [
        op(BPF_LD_B_ABS, 0, 0, hi),                     // 0: A = type >> 8
        op(BPF_JEQ_K, 0, 5, 0),                         // 1: != 0 -> accept
        op(BPF_LD_B_ABS, 0, 0, lo),                     // 2: A = type & 0xff
        op(BPF_JEQ_K, 1, 0, u32::from(RTM_NEWROUTE)),   // 3: new route -> 5
        op(BPF_JEQ_K, 0, 2, u32::from(RTM_DELROUTE)),   // 4: else not a route -> accept
        op(BPF_LD_B_ABS, 0, 0, dst_len),                // 5: A = rtm_dst_len
        op(BPF_JGT_K, 1, 0, u32::from(max_prefix_len)), // 6: longer -> drop
        op(BPF_RET_K, 0, 0, u32::MAX),                  // 7: accept
        op(BPF_RET_K, 0, 0, 0),                         // 8: drop
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter of the subset of classic BPF the program uses, to
    /// check its logic on fixtures without a kernel.
    fn run(prog: &[libc::sock_filter], packet: &[u8]) -> u32 {
        let mut a = 0u32;
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                BPF_LD_B_ABS => match packet.get(i.k as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                BPF_JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                BPF_JGT_K => pc += usize::from(if a > i.k { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn msg(kind: u16, dst_len: u8) -> Vec<u8> {
        let mut m = vec![0u8; 28];
        m[4..6].copy_from_slice(&kind.to_ne_bytes());
        m[17] = dst_len;
        m
    }

    #[test]
    fn the_filter_drops_only_routes_longer_than_the_limit() {
        let p = route_filter(1);
        assert_eq!(run(&p, &msg(RTM_NEWROUTE, 32)), 0);
        assert_eq!(run(&p, &msg(RTM_DELROUTE, 24)), 0);
        assert_eq!(run(&p, &msg(RTM_NEWROUTE, 0)), u32::MAX);
        assert_eq!(run(&p, &msg(RTM_DELROUTE, 1)), u32::MAX);
        assert_eq!(run(&p, &msg(20, 32)), u32::MAX, "RTM_NEWADDR passes");
        assert_eq!(run(&p, &msg(16, 200)), u32::MAX, "RTM_NEWLINK passes");
        assert_eq!(
            run(&p, &msg(0x1018, 32)),
            u32::MAX,
            "high byte set: not a route"
        );
        assert_eq!(run(&route_filter(2), &msg(RTM_NEWROUTE, 2)), u32::MAX);
    }
}
