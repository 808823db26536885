//! [`Watch`]: the route socket's descriptor as registered in the
//! application's `Poll`, following the engine's socket replacements.
//!
//! The engine replaces its route socket after an error (a rebind). A
//! registration of the old descriptor would then report nothing ever again,
//! so `Watch` keeps a clone of the [`Registry`] it was registered with (the
//! same `Poll`: `Registry::try_clone` duplicates its descriptor) and, after
//! every wake-up of the engine, moves the registration to the new socket
//! with the same token and interests. The application never re-registers.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use netstate_sys::Engine;

/// Where the source is registered.
#[derive(Debug)]
struct Registration {
    registry: Registry,
    token: Token,
    interests: Interest,
}

/// The registered duplicate of the route socket's descriptor.
#[derive(Debug)]
pub(crate) struct Watch {
    /// The engine's socket generation that `fd` (and its registration, if
    /// any) reflects; stale until a replacement was fully followed.
    generation: u64,
    /// A duplicate of the current socket; `None` while the engine has none.
    fd: Option<OwnedFd>,
    /// Whether `fd` is registered in `registration`'s registry.
    fd_registered: bool,
    registration: Option<Registration>,
}

impl Watch {
    /// Watches the engine's current socket (registered nowhere yet).
    pub(crate) fn new(engine: &Engine) -> Watch {
        let mut w = Watch {
            generation: 0,
            fd: None,
            fd_registered: false,
            registration: None,
        };
        w.follow(engine);
        w
    }

    /// Registers the current socket with `registry` and remembers where,
    /// for the replacements to come.
    pub(crate) fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        let clone = registry.try_clone()?;
        if let Some(fd) = &self.fd {
            registry.register(&mut SourceFd(&fd.as_raw_fd()), token, interests)?;
            self.fd_registered = true;
        }
        self.registration = Some(Registration {
            registry: clone,
            token,
            interests,
        });
        Ok(())
    }

    /// Changes the token or interests of the registration.
    pub(crate) fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        let clone = match self.registration.take() {
            Some(r) => r.registry,
            None => registry.try_clone()?,
        };
        self.registration = Some(Registration {
            registry: clone,
            token,
            interests,
        });
        match &self.fd {
            Some(fd) if self.fd_registered => {
                registry.reregister(&mut SourceFd(&fd.as_raw_fd()), token, interests)
            }
            Some(fd) => {
                registry.register(&mut SourceFd(&fd.as_raw_fd()), token, interests)?;
                self.fd_registered = true;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Removes the registration.
    pub(crate) fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.registration = None;
        match &self.fd {
            Some(fd) if self.fd_registered => {
                self.fd_registered = false;
                registry.deregister(&mut SourceFd(&fd.as_raw_fd()))
            }
            _ => Ok(()),
        }
    }

    /// Follows a replacement of the engine's socket: deregisters the old
    /// duplicate (still open, so this cannot hit a reused descriptor),
    /// closes it, and registers a duplicate of the new socket where the old
    /// one was. A step that fails leaves the generation stale, so the next
    /// call tries again; meanwhile the engine's deadlines still run it and
    /// its reconcile interval heals what the socket would have said.
    pub(crate) fn follow(&mut self, engine: &Engine) {
        let generation = engine.socket_generation();
        if generation == self.generation {
            return;
        }
        if let Some(old) = self.fd.take() {
            if self.fd_registered {
                if let Some(r) = &self.registration {
                    // Closing the last descriptor of the old socket below
                    // removes it from the poller anyway.
                    let _ = r.registry.deregister(&mut SourceFd(&old.as_raw_fd()));
                }
                self.fd_registered = false;
            }
        }
        self.fd = match engine.readiness_fd() {
            None => None,
            Some(Ok(fd)) => Some(fd),
            // No descriptor left to duplicate: retry at the next wake-up.
            Some(Err(_)) => return,
        };
        if let (Some(fd), Some(r)) = (&self.fd, &self.registration) {
            if r.registry
                .register(&mut SourceFd(&fd.as_raw_fd()), r.token, r.interests)
                .is_err()
            {
                return;
            }
            self.fd_registered = true;
        }
        self.generation = generation;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let (Some(fd), Some(r)) = (&self.fd, &self.registration) {
            if self.fd_registered {
                let _ = r.registry.deregister(&mut SourceFd(&fd.as_raw_fd()));
            }
        }
    }
}
