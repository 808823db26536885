//! Linux netlink (`NETLINK_ROUTE`) messages. (Being written: issue 3.)
