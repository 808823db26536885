//! BSD / macOS routing-socket (`PF_ROUTE`) messages. (Being written: issue 8.)
