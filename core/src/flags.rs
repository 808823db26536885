//! Small bit sets for interface and address flags.
//!
//! Written here rather than taken from `bitflags` because `netstate-core` keeps
//! its dependencies to `smallvec`, `ipnet` and `serde`; each set is a `u32`
//! with named constants and a stable lower-case name per flag (used by the
//! JSON form).

macro_rules! flag_set {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $flag:ident = $bit:expr, $text:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: $name = $name(1 << $bit); )*

            /// Every flag with its name, in bit order.
            pub const ALL: &'static [($name, &'static str)] = &[ $( ($name::$flag, $text), )* ];

            /// The empty set.
            #[must_use]
            pub const fn empty() -> Self {
                $name(0)
            }

            /// The set from its raw bits; bits without a named flag are dropped.
            #[must_use]
            pub const fn from_bits_truncate(bits: u32) -> Self {
                $name(bits & (0 $( | (1 << $bit) )*))
            }

            /// The raw bits.
            #[must_use]
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether every flag of `other` is set in `self`.
            #[must_use]
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether any flag of `other` is set in `self`.
            #[must_use]
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// Whether no flag is set.
            #[must_use]
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// Sets or clears the flags of `other`.
            pub fn set(&mut self, other: Self, on: bool) {
                if on {
                    self.0 |= other.0;
                } else {
                    self.0 &= !other.0;
                }
            }

            /// The flags set in either.
            #[must_use]
            pub const fn union(self, other: Self) -> Self {
                $name(self.0 | other.0)
            }

            /// The flags set in exactly one of the two.
            #[must_use]
            pub const fn symmetric_difference(self, other: Self) -> Self {
                $name(self.0 ^ other.0)
            }

            /// The names of the flags that are set, in bit order.
            pub fn names(self) -> impl Iterator<Item = &'static str> + Clone {
                Self::ALL
                    .iter()
                    .filter(move |(flag, _)| self.contains(*flag))
                    .map(|(_, text)| *text)
            }

            /// The flag with this name, if there is one.
            #[must_use]
            pub fn from_name(text: &str) -> Option<Self> {
                Self::ALL.iter().find(|(_, t)| *t == text).map(|(flag, _)| *flag)
            }
        }

        impl core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                self.union(rhs)
            }
        }

        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_set().entries(self.names()).finish()
            }
        }
    };
}

flag_set! {
    /// Flags of a network interface, as the kernel reports them.
    InterfaceFlags {
        /// Administratively up (`IFF_UP`).
        UP = 0, "up";
        /// Operationally running: carrier present (`IFF_RUNNING` / `IFF_LOWER_UP`).
        RUNNING = 1, "running";
        /// The loopback interface (`IFF_LOOPBACK`).
        LOOPBACK = 2, "loopback";
        /// A point-to-point link such as a tunnel (`IFF_POINTOPOINT`).
        POINT_TO_POINT = 3, "point_to_point";
        /// Supports multicast (`IFF_MULTICAST`).
        MULTICAST = 4, "multicast";
        /// Has a valid broadcast address (`IFF_BROADCAST`).
        BROADCAST = 5, "broadcast";
        /// Does not use ARP/neighbour discovery (`IFF_NOARP`).
        NO_ARP = 6, "no_arp";
        /// Receives all packets (`IFF_PROMISC`).
        PROMISC = 7, "promisc";
    }
}

impl InterfaceFlags {
    /// The flags that change whether the interface can carry traffic: a change
    /// to any of these is a major change, a change to the others is minor.
    pub const REACHABILITY: InterfaceFlags = InterfaceFlags::UP
        .union(InterfaceFlags::RUNNING)
        .union(InterfaceFlags::LOOPBACK)
        .union(InterfaceFlags::POINT_TO_POINT);
}

flag_set! {
    /// Flags of an interface address.
    AddrFlags {
        /// Duplicate address detection has not finished: the address cannot be
        /// used yet (`IFA_F_TENTATIVE`).
        TENTATIVE = 0, "tentative";
        /// The preferred lifetime ran out: usable, but not for new connections
        /// (`IFA_F_DEPRECATED`).
        DEPRECATED = 1, "deprecated";
        /// A privacy (temporary) IPv6 address (`IFA_F_TEMPORARY`).
        TEMPORARY = 2, "temporary";
        /// Duplicate address detection failed: the address is unusable
        /// (`IFA_F_DADFAILED`).
        DAD_FAILED = 3, "dad_failed";
        /// Configured by an administrator, not by autoconfiguration
        /// (`IFA_F_PERMANENT`).
        PERMANENT = 4, "permanent";
    }
}

impl AddrFlags {
    /// The flags that change whether the address can be used: a change to any
    /// of these is a major change.
    pub const USABILITY: AddrFlags = AddrFlags::TENTATIVE
        .union(AddrFlags::DAD_FAILED)
        .union(AddrFlags::DEPRECATED);

    /// Whether the address can be used as a source now (neither tentative nor
    /// failed duplicate detection).
    #[must_use]
    pub const fn is_usable(self) -> bool {
        !self.intersects(AddrFlags::TENTATIVE.union(AddrFlags::DAD_FAILED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_bits_are_dropped() {
        let f = InterfaceFlags::UP | InterfaceFlags::MULTICAST;
        let names: Vec<_> = f.names().collect();
        assert_eq!(names, ["up", "multicast"]);
        assert_eq!(
            InterfaceFlags::from_name("multicast"),
            Some(InterfaceFlags::MULTICAST)
        );
        assert_eq!(InterfaceFlags::from_name("bogus"), None);
        assert_eq!(InterfaceFlags::from_bits_truncate(u32::MAX).bits(), 0xff);
        assert!(!AddrFlags::TENTATIVE.is_usable());
        assert!(AddrFlags::DEPRECATED.is_usable());
    }
}
