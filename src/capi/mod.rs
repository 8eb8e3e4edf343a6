//! The C ABI (`include/groupkv.h`). Filled in by the C ABI work.
