//! Flattened device trees (the DTB format of the devicetree specification, version 17).
//!
//! - [`read`]: [`Fdt`], a zero-copy, checked view over `&[u8]`;
//! - [`tree`]: [`Tree`], an owned tree to build or edit;
//! - [`write`](mod@write): flattens a [`Tree`] the way dtc and libfdt lay blobs out;
//! - [`rw`]: in-place edits with libfdt's semantics (what mkimage does after dtc);
//! - [`source`]: source text back out, as `dtc -I dtb -O dts` prints it;
//! - [`skeleton`]: a blob's metadata without its big values (large FITs in bounded memory).
//!
//! Hand-written: the reader must name the offset of every structural error and borrow from the
//! input, and the writer must reproduce dtc's and libfdt's strings-block order (see [`write`](mod@write)).

pub mod read;
pub mod rw;
pub mod skeleton;
pub mod source;
pub mod tree;
pub mod write;

pub use read::{Fdt, Header, Node, Prop};
pub use tree::{Node as OwnedNode, Property, Tree};
pub use write::{StringTable, WriteOptions, blob_size, write, write_to, write_with};

/// `0xd00dfeed`, big-endian at offset 0.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// Size of the header (version 17).
pub const HEADER_SIZE: usize = 40;
pub(crate) const FDT_BEGIN_NODE: u32 = 1;
pub(crate) const FDT_END_NODE: u32 = 2;
pub(crate) const FDT_PROP: u32 = 3;
pub(crate) const FDT_NOP: u32 = 4;
pub(crate) const FDT_END: u32 = 9;
