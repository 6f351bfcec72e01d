//! libFuzzer entry point of the `bitrix_filter` target; the body lives in `roster_fuzz::bitrix_filter`
//! so that `fuzz/run-stable` can drive the same code without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roster_fuzz::bitrix_filter(data));
