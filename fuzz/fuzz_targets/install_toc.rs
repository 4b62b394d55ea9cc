#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| norrec_fuzz::install_toc(data));
