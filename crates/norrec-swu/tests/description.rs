//! The sw-description corpus (tests/corpus): each file resolved for several selections against
//! the expected model, and each libconfig file's JSON twin giving the same model.

use norrec_swu::description::{Compression, Description, Selection};

fn corpus(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn sel(board: Option<&str>, setmode: Option<&str>) -> Selection {
    let mut s = Selection::default();
    if let Some(b) = board {
        s = s.with_hardware(&format!("{b}:1.0")).unwrap();
    }
    if let Some(e) = setmode {
        s = s.with_set_mode(e).unwrap();
    }
    s
}

fn both(stem: &str, s: &Selection) -> Description {
    let a = Description::parse(&corpus(&format!("{stem}.swdesc")), s).unwrap();
    let b = Description::parse(&corpus(&format!("{stem}.json")), s).unwrap();
    assert_eq!(a, b, "{stem}: libconfig and JSON differ for {s:?}");
    a
}

fn files(d: &Description) -> Vec<&str> {
    d.images.iter().map(|i| i.filename.as_str()).collect()
}

#[test]
fn board_set_mode_entry_wins() {
    let d = both("tree", &sel(Some("cubieboard"), Some("stable,main")));
    assert_eq!(d.version.as_deref(), Some("2.0.1")); // from the root: per field fallback
    assert_eq!(d.description.as_deref(), Some("cubieboard only")); // board.description
    assert_eq!(d.hardware_compatibility, ["1.0", "#RE:^2\\.[0-9]$"]);
    assert_eq!(files(&d), ["spl.bin", "rootfs.ext4.gz"]);
    let spl = &d.images[0];
    assert_eq!(spl.origin, "software.cubieboard.stable.main.images[0]");
    assert_eq!(spl.handler.as_deref(), Some("raw"));
    assert_eq!(spl.offset, 8192);
    assert_eq!(
        spl.sha256.as_deref(),
        Some("8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4")
    );
    let root = &d.images[1];
    assert_eq!(root.handler.as_deref(), Some("raw")); // defaulted from device
    assert_eq!(root.compressed, Compression::Zlib);
    assert!(root.installed_directly);
    assert_eq!(root.properties["opts"], ["a", "b"]);
    assert_eq!(root.properties["fsck"], ["yes"]);
    assert_eq!(d.files[0].path.as_deref(), Some("/boot/boot.scr"));
    assert_eq!(d.files[0].filesystem.as_deref(), Some("vfat"));
    assert_eq!(d.files[0].handler.as_deref(), Some("rawfile"));
    assert_eq!(d.bootenv[0].name, "rootpart");
    assert_eq!(d.bootenv[0].value, "2");
}

#[test]
fn list_ref_pulls_in_another_list() {
    let d = both("tree", &sel(Some("cubieboard"), Some("stable,alt")));
    assert_eq!(files(&d), ["spl.bin", "rootfs.ext4.gz", "extra.bin"]);
    assert_eq!(
        d.images[0].origin,
        "software.cubieboard.stable.main.images[0]"
    );
    assert_eq!(d.images[2].compressed, Compression::Zstd);
    assert_eq!(d.bootenv[0].value, "3");
    assert!(d.files.is_empty()); // alt has no files and board/root have none either
}

#[test]
fn group_ref_is_followed() {
    let d = both("tree", &sel(Some("cubieboard"), Some("stable,linked")));
    assert_eq!(files(&d), ["spl.bin", "rootfs.ext4.gz"]);
}

#[test]
fn set_mode_without_board_then_board_then_root() {
    // no board: software.stable.main
    let d = both("tree", &sel(None, Some("stable,main")));
    assert_eq!(files(&d), ["noboard.img"]);
    assert!(d.images[0].install_if_different);
    assert_eq!(d.images[0].name.as_deref(), Some("nb"));
    assert_eq!(d.description.as_deref(), Some("tree with links"));
    // another board with the set/mode: board.set.mode misses, set.mode matches
    let d = both("tree", &sel(Some("other"), Some("stable,main")));
    assert_eq!(files(&d), ["noboard.img"]);
    // board only: software.cubieboard.images, offset 0x10L
    let d = both("tree", &sel(Some("cubieboard"), None));
    assert_eq!(files(&d), ["board.img"]);
    assert_eq!(d.images[0].offset, 16);
    // nothing selected: the root
    let d = both("tree", &Selection::default());
    assert_eq!(files(&d), ["generic.img"]);
}

#[test]
fn missing_set_mode_is_an_error() {
    let e = Description::parse(
        &corpus("tree.swdesc"),
        &sel(Some("cubieboard"), Some("stable,nope")),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "selection stable,nope: no such software set and mode in sw-description"
    );
    let e = Description::parse(&corpus("bad-set.swdesc"), &sel(None, Some("stable,main")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("stable,main"), "{e}");
}

#[test]
fn hardware_compatibility_exact_and_regex() {
    let d = both("tree", &Selection::default());
    d.check_hardware("1.0").unwrap();
    d.check_hardware("2.4").unwrap();
    let e = d.check_hardware("3.0").unwrap_err().to_string();
    assert!(
        e.starts_with("hardware not compatible: revision \"3.0\""),
        "{e}"
    );
    // "\." is kept as a backslash-dot, so 2x4 does not match
    assert!(d.check_hardware("2x4").is_err());
    // no list at all: refused, as Debian's swupdate does
    let flat = both("flat", &Selection::default());
    let e = flat.check_hardware("1.0").unwrap_err().to_string();
    assert!(e.contains("no hardware-compatibility"), "{e}");
}

#[test]
fn flat_sections_and_defaults() {
    let d = both("flat", &Selection::default());
    assert_eq!(files(&d), ["a.bin", "b.bin"]); // the entry without filename is skipped
    assert_eq!(d.images[0].handler.as_deref(), Some("ubivol"));
    assert_eq!(d.images[1].offset, 1 << 20);
    assert_eq!(d.images[1].compressed, Compression::Zlib); // deprecated boolean
    assert_eq!(d.images[1].encrypted.as_deref(), Some("aes-cbc"));
    assert!(d.files[0].create_destination && d.files[0].preserve_attributes);
    assert_eq!(d.scripts[0].handler.as_deref(), Some("shellscript"));
    assert_eq!(d.scripts[1].handler.as_deref(), Some("lua"));
    assert_eq!(d.bootenv.len(), 2);
    assert_eq!(d.bootenv[1].value, "");
    assert_eq!(d.partitions[0].handler.as_deref(), Some("diskpart"));
    assert_eq!(d.partitions[0].properties["partition-1"].len(), 4);
}

#[test]
fn bad_descriptions_name_the_field() {
    let e = Description::parse(&corpus("bad-path.swdesc"), &Selection::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "sw-description field software.files[0].path: \"/boot/../../etc/passwd\": '..' component (path traversal)"
    );
    let e = Description::parse(&corpus("bad-type.swdesc"), &Selection::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "sw-description field software.images[0].offset: not a size: \"8Q\""
    );
    let e = Description::parse(&corpus("bad-loop.swdesc"), &sel(None, Some("stable,main")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("too deep"), "{e}");
    let e = Description::parse(
        "software = { images = ( { filename = \"../x\"; } ); };",
        &Selection::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("software.images[0].filename") && e.contains("traversal"),
        "{e}"
    );
    let e = Description::parse(
        "software = { images = ( { filename = 3; } ); };",
        &Selection::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "sw-description field software.images[0].filename: must be a string, found a integer"
    );
    let e = Description::parse(
        "{ \"software\": { \"images\": [ 1 ] } }",
        &Selection::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("software.images[0]"), "{e}");
    let e = Description::parse("version = \"1\";", &Selection::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("software"), "{e}");
}
