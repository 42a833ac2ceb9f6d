//! Fuzz target: `vaultscope::fuzz_checks::token_responses` (its doc comment says what the input is and what must hold).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vaultscope::fuzz_checks::token_responses(data));
