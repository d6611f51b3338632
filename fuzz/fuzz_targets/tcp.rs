//! Fuzz target `tcp`: the body lives in `dataplane::wire::fuzz::tcp`, which the
//! proptests run too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dataplane::wire::fuzz::tcp(data);
});
