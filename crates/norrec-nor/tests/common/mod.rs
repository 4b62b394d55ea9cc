//! Helpers shared by the integration tests: everything goes through the byte interface.
#![allow(dead_code)]

use norrec_nor::chips::{self, Chip};
use norrec_nor::device::SpiNor;
use norrec_nor::storage::{MemStorage, Storage};

/// A chip from the table by name.
pub fn chip(name: &str) -> &'static Chip {
    chips::find(name).unwrap_or_else(|| panic!("no chip {name}"))
}

/// An erased in-memory part.
pub fn nor(name: &str) -> SpiNor<MemStorage> {
    let c = chip(name);
    SpiNor::new(c, MemStorage::erased(c.size)).unwrap()
}

/// One command: select, transfer `bytes` in place, deselect; returns the bytes received.
pub fn cmd<S: Storage>(nor: &mut SpiNor<S>, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    nor.select();
    nor.transfer(&mut b);
    nor.deselect().unwrap();
    b
}

/// Status register via RDSR.
pub fn rdsr<S: Storage>(nor: &mut SpiNor<S>) -> u8 {
    cmd(nor, &[0x05, 0])[1]
}

/// `len` bytes at `addr` via READ (0x03) with a 3-byte address.
pub fn read3<S: Storage>(nor: &mut SpiNor<S>, addr: u32, len: usize) -> Vec<u8> {
    let a = addr.to_be_bytes();
    let mut b = vec![0x03, a[1], a[2], a[3]];
    b.resize(4 + len, 0);
    cmd(nor, &b)[4..].to_vec()
}

/// WREN then a command with a 3-byte address and data.
pub fn wren_cmd3<S: Storage>(nor: &mut SpiNor<S>, op: u8, addr: u32, data: &[u8]) {
    cmd(nor, &[0x06]);
    let a = addr.to_be_bytes();
    let mut b = vec![op, a[1], a[2], a[3]];
    b.extend_from_slice(data);
    cmd(nor, &b);
}
