//! libFuzzer entry point of the `file_upload` target; the body lives in `roster_fuzz::file_upload`
//! so that `fuzz/run-stable` can drive the same code without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roster_fuzz::file_upload(data));
