//! The FDT reader and writer on hand-made bytes: exact layout, and one error naming the offset
//! for each kind of damage.

use norrec_uboot::fdt::{self, Fdt, Property, Tree, tree::Node};

fn small_tree() -> Tree {
    let mut root = Node::new("");
    root.props.push(Property::string("model", "x"));
    let mut c = Node::new("c@1");
    c.props.push(Property::u32("reg", 1));
    c.props.push(Property::new("empty", Vec::new()));
    root.children.push(c);
    Tree {
        reservations: vec![(0x1000, 0x20)],
        boot_cpuid_phys: 0,
        root,
    }
}

#[test]
fn writer_lays_out_blocks_like_dtc() {
    let blob = fdt::write(&small_tree());
    #[rustfmt::skip]
    let want: Vec<u8> = [
        // 0x00 header: magic, totalsize 0xa0, off_struct 0x48, off_strings 0x90, off_rsvmap 0x28
        &[0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 0xa0, 0, 0, 0, 0x48, 0, 0, 0, 0x90, 0, 0, 0, 0x28][..],
        // 0x14 version 17, last_comp 16, boot_cpuid 0, size_strings 0x10, size_struct 0x48
        &[0, 0, 0, 17, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x48],
        // 0x28 reservation (0x1000, 0x20), 0x38 terminator
        &[0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x20],
        &[0; 16],
        // 0x48 BEGIN_NODE "" ; 0x50 PROP len 2 nameoff 0 "x\0" pad
        &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, b'x', 0, 0, 0],
        // 0x60 BEGIN_NODE "c@1\0" ; 0x68 PROP len 4 nameoff 6 (reg) = 1
        &[0, 0, 0, 1, b'c', b'@', b'1', 0, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 1],
        // 0x78 PROP len 0 nameoff 10 (empty); 0x84 END_NODE, 0x88 END_NODE, 0x8c END
        &[0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 9],
    ]
    .concat();
    // The strings block: "model\0" at 0, "reg\0" at 6, "empty\0" at 10.
    assert_eq!(&blob[..0x90], &want[..], "header and structure");
    // 0x90 the strings block: "model" at 0, "reg" at 6, "empty" at 10.
    assert_eq!(&blob[0x90..], b"model\0reg\0empty\0");
}

#[test]
fn reader_walks_what_the_writer_wrote() {
    let blob = fdt::write(&small_tree());
    let f = Fdt::new(&blob).unwrap();
    assert_eq!(f.totalsize(), blob.len());
    assert_eq!(f.reservations(), vec![(0x1000, 0x20)]);
    assert_eq!(f.root().prop_str("model"), Some("x"));
    let c = f.find("/c@1").unwrap();
    assert_eq!(c.prop_u32("reg"), Some(1));
    assert_eq!(f.find("/c").unwrap().name(), "c@1");
    assert!(c.prop("empty").unwrap().value.is_empty());
    assert_eq!(Tree::from_fdt(&f), small_tree());
}

fn err(bytes: &[u8]) -> String {
    Fdt::new(bytes).unwrap_err().to_string()
}

#[test]
fn damage_is_named_by_offset() {
    let good = fdt::write(&small_tree());
    assert!(err(&good[..20]).contains("truncated FDT header"));
    let mut b = good.clone();
    b[0] = 0;
    assert!(err(&b).starts_with("offset 0x0: bad FDT magic"));
    // totalsize past the end of the data
    assert!(err(&good[..0x90]).starts_with("offset 0x4: totalsize 0xa0"));
    // strings block past totalsize (size_dt_strings at 0x20)
    let mut b = good.clone();
    b[0x23] = 0x40;
    assert!(
        err(&b).starts_with("offset 0xc: strings block"),
        "{}",
        err(&b)
    );
    // a property name offset past the strings block (the reg property's nameoff at 0x70)
    let mut b = good.clone();
    b[0x73] = 0x60;
    assert!(
        err(&b).starts_with("offset 0x70: property name offset 0x60"),
        "{}",
        err(&b)
    );
    // a property length running past the structure block (reg's len at 0x6c)
    let mut b = good.clone();
    b[0x6e] = 1;
    assert!(
        err(&b).starts_with("offset 0x6c: property length"),
        "{}",
        err(&b)
    );
    // an unknown token where the END_NODE of c@1 is
    let mut b = good.clone();
    b[0x87] = 7;
    assert!(
        err(&b).starts_with("offset 0x84: unknown structure token 0x7"),
        "{}",
        err(&b)
    );
}
