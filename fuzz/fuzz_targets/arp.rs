//! Fuzz target `arp`: the body lives in `dataplane::wire::fuzz::arp`, which the
//! proptests run too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dataplane::wire::fuzz::arp(data);
});
