//! The chip table: what each SPI NOR part is, as U-Boot's `spi-nor-ids.c` and QEMU's `m25p80.c`
//! describe it (JEDEC ids, sizes and 4 KiB-erase support are taken from those tables as facts).
//!
//! The table covers the seed's ISSI IS25WP128 and the common 8–256 MiB parts of ISSI, Winbond,
//! Macronix, Micron, Spansion/Cypress, GigaDevice and SST. Page size is 256 bytes everywhere, as in
//! U-Boot's `INFO()` entries. A part whose U-Boot entry lacks `SECT_4K` erases in 64 KiB (or
//! 256 KiB) units only here too.
//!
//! ```
//! use norrec_nor::chips;
//! let chip = chips::find("IS25WP128").unwrap();
//! assert_eq!(chip.jedec, [0x9d, 0x70, 0x18]);
//! assert_eq!(chip.size, 16 << 20);
//! assert_eq!(chip.sector_size, 4096);
//! assert!(!chip.addr4);
//! assert_eq!(chips::by_jedec(&[0x9d, 0x70, 0x18, 0, 0, 0]).unwrap().name, "is25wp128");
//! ```

/// How a part over 16 MiB is switched into 4-byte address mode (JESD216 BFPT dword 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enter4b {
    /// Opcode 0xB7 (EN4B) / 0xE9 (EX4B).
    En4b,
    /// WREN first, then 0xB7 / 0xE9 (Micron).
    WrenEn4b,
    /// Bank register write 0x17 with bit 7 (EXTADD) set or clear (Spansion).
    Brwr,
}

/// One SPI NOR part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chip {
    /// Name as U-Boot spells it (lower case), e.g. `is25wp128`.
    pub name: &'static str,
    /// Manufacturer.
    pub vendor: &'static str,
    /// RDID bytes 0..3: manufacturer id, memory type, capacity code.
    pub jedec: [u8; 3],
    /// Extended id bytes that follow the JEDEC id in RDID where parts share a JEDEC id.
    pub ext_id: Option<&'static [u8]>,
    /// Size in bytes.
    pub size: u64,
    /// Program page size in bytes.
    pub page_size: u32,
    /// Smallest erase unit: 4096 where the part has a 4 KiB erase.
    pub sector_size: u32,
    /// Supported erase granularities, ascending (4 KiB 0x20, 32 KiB 0x52, largest block 0xD8).
    pub erase_sizes: &'static [u32],
    /// Needs 4-byte addressing to reach all of it (size > 16 MiB).
    pub addr4: bool,
    /// Has the dedicated 4-byte opcodes (U-Boot's `SPI_NOR_4B_OPCODES`); the model accepts them
    /// on every part over 16 MiB, the host driver prefers them only where this is set.
    pub opcodes_4b: bool,
    /// How the host enters 4-byte address mode when it does not use the 4-byte opcodes.
    pub enter_4b: Enter4b,
    /// Has a flag status register (0x70, Micron's `USE_FSR`).
    pub fsr: bool,
    /// Accepts chip erase (0xC7/0x60); Micron's stacked-die parts do not (`NO_CHIP_ERASE`).
    pub chip_erase: bool,
}

impl Chip {
    /// The full RDID answer: JEDEC id then the extended id, if any.
    pub fn id(&self) -> Vec<u8> {
        let mut id = self.jedec.to_vec();
        id.extend_from_slice(self.ext_id.unwrap_or(&[]));
        id
    }

    /// Largest erase unit (the block that opcode 0xD8 erases).
    pub fn block_size(&self) -> u32 {
        *self.erase_sizes.last().unwrap_or(&self.sector_size)
    }

    /// Whether `size` is one of this part's erase granularities.
    pub fn can_erase(&self, size: u32) -> bool {
        self.erase_sizes.contains(&size)
    }

    /// The erase opcode for an erase unit of `size` bytes, in 3- or 4-byte-opcode form.
    pub fn erase_opcode(&self, size: u32, four_byte_opcode: bool) -> Option<u8> {
        if !self.can_erase(size) {
            return None;
        }
        let (op3, op4) = match size {
            4096 => (0x20, 0x21),
            32768 => (0x52, 0x5c),
            _ if size == self.block_size() => (0xd8, 0xdc),
            _ => return None,
        };
        Some(if four_byte_opcode { op4 } else { op3 })
    }

    /// Size in the words U-Boot uses ("16 MiB", "512 KiB").
    pub fn size_text(&self) -> String {
        human(self.size)
    }
}

/// `n` bytes as U-Boot prints them: "4 KiB", "16 MiB".
pub fn human(n: u64) -> String {
    if n >= 1 << 30 && n % (1 << 30) == 0 {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} Bytes")
    }
}

const MIB: u64 = 1 << 20;
const E4_32_64: &[u32] = &[4096, 32768, 65536];
const E4_64: &[u32] = &[4096, 65536];
const E64: &[u32] = &[65536];
const E256: &[u32] = &[262144];

/// Flags for [`chip`]: 4-byte opcodes, flag status register, no chip erase.
const OP4: u8 = 1;
const FSR: u8 = 2;
const NO_CE: u8 = 4;

const fn chip(
    name: &'static str,
    vendor: &'static str,
    id: u32,
    ext_id: Option<&'static [u8]>,
    mib: u64,
    erase_sizes: &'static [u32],
    flags: u8,
) -> Chip {
    let enter_4b = match (id >> 16) as u8 {
        0x20 => Enter4b::WrenEn4b,
        0x01 | 0x34 => Enter4b::Brwr,
        _ => Enter4b::En4b,
    };
    Chip {
        name,
        vendor,
        jedec: [(id >> 16) as u8, (id >> 8) as u8, id as u8],
        ext_id,
        size: mib * MIB,
        page_size: 256,
        sector_size: erase_sizes[0],
        erase_sizes,
        addr4: mib > 16,
        opcodes_4b: flags & OP4 != 0,
        enter_4b,
        fsr: flags & FSR != 0,
        chip_erase: flags & NO_CE == 0,
    }
}

/// The parts this crate knows, grouped by vendor.
pub const CHIPS: &[Chip] = &[
    // ISSI
    chip("is25lp064", "ISSI", 0x9d6017, None, 8, E64, 0),
    chip("is25wp064", "ISSI", 0x9d7017, None, 8, E4_32_64, 0),
    chip("is25lp128", "ISSI", 0x9d6018, None, 16, E4_32_64, 0),
    chip("is25wp128", "ISSI", 0x9d7018, None, 16, E4_32_64, 0),
    chip("is25lp256", "ISSI", 0x9d6019, None, 32, E4_32_64, 0),
    chip("is25wp256", "ISSI", 0x9d7019, None, 32, E4_32_64, OP4),
    chip("is25lp512", "ISSI", 0x9d601a, None, 64, E4_32_64, 0),
    chip("is25wp512", "ISSI", 0x9d701a, None, 64, E4_32_64, 0),
    chip("is25lp01g", "ISSI", 0x9d601b, None, 128, E4_32_64, 0),
    chip("is25wp01g", "ISSI", 0x9d701b, None, 128, E4_32_64, 0),
    // Winbond
    chip("w25q64cv", "Winbond", 0xef4017, None, 8, E4_32_64, 0),
    chip("w25q64dw", "Winbond", 0xef6017, None, 8, E4_32_64, 0),
    chip("w25q64jv", "Winbond", 0xef7017, None, 8, E4_32_64, 0),
    chip("w25q128", "Winbond", 0xef4018, None, 16, E4_32_64, 0),
    chip("w25q128fw", "Winbond", 0xef6018, None, 16, E4_32_64, 0),
    chip("w25q128jv", "Winbond", 0xef7018, None, 16, E4_32_64, 0),
    chip("w25q256", "Winbond", 0xef4019, None, 32, E4_32_64, 0),
    chip("w25q256fw", "Winbond", 0xef6019, None, 32, E4_32_64, 0),
    chip("w25q512jvq", "Winbond", 0xef4020, None, 64, E4_32_64, 0),
    chip("w25q01jv", "Winbond", 0xef4021, None, 128, E4_32_64, 0),
    chip("w25q02jv", "Winbond", 0xef7022, None, 256, E4_32_64, 0),
    // Macronix
    chip("mx25l6405d", "Macronix", 0xc22017, None, 8, E4_32_64, 0),
    chip("mx25u6435f", "Macronix", 0xc22537, None, 8, E4_32_64, 0),
    chip("mx25l12805d", "Macronix", 0xc22018, None, 16, E4_32_64, 0),
    chip("mx25u12835f", "Macronix", 0xc22538, None, 16, E4_32_64, 0),
    chip("mx25l25635e", "Macronix", 0xc22019, None, 32, E64, 0),
    chip("mx25u25635f", "Macronix", 0xc22539, None, 32, E4_32_64, OP4),
    chip("mx66l51235l", "Macronix", 0xc2201a, None, 64, E64, OP4),
    chip("mx66l1g45g", "Macronix", 0xc2201b, None, 128, E4_32_64, 0),
    chip("mx66l2g45g", "Macronix", 0xc2201c, None, 256, E4_32_64, OP4),
    // Micron (formerly Numonyx/ST): 4 KiB subsectors and 64 KiB sectors, flag status register
    chip("n25q064", "Micron", 0x20ba17, None, 8, E4_64, 0),
    chip("n25q128a11", "Micron", 0x20bb18, None, 16, E4_64, 0),
    chip("n25q128a13", "Micron", 0x20ba18, None, 16, E4_64, 0),
    chip(
        "mt25ql256a",
        "Micron",
        0x20ba19,
        Some(&[0x10, 0x44, 0x00]),
        32,
        E4_64,
        OP4 | FSR,
    ),
    chip("n25q256a", "Micron", 0x20ba19, None, 32, E4_64, FSR),
    chip("n25q512ax3", "Micron", 0x20ba20, None, 64, E4_64, FSR),
    chip("n25q00", "Micron", 0x20ba21, None, 128, E4_64, FSR | NO_CE),
    chip(
        "mt25ql02g",
        "Micron",
        0x20ba22,
        None,
        256,
        E4_64,
        OP4 | FSR | NO_CE,
    ),
    // Spansion / Cypress: the S family shares JEDEC ids and tells parts apart by extended id
    chip("s25fl064l", "Spansion", 0x016017, None, 8, E4_32_64, OP4),
    chip(
        "s25fl128s",
        "Spansion",
        0x012018,
        Some(&[0x4d, 0x01, 0x80]),
        16,
        E64,
        0,
    ),
    chip("s25fl128l", "Spansion", 0x016018, None, 16, E4_32_64, OP4),
    chip(
        "s25fl256s0",
        "Spansion",
        0x010219,
        Some(&[0x4d, 0x00, 0x80]),
        32,
        E256,
        0,
    ),
    chip(
        "s25fl256s1",
        "Spansion",
        0x010219,
        Some(&[0x4d, 0x01, 0x80]),
        32,
        E64,
        0,
    ),
    chip("s25fl256l", "Spansion", 0x016019, None, 32, E4_32_64, OP4),
    chip(
        "s25fl512s",
        "Spansion",
        0x010220,
        Some(&[0x4d, 0x00, 0x80]),
        64,
        E256,
        0,
    ),
    chip(
        "s70fs01gs_256k",
        "Spansion",
        0x010221,
        Some(&[0x4d, 0x00]),
        128,
        E256,
        0,
    ),
    chip(
        "s25hl02gt",
        "Spansion",
        0x342a1c,
        Some(&[0x0f, 0x00, 0x90]),
        256,
        E256,
        OP4 | NO_CE,
    ),
    // GigaDevice
    chip("gd25q64", "GigaDevice", 0xc84017, None, 8, E4_32_64, 0),
    chip("gd25q128", "GigaDevice", 0xc84018, None, 16, E4_32_64, 0),
    chip("gd25lq128", "GigaDevice", 0xc86018, None, 16, E4_32_64, 0),
    chip("gd25b256", "GigaDevice", 0xc84019, None, 32, E4_32_64, OP4),
    chip("gd25lq256d", "GigaDevice", 0xc86019, None, 32, E4_32_64, 0),
    chip("gd25b512", "GigaDevice", 0xc8471a, None, 64, E4_32_64, OP4),
    chip("gd55b01g", "GigaDevice", 0xc8471b, None, 128, E4_32_64, OP4),
    chip("gd55b02g", "GigaDevice", 0xc8471c, None, 256, E4_32_64, OP4),
    // SST (Microchip): the largest parts are 8 MiB
    chip("sst25vf064c", "SST", 0xbf254b, None, 8, E4_32_64, 0),
    chip("sst26vf064b", "SST", 0xbf2643, None, 8, E4_64, 0),
];

/// The chip named `name` (case-insensitive, U-Boot's spelling: `is25wp128`, `w25q128`).
pub fn find(name: &str) -> Option<&'static Chip> {
    CHIPS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// Every chip of exactly `size` bytes, in table order.
pub fn by_size(size: u64) -> Vec<&'static Chip> {
    CHIPS.iter().filter(|c| c.size == size).collect()
}

/// The chip that answers `id` to RDID: a chip whose JEDEC and extended id are a prefix of `id`,
/// the longest such match first (so a Spansion part with an extended id wins over a sibling
/// without one), as U-Boot's probe does.
pub fn by_jedec(id: &[u8]) -> Option<&'static Chip> {
    CHIPS
        .iter()
        .filter(|c| id.starts_with(&c.id()))
        .max_by_key(|c| c.ext_id.map_or(0, <[u8]>::len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sizes_in_range() {
        for (i, a) in CHIPS.iter().enumerate() {
            assert!((8 * MIB..=256 * MIB).contains(&a.size), "{}", a.name);
            assert!(a.erase_sizes.windows(2).all(|w| w[0] < w[1]), "{}", a.name);
            assert_eq!(a.addr4, a.size > 16 * MIB);
            for b in &CHIPS[i + 1..] {
                assert_ne!(
                    a.id(),
                    b.id(),
                    "{} and {} answer the same id",
                    a.name,
                    b.name
                );
                assert_ne!(a.name, b.name);
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(find("W25Q128").unwrap().jedec, [0xef, 0x40, 0x18]);
        assert!(find("nope").is_none());
        assert!(by_size(16 * MIB).iter().any(|c| c.name == "is25wp128"));
        assert!(by_size(12345).is_empty());
        // Extended id picks the Spansion sibling; a bare JEDEC id picks the part without one.
        let s1 = by_jedec(&[0x01, 0x02, 0x19, 0x4d, 0x01, 0x80]).unwrap();
        assert_eq!(s1.name, "s25fl256s1");
        assert_eq!(s1.block_size(), 65536);
        let n = by_jedec(&[0x20, 0xba, 0x19, 0, 0, 0]).unwrap();
        assert_eq!(n.name, "n25q256a");
        assert!(by_jedec(&[0xff, 0xff, 0xff]).is_none());
    }

    #[test]
    fn erase_opcodes() {
        let c = find("is25wp128").unwrap();
        assert_eq!(c.erase_opcode(4096, false), Some(0x20));
        assert_eq!(c.erase_opcode(32768, true), Some(0x5c));
        assert_eq!(c.erase_opcode(65536, false), Some(0xd8));
        let s = find("s25fl512s").unwrap();
        assert_eq!(s.erase_opcode(262144, true), Some(0xdc));
        assert_eq!(s.erase_opcode(4096, false), None);
        assert_eq!(human(16 << 20), "16 MiB");
        assert_eq!(human(4096), "4 KiB");
        assert_eq!(human(256), "256 Bytes");
    }
}
