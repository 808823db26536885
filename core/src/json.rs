//! The JSON form of the model (feature `serde`), exactly the shape of the
//! `netstate` command's output (see DESIGN.md), plus fields that make it
//! lossless so a snapshot read back is equal to the one written:
//!
//! * an interface also has `running`, `flags` (every flag's name) and
//!   `addr_info` (each address with its flags);
//! * a default route also has `index`;
//! * a changed interface also has `index`, `renamed_from`,
//!   `addrs_flags_changed`, `mtu_changed` and `mac_changed`.
//!
//! `Snapshot` deserialises from this shape (validated like [`Snapshot::new`]);
//! `have_v4`, `have_v6`, `up`, `loopback` and `addrs` are derived and ignored
//! on input.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::de::Error as _;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

use crate::change::Change;
use crate::diff::{Delta, InterfaceDelta, InterfaceId};
use crate::flags::{AddrFlags, InterfaceFlags};
use crate::interfaces::Interfaces;
use crate::snapshot::{Address, DefaultRoute, DefaultRoutes, HardwareAddr, Interface, Snapshot};

struct Names<F>(F);

impl<I: Iterator<Item = &'static str> + Clone> Serialize for Names<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

struct Nets<'a>(&'a [Address]);

impl Serialize for Nets<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for a in self.0 {
            seq.serialize_element(&a.net)?;
        }
        seq.end()
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Address", 2)?;
        m.serialize_field("addr", &self.net)?;
        m.serialize_field("flags", &Names(self.flags.names()))?;
        m.end()
    }
}

impl Serialize for HardwareAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HardwareAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

impl Serialize for Interface {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Interface", 10)?;
        m.serialize_field("index", &self.index)?;
        m.serialize_field("name", &self.name)?;
        m.serialize_field("up", &self.is_up())?;
        m.serialize_field("running", &self.flags.contains(InterfaceFlags::RUNNING))?;
        m.serialize_field("loopback", &self.is_loopback())?;
        m.serialize_field("mtu", &self.mtu)?;
        m.serialize_field("mac", &self.mac)?;
        m.serialize_field("addrs", &Nets(&self.addrs))?;
        m.serialize_field("flags", &Names(self.flags.names()))?;
        m.serialize_field("addr_info", &self.addrs[..])?;
        m.end()
    }
}

impl Serialize for DefaultRoute {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("DefaultRoute", 3)?;
        m.serialize_field("interface", &self.interface)?;
        m.serialize_field("index", &self.index)?;
        m.serialize_field("gateway", &self.gateway)?;
        m.end()
    }
}

impl Serialize for DefaultRoutes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("DefaultRoutes", 2)?;
        m.serialize_field("v4", &self.v4)?;
        m.serialize_field("v6", &self.v6)?;
        m.end()
    }
}

impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Snapshot", 4)?;
        m.serialize_field("interfaces", &self.interfaces())?;
        m.serialize_field("default_route", self.default_routes())?;
        m.serialize_field("have_v4", &self.have_v4())?;
        m.serialize_field("have_v6", &self.have_v6())?;
        m.end()
    }
}

impl Serialize for Interfaces<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

struct IdNames<'a>(&'a [InterfaceId]);

impl Serialize for IdNames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|i| &i.name))
    }
}

struct FlagChanges<'a>(&'a InterfaceDelta);

impl Serialize for FlagChanges<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let changes = &self.0.addrs_flags_changed;
        let mut seq = s.serialize_seq(Some(changes.len()))?;
        for c in changes {
            seq.serialize_element(&Address::new(c.old.net).with_flags(c.new_flags))?;
        }
        seq.end()
    }
}

impl Serialize for InterfaceDelta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("InterfaceDelta", 9)?;
        m.serialize_field("name", &self.name)?;
        m.serialize_field("index", &self.index)?;
        m.serialize_field("addrs_added", &Nets(&self.addrs_added))?;
        m.serialize_field("addrs_removed", &Nets(&self.addrs_removed))?;
        m.serialize_field("flags_changed", &self.flags_changed())?;
        m.serialize_field("addrs_flags_changed", &FlagChanges(self))?;
        m.serialize_field("mtu_changed", &self.mtu_changed)?;
        m.serialize_field("mac_changed", &self.mac_changed)?;
        m.serialize_field("renamed_from", &self.renamed_from)?;
        m.end()
    }
}

impl Serialize for Delta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Delta", 4)?;
        m.serialize_field("added", &IdNames(&self.added))?;
        m.serialize_field("removed", &IdNames(&self.removed))?;
        m.serialize_field("changed", &self.changed)?;
        let routes = self.default_route_changed;
        m.serialize_field("default_route_changed", &RouteFlags(routes.v4, routes.v6))?;
        m.end()
    }
}

struct RouteFlags(bool, bool);

impl Serialize for RouteFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("v4", &self.0)?;
        m.serialize_entry("v6", &self.1)?;
        m.end()
    }
}

impl Serialize for Change {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Change", 5)?;
        m.serialize_field("seq", &self.seq)?;
        m.serialize_field("cause", &self.cause)?;
        m.serialize_field("major", &self.is_major())?;
        m.serialize_field("state", &*self.new)?;
        m.serialize_field("delta", &self.delta)?;
        m.end()
    }
}

#[derive(Deserialize)]
struct AddressIn {
    addr: IpNet,
    #[serde(default)]
    flags: Vec<String>,
}

#[derive(Deserialize)]
struct InterfaceIn {
    index: u32,
    name: String,
    #[serde(default)]
    up: bool,
    #[serde(default)]
    loopback: bool,
    #[serde(default)]
    mtu: u32,
    #[serde(default)]
    mac: Option<HardwareAddr>,
    #[serde(default)]
    addrs: Vec<IpNet>,
    #[serde(default)]
    flags: Option<Vec<String>>,
    #[serde(default)]
    addr_info: Option<Vec<AddressIn>>,
}

#[derive(Deserialize)]
struct RouteIn {
    interface: String,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    gateway: Option<IpAddr>,
}

#[derive(Deserialize, Default)]
struct RoutesIn {
    #[serde(default)]
    v4: Option<RouteIn>,
    #[serde(default)]
    v6: Option<RouteIn>,
}

#[derive(Deserialize)]
struct SnapshotIn {
    interfaces: Vec<InterfaceIn>,
    #[serde(default)]
    default_route: RoutesIn,
}

fn flags_from<T: Copy + Default + core::ops::BitOrAssign, E: serde::de::Error>(
    names: &[String],
    lookup: impl Fn(&str) -> Option<T>,
) -> Result<T, E> {
    let mut flags = T::default();
    for n in names {
        flags |= lookup(n).ok_or_else(|| E::custom(format_args!("unknown flag {n:?}")))?;
    }
    Ok(flags)
}

impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = SnapshotIn::deserialize(d)?;
        let mut interfaces = Vec::with_capacity(raw.interfaces.len());
        for i in raw.interfaces {
            let flags = match &i.flags {
                Some(names) => flags_from::<_, D::Error>(names, InterfaceFlags::from_name)?,
                None => {
                    let mut f = InterfaceFlags::empty();
                    f.set(InterfaceFlags::UP, i.up);
                    f.set(InterfaceFlags::LOOPBACK, i.loopback);
                    f
                }
            };
            let mut addrs: SmallVec<[Address; 4]> = SmallVec::new();
            match i.addr_info {
                Some(info) => {
                    for a in info {
                        let flags = flags_from::<_, D::Error>(&a.flags, AddrFlags::from_name)?;
                        addrs.push(Address::new(a.addr).with_flags(flags));
                    }
                }
                None => addrs.extend(i.addrs.into_iter().map(Address::new)),
            }
            interfaces.push(Interface {
                index: i.index,
                name: i.name,
                flags,
                mtu: i.mtu,
                mac: i.mac,
                addrs,
            });
        }
        let route = |r: Option<RouteIn>| -> Result<Option<DefaultRoute>, D::Error> {
            let Some(r) = r else { return Ok(None) };
            let index = match r.index {
                Some(index) => index,
                None => interfaces
                    .iter()
                    .find(|i| i.name == r.interface)
                    .map(|i| i.index)
                    .ok_or_else(|| D::Error::custom("default route names an unknown interface"))?,
            };
            Ok(Some(DefaultRoute {
                index,
                interface: r.interface,
                gateway: r.gateway,
            }))
        };
        let routes = DefaultRoutes {
            v4: route(raw.default_route.v4)?,
            v6: route(raw.default_route.v6)?,
        };
        Snapshot::new(interfaces, routes).map_err(D::Error::custom)
    }
}
