//! Hostile and broken DMR++ input: every case must end in `Err` (with a line number) or in a
//! manifest with problems — never a panic, a hang, or an allocation driven by the input's
//! claims. Cases: truncation of real sidecars at many offsets, wrong nesting, unknown types,
//! absurd sizes, a zlib bomb, an entity bomb, deep nesting, and gigabyte-long tokens.

use std::io::{BufReader, Cursor, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use vz::dmrpp::{parse_dmrpp, parse_dmrpp_reader, DmrppError, Limits};
use vz::manifest::GranuleManifest;

const HEAD: &str = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<Dataset xmlns="http://xml.opendap.org/ns/DAP/4.0#" xmlns:dmrpp="http://xml.opendap.org/dap/dmrpp/1.0.0#" name="t.h5" dmrpp:href="OPeNDAP_DMRpp_DATA_ACCESS_URL" dmrpp:version="3.21.1">
"#;

fn doc(body: &str) -> String {
    format!("{HEAD}{body}\n</Dataset>\n")
}

fn ok(body: &str) -> GranuleManifest {
    match parse_dmrpp(doc(body).as_bytes(), "mem://t.h5.dmrpp") {
        Ok(m) => m,
        Err(e) => panic!("expected a manifest, got {e}"),
    }
}

fn err(xml: &str) -> DmrppError {
    match parse_dmrpp(xml.as_bytes(), "mem://t.h5.dmrpp") {
        Ok(m) => panic!("expected an error, got {m:?}"),
        Err(e) => e,
    }
}

fn line_of(e: &DmrppError) -> u64 {
    match e {
        DmrppError::Xml { line, .. } | DmrppError::Format { line, .. } | DmrppError::TooLarge { line, .. } => *line,
        other => panic!("unexpected error kind {other}"),
    }
}

const GOOD_VAR: &str = r#"<Int32 name="ok"><Dim size="4"/><dmrpp:chunks byteOrder="LE"><dmrpp:chunk offset="100" nBytes="16"/></dmrpp:chunks></Int32>"#;

fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real"));
    if dir.is_dir() {
        // Without `..`: object_store paths refuse them.
        Some(dir.canonicalize().unwrap_or(dir))
    } else {
        println!("NOTICE: {} is absent; truncation of real sidecars skipped", dir.display());
        None
    }
}

#[test]
fn truncated_real_sidecars_are_errors_with_lines() {
    let Some(root) = fixtures() else { return };
    let files = [
        ("dmrpp_only/MERRA2_400.tavgM_2d_slv_Nx.201606.nc4.dmrpp", 400),
        ("dmrpp_pairs/grid_2_2d_sin_msv.h5.dmrpp", 300),
        ("dmrpp_pairs/FValue_int64.h5.dmrpp", 300),
        ("dmrpp_pairs/compound_two_chunks.h5.dmrpp", 200),
        ("dmrpp_pairs/t_vl_string_1d.h5.dmrpp", 200),
        ("dmrpp_pairs/vlen_dim.h5.dmrpp", 200),
        ("dmrpp_only/ATL08_20200716202251.h5.dmrpp", 12),
    ];
    let started = Instant::now();
    let mut cuts = 0;
    for (name, n) in files {
        let bytes = std::fs::read(root.join(name)).unwrap();
        let end = bytes.windows(10).rposition(|w| w == b"</Dataset>").unwrap() + 10;
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        for i in 0..n {
            let cut = (bytes.len() - 1) * i / n + (i % 7);
            let cut = cut.min(end - 1);
            let e = match parse_dmrpp(&bytes[..cut], name) {
                Ok(_) => panic!("{name} cut at {cut} parsed"),
                Err(e) => e,
            };
            let line = line_of(&e);
            assert!(line >= 1 && line <= lines, "{name} cut at {cut}: line {line} of {lines}: {e}");
            cuts += 1;
        }
    }
    println!("{cuts} truncations, all errors, in {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn truncation_message_names_the_open_element() {
    let xml = doc(GOOD_VAR);
    let cut = xml.find("</Int32>").unwrap();
    let e = err(&xml[..cut]);
    let text = e.to_string();
    assert!(
        text.contains("mem://t.h5.dmrpp") && text.contains("line 3") && text.contains("dmrpp:chunks")
            || text.contains("Int32"),
        "{text}"
    );
}

#[test]
fn wrong_nesting_is_an_error_with_a_line() {
    // Mismatched end tag.
    let e = err(&doc("<Int32 name=\"a\">\n<Dim size=\"2\"/>\n</Float32>"));
    assert!(matches!(e, DmrppError::Xml { line: 5, .. }), "{e}");
    // A group inside a variable.
    let e = err(&doc("<Int32 name=\"a\">\n<Group name=\"g\"/></Int32>"));
    assert!(matches!(e, DmrppError::Format { line: 4, .. }), "{e}");
    // A variable inside an atomic variable.
    let e = err(&doc("<Int32 name=\"a\"><Float32 name=\"b\"/></Int32>"));
    assert!(matches!(e, DmrppError::Format { .. }), "{e}");
    // Chunks outside a variable.
    let e = err(&doc("<dmrpp:chunk offset=\"1\" nBytes=\"2\"/>"));
    assert!(matches!(e, DmrppError::Format { line: 3, .. }), "{e}");
    // Wrong root, no root, two roots, content after the root.
    assert!(matches!(err("<Group name=\"x\"/>"), DmrppError::Format { .. }));
    assert!(matches!(err(""), DmrppError::Format { .. }));
    assert!(matches!(err("   \n  "), DmrppError::Format { .. }));
    assert!(matches!(err(&format!("{}<Dataset/>", doc(""))), DmrppError::Format { .. }));
    // Not XML at all.
    let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert!(parse_dmrpp(&junk, "junk").is_err());
    assert!(matches!(err("<Dataset name=\"x\" name=\"y\"></Dataset>"), DmrppError::Xml { .. }));
}

#[test]
fn deep_nesting_is_bounded() {
    let depth = 100_000;
    let xml = format!("{HEAD}{}{}</Dataset>", "<Structure name=\"s\">".repeat(depth), "</Structure>".repeat(depth));
    let e = err(&xml);
    assert!(e.to_string().contains("nested deeper"), "{e}");
    let attrs = format!(
        "{HEAD}{}{}</Dataset>",
        "<Attribute name=\"c\" type=\"Container\">".repeat(depth),
        "</Attribute>".repeat(depth)
    );
    assert!(err(&attrs).to_string().contains("nested deeper"));
    // Nested, but within bounds: a Structure of Structures works.
    let m = ok(&format!(
        "{}<Int8 name=\"x\"/>{}",
        "<Structure name=\"s\">".repeat(50),
        "<dmrpp:chunks byteOrder=\"LE\"><dmrpp:chunk offset=\"1\" nBytes=\"1\"/></dmrpp:chunks></Structure>".repeat(50)
    ));
    assert_eq!(m.arrays.len(), 1);
    assert_eq!(m.arrays[0].dtype.size(), 1);
}

#[test]
fn unknown_types_and_filters_are_problems_not_errors() {
    let m = ok(&format!(
        "<Float128 name=\"f\"><Dim size=\"3\"/></Float128>\n<Sequence name=\"s\"><Int32 name=\"i\"/></Sequence>\n\
         <Enum name=\"e\" enum=\"/nowhere\"><dmrpp:chunks><dmrpp:chunk offset=\"1\" nBytes=\"1\"/></dmrpp:chunks></Enum>\n\
         <Int16 name=\"z\"><Dim size=\"4\"/><dmrpp:chunks compressionType=\"szip deflate\" byteOrder=\"LE\"><dmrpp:chunk offset=\"1\" nBytes=\"8\"/></dmrpp:chunks></Int16>\n\
         <Int32 name=\"h4\"><Dim size=\"4\"/><dmrpp:chunks><dmrpp:block offset=\"10\" nBytes=\"8\"/><dmrpp:block offset=\"30\" nBytes=\"8\"/></dmrpp:chunks></Int32>\n\
         <Int32 name=\"badnum\"><Dim size=\"4\"/><dmrpp:chunks><dmrpp:chunk offset=\"-5\" nBytes=\"x\"/></dmrpp:chunks></Int32>\n\
         <Int32 name=\"badpos\"><Dim size=\"4\"/><dmrpp:chunks><dmrpp:chunkDimensionSizes>2</dmrpp:chunkDimensionSizes><dmrpp:chunk offset=\"5\" nBytes=\"8\" chunkPositionInArray=\"[1]\"/></dmrpp:chunks></Int32>\n\
         <Int32 name=\"outside\"><Dim size=\"4\"/><dmrpp:chunks><dmrpp:chunkDimensionSizes>2</dmrpp:chunkDimensionSizes><dmrpp:chunk offset=\"5\" nBytes=\"8\" chunkPositionInArray=\"[6]\"/></dmrpp:chunks></Int32>\n\
         <Int32 name=\"nodim\"><Dim name=\"/missing\"/></Int32>\n<Weird name=\"w\"><x/></Weird>\n{GOOD_VAR}"
    ));
    let paths: Vec<&str> = m.arrays.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["/h4", "/ok", "/z"]);
    let h4 = m.array("/h4").unwrap();
    assert!(h4.unsupported.as_deref().unwrap().contains("HDF4"));
    assert!(h4.chunks.is_empty());
    assert!(m.array("/z").unwrap().unsupported.as_deref().unwrap().contains("szip"));
    let problem =
        |p: &str| m.problems.iter().filter(|x| x.path == p).map(|x| x.reason.clone()).collect::<Vec<_>>().join("; ");
    for p in ["/s", "/e", "/z", "/h4", "/badnum", "/badpos", "/outside", "/nodim"] {
        assert!(!problem(p).is_empty(), "no problem for {p}: {:?}", m.problems);
    }
    assert!(problem("/w").contains("Weird"));
    assert!(problem("/f").contains("Float128"));
    assert!(problem("/badnum").contains("line 8"), "{}", problem("/badnum"));
    assert_eq!(m.array("/ok").unwrap().chunks[0].offset, 100);
}

#[test]
fn absurd_sizes_allocate_nothing() {
    let started = Instant::now();
    let max = u64::MAX;
    let m = ok(&format!(
        "<Float64 name=\"huge\"><Dim size=\"{max}\"/><Dim size=\"{max}\"/><Dim size=\"{max}\"/>\
         <dmrpp:chunks compressionType=\"shuffle\" fillValue=\"1e308\" byteOrder=\"BE\"><dmrpp:chunkDimensionSizes>1 1 1</dmrpp:chunkDimensionSizes>\
         <dmrpp:chunk offset=\"{max}\" nBytes=\"{max}\" chunkPositionInArray=\"[{m1},{m1},{m1}]\"/></dmrpp:chunks></Float64>\n\
         <Int32 name=\"overflow\"><Dim size=\"99999999999999999999999\"/></Int32>\n\
         <Int32 name=\"zero_chunk\"><Dim size=\"4\"/><dmrpp:chunks><dmrpp:chunkDimensionSizes>0</dmrpp:chunkDimensionSizes></dmrpp:chunks></Int32>\n\
         <Int32 name=\"rank\">{dims}</Int32>\n\
         <Int32 name=\"md\"><Dim size=\"{max}\"/><dmrpp:missingdata>eJxjYGBgYARiAAAMAAI=</dmrpp:missingdata></Int32>\n\
         <Float32 name=\"fillbig\"><Dim size=\"2\"/><dmrpp:chunks fillValue=\"1e99\"/></Float32>\n\
         <Int8 name=\"fillrange\"><Dim size=\"2\"/><dmrpp:chunks fillValue=\"300\"/></Int8>\n\
         <Structure name=\"bigstruct\"><Float64 name=\"a\"><Dim size=\"{max}\"/></Float64><dmrpp:chunks fillValue=\"1\"/></Structure>\n\
         <Structure name=\"bigstruct2\"><Int8 name=\"a\"><Dim size=\"{max}\"/><Dim size=\"{max}\"/></Int8><Int8 name=\"b\"/></Structure>\n\
         <Structure name=\"s3\"><Structure name=\"in\"><Int64 name=\"a\"><Dim size=\"65536\"/></Int64><Dim size=\"65536\"/></Structure><Dim size=\"65536\"/></Structure>\n{GOOD_VAR}",
        m1 = max - 1,
        dims = "<Dim size=\"1\"/>".repeat(40)
    ));
    let huge = m.array("/huge").unwrap();
    assert_eq!(huge.shape, [max, max, max]);
    assert_eq!(huge.chunks[0].coords, [max - 1, max - 1, max - 1]);
    assert_eq!(huge.fill.value.as_deref(), Some(&1e308f64.to_be_bytes()[..]));
    for p in ["/overflow", "/zero_chunk", "/rank", "/md", "/fillbig", "/fillrange", "/bigstruct", "/bigstruct2", "/s3"]
    {
        assert!(m.problems.iter().any(|x| x.path == p), "no problem for {p}: {:?}", m.problems);
    }
    assert!(m.array("/ok").is_some());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn zlib_bomb_in_missingdata_is_bounded() {
    use base64::Engine;
    use std::io::Write;
    // 64 MiB of zeros compress to ~64 KiB; the shape asks for 40 bytes.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        z.write_all(&zeros).unwrap();
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap());
    let started = Instant::now();
    let m = ok(&format!(
        "<Int32 name=\"bomb\"><Dim size=\"10\"/><dmrpp:missingdata>{b64}</dmrpp:missingdata></Int32>\n{GOOD_VAR}"
    ));
    assert!(m.array("/bomb").is_none());
    assert!(
        m.problems.iter().any(|p| p.path == "/bomb" && p.reason.contains("more than 40 bytes")),
        "{:?}",
        m.problems
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn entity_bombs_are_refused_not_expanded() {
    let mut dtd = String::from("<!DOCTYPE Dataset [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
        dtd.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10)));
    }
    dtd.push_str("]>\n");
    let body = "<Int32 name=\"a\"><Attribute name=\"x\" type=\"String\"><Value>&lol9;</Value></Attribute></Int32>";
    let xml = format!("<?xml version=\"1.0\"?>\n{dtd}{}", &doc(body)[HEAD.find("<Dataset").unwrap()..]);
    let started = Instant::now();
    let e = err(&xml);
    assert!(e.to_string().contains("unknown entity &lol9;"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // In an attribute value too.
    let e = err(&doc("<Int32 name=\"&lol9;\"/>"));
    assert!(matches!(e, DmrppError::Xml { line: 3, .. }), "{e}");
    // Predefined and character references are fine.
    let m = ok("<Int32 name=\"a&amp;b\"><Attribute name=\"x\" type=\"String\"><Value>&lt;&#65;&#x42;&gt;</Value></Attribute></Int32>");
    assert_eq!(m.arrays[0].path, "/a&b");
    assert_eq!(m.arrays[0].attributes[0].value, "<AB>");
}

/// A reader that yields `prefix`, then `n` bytes of `fill`, then `suffix`, without holding them.
fn lazy(prefix: &str, fill: u8, n: u64, suffix: &str) -> impl std::io::BufRead {
    let r = Cursor::new(prefix.as_bytes().to_vec())
        .chain(std::io::repeat(fill).take(n))
        .chain(Cursor::new(suffix.as_bytes().to_vec()));
    BufReader::with_capacity(1 << 16, r)
}

#[test]
fn gigabyte_tokens_stop_at_the_limit() {
    let gib = 1u64 << 30;
    let started = Instant::now();
    // A 1 GiB DAP attribute value.
    let prefix = format!("{HEAD}<Int32 name=\"v\"><Attribute name=\"history\" type=\"String\"><Value>");
    let e = parse_dmrpp_reader(
        lazy(&prefix, b'a', gib, "</Value></Attribute></Int32></Dataset>"),
        "lazy.dmrpp",
        Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, DmrppError::TooLarge { line: 3, limit, .. } if limit == 64 << 20), "{e}");
    assert!(e.to_string().contains("/v"), "{e}");
    // A 1 GiB XML attribute inside a start tag.
    let prefix = format!("{HEAD}<Int32 name=\"v\"><dmrpp:chunks fillValue=\"");
    let e = parse_dmrpp_reader(lazy(&prefix, b'7', gib, "\"/></Int32></Dataset>"), "lazy.dmrpp", Limits::default())
        .unwrap_err();
    assert!(matches!(e, DmrppError::TooLarge { .. }), "{e}");
    println!("two 1 GiB tokens refused in {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn long_attribute_values_are_dropped_with_a_problem() {
    let long = "x".repeat((1 << 20) + 10);
    let m = ok(&format!(
        "<Int32 name=\"v\"><Attribute name=\"history\" type=\"String\"><Value>{long}</Value></Attribute>\
         <Attribute name=\"units\" type=\"String\"><Value>m</Value></Attribute><dmrpp:chunks byteOrder=\"LE\"><dmrpp:chunk offset=\"1\" nBytes=\"4\"/></dmrpp:chunks></Int32>"
    ));
    let v = m.array("/v").unwrap();
    assert_eq!(v.attributes[0].value, serde_json::Value::Null);
    assert_eq!(v.attributes[1].value, "m");
    assert!(m.problems.iter().any(|p| p.path == "/v" && p.reason.contains("history")));
    // An over-long XML attribute is an error naming it and the variable.
    let e = err(&doc(&format!("<Int32 name=\"v\"><dmrpp:chunks fillValue=\"{long}\"/></Int32>")));
    let text = e.to_string();
    assert!(text.contains("fillValue") && text.contains("/v") && text.contains("line 3"), "{text}");
}

#[test]
fn latin1_sidecars_are_read() {
    let mut bytes =
        doc("<Int32 name=\"t\"><Attribute name=\"units\" type=\"String\"><Value>\u{b0}C</Value></Attribute></Int32>")
            .into_bytes();
    // Re-encode the degree sign as ISO-8859-1 (one byte, invalid as UTF-8).
    let at = bytes.windows(2).position(|w| w == "\u{b0}".as_bytes()).unwrap();
    bytes.splice(at..at + 2, [0xb0]);
    let m = parse_dmrpp(&bytes, "x.dmrpp").unwrap();
    assert_eq!(m.arrays[0].attributes[0].value, "\u{b0}C");
}

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

#[test]
fn mutated_real_sidecars_never_panic() {
    let Some(root) = fixtures() else { return };
    let names = [
        "compound_two_chunks.h5.dmrpp",
        "comp_array2_udf_fv_chunk.h5.dmrpp",
        "t_cf_1dllzs.h5.dmrpp",
        "t_enum_grp.h5.dmrpp",
        "nc4_group_atomic.h5.dmrpp",
        "t_vl_string_1d.h5.dmrpp",
        "FValue_int64.h5.dmrpp",
        "SDS_fle_shuf_def.h5.dmrpp",
    ];
    // Splice pieces that matter to the parser into random places.
    let pieces: [&[u8]; 16] = [
        b"<",
        b">",
        b"/>",
        b"</",
        b"\"",
        b"&",
        b"&lol;",
        b"<Dim size=\"4\"/>",
        b"<Group name=\"g\">",
        b"</Group>",
        b"<dmrpp:chunk offset=\"1\" nBytes=\"2\" chunkPositionInArray=\"[2,2]\"/>",
        b"[",
        b"99999999999999999999",
        b"<Structure name=\"s\">",
        b"<dmrpp:chunkDimensionSizes>0 0</dmrpp:chunkDimensionSizes>",
        b"-",
    ];
    let mut rng = Rng::new(1);
    let (mut oks, mut errs) = (0, 0);
    for name in names {
        let original = std::fs::read(root.join("dmrpp_pairs").join(name)).unwrap();
        for _ in 0..600 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => {
                        let piece = pieces[rng.below(pieces.len())];
                        bytes.splice(at..at, piece.iter().copied());
                    }
                    _ => {
                        let end = (at + 1 + rng.below(40)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                }
            }
            match parse_dmrpp(&bytes, name) {
                Ok(_) => oks += 1,
                Err(e) => {
                    let _ = line_of(&e);
                    errs += 1;
                }
            }
        }
    }
    println!("{oks} mutated sidecars parsed, {errs} refused; no panic");
}

#[test]
fn data_url_follows_the_sidecar() {
    let xml = doc(GOOD_VAR);
    let url = |sidecar: &str| parse_dmrpp(xml.as_bytes(), sidecar).unwrap().url;
    assert_eq!(url("s3://b/k/g.h5.dmrpp"), "s3://b/k/g.h5");
    assert_eq!(url("https://h/g.h5.dmrpp?X-Amz-Signature=1"), "https://h/g.h5?X-Amz-Signature=1");
    assert_eq!(url("/data/g.h5.dmrpp"), "/data/g.h5");
    let m = parse_dmrpp(xml.as_bytes(), "/data/sidecar.xml").unwrap();
    assert_eq!(m.url, "/data/sidecar.xml");
    assert!(m.problems.iter().any(|p| p.reason.contains("data location unknown")));
    let absolute = xml.replace("OPeNDAP_DMRpp_DATA_ACCESS_URL", "https://data.example/g.h5");
    assert_eq!(parse_dmrpp(absolute.as_bytes(), "x.dmrpp").unwrap().url, "https://data.example/g.h5");
}
