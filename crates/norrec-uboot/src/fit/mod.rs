//! FIT (being written)
