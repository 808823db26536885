//! The JSON form matches the `netstate` command's documented contract and
//! reads back to the same snapshot.
#![cfg(feature = "serde")]

use std::sync::Arc;

use netstate_core::{
    AddrFlags, Address, Cause, Change, DefaultRoute, DefaultRoutes, Interface, InterfaceFlags,
    Snapshot,
};
use serde_json::{json, Value};

fn sample() -> Snapshot {
    let mut lo = Interface::new(1, "lo");
    lo.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING | InterfaceFlags::LOOPBACK;
    lo.mtu = 65536;
    lo.addrs.push(Address::new("127.0.0.1/8".parse().unwrap()));
    let mut eth = Interface::new(2, "eth0");
    eth.flags = InterfaceFlags::UP | InterfaceFlags::RUNNING | InterfaceFlags::MULTICAST;
    eth.mtu = 1500;
    eth.mac = Some("aa:bb:cc:dd:ee:ff".parse().unwrap());
    eth.addrs.push(Address::new("10.0.0.2/24".parse().unwrap()));
    eth.addrs.push(
        Address::new("fe80::1/64".parse().unwrap())
            .with_flags(AddrFlags::PERMANENT | AddrFlags::TENTATIVE),
    );
    Snapshot::new(
        vec![eth, lo],
        DefaultRoutes {
            v4: Some(DefaultRoute::new(
                2,
                "eth0",
                Some("10.0.0.1".parse().unwrap()),
            )),
            v6: None,
        },
    )
    .unwrap()
}

#[test]
fn snapshot_has_the_documented_fields() {
    let v = serde_json::to_value(sample()).unwrap();
    let eth = &v["interfaces"][1];
    assert_eq!(eth["index"], 2);
    assert_eq!(eth["name"], "eth0");
    assert_eq!(eth["up"], true);
    assert_eq!(eth["loopback"], false);
    assert_eq!(eth["mtu"], 1500);
    assert_eq!(eth["mac"], "aa:bb:cc:dd:ee:ff");
    assert_eq!(eth["addrs"], json!(["10.0.0.2/24", "fe80::1/64"]));
    assert_eq!(v["interfaces"][0]["mac"], Value::Null);
    assert_eq!(
        v["default_route"]["v4"],
        json!({"interface": "eth0", "index": 2, "gateway": "10.0.0.1"})
    );
    assert_eq!(v["default_route"]["v6"], Value::Null);
    assert_eq!(v["have_v4"], true);
    assert_eq!(v["have_v6"], false);
}

#[test]
fn snapshot_reads_back_equal() {
    let s = sample();
    let text = serde_json::to_string(&s).unwrap();
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
}

#[test]
fn the_short_documented_form_also_reads() {
    let text = r#"{"interfaces":[{"index":2,"name":"eth0","up":true,"loopback":false,
        "mtu":1500,"mac":"aa:bb:cc:dd:ee:ff","addrs":["10.0.0.2/24","fe80::1/64"]}],
        "default_route":{"v4":{"interface":"eth0","gateway":"10.0.0.1"},"v6":null},
        "have_v4":true,"have_v6":false}"#;
    let s: Snapshot = serde_json::from_str(text).unwrap();
    assert_eq!(s.default_routes().v4.as_ref().map(|r| r.index), Some(2));
    assert!(s.have_v4());
    let bad = text.replace("\"index\":2", "\"index\":2,\"flags\":[\"sparkly\"]");
    let err = serde_json::from_str::<Snapshot>(&bad).unwrap_err();
    assert!(err.to_string().contains("sparkly"), "{err}");
}

#[test]
fn change_is_one_watch_line_with_the_documented_fields() {
    let old = sample();
    let mut interfaces: Vec<Interface> = old.interfaces().iter().cloned().collect();
    interfaces[1]
        .addrs
        .push(Address::new("10.0.0.3/24".parse().unwrap()));
    interfaces.push(Interface::new(3, "eth1"));
    let new = Snapshot::new(interfaces, old.default_routes().clone()).unwrap();
    let change = Change::new(1, Cause::TimeJump, Arc::new(old), Arc::new(new));
    let v = serde_json::to_value(&change).unwrap();
    assert_eq!(v["seq"], 1);
    assert_eq!(v["cause"], "time_jump");
    assert_eq!(v["major"], true);
    assert_eq!(v["state"]["interfaces"].as_array().unwrap().len(), 3);
    let d = &v["delta"];
    assert_eq!(d["added"], json!(["eth1"]));
    assert_eq!(d["removed"], json!([]));
    assert_eq!(d["changed"][0]["name"], "eth0");
    assert_eq!(d["changed"][0]["addrs_added"], json!(["10.0.0.3/24"]));
    assert_eq!(d["changed"][0]["addrs_removed"], json!([]));
    assert_eq!(d["changed"][0]["flags_changed"], false);
    assert_eq!(
        d["default_route_changed"],
        json!({"v4": false, "v6": false})
    );
    let causes = [
        (Cause::Initial, "initial"),
        (Cause::Event, "event"),
        (Cause::Reconcile, "reconcile"),
        (Cause::Overflow, "overflow"),
        (Cause::Forced, "forced"),
    ];
    for (cause, text) in causes {
        assert_eq!(serde_json::to_value(cause).unwrap(), text);
        assert_eq!(cause.as_str(), text);
    }
}

#[test]
fn names_that_are_not_utf8_survive_json_and_traces_byte_for_byte() {
    use netstate_core::{ifname, InterfaceName, RouteEvent, RouteEventKind};
    let raw: &[u8] = b"n\xff\xfex\\";
    let name = ifname::escape(raw).into_owned();
    let mut odd = Interface::new(9, name.clone());
    odd.flags = InterfaceFlags::UP;
    let s = Snapshot::new(vec![odd], DefaultRoutes::default()).unwrap();
    let text = serde_json::to_string(&s).unwrap();
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    assert_eq!(
        ifname::unescape(&back.interfaces().first().unwrap().name).as_ref(),
        raw
    );

    // A hint's inline name goes through a trace the same way.
    let mut hint = RouteEvent::new(RouteEventKind::LinkNew).with_index(9);
    hint.name = Some(InterfaceName::new(raw));
    let text = serde_json::to_string(&hint).unwrap();
    let back: RouteEvent = serde_json::from_str(&text).unwrap();
    assert_eq!(back.name.unwrap().as_bytes(), raw);
}
