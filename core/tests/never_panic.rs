//! Never-panic properties, in the normal `cargo test`: arbitrary and mutated
//! bytes into both parsers and the dump collector, and arbitrary
//! `getifaddrs` entry lists into its reader in every layout. (Arbitrary
//! input sequences into the Reconciler: `testkit/tests/reconciler_model.rs`.)
//!
//! The checks are the fuzz targets' own: `fuzz/src/checks.rs` is compiled in
//! here unchanged, so a rule the fuzzers enforce is enforced on every test
//! run too.
//!
//! Each property runs `PROPTEST_CASES` cases (default: [`DEFAULT_CASES`],
//! enough for a few seconds in a debug build).

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netstate_core::ipnet::IpNet;
use netstate_core::wire::ifaddrs::{Entry, Layout, LinkLayer};

use netstate_core::wire::netlink::dump::Stage;
use netstate_core::wire::netlink::fixtures::{
    addr_body, addr_msg, control_msg, link_body, link_msg, message, multi, route_body, route_msg,
    rule_msg,
};
use netstate_core::wire::netlink::{
    AF_INET, AF_INET6, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, RTM_DELADDR, RTM_DELLINK,
    RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, RTM_NEWRULE,
};
use proptest::collection::vec;
use proptest::prelude::*;

use checks::{
    check_dump_chunks, check_ifaddrs, check_ifaddrs_entries, check_netlink_events,
    check_route_socket, DumpChunk, NameLookups, IFADDRS_LAYOUTS, IFADDRS_NAMES,
};

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 256;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Byte inputs: arbitrary, and well-formed ones with a few bytes changed.

/// Well-formed netlink monitor datagrams from the fixture builders.
fn netlink_seeds() -> Vec<Vec<u8>> {
    let link = link_msg(
        RTM_NEWLINK,
        2,
        0x1043,
        Some("eth0"),
        Some(1500),
        Some(&[2, 0, 0, 0, 0, 1]),
    );
    let addr = addr_msg(RTM_NEWADDR, AF_INET, 24, 0x80, 2, &[10, 0, 0, 2], None);
    let addr6 = addr_msg(RTM_DELADDR, AF_INET6, 64, 0, 2, &[0xfe, 0x80], Some(0x40));
    let route = route_msg(
        RTM_NEWROUTE,
        AF_INET,
        0,
        254,
        Some(2),
        Some(&[10, 0, 0, 1]),
        Some(254),
    );
    vec![
        [link.clone(), addr.clone(), route.clone()].concat(),
        [
            link_msg(RTM_DELLINK, 7, 0, Some("veth0a"), None, None),
            addr6,
            rule_msg(RTM_NEWRULE, AF_INET6),
        ]
        .concat(),
        [
            control_msg(NLMSG_DONE, &[0; 4]),
            control_msg(NLMSG_OVERRUN, &[]),
            control_msg(NLMSG_ERROR, &[0xf3, 0xff, 0xff, 0xff]),
            route,
        ]
        .concat(),
    ]
}

/// Well-formed enumeration replies: (stage, seq, datagram).
fn dump_seeds() -> Vec<(Stage, u32, Vec<u8>)> {
    let done = |seq| multi(NLMSG_DONE, seq, &0i32.to_ne_bytes());
    let links = [
        multi(
            RTM_NEWLINK,
            1,
            &link_body(1, 0x49, Some("lo"), Some(65536), Some(&[0; 6])),
        ),
        multi(
            RTM_NEWLINK,
            1,
            &link_body(
                3,
                0x1043,
                Some("veth0"),
                Some(1500),
                Some(&[2, 0, 0, 0, 0, 3]),
            ),
        ),
        done(1),
    ]
    .concat();
    let addrs = [
        multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET, 24, 0x80, 3, &[10, 9, 0, 2], None),
        ),
        multi(
            RTM_NEWADDR,
            2,
            &addr_body(AF_INET6, 64, 0, 3, &[0x20, 1, 0xd, 0xb8], Some(0x80)),
        ),
        done(2),
    ]
    .concat();
    let mut lookup = route_body(AF_INET, 32, 254, Some(3), Some(&[10, 9, 0, 1]), Some(254));
    lookup[6] = 0;
    let mut unreachable = [(-101i32).to_ne_bytes().to_vec(), vec![0; 16]].concat();
    unreachable.truncate(20);
    vec![
        (Stage::Links, 1, links),
        (Stage::Addrs, 2, addrs),
        (Stage::RouteV4, 3, message(RTM_NEWROUTE, 0, 3, &lookup)),
        (Stage::RouteV6, 4, message(NLMSG_ERROR, 0, 4, &unreachable)),
    ]
}

/// Well-formed routing-socket messages for both platforms (a default route,
/// an interface change, an address with a link-layer name).
fn route_socket_seeds() -> Vec<Vec<u8>> {
    /// A header of `header` bytes, then the socket addresses present
    /// (`Some`, possibly zero-length), padded to `align`.
    fn msg(
        header: usize,
        msg_type: u8,
        addrs_at: usize,
        sas: &[Option<Vec<u8>>],
        align: usize,
    ) -> Vec<u8> {
        let mut m = vec![0u8; header];
        m[2] = 5;
        m[3] = msg_type;
        let mut bits = 0u32;
        for (i, sa) in sas.iter().enumerate() {
            let Some(sa) = sa else { continue };
            bits |= 1 << i;
            let start = m.len();
            m.extend(sa);
            let padded = if sa.is_empty() {
                align
            } else {
                sa.len().div_ceil(align) * align
            };
            m.resize(start + padded, 0);
        }
        m[addrs_at..addrs_at + 4].copy_from_slice(&bits.to_le_bytes());
        let len = m.len() as u16;
        m[..2].copy_from_slice(&len.to_le_bytes());
        m
    }
    let sin = |a: [u8; 4]| {
        let mut sa = vec![0; 16];
        sa[0] = 16;
        sa[1] = 2;
        sa[4..8].copy_from_slice(&a);
        sa
    };
    let dl = {
        let mut sa = vec![0u8; 20];
        sa[0] = 20;
        sa[1] = 18;
        sa[5] = 3;
        sa[8..11].copy_from_slice(b"en0");
        sa
    };
    let mut out = Vec::new();
    for (rt, ifm, align) in [(92, 112, 4), (152, 168, 8)] {
        let default = msg(
            rt,
            0x1,
            12,
            &[
                Some(sin([0; 4])),
                Some(sin([192, 168, 1, 1])),
                Some(Vec::new()),
            ],
            align,
        );
        let ifinfo = msg(
            ifm,
            0xe,
            4,
            &[None, None, None, None, Some(dl.clone())],
            align,
        );
        let newaddr = msg(
            20,
            0xc,
            4,
            &[
                None,
                None,
                None,
                None,
                Some(dl.clone()),
                Some(sin([10, 0, 0, 2])),
            ],
            align,
        );
        out.push([default, ifinfo, newaddr].concat());
    }
    out
}

/// One of `seeds`, with up to eight bytes overwritten and maybe truncated.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        0..seeds.len(),
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(move |(which, edits, cut, truncate)| {
            let mut d = seeds[which].clone();
            for (at, b) in edits {
                let i = at.index(d.len());
                d[i] = b;
            }
            if truncate {
                d.truncate(cut.index(d.len() + 1));
            }
            d
        })
}

fn stage() -> impl Strategy<Value = Stage> {
    prop::sample::select(vec![
        Stage::Links,
        Stage::Addrs,
        Stage::RouteV4,
        Stage::RouteV6,
    ])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn netlink_events_never_panic_on_arbitrary_bytes(d in vec(any::<u8>(), 0..1024)) {
        check_netlink_events(&d);
    }

    #[test]
    fn netlink_events_never_panic_on_mutated_datagrams(d in mutated(netlink_seeds())) {
        check_netlink_events(&d);
    }

    #[test]
    fn route_socket_never_panics_on_arbitrary_bytes(
        d in vec(any::<u8>(), 0..1024),
        limit in 0u8..130,
    ) {
        check_route_socket(&d, limit);
    }

    #[test]
    fn route_socket_never_panics_on_mutated_messages(
        d in mutated(route_socket_seeds()),
        limit in 0u8..3,
    ) {
        check_route_socket(&d, limit);
    }

    #[test]
    fn dump_collector_never_panics_on_arbitrary_datagrams(
        chunks in vec((stage(), 0u32..5, vec(any::<u8>(), 0..256)), 0..6),
    ) {
        check_dump_chunks(chunks.iter().map(|(stage, seq, d)| DumpChunk {
            stage: *stage,
            seq: *seq,
            datagram: d,
        }));
    }

    #[test]
    fn dump_collector_never_panics_on_mutated_replies(
        edits in vec((0usize..4, any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cuts in vec(any::<Option<prop::sample::Index>>(), 4),
        order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
    ) {
        let mut replies = dump_seeds();
        for (which, at, b) in edits {
            let d = &mut replies[which].2;
            let i = at.index(d.len());
            d[i] = b;
        }
        for (r, cut) in replies.iter_mut().zip(cuts) {
            if let Some(cut) = cut {
                r.2.truncate(cut.index(r.2.len() + 1));
            }
        }
        check_dump_chunks(order.iter().map(|&i| DumpChunk {
            stage: replies[i].0,
            seq: replies[i].1,
            datagram: &replies[i].2,
        }));
    }
}

// ---------------------------------------------------------------------------
// getifaddrs entries: arbitrary, and well-formed ones checked against a
// model.

/// A socket address as a layout stores it: the family field (`sa_len` and a
/// byte, or a native-endian `u16`), then `body` from offset 2.
fn sockaddr(layout: &Layout, family: u16, body: &[u8]) -> Vec<u8> {
    let mut sa = if layout.sa_len {
        vec![(2 + body.len()) as u8, family as u8]
    } else {
        family.to_ne_bytes().to_vec()
    };
    sa.extend(body);
    sa
}

/// What an entry's address is made of, before a layout lays it out.
#[derive(Clone, Debug)]
enum SockaddrSpec {
    /// A null pointer.
    Null,
    /// Bytes, whatever they are.
    Raw(Vec<u8>),
    /// `AF_INET` (0), the layout's `AF_INET6` (1), its link-layer family (2)
    /// or another one (3), then `body`, cut to `cut` bytes if shorter.
    Family {
        which: u8,
        body: Vec<u8>,
        cut: usize,
    },
}

impl SockaddrSpec {
    fn bytes(&self, layout: &Layout) -> Option<Vec<u8>> {
        match self {
            SockaddrSpec::Null => None,
            SockaddrSpec::Raw(b) => Some(b.clone()),
            SockaddrSpec::Family { which, body, cut } => {
                let family = match which {
                    0 => 2,
                    1 => layout.af_inet6,
                    2 if layout.link == Some(LinkLayer::Packet) => 17,
                    2 => 18,
                    _ => 99,
                };
                let mut sa = sockaddr(layout, family, body);
                sa.truncate(*cut);
                Some(sa)
            }
        }
    }
}

fn sockaddr_spec() -> impl Strategy<Value = SockaddrSpec> {
    prop_oneof![
        1 => Just(SockaddrSpec::Null),
        1 => vec(any::<u8>(), 0..40).prop_map(SockaddrSpec::Raw),
        4 => (0u8..4, vec(any::<u8>(), 0..60), 0usize..64)
            .prop_map(|(which, body, cut)| SockaddrSpec::Family { which, body, cut }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ifaddrs_never_panics_on_arbitrary_bytes(d in vec(any::<u8>(), 0..512)) {
        check_ifaddrs(&d);
    }

    #[test]
    fn ifaddrs_never_panics_on_random_entry_lists(
        layout in 0usize..IFADDRS_LAYOUTS.len(),
        failures in any::<bool>(),
        specs in vec(
            (0..IFADDRS_NAMES.len(), any::<u32>(), sockaddr_spec(), sockaddr_spec()),
            0..12,
        ),
    ) {
        let layout = IFADDRS_LAYOUTS[layout];
        let entries: Vec<Entry> = specs
            .iter()
            .map(|(name, flags, addr, mask)| Entry {
                name: IFADDRS_NAMES[*name].to_vec(),
                flags: *flags,
                addr: addr.bytes(&layout),
                netmask: mask.bytes(&layout),
            })
            .collect();
        check_ifaddrs_entries(&layout, NameLookups { failures }, &entries);
    }
}

/// A well-formed list: interfaces with link-layer entries, addresses on
/// them (IPv4 ones maybe under a label, on Linux).
#[derive(Clone, Debug)]
struct ListSpec {
    /// Which of the named layouts.
    layout: usize,
    /// Per interface: its name's index in `PLAIN_NAMES`, its hardware
    /// address, its flags.
    links: Vec<(usize, Vec<u8>, u32)>,
    /// Per address: which link, v4 or v6 bytes, prefix, label or not.
    addrs: Vec<(prop::sample::Index, IpAddr, u8, bool)>,
}

/// Names without a ':' (every interface of the model has one of these).
const PLAIN_NAMES: [&str; 6] = ["lo", "eth0", "en0", "tun0", "wlan0", "veth1"];

fn list_spec() -> impl Strategy<Value = ListSpec> {
    let ip = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<[u8; 16]>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        // Link-local, whose bytes 2 and 3 a BSD kernel may fill in.
        any::<[u8; 16]>().prop_map(|mut a| {
            a[0] = 0xfe;
            a[1] = 0x80 | (a[1] & 0x3f);
            IpAddr::V6(Ipv6Addr::from(a))
        }),
    ];
    (
        0usize..3,
        prop::sample::subsequence(
            (0..PLAIN_NAMES.len()).collect::<Vec<_>>(),
            1..=PLAIN_NAMES.len(),
        )
        .prop_shuffle(),
        vec((vec(any::<u8>(), 0..8), any::<u32>()), PLAIN_NAMES.len()),
        vec(
            (any::<prop::sample::Index>(), ip, any::<u8>(), any::<bool>()),
            0..16,
        ),
    )
        .prop_map(|(layout, names, hw, addrs)| ListSpec {
            layout,
            links: names
                .into_iter()
                .zip(hw)
                .map(|(n, (hw, flags))| (n, hw, flags))
                .collect(),
            addrs,
        })
}

/// The link-layer entry of interface `index` as `layout` stores it.
fn link_entry(layout: &Layout, name: &str, index: u32, hw: &[u8], flags: u32) -> Entry {
    let addr = match layout.link {
        // sockaddr_ll: protocol, ifindex, hatype, pkttype, halen, addr[8].
        // (A link without any address, whose index is looked up, is in
        // the unit tests.)
        Some(LinkLayer::Packet) => {
            let mut body = vec![0u8; 18];
            body[2..6].copy_from_slice(&(index as i32).to_ne_bytes());
            body[9] = hw.len() as u8;
            body[10..10 + hw.len()].copy_from_slice(hw);
            Some(sockaddr(layout, 17, &body))
        }
        // sockaddr_dl: index, type, nlen, alen, slen, name, address.
        _ => {
            let mut body = (index as u16).to_ne_bytes().to_vec();
            body.extend([6, name.len() as u8, hw.len() as u8, 0]);
            body.extend(name.as_bytes());
            body.extend(hw);
            Some(sockaddr(layout, 18, &body))
        }
    };
    Entry {
        name: name.as_bytes().to_vec(),
        flags,
        addr,
        netmask: None,
    }
}

/// An address entry: `sockaddr_in` / `sockaddr_in6` and a netmask of
/// `prefix` (trimmed to its last non-zero byte where sa_len says how long
/// it is); an IPv6 host address (`/128`) without a netmask.
fn addr_entry(layout: &Layout, name: &str, ip: IpAddr, prefix: u8, flags: u32) -> Entry {
    let (family, lead, octets, bits) = match ip {
        IpAddr::V4(a) => (2, 2, a.octets().to_vec(), 32u8),
        IpAddr::V6(a) => (layout.af_inet6, 6, a.octets().to_vec(), 128u8),
    };
    let prefix = prefix % (bits + 1);
    // Port (and flow information) zero, the address, and room after it.
    let body = |bytes: &[u8]| [&vec![0u8; lead][..], bytes, &[0u8; 8][..]].concat();
    let mut addr = sockaddr(layout, family, &body(&octets));
    let mut mask_bytes = vec![0u8; octets.len()];
    for bit in 0..usize::from(prefix) {
        mask_bytes[bit / 8] |= 0x80 >> (bit % 8);
    }
    let mut mask = sockaddr(layout, 0, &body(&mask_bytes));
    if layout.sa_len {
        let used = 2
            + lead
            + mask_bytes
                .iter()
                .rposition(|b| *b != 0)
                .map_or(0, |i| i + 1);
        mask.truncate(used);
        mask[0] = used as u8;
        addr[0] = addr.len() as u8;
    }
    Entry {
        name: name.as_bytes().to_vec(),
        flags,
        addr: Some(addr),
        netmask: (prefix != bits || ip.is_ipv4()).then_some(mask),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Each interface of a well-formed list is in the snapshot with its
    /// index, hardware address and MTU, and holds exactly the addresses
    /// listed under its name or (Linux) a label of it, with their prefix;
    /// a link-local address has its embedded scope cleared where the layout
    /// says so.
    #[test]
    fn ifaddrs_places_every_address_of_a_listed_interface(spec in list_spec()) {
        let layout = IFADDRS_LAYOUTS[spec.layout];
        let mut entries = Vec::new();
        let mut model: BTreeMap<u32, ModelInterface> = BTreeMap::new();
        for (i, (name, hw, flags)) in spec.links.iter().enumerate() {
            let name = PLAIN_NAMES[*name];
            let index = 1 + i as u32 * 3;
            entries.push(link_entry(&layout, name, index, hw, *flags));
            let mac = (!hw.is_empty()).then(|| hw.clone());
            model.insert(index, (name.to_owned(), mac, Vec::new()));
        }
        let indexes: Vec<u32> = model.keys().copied().collect();
        for (which, ip, prefix, label) in &spec.addrs {
            let index = indexes[which.index(indexes.len())];
            let name = model[&index].0.clone();
            let listed_as = if *label && layout.ipv4_labels && ip.is_ipv4() {
                format!("{name}:{}", prefix % 10)
            } else {
                name.clone()
            };
            entries.push(addr_entry(&layout, &listed_as, *ip, *prefix, flags_of(&spec, index)));
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            let mut ip = *ip;
            if let (IpAddr::V6(a), true) = (ip, layout.embedded_scope) {
                let mut o = a.octets();
                if o[0] == 0xfe && o[1] & 0xc0 == 0x80 {
                    o[2] = 0;
                    o[3] = 0;
                }
                ip = IpAddr::V6(Ipv6Addr::from(o));
            }
            let net = IpNet::new(ip, prefix % (bits + 1)).unwrap();
            model.get_mut(&index).unwrap().2.push(net);
        }
        let lookups = NameLookups { failures: false };
        let s = check_ifaddrs_entries(&layout, lookups, &entries).expect("a snapshot");
        prop_assert_eq!(s.interfaces().len(), model.len());
        for (index, (name, mac, mut nets)) in model {
            let i = s.by_index(index).expect("every listed interface");
            prop_assert_eq!(&i.name, &name);
            prop_assert_eq!(i.mac.as_ref().map(|m| m.as_bytes().to_vec()), mac);
            prop_assert_eq!(Some(i.mtu), lookups.mtu_of(name.as_bytes()));
            nets.sort_unstable();
            nets.dedup();
            let mut got: Vec<IpNet> = i.addrs.iter().map(|a| a.net).collect();
            got.sort_unstable();
            prop_assert_eq!(got, nets);
        }
    }
}

/// The model's interface: name, hardware address, addresses.
type ModelInterface = (String, Option<Vec<u8>>, Vec<IpNet>);

/// The flags the model's interface `index` was listed with.
fn flags_of(spec: &ListSpec, index: u32) -> u32 {
    spec.links[((index - 1) / 3) as usize].2
}
