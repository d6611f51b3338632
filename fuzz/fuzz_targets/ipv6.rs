//! Fuzz target `ipv6`: the body lives in `dataplane::wire::fuzz::ipv6`, which the
//! proptests run too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dataplane::wire::fuzz::ipv6(data);
});
