//! Reading ext4 images (files, directories, symlinks) zero-copy over a block device.
