//! On-disk constants of ext4 that the read and write sides share (from the ext4 disk layout
//! documentation, `Documentation/filesystems/ext4/` in the kernel).

/// The superblock's magic number, at byte 0x38 of the superblock.
pub const MAGIC: u16 = 0xEF53;
/// The primary superblock's byte offset from the start of the file system.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// The root directory's inode number.
pub const ROOT_INO: u32 = 2;
