//! Network namespaces: open a socket inside one without moving the caller.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// A handle on a network namespace (an open `/run/netns/NAME` or
/// `/proc/PID/ns/net`). Sockets created "in" it belong to it for their whole
/// life, whatever thread reads them.
#[derive(Debug)]
pub struct Netns {
    fd: OwnedFd,
}

impl Netns {
    /// Opens the namespace at `path` (`/run/netns/NAME`, `/proc/PID/ns/net`).
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Netns {
            fd: File::open(path)?.into(),
        })
    }

    /// Opens the namespace `ip netns add NAME` created.
    pub fn named(name: &str) -> io::Result<Self> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a namespace name",
            ));
        }
        Netns::open(Path::new("/run/netns").join(name))
    }

    /// Another handle on the same namespace (a duplicated descriptor).
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Netns {
            fd: self.fd.try_clone()?,
        })
    }

    /// Runs `f` on a short-lived thread that has entered this namespace, and
    /// returns its result. The calling thread never changes namespace.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
        let fd = self.fd.as_fd();
        std::thread::scope(|s| {
            s.spawn(move || {
                move_into_link_name_space(fd, Some(LinkNameSpaceType::Network))?;
                f()
            })
            .join()
            .unwrap_or_else(|_| {
                Err(io::Error::other(
                    "thread opening a socket in a namespace panicked",
                ))
            })
        })
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
