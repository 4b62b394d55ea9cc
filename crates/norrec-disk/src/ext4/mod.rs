//! ext4 without mounting: [`read`] reads files from existing images (mke2fs's and norrec's),
//! [`write`](mod@write) formats empty file systems and builds populated ones from a directory tree.
//! Read and write sides are apart (gimli/object style); on-disk constants both use are in
//! [`consts`].

pub mod consts;
pub mod read;
pub mod write;
