#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| norrec_fuzz::ext4_read(data));
