//! mmkv: a multi-master replicated key-value store.
fn main() {}
