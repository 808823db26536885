//! The routing-socket parser against byte fixtures laid out from the
//! Darwin and FreeBSD headers (`netstate_core::wire::route_socket::fixtures`,
//! which documents the layouts).

use netstate_core::wire::route_socket::fixtures::*;
use netstate_core::wire::route_socket::{
    darwin_internal_interfaces, Message, MessageError, Noise, ParseStats, Parser, Platform,
    DARWIN_INTERNAL_PREFIXES, DARWIN_TUNNEL_PREFIXES,
};
use netstate_core::{Family, RouteEvent, RouteEventKind};

fn parser(d: &Dialect) -> Parser {
    Parser::new(d.platform)
}

/// The only item of a one-message buffer.
fn one(p: Parser, buf: &[u8]) -> Result<Message, MessageError> {
    let items: Vec<_> = p.messages(buf).collect();
    assert_eq!(items.len(), 1, "{items:?}");
    items[0]
}

fn event(p: Parser, buf: &[u8]) -> RouteEvent {
    match one(p, buf) {
        Ok(Message::Event(e)) => e,
        other => panic!("expected a hint, got {other:?}"),
    }
}

fn noise(p: Parser, buf: &[u8]) -> Noise {
    match one(p, buf) {
        Ok(Message::Noise(n)) => n,
        other => panic!("expected noise, got {other:?}"),
    }
}

fn parse_all(p: Parser, buf: &[u8]) -> (Vec<RouteEvent>, ParseStats) {
    let mut events = Vec::new();
    let stats = p.parse(buf, |e| events.push(e));
    assert_eq!(stats.events, events.len() as u64);
    assert_eq!(stats.messages, stats.events + stats.noise, "{stats:?}");
    (events, stats)
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------------------
// Route messages.

#[test]
fn the_fixed_headers_have_the_documented_sizes() {
    // A guard on this file's own builders.
    assert_eq!(Msg::rt(&DARWIN, RTM_ADD, 0, 0).build().len(), 92);
    assert_eq!(Msg::rt(&FREEBSD, RTM_ADD, 0, 0).build().len(), 152);
    assert_eq!(
        Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 1, "x", 0).build().len(),
        24
    );
    assert_eq!(dl(&DARWIN, 1, "en0").len(), 20);
    assert_eq!(dl(&FREEBSD, 1, "em0").len(), 54);
    assert_eq!(mask4(24), vec![7, 0, 0, 0, 255, 255, 255]);
    assert!(mask4(0).is_empty());
}

#[test]
fn a_v4_default_route_is_a_hint_on_both_platforms() {
    for d in BOTH {
        for (msg_type, kind) in [
            (RTM_ADD, RouteEventKind::RouteNew),
            (RTM_CHANGE, RouteEventKind::RouteNew),
            (RTM_DELETE, RouteEventKind::RouteDel),
        ] {
            let e = event(parser(d), &default_route_v4(d, msg_type));
            assert_eq!(e.kind, kind);
            assert_eq!(e.family, Some(Family::V4));
            assert_eq!(e.dst_prefix_len, Some(0));
            assert_eq!(e.index, Some(4));
            assert_eq!(e.table, None, "routing sockets carry no table");
        }
        // A full-length all-zero netmask (family AF_INET) is /0 too.
        let mut zero_mask = sin(ANY4);
        zero_mask[1] = AF_INET;
        zero_mask[4..8].fill(0);
        let msg = Msg::rt(d, RTM_ADD, 4, RTF_UP | RTF_GATEWAY | RTF_DONE)
            .sa(RTA_DST, sin(ANY4))
            .sa(RTA_GATEWAY, sin(GW4))
            .sa(RTA_NETMASK, zero_mask)
            .build();
        assert_eq!(event(parser(d), &msg).dst_prefix_len, Some(0));
    }
}

#[test]
fn a_v6_default_route_is_a_hint_on_both_platforms() {
    for d in BOTH {
        let msg = Msg::rt(d, RTM_DELETE, 6, RTF_UP | RTF_GATEWAY | RTF_DONE)
            .sa(RTA_DST, sin6(d, ANY6))
            .sa(RTA_GATEWAY, sin6(d, LL6))
            .sa(RTA_NETMASK, mask6(0))
            .build();
        let e = event(parser(d), &msg);
        assert_eq!(e.kind, RouteEventKind::RouteDel);
        assert_eq!(e.family, Some(Family::V6));
        assert_eq!(e.dst_prefix_len, Some(0));
        assert_eq!(e.index, Some(6));
    }
}

#[test]
fn another_platforms_af_inet6_is_not_taken_for_ipv6() {
    // FreeBSD's AF_INET6 (28) read as Darwin: not an IP family, so no prefix
    // can be known and the message stays a hint.
    let msg = Msg::rt(&DARWIN, RTM_ADD, 6, RTF_UP | RTF_DONE)
        .sa(RTA_DST, sin6(&FREEBSD, ANY6))
        .sa(RTA_NETMASK, mask6(64))
        .build();
    let e = event(parser(&DARWIN), &msg);
    assert_eq!((e.family, e.dst_prefix_len), (None, None));
}

#[test]
fn openvpn_halves_of_the_address_space_are_hints() {
    for d in BOTH {
        let buf = concat(&[route_v4(d, [0, 0, 0, 0], 1), route_v4(d, [128, 0, 0, 0], 1)]);
        let (events, stats) = parse_all(parser(d), &buf);
        assert_eq!(stats.messages, 2);
        assert_eq!(events.len(), 2);
        for e in events {
            assert_eq!(e.dst_prefix_len, Some(1));
            assert_eq!(e.family, Some(Family::V4));
        }
        // IPv6 ::/1 and 8000::/1 likewise.
        let mut upper = ANY6;
        upper[0] = 0x80;
        let msg = Msg::rt(d, RTM_ADD, 9, RTF_UP | RTF_DONE)
            .sa(RTA_DST, sin6(d, upper))
            .sa(RTA_NETMASK, mask6(1))
            .build();
        assert_eq!(event(parser(d), &msg).dst_prefix_len, Some(1));
    }
}

#[test]
fn routes_longer_than_the_limit_are_noise() {
    for d in BOTH {
        assert_eq!(
            noise(parser(d), &route_v4(d, [10, 1, 2, 0], 24)),
            Noise::NotDefaultRoute { prefix_len: 24 }
        );
        let quarter = route_v4(d, [64, 0, 0, 0], 2);
        assert_eq!(
            noise(parser(d), &quarter),
            Noise::NotDefaultRoute { prefix_len: 2 }
        );
        // A VPN that overrides with /2 routes: raise the limit.
        let wide = parser(d).max_route_prefix_len(2);
        assert_eq!(wide.route_prefix_limit(), 2);
        assert_eq!(event(wide, &quarter).dst_prefix_len, Some(2));
        let v6 = Msg::rt(d, RTM_ADD, 3, RTF_UP | RTF_DONE)
            .sa(RTA_DST, sin6(d, LL6))
            .sa(RTA_NETMASK, mask6(64))
            .build();
        assert_eq!(
            noise(parser(d), &v6),
            Noise::NotDefaultRoute { prefix_len: 64 }
        );
    }
}

#[test]
fn host_routes_are_noise() {
    for d in BOTH {
        // A neighbour-cache entry: RTF_HOST, no netmask, a link-layer gateway.
        let arp = Msg::rt(d, RTM_ADD, 4, RTF_UP | RTF_HOST | RTF_DONE | 0x400)
            .sa(RTA_DST, sin([192, 168, 1, 7]))
            .sa(RTA_GATEWAY, dl(d, 4, ""))
            .build();
        assert_eq!(
            noise(parser(d), &arp),
            Noise::NotDefaultRoute { prefix_len: 32 }
        );
        let v6 = Msg::rt(d, RTM_DELETE, 4, RTF_UP | RTF_HOST | RTF_DONE)
            .sa(RTA_DST, sin6(d, LL6))
            .sa(RTA_GATEWAY, dl(d, 4, ""))
            .build();
        assert_eq!(
            noise(parser(d), &v6),
            Noise::NotDefaultRoute { prefix_len: 128 }
        );
        // An RTM_REDIRECT for one host is a host route as well.
        let redirect = Msg::rt(
            d,
            RTM_REDIRECT,
            4,
            RTF_UP | RTF_HOST | RTF_GATEWAY | RTF_DONE,
        )
        .sa(RTA_DST, sin([8, 8, 8, 8]))
        .sa(RTA_GATEWAY, sin([192, 168, 1, 254]))
        .build();
        assert_eq!(
            noise(parser(d), &redirect),
            Noise::NotDefaultRoute { prefix_len: 32 }
        );
    }
}

#[test]
fn a_route_whose_prefix_cannot_be_known_stays_a_hint() {
    for d in BOTH {
        // No netmask and no RTF_HOST.
        let no_mask = Msg::rt(d, RTM_ADD, 4, RTF_UP | RTF_DONE)
            .sa(RTA_DST, sin([10, 0, 0, 0]))
            .sa(RTA_GATEWAY, sin(GW4))
            .build();
        let e = event(parser(d), &no_mask);
        assert_eq!((e.family, e.dst_prefix_len), (Some(Family::V4), None));
        // No destination at all.
        let no_dst = Msg::rt(d, RTM_DELETE, 0, RTF_DONE).build();
        let e = event(parser(d), &no_dst);
        assert_eq!(e.kind, RouteEventKind::RouteDel);
        assert_eq!((e.family, e.dst_prefix_len, e.index), (None, None, None));
    }
}

#[test]
fn a_failed_request_echoed_to_listeners_is_noise() {
    for d in BOTH {
        let msg = Msg::rt(d, RTM_ADD, 4, RTF_UP | RTF_GATEWAY)
            .errno(17) // EEXIST
            .sa(RTA_DST, sin(ANY4))
            .sa(RTA_GATEWAY, sin(GW4))
            .sa(RTA_NETMASK, mask4(0))
            .build();
        assert_eq!(noise(parser(d), &msg), Noise::FailedRequest);
        // Any non-zero errno, whichever of its four bytes is set.
        for errno in [0x100, 0x1_0000, 0x100_0000] {
            let msg = Msg::rt(d, RTM_ADD, 4, RTF_UP | RTF_GATEWAY)
                .errno(errno)
                .sa(RTA_DST, sin(ANY4))
                .sa(RTA_GATEWAY, sin(GW4))
                .sa(RTA_NETMASK, mask4(0))
                .build();
            assert_eq!(noise(parser(d), &msg), Noise::FailedRequest, "{errno:#x}");
        }
    }
}

#[test]
fn darwin_old_route_types_are_routes_and_unknown_on_freebsd() {
    let msg = default_route_v4(&DARWIN, RTM_OLDADD_DARWIN);
    assert_eq!(event(parser(&DARWIN), &msg).kind, RouteEventKind::RouteNew);
    let msg = default_route_v4(&DARWIN, RTM_OLDDEL_DARWIN);
    assert_eq!(event(parser(&DARWIN), &msg).kind, RouteEventKind::RouteDel);
    let msg = default_route_v4(&FREEBSD, RTM_OLDADD_DARWIN);
    assert_eq!(event(parser(&FREEBSD), &msg).kind, RouteEventKind::Unknown);
}

// ---------------------------------------------------------------------------
// Noise by type.

#[test]
fn miss_losing_get_resolve_lock_and_multicast_are_noise() {
    for d in BOTH {
        let p = parser(d);
        let rt = |t| {
            Msg::rt(d, t, 4, RTF_DONE)
                .sa(RTA_DST, sin([93, 184, 216, 34]))
                .build()
        };
        assert_eq!(noise(p, &rt(RTM_MISS)), Noise::Miss);
        assert_eq!(noise(p, &rt(RTM_LOSING)), Noise::Losing);
        assert_eq!(noise(p, &rt(RTM_GET)), Noise::GetReply);
        assert_eq!(noise(p, &rt(RTM_RESOLVE)), Noise::Resolve);
        assert_eq!(noise(p, &rt(RTM_LOCK)), Noise::Lock);
        // A default-route RTM_GET reply is still only a reply.
        assert_eq!(noise(p, &default_route_v4(d, RTM_GET)), Noise::GetReply);
        for t in [RTM_NEWMADDR, RTM_DELMADDR] {
            let msg = Msg::ifmam(d, t, 4)
                .sa(RTA_GATEWAY, dl(d, 4, ""))
                .sa(RTA_IFP, dl(d, 4, "en0"))
                .sa(
                    RTA_IFA,
                    sin6(d, [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb]),
                )
                .build();
            assert_eq!(noise(p, &msg), Noise::Multicast);
        }
    }
}

#[test]
fn darwin_only_and_freebsd_only_noise() {
    let p = parser(&DARWIN);
    for t in [RTM_GET_SILENT_DARWIN, RTM_GET2_DARWIN, RTM_GET_EXT_DARWIN] {
        assert_eq!(noise(p, &default_route_v4(&DARWIN, t)), Noise::GetReply);
    }
    let madd2 = Msg::ifmam(&DARWIN, RTM_NEWMADDR2_DARWIN, 4).build();
    assert_eq!(noise(p, &madd2), Noise::Multicast);
    // RTM_IEEE80211 carries an if_announcemsghdr and a payload.
    let mut wifi = Msg::ifan(RTM_IEEE80211_FREEBSD, 2, "wlan0", 3);
    wifi.bytes.extend_from_slice(&[0; 12]);
    assert_eq!(noise(parser(&FREEBSD), &wifi.build()), Noise::Wireless);
}

#[test]
fn a_miss_storm_leaves_only_the_real_changes() {
    // The field report: 1,138 of 1,142 messages were RTM_MISS.
    for d in BOTH {
        let miss = Msg::rt(d, RTM_MISS, 0, RTF_DONE)
            .sa(RTA_DST, sin([17, 253, 144, 10]))
            .build();
        let mut parts = vec![miss; 1_138];
        parts.insert(300, default_route_v4(d, RTM_ADD));
        parts.insert(700, Msg::ifm(d, RTM_IFINFO, d.if_msghdr, 4, 0x8863).build());
        parts.insert(
            900,
            Msg::ifam(d, RTM_NEWADDR, 4)
                .sa(RTA_NETMASK, mask4(24))
                .sa(RTA_IFP, dl(d, 4, "en0"))
                .sa(RTA_IFA, sin([192, 168, 1, 20]))
                .build(),
        );
        parts.insert(1_000, route_v4(d, [10, 9, 0, 0], 16));
        let (events, stats) = parse_all(parser(d), &concat(&parts));
        assert_eq!(stats.messages, 1_142);
        assert_eq!(stats.noise, 1_139);
        assert_eq!(stats.events, 3);
        assert_eq!(stats.lost(), 0);
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                RouteEventKind::RouteNew,
                RouteEventKind::LinkNew,
                RouteEventKind::AddrNew
            ]
        );
    }
}

// ---------------------------------------------------------------------------
// Interfaces and addresses.

#[test]
fn ifinfo_is_a_link_hint_with_its_index() {
    for d in BOTH {
        let e = event(
            parser(d),
            &Msg::ifm(d, RTM_IFINFO, d.if_msghdr, 7, 0x8843).build(),
        );
        assert_eq!(e.kind, RouteEventKind::LinkNew);
        assert_eq!((e.index, e.name, e.family), (Some(7), None, None));
        // As in a sysctl dump: the link-layer address names the interface.
        let named = Msg::ifm(d, RTM_IFINFO, d.if_msghdr, 7, 0x8843)
            .sa(RTA_IFP, dl(d, 7, "bridge0"))
            .build();
        let e = event(parser(d), &named);
        assert_eq!(e.name.unwrap().as_str(), Some("bridge0"));
    }
    // Darwin's if_msghdr2 (RTM_IFINFO2, 160 bytes).
    let e = event(
        parser(&DARWIN),
        &Msg::ifm(&DARWIN, RTM_IFINFO2_DARWIN, 160, 5, 0x8863).build(),
    );
    assert_eq!((e.kind, e.index), (RouteEventKind::LinkNew, Some(5)));
}

#[test]
fn address_messages_carry_index_family_and_name() {
    for d in BOTH {
        let add = Msg::ifam(d, RTM_NEWADDR, 4)
            .sa(RTA_NETMASK, mask4(24))
            .sa(RTA_IFP, dl(d, 4, "en0"))
            .sa(RTA_IFA, sin([192, 168, 1, 20]))
            .sa(RTA_BRD, sin([192, 168, 1, 255]))
            .build();
        let e = event(parser(d), &add);
        assert_eq!(e.kind, RouteEventKind::AddrNew);
        assert_eq!((e.index, e.family), (Some(4), Some(Family::V4)));
        assert_eq!(e.name.unwrap().as_str(), Some("en0"));

        let del = Msg::ifam(d, RTM_DELADDR, 11)
            .sa(RTA_NETMASK, mask6(64))
            .sa(RTA_IFP, dl(d, 11, "utun3"))
            .sa(RTA_IFA, sin6(d, LL6))
            .build();
        let e = event(parser(d), &del);
        assert_eq!(e.kind, RouteEventKind::AddrDel);
        assert_eq!((e.index, e.family), (Some(11), Some(Family::V6)));
        assert_eq!(e.name.unwrap().as_str(), Some("utun3"));
    }
}

#[test]
fn a_zero_length_socket_address_takes_4_bytes_on_darwin_and_8_on_freebsd() {
    // A /0 netmask before the name and the address: reading the wrong
    // padding would misplace both.
    for d in BOTH {
        let msg = Msg::ifam(d, RTM_NEWADDR, 2)
            .sa(RTA_NETMASK, Vec::new())
            .sa(RTA_IFP, dl(d, 2, "em0"))
            .sa(RTA_IFA, sin6(d, LL6))
            .build();
        let e = event(parser(d), &msg);
        assert_eq!(e.name.unwrap().as_str(), Some("em0"));
        assert_eq!(e.family, Some(Family::V6));
    }
    // The Darwin bytes read as FreeBSD go wrong somewhere, but safely.
    let darwin_bytes = Msg::ifam(&DARWIN, RTM_NEWADDR, 2)
        .sa(RTA_NETMASK, Vec::new())
        .sa(RTA_IFP, dl(&DARWIN, 2, "em0"))
        .build();
    let _ = one(parser(&FREEBSD), &darwin_bytes);
}

#[test]
fn freebsd_announces_arrival_and_departure_with_a_name() {
    let p = parser(&FREEBSD);
    let arrive = Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 12, "tun0", 0).build();
    let depart = Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 12, "tun0", 1).build();
    let (events, stats) = parse_all(p, &concat(&[arrive, depart]));
    assert_eq!(stats.events, 2);
    assert_eq!(events[0].kind, RouteEventKind::LinkNew);
    assert_eq!(events[1].kind, RouteEventKind::LinkDel);
    for e in &events {
        assert_eq!(e.index, Some(12));
        assert_eq!(e.name.unwrap().as_str(), Some("tun0"));
    }
    // A 15-character name fills IFNAMSIZ with its NUL.
    let long = Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 3, "epair123456789a", 0).build();
    assert_eq!(
        event(p, &long).name.unwrap().as_str(),
        Some("epair123456789a")
    );
    // An announcement of a kind not known yet.
    let odd = Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 3, "lo1", 9).build();
    let (events, stats) = parse_all(p, &odd);
    assert_eq!(events[0].kind, RouteEventKind::Unknown);
    assert_eq!(events[0].name.unwrap().as_str(), Some("lo1"));
    assert_eq!(stats.unknown, 1);
}

#[test]
fn type_0x11_depends_on_the_platform() {
    let bytes = Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 12, "tun0", 0).build();
    assert_eq!(
        event(parser(&FREEBSD), &bytes).kind,
        RouteEventKind::LinkNew
    );
    // On Darwin 0x11 is RTM_GET_SILENT.
    assert_eq!(noise(parser(&DARWIN), &bytes), Noise::GetReply);
}

#[test]
fn unknown_types_are_unknown_hints() {
    for d in BOTH {
        for t in [0u8, 0x30, 0xff] {
            let mut m = Msg::header(d, t, 12, usize::MAX);
            m.bytes[4] = 1;
            let (events, stats) = parse_all(parser(d), &m.build());
            assert_eq!(events, [RouteEvent::new(RouteEventKind::Unknown)]);
            assert_eq!((stats.unknown, stats.lost()), (1, 0));
        }
    }
}

// ---------------------------------------------------------------------------
// Bad input.

#[test]
fn a_wrong_version_is_skipped_and_the_next_message_read() {
    for d in BOTH {
        let buf = concat(&[
            Msg::rt(d, RTM_ADD, 4, 0).version(4).build(),
            default_route_v4(d, RTM_ADD),
        ]);
        let items: Vec<_> = parser(d).messages(&buf).collect();
        assert_eq!(
            items[0],
            Err(MessageError::WrongVersion {
                version: 4,
                msg_type: RTM_ADD
            })
        );
        assert!(!items[0].unwrap_err().ends_buffer());
        assert!(matches!(items[1], Ok(Message::Event(_))));
        let (events, stats) = parse_all(parser(d), &buf);
        assert_eq!(stats.wrong_version, 1);
        assert_eq!(stats.lost(), 1);
        assert_eq!(
            events[0].kind,
            RouteEventKind::Unknown,
            "lost: re-enumerate"
        );
        assert_eq!(events[1].kind, RouteEventKind::RouteNew);
    }
}

#[test]
fn a_zero_length_message_ends_the_buffer_instead_of_looping() {
    for d in BOTH {
        for msglen in [0u16, 1, 3] {
            let mut buf = msglen.to_le_bytes().to_vec();
            buf.extend_from_slice(&[d.version, RTM_ADD]);
            buf.extend_from_slice(&default_route_v4(d, RTM_ADD));
            let items: Vec<_> = parser(d).messages(&buf).collect();
            assert_eq!(items, [Err(MessageError::BadLength { msglen })]);
            assert!(items[0].unwrap_err().ends_buffer());
            let (events, stats) = parse_all(parser(d), &buf);
            assert_eq!((stats.messages, stats.malformed), (1, 1));
            assert_eq!(events, [RouteEvent::new(RouteEventKind::Unknown)]);
        }
    }
}

#[test]
fn an_oversized_length_ends_the_buffer() {
    for d in BOTH {
        let mut cut = default_route_v4(d, RTM_ADD);
        let full = cut.len() as u16;
        cut.truncate(60);
        let buf = concat(&[Msg::ifm(d, RTM_IFINFO, d.if_msghdr, 2, 1).build(), cut]);
        let items: Vec<_> = parser(d).messages(&buf).collect();
        assert_eq!(items.len(), 2);
        assert!(matches!(items[0], Ok(Message::Event(_))));
        assert_eq!(
            items[1],
            Err(MessageError::Truncated {
                msglen: full,
                remaining: 60
            })
        );
        // A length claiming far more than any buffer.
        let mut huge = default_route_v4(d, RTM_ADD);
        huge[0..2].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(
            one(parser(d), &huge),
            Err(MessageError::Truncated {
                msglen: u16::MAX,
                ..
            })
        ));
    }
}

#[test]
fn a_message_shorter_than_its_header_is_skipped() {
    for d in BOTH {
        let short = |mut m: Msg, len: usize| {
            m.bytes.truncate(len);
            m.build()
        };
        let cases = [
            (short(Msg::rt(d, RTM_ADD, 4, 0), 40), RTM_ADD, d.rt_msghdr),
            (
                short(Msg::rt(d, RTM_DELETE, 4, 0), d.rt_msghdr - 1),
                RTM_DELETE,
                d.rt_msghdr,
            ),
            (
                short(Msg::ifm(d, RTM_IFINFO, d.if_msghdr, 2, 1), 16),
                RTM_IFINFO,
                d.if_msghdr,
            ),
            (
                short(Msg::ifam(d, RTM_NEWADDR, 2), 12),
                RTM_NEWADDR,
                d.ifa_msghdr,
            ),
        ];
        for (bytes, msg_type, needed) in cases {
            let msglen = bytes.len() as u16;
            let buf = concat(&[bytes, default_route_v4(d, RTM_ADD)]);
            let items: Vec<_> = parser(d).messages(&buf).collect();
            assert_eq!(
                items[0],
                Err(MessageError::ShortHeader {
                    msg_type,
                    msglen,
                    needed: needed as u16
                })
            );
            assert!(
                matches!(items[1], Ok(Message::Event(_))),
                "the next one is read"
            );
        }
    }
    let short_announce = {
        let mut m = Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 1, "x", 0);
        m.bytes.truncate(20);
        m.build()
    };
    assert!(matches!(
        one(parser(&FREEBSD), &short_announce),
        Err(MessageError::ShortHeader { needed: 24, .. })
    ));
    // Noise needs only the common header: a bare RTM_MISS is still noise.
    for d in BOTH {
        let bare = Msg::header(d, RTM_MISS, 4, usize::MAX).build();
        assert_eq!(noise(parser(d), &bare), Noise::Miss);
    }
}

#[test]
fn a_socket_address_running_past_the_message_is_skipped() {
    for d in BOTH {
        // The netmask's sa_len claims 200 bytes.
        let mut bad = sin(ANY4);
        bad[0] = 16;
        let mut m = Msg::rt(d, RTM_ADD, 4, RTF_UP)
            .sa(RTA_DST, sin(ANY4))
            .sa(RTA_NETMASK, bad);
        let at = d.rt_msghdr + 16;
        m.bytes[at] = 200;
        let buf = concat(&[m.build(), default_route_v4(d, RTM_ADD)]);
        let items: Vec<_> = parser(d).messages(&buf).collect();
        assert_eq!(
            items[0],
            Err(MessageError::BadSockaddr {
                msg_type: RTM_ADD,
                slot: 2
            })
        );
        assert!(matches!(items[1], Ok(Message::Event(_))));
        // An address message whose interface address is cut in half.
        let mut cut = Msg::ifam(d, RTM_NEWADDR, 4)
            .sa(RTA_IFP, dl(d, 4, "en0"))
            .sa(RTA_IFA, sin6(d, LL6));
        let len = cut.bytes.len();
        cut.bytes.truncate(len - 16);
        assert_eq!(
            one(parser(d), &cut.build()),
            Err(MessageError::BadSockaddr {
                msg_type: RTM_NEWADDR,
                slot: 5
            })
        );
    }
}

#[test]
fn stray_bytes_after_the_last_message_are_a_fragment() {
    for d in BOTH {
        let buf = concat(&[default_route_v4(d, RTM_ADD), vec![1, 2, 3]]);
        let items: Vec<_> = parser(d).messages(&buf).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(MessageError::Fragment { remaining: 3 }));
        let (_, stats) = parse_all(parser(d), &buf);
        assert_eq!(stats.malformed, 1);
    }
}

#[test]
fn darwin_may_end_a_message_inside_the_last_padding_or_before_an_empty_address() {
    // rt_msg1 counts the last address without its padding.
    let unpadded = Msg::rt(&DARWIN, RTM_ADD, 4, RTF_UP | RTF_DONE)
        .sa(RTA_DST, sin([10, 0, 0, 0]))
        .sa(RTA_GATEWAY, sin(GW4))
        .sa(RTA_NETMASK, mask4(8)) // sa_len 5
        .build_unpadded();
    assert_eq!(unpadded.len(), 92 + 16 + 16 + 5);
    assert_eq!(
        noise(parser(&DARWIN), &unpadded),
        Noise::NotDefaultRoute { prefix_len: 8 }
    );
    // ...and a trailing zero-length netmask not at all: the default route.
    let no_tail = Msg::rt(&DARWIN, RTM_ADD, 4, RTF_UP | RTF_GATEWAY | RTF_DONE)
        .sa(RTA_DST, sin(ANY4))
        .sa(RTA_GATEWAY, sin(GW4))
        .sa(RTA_NETMASK, mask4(0))
        .build_unpadded();
    assert_eq!(no_tail.len(), 92 + 32);
    let e = event(parser(&DARWIN), &no_tail);
    assert_eq!(e.dst_prefix_len, Some(0));
    // FreeBSD always pads, so there a missing address is an error.
    let freebsd_no_tail = Msg::rt(&FREEBSD, RTM_ADD, 4, RTF_UP | RTF_GATEWAY | RTF_DONE)
        .sa(RTA_DST, sin(ANY4))
        .sa(RTA_GATEWAY, sin(GW4))
        .sa(RTA_NETMASK, mask4(0))
        .build_unpadded();
    assert_eq!(
        one(parser(&FREEBSD), &freebsd_no_tail),
        Err(MessageError::BadSockaddr {
            msg_type: RTM_ADD,
            slot: 2
        })
    );
}

#[test]
fn every_lost_message_becomes_one_unknown_hint_and_stats_add_up() {
    let d = &DARWIN;
    let buf = concat(&[
        default_route_v4(d, RTM_ADD),
        Msg::rt(d, RTM_MISS, 0, 0).build(),
        Msg::rt(d, RTM_ADD, 0, 0).version(9).build(),
        {
            let mut m = Msg::ifam(d, RTM_NEWADDR, 2);
            m.bytes.truncate(10);
            m.build()
        },
        Msg::header(d, 0x40, 8, usize::MAX).build(),
        vec![0, 0, 5, 1, 9, 9, 9, 9],
    ]);
    let (events, stats) = parse_all(parser(d), &buf);
    assert_eq!(
        stats,
        ParseStats {
            messages: 6,
            events: 5,
            noise: 1,
            malformed: 2,
            wrong_version: 1,
            unknown: 1,
        }
    );
    assert_eq!(stats.lost(), 3);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == RouteEventKind::Unknown)
            .count(),
        4
    );
    let mut total = ParseStats::default();
    total += stats;
    total += stats;
    assert_eq!((total.messages, total.lost()), (12, 6));
}

#[test]
fn parsing_allocates_nothing() {
    let d = &FREEBSD;
    let mut parts = Vec::new();
    for i in 0..200u16 {
        parts.push(default_route_v4(d, RTM_ADD));
        parts.push(Msg::rt(d, RTM_MISS, i, 0).sa(RTA_DST, sin(GW4)).build());
        parts.push(
            Msg::ifam(d, RTM_NEWADDR, i)
                .sa(RTA_IFP, dl(d, i, "em0"))
                .sa(RTA_IFA, sin6(d, LL6))
                .build(),
        );
        parts.push(Msg::ifan(RTM_IFANNOUNCE_FREEBSD, i, "tun0", 1).build());
    }
    parts.push(vec![0, 0, 5, 1]);
    let buf = concat(&parts);
    let p = parser(d);
    let mut hints = 0u64;
    let counted = allocation_counter::measure(|| {
        let stats = p.parse(&buf, |e| {
            std::hint::black_box(e);
            hints += 1;
        });
        std::hint::black_box(stats);
        for item in p.messages(&buf) {
            std::hint::black_box(item.ok());
        }
    });
    assert_eq!(counted.count_total, 0);
    assert_eq!(hints, 601);
}

// ---------------------------------------------------------------------------
// Platform and filter.

#[test]
fn the_darwin_filter_ignores_internal_interfaces_but_not_tunnels() {
    let f = darwin_internal_interfaces();
    for name in ["awdl0", "llw0", "anpi0", "anpi1", "XHC20", "ap1"] {
        assert!(f.ignores(name.as_bytes()), "{name}");
    }
    for name in [
        "en0",
        "en1",
        "lo0",
        "utun3",
        "ipsec0",
        "bridge100",
        "pdp_ip0",
    ] {
        assert!(!f.ignores(name.as_bytes()), "{name}");
    }
    assert_eq!(f.ignored_prefixes().len(), DARWIN_INTERNAL_PREFIXES.len());
    assert!(DARWIN_TUNNEL_PREFIXES.contains(&"utun"));
    // Route hints are never dropped by interface: a default route through
    // an ignored interface still counts.
    let e = event(parser(&DARWIN), &default_route_v4(&DARWIN, RTM_ADD));
    assert!(f.admits(&e, |_| true));
    // An address hint naming awdl0 is dropped by the filter.
    let awdl = Msg::ifam(&DARWIN, RTM_NEWADDR, 9)
        .sa(RTA_IFP, dl(&DARWIN, 9, "awdl0"))
        .sa(RTA_IFA, sin6(&DARWIN, LL6))
        .build();
    assert!(!f.admits(&event(parser(&DARWIN), &awdl), |_| false));
}

#[test]
fn a_parser_keeps_the_platform_it_was_given() {
    // Which platform is running is `netstate_sys::route_socket_platform()`'s
    // business: the core never looks at `cfg(target_os)`.
    assert_eq!(Parser::new(Platform::FreeBsd).platform(), Platform::FreeBsd);
    assert_eq!(Parser::new(Platform::Darwin).route_prefix_limit(), 1);
}

// ---------------------------------------------------------------------------
// Random input: no panic, always an end.

/// A deterministic xorshift64 generator: the same seed, the same bytes.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Checks what must hold for any bytes: the walk ends within one item per
/// four bytes, and the counts agree with the callback.
fn check_any(p: Parser, buf: &[u8]) {
    let items = p.messages(buf).count();
    assert!(
        items <= buf.len().div_ceil(4),
        "{items} items from {} bytes",
        buf.len()
    );
    let mut calls = 0u64;
    let stats = p.parse(buf, |_| calls += 1);
    assert_eq!(stats.messages, items as u64);
    assert_eq!(stats.events, calls);
    assert_eq!(stats.messages, stats.events + stats.noise);
    assert!(stats.unknown <= stats.events);
}

fn seeds(d: &'static Dialect) -> Vec<Vec<u8>> {
    vec![
        default_route_v4(d, RTM_ADD),
        route_v4(d, [128, 0, 0, 0], 1),
        route_v4(d, [10, 0, 0, 0], 8),
        Msg::rt(d, RTM_ADD, 4, RTF_UP | RTF_HOST)
            .sa(RTA_DST, sin([192, 168, 1, 7]))
            .sa(RTA_GATEWAY, dl(d, 4, ""))
            .build(),
        Msg::ifm(d, RTM_IFINFO, d.if_msghdr, 4, 0x8863)
            .sa(RTA_IFP, dl(d, 4, "en0"))
            .build(),
        Msg::ifam(d, RTM_NEWADDR, 4)
            .sa(RTA_NETMASK, mask6(64))
            .sa(RTA_IFP, dl(d, 4, "en0"))
            .sa(RTA_IFA, sin6(d, LL6))
            .build(),
        Msg::ifmam(d, RTM_NEWMADDR, 4)
            .sa(RTA_IFA, sin6(d, LL6))
            .build(),
        Msg::ifan(RTM_IFANNOUNCE_FREEBSD, 5, "tun0", 0).build(),
        Msg::rt(d, RTM_MISS, 0, 0).sa(RTA_DST, sin(GW4)).build(),
    ]
}

#[test]
fn random_bytes_never_panic_and_always_end() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let parsers = [
        Parser::new(Platform::Darwin),
        Parser::new(Platform::FreeBsd),
        Parser::new(Platform::Darwin).max_route_prefix_len(128),
    ];
    for _ in 0..5_000 {
        let len = rng.below(600);
        let buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        for p in parsers {
            check_any(p, &buf);
        }
    }
    // Plausible headers with random bodies: right version, short lengths,
    // every type, so the per-type code runs rather than the length checks.
    for _ in 0..5_000 {
        let mut buf = Vec::new();
        for _ in 0..rng.below(6) {
            let msglen = 4 + rng.below(220);
            let mut msg: Vec<u8> = (0..msglen).map(|_| rng.byte()).collect();
            msg[0..2].copy_from_slice(&(msglen as u16).to_le_bytes());
            msg[2] = 5;
            msg[3] = rng.below(0x18) as u8;
            buf.extend_from_slice(&msg);
        }
        for p in parsers {
            check_any(p, &buf);
        }
    }
}

#[test]
fn mutated_fixtures_never_panic_and_always_end() {
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    for d in BOTH {
        let seeds = seeds(d);
        for _ in 0..4_000 {
            let mut buf = Vec::new();
            for _ in 0..1 + rng.below(4) {
                buf.extend_from_slice(&seeds[rng.below(seeds.len())]);
            }
            match rng.below(4) {
                0 => {
                    for _ in 0..1 + rng.below(4) {
                        let at = rng.below(buf.len());
                        buf[at] = rng.byte();
                    }
                }
                1 => buf.truncate(rng.below(buf.len() + 1)),
                2 => {
                    // Corrupt a socket-address length byte, the likeliest lie.
                    let at = d.rt_msghdr.min(buf.len() - 1) + rng.below(8);
                    if at < buf.len() {
                        buf[at] = rng.byte();
                    }
                }
                _ => {
                    let at = rng.below(buf.len());
                    buf.insert(at, rng.byte());
                }
            }
            for p in [parser(&DARWIN), parser(&FREEBSD)] {
                check_any(p, &buf);
            }
        }
    }
}

/// The message iterator's size hint holds what it yields: nothing for an
/// empty buffer, at least one item while bytes remain, and a finite upper
/// bound.
#[test]
fn the_message_iterators_size_hint_bounds_what_it_yields() {
    for d in BOTH {
        let three = concat(&[
            default_route_v4(d, RTM_ADD),
            default_route_v4(d, RTM_DELETE),
            default_route_v4(d, RTM_ADD),
        ]);
        for buf in [&[][..], &three[..], &three[..7]] {
            let it = parser(d).messages(buf);
            let (lo, hi) = it.size_hint();
            let n = it.count();
            let hi = hi.expect("a finite upper bound");
            assert!(lo <= n && n <= hi, "{lo} <= {n} <= {hi}");
            assert_eq!(lo, usize::from(!buf.is_empty()));
        }
        assert_eq!(parser(d).messages(&three).count(), 3);
    }
}

/// The counts of two buffers add up to the counts of both read as one, field
/// by field (the reader sums them per datagram).
#[test]
fn parse_counts_add_up_field_by_field() {
    for d in BOTH {
        let miss = Msg::rt(d, RTM_MISS, 0, RTF_DONE)
            .sa(RTA_DST, sin([17, 253, 144, 10]))
            .build();
        let buf = concat(&[
            default_route_v4(d, RTM_ADD),
            miss,
            Msg::rt(d, RTM_ADD, 4, 0).version(4).build(),
            Msg::rt(d, 0x7f, 4, 0).build(),
        ]);
        let p = parser(d);
        let one = p.parse(&buf, |_| {});
        assert!(
            one.messages > 1
                && one.events > 1
                && one.noise > 0
                && one.wrong_version > 0
                && one.unknown > 0,
            "every count above one or zero: {one:?}"
        );
        let mut sum = one;
        sum += one;
        let both = p.parse(&concat(&[buf.clone(), buf.clone()]), |_| {});
        assert_eq!(sum, both);
        // And an unreadable tail adds its own count.
        let mut bad = buf.clone();
        bad.extend([0xff, 0x00, 0x05, RTM_ADD]);
        let mut with_bad = one;
        with_bad += p.parse(&bad[buf.len()..], |_| {});
        assert_eq!(with_bad, p.parse(&bad, |_| {}));
        assert!(with_bad.malformed > 0, "{with_bad:?}");
    }
}

#[test]
fn a_message_error_names_the_message_and_what_is_wrong() {
    let e = MessageError::WrongVersion {
        version: 4,
        msg_type: RTM_ADD,
    };
    let text = e.to_string();
    assert!(
        text.contains("version 4") && text.contains(&format!("type {RTM_ADD}")),
        "{text}"
    );
}
