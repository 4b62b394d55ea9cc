//! Damaged input never panics: every truncation and many byte flips of a bundle and of a
//! sw-description end in an error or a clean result (a stand-in until fuzz targets exist).

use std::io::Read;

use norrec_swu::bundle::{self, BuildOptions};
use norrec_swu::cpio::Format;
use norrec_swu::description::{Compression, Description, Selection};

const DESC: &str = r##"software = {
  version = "1"; hardware-compatibility = [ "1.0", "#RE:^2\.[0-9]$" ];
  b = { s = { m = {
    images = ( { filename = "a.bin"; device = "/dev/x"; offset = "8K"; compressed = "zlib"; } );
    files = ( { filename = "c.txt"; path = "/c.txt"; properties = { k = [ "v", "w" ]; }; } );
  }; }; };
};
"##;

fn good() -> Vec<u8> {
    let mut load = |name: &str, c: Compression| -> norrec_swu::Result<Vec<u8>> {
        let raw = format!("{name} ").repeat(300).into_bytes();
        Ok(match c {
            Compression::Zlib => norrec_swu::hash::gzip(&raw)?,
            _ => raw,
        })
    };
    let opts = BuildOptions {
        format: Format::Crc,
        sign: None,
    };
    bundle::build(DESC, &mut load, &opts, Vec::new()).unwrap().0
}

fn read_everything(b: &[u8]) {
    let sel = Selection::default()
        .with_hardware("b:1.0")
        .unwrap()
        .with_set_mode("s,m")
        .unwrap();
    let _ = bundle::verify(b, None, None, None);
    if let Ok((mut r, d)) = norrec_swu::SwuReader::open(b, None, &sel) {
        while let Ok(Some(mut e)) = r.next_entry() {
            let c = d
                .artifacts()
                .find(|a| a.filename == e.name)
                .map_or(Compression::None, |a| a.compressed);
            if let Ok(mut dec) = norrec_swu::hash::decoder(c, &mut e) {
                let _ = dec.read_to_end(&mut Vec::new());
            }
            let _ = e.finish();
        }
    }
}

#[test]
fn truncations_and_flips_of_a_bundle() {
    let b = good();
    bundle::verify(&b[..], None, None, None).unwrap();
    for cut in 0..b.len() {
        assert!(
            bundle::verify(&b[..cut], None, None, None).is_err(),
            "cut at {cut}"
        );
    }
    let mut x = 0x1234_5678u32;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut m = b.clone();
        let at = x as usize % m.len();
        m[at] = (x >> 8) as u8;
        read_everything(&m);
    }
}

#[test]
fn truncations_and_flips_of_a_description() {
    let sel = Selection::default()
        .with_hardware("b:1.0")
        .unwrap()
        .with_set_mode("s,m")
        .unwrap();
    assert_eq!(Description::parse(DESC, &sel).unwrap().images.len(), 1);
    let bytes = DESC.as_bytes();
    for cut in 0..bytes.len() {
        if let Ok(t) = std::str::from_utf8(&bytes[..cut]) {
            let _ = Description::parse(t, &sel);
        }
    }
    let specials = b"{}[]()\"\\;:=,#/*-0xL.\n ";
    for (i, _) in bytes.iter().enumerate() {
        for &c in specials {
            let mut m = bytes.to_vec();
            m[i] = c;
            if let Ok(t) = std::str::from_utf8(&m) {
                let _ = Description::parse(t, &sel);
            }
        }
    }
}
