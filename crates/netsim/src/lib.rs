//! tern-netsim: a sans-IO network emulator for tests (being written).
