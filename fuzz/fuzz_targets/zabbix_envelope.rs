//! libFuzzer entry point of the `zabbix_envelope` target; the body lives in `roster_fuzz::zabbix_envelope`
//! so that `fuzz/run-stable` can drive the same code without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roster_fuzz::zabbix_envelope(data));
