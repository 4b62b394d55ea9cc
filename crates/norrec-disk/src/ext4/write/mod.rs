//! Writing ext4: formatting an empty file system and building one from a directory tree.
