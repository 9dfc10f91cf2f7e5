//! Finding geolocated groups: groups holding 1-D latitude and longitude arrays (CF conventions,
//! "Coordinate Types" §4.1 latitude / §4.2 longitude / §4.4 time), and the arrays that share their rows.

use std::collections::BTreeSet;

use crate::manifest::{ArrayMeta, Datatype, GranuleManifest};

/// What to look for. The overrides name arrays by base name (`lat_ph`) or absolute path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeoOptions {
    /// Latitude array name, replacing CF detection (e.g. ATL03 `lat_ph`, GEDI `lat_lowestmode`).
    pub lat: Option<String>,
    /// Longitude array name, replacing CF detection.
    pub lon: Option<String>,
    /// Time array name, replacing CF detection.
    pub time: Option<String>,
    /// H3 resolution of footprints and AOI coverings.
    pub h3_resolution: h3o::Resolution,
}

impl Default for GeoOptions {
    /// Resolution 7 (hexagons of ~5.2 km², edges ~1.4 km): a 10,000-row chunk of 20 m ATL06 segments
    /// (200 km of track) gets on the order of 100 cells, a photon chunk a handful, and a 100 km × 100 km AOI ~2,000;
    /// finer resolutions multiply both lists by 7 per level for little extra selectivity at chunk level.
    fn default() -> GeoOptions {
        GeoOptions { lat: None, lon: None, time: None, h3_resolution: h3o::Resolution::Seven }
    }
}

/// A group whose rows are geolocated by a latitude and a longitude array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeolocatedGroup {
    /// Group path (`/gt1l/land_ice_segments`).
    pub group: String,
    /// Latitude array path.
    pub latitude: String,
    /// Longitude array path.
    pub longitude: String,
    /// Time array path, if one was found.
    pub time: Option<String>,
    /// Number of rows (length of latitude).
    pub rows: u64,
    /// Every array of the group and its sub-groups (not those of geolocated sub-groups) whose first
    /// dimension has `rows` elements, coordinates included, sorted by path.
    pub arrays: Vec<String>,
}

const LAT_UNITS: [&str; 6] = ["degrees_north", "degree_north", "degree_n", "degrees_n", "degreen", "degreesn"];
const LON_UNITS: [&str; 6] = ["degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese"];

/// Every geolocated group of `m`, in path order.
///
/// Latitude: a 1-D numeric array directly in the group with `standard_name = latitude`, or failing
/// that one whose units are `degrees_north` (or a CF variant) and whose name contains `lat`; with
/// `opts.lat` set, the array of that name instead. Longitude likewise. Both must have the same length.
/// Time: a 1-D array of the same length with `standard_name = time` or units `<unit> since <epoch>`.
pub fn find_geolocated_groups(m: &GranuleManifest, opts: &GeoOptions) -> Vec<GeolocatedGroup> {
    let mut groups: BTreeSet<&str> = m.groups.iter().map(|g| g.path.as_str()).collect();
    groups.extend(m.arrays.iter().map(|a| parent(&a.path)));
    let mut found: Vec<GeolocatedGroup> = Vec::new();
    for g in groups {
        let children: Vec<&ArrayMeta> =
            m.arrays.iter().filter(|a| parent(&a.path) == g && a.shape.len() == 1 && numeric(&a.dtype)).collect();
        let lat = pick(&children, opts.lat.as_deref(), Axis::Lat);
        let lon = pick(&children, opts.lon.as_deref(), Axis::Lon);
        let (Some(lat), Some(lon)) = (lat, lon) else { continue };
        let rows = lat.shape[0];
        if lon.shape[0] != rows || rows == 0 {
            continue;
        }
        let timed: Vec<&ArrayMeta> = children.iter().copied().filter(|a| a.shape[0] == rows).collect();
        let time = pick(&timed, opts.time.as_deref(), Axis::Time).map(|a| a.path.clone());
        found.push(GeolocatedGroup {
            group: g.to_string(),
            latitude: lat.path.clone(),
            longitude: lon.path.clone(),
            time,
            rows,
            arrays: Vec::new(),
        });
    }
    // Each array belongs to its nearest geolocated ancestor group, if its first dimension matches.
    for a in &m.arrays {
        let owner = found.iter_mut().filter(|g| under(&a.path, &g.group)).max_by_key(|g| g.group.len());
        if let Some(g) = owner {
            if a.shape.first() == Some(&g.rows) {
                g.arrays.push(a.path.clone());
            }
        }
    }
    for g in &mut found {
        g.arrays.sort();
    }
    found
}

#[derive(Clone, Copy, PartialEq)]
enum Axis {
    Lat,
    Lon,
    Time,
}

/// The best candidate for `axis` among `arrays`, or the one named by `name`.
fn pick<'a>(arrays: &[&'a ArrayMeta], name: Option<&str>, axis: Axis) -> Option<&'a ArrayMeta> {
    if let Some(name) = name {
        return arrays.iter().copied().find(|a| a.path == name || base(&a.path) == name);
    }
    let score = |a: &ArrayMeta| -> u8 {
        let sn = attr(a, "standard_name").map(|s| s.to_ascii_lowercase());
        let units = attr(a, "units").map(|s| s.trim().to_ascii_lowercase()).unwrap_or_default();
        let b = base(&a.path).to_ascii_lowercase();
        match axis {
            Axis::Lat if sn.as_deref() == Some("latitude") => 2,
            Axis::Lat if LAT_UNITS.contains(&units.as_str()) && b.contains("lat") => 1,
            Axis::Lon if sn.as_deref() == Some("longitude") => 2,
            Axis::Lon if LON_UNITS.contains(&units.as_str()) && b.contains("lon") => 1,
            Axis::Time if sn.as_deref() == Some("time") => 2,
            Axis::Time if units.contains(" since ") => 1,
            _ => 0,
        }
    };
    let preferred = |a: &ArrayMeta| {
        let b = base(&a.path).to_ascii_lowercase();
        match axis {
            Axis::Lat => b == "latitude" || b == "lat",
            Axis::Lon => b == "longitude" || b == "lon",
            Axis::Time => b == "time" || b == "delta_time",
        }
    };
    // Highest score, then the conventional name, then path order (the arrays come sorted).
    let best = arrays.iter().map(|a| score(a)).max().filter(|&s| s > 0)?;
    let tied: Vec<&ArrayMeta> = arrays.iter().copied().filter(|a| score(a) == best).collect();
    tied.iter().copied().find(|a| preferred(a)).or_else(|| tied.first().copied())
}

/// A string attribute (or a one-element list of strings).
fn attr<'a>(a: &'a ArrayMeta, name: &str) -> Option<&'a str> {
    let v = &a.attributes.iter().find(|x| x.name == name)?.value;
    match v {
        serde_json::Value::String(s) => Some(s.as_str()),
        serde_json::Value::Array(items) if items.len() == 1 => items[0].as_str(),
        _ => None,
    }
}

fn numeric(d: &Datatype) -> bool {
    matches!(d, Datatype::Integer { .. } | Datatype::Float { .. })
}

/// Parent group path of an object path (`/a/b` -> `/a`, `/b` -> `/`).
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether `path` lies inside `group` (at any depth).
fn under(path: &str, group: &str) -> bool {
    group == "/" || path.strip_prefix(group).is_some_and(|rest| rest.starts_with('/'))
}
