//! libFuzzer entry point of the `params_decoder` target; the body lives in `roster_fuzz::params_decoder`
//! so that `fuzz/run-stable` can drive the same code without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roster_fuzz::params_decoder(data));
