//! Granule-level groups: root attributes, ancillary_data/, orbit_info/, quality_assessment/
//! and METADATA/ (attributes only), shaped like those of a real ATL06 granule.

use anyhow::Result;
use hdf5::plist::DatasetCreate;
use hdf5::{Group, H5Type};

use crate::h5raw::str_dataset;
use crate::time::ccsds;
use crate::writer::{array_attr, group, put_strs, scalar_attr};

/// ATLAS SDP epoch (2018-01-01T00:00:00Z) in GPS seconds.
pub const ATLAS_SDP_GPS_EPOCH: f64 = 1_198_800_018.0;

/// Granule facts the metadata is written from.
pub struct Granule {
    pub file_name: String,
    pub seed: u64,
    pub kind: String,
    pub rgt: i16,
    pub cycle: i8,
    pub region: i32,
    pub orbit_number: u16,
    pub sc_orient: i8,
    pub t_first: f64,
    pub t_last: f64,
    pub lat_range: (f64, f64),
    pub lon_range: (f64, f64),
    /// Segment counts per beam (after gaps).
    pub rows: Vec<usize>,
    /// Coarse polygon of the granule (lon, lat) for orbit_info/bounding_polygon_*.
    pub polygon: Vec<(f64, f64)>,
}

fn anc<T: H5Type>(g: &Group, name: &str, v: T, attrs: &[(&str, &str)]) -> Result<()> {
    // Real granules store these 1-element ancillary values compact.
    let dcpl = DatasetCreate::build().layout(hdf5::dataset::Layout::Compact).obj_track_times(false).finish()?;
    let ds = g.new_dataset::<T>().set_create_plist(&dcpl).shape(1).create(name)?;
    ds.write_raw(&[v])?;
    put_strs(&ds, attrs)?;
    Ok(())
}

fn anc_str(g: &Group, name: &str, v: &str, long_name: &str) -> Result<()> {
    let dcpl = DatasetCreate::build().layout(hdf5::dataset::Layout::Compact).obj_track_times(false).finish()?;
    str_dataset(g.id(), name, v, dcpl.id())?;
    let ds = g.dataset(name)?;
    put_strs(&ds, &[("units", "1"), ("long_name", long_name), ("source", "Derived"),
                    ("contentType", "auxiliaryInformation")])?;
    Ok(())
}

/// Root attributes.
pub fn root_attrs(root: &Group, gr: &Granule) -> Result<()> {
    let start = ccsds(gr.t_first);
    let end = ccsds(gr.t_last);
    let duration = format!("{:.6}", gr.t_last - gr.t_first);
    let seed = gr.seed.to_string();
    put_strs(root, &[
        ("short_name", "ATL06"),
        ("level", "L3A"),
        ("title", "SET_BY_META"),
        ("description", "This data set (ATL06) provides geolocated, land-ice surface heights (above the \
                         WGS 84 ellipsoid, ITRF2014 reference frame), plus ancillary parameters that can be \
                         used to interpret and assess the quality of the height estimates. SYNTHETIC: \
                         written by vz's examples/make_atl06.rs, not a real granule."),
        ("Conventions", "CF-1.6"),
        ("featureType", "trajectory"),
        ("granule_type", "ATL06"),
        ("identifier_product_type", "ATL06"),
        ("identifier_product_format_version", "6.0"),
        ("identifier_product_doi", "10.5067/ATLAS/ATL06.006"),
        ("institution", "SYNTHETIC"),
        ("instrument", "ATLAS > Advanced Topographic Laser Altimeter System"),
        ("platform", "ICESat-2 > Ice, Cloud, and land Elevation Satellite-2"),
        ("processing_level", "3A"),
        ("project", "ICESat-2 > Ice, Cloud, and land Elevation Satellite-2"),
        ("source", "Spacecraft"),
        ("spatial_coverage_type", "Horizontal"),
        ("standard_name_vocabulary", "CF-1.6"),
        ("date_type", "UTC"),
        ("time_type", "CCSDS UTC-A"),
        ("time_coverage_start", &start),
        ("time_coverage_end", &end),
        ("time_coverage_duration", &duration),
        ("geospatial_lat_units", "degrees_north"),
        ("geospatial_lon_units", "degrees_east"),
        ("generator_seed", &seed),
        ("generator_track", &gr.kind),
    ])?;
    scalar_attr(root, "geospatial_lat_min", gr.lat_range.0)?;
    scalar_attr(root, "geospatial_lat_max", gr.lat_range.1)?;
    scalar_attr(root, "geospatial_lon_min", gr.lon_range.0)?;
    scalar_attr(root, "geospatial_lon_max", gr.lon_range.1)?;
    Ok(())
}

/// ancillary_data/ with its land_ice/ sub-group.
pub fn ancillary(root: &Group, gr: &Granule) -> Result<()> {
    let g = group(root, "ancillary_data")?;
    put_strs(&g, &[("Description", "Contains information ancillary to the data product. This may include \
                                    product characteristics, instrument characteristics and/or processing \
                                    constants."),
                   ("data_rate", "Data within this group pertain to the granule in its entirety.")])?;
    anc(&g, "atlas_sdp_gps_epoch", ATLAS_SDP_GPS_EPOCH, &[
        ("units", "seconds since 1980-01-06T00:00:00.000000Z"), ("long_name", "ATLAS Epoch Offset"),
        ("source", "Operations"), ("contentType", "auxiliaryInformation"),
        ("description", "Number of GPS seconds between the GPS epoch (1980-01-06T00:00:00.000000Z UTC) and \
                         the ATLAS Standard Data Product (SDP) epoch (2018-01-01:T00.00.00.000000 UTC)."),
    ])?;
    let (start, end) = (ccsds(gr.t_first), ccsds(gr.t_last));
    anc_str(&g, "data_start_utc", &start, "Start UTC Time of Granule (CCSDS-A, Actual)")?;
    anc_str(&g, "data_end_utc", &end, "End UTC Time of Granule (CCSDS-A, Actual)")?;
    anc_str(&g, "granule_start_utc", &start, "Start UTC Time of Granule (CCSDS-A, Requested)")?;
    anc_str(&g, "granule_end_utc", &end, "End UTC Time of Granule (CCSDS-A, Requested)")?;
    anc_str(&g, "release", "006", "Release Number")?;
    anc_str(&g, "version", "01", "Version")?;
    let t_attrs = |long_name| [("units", "seconds since 2018-01-01"), ("long_name", long_name),
                               ("standard_name", "time"), ("source", "Derived"),
                               ("contentType", "auxiliaryInformation")];
    anc(&g, "start_delta_time", gr.t_first, &t_attrs("ATLAS Start Time (Actual)"))?;
    anc(&g, "end_delta_time", gr.t_last, &t_attrs("ATLAS End Time (Actual)"))?;
    for (name, v, long_name) in [("start_rgt", i32::from(gr.rgt), "Starting Reference Groundtrack"),
                                 ("end_rgt", i32::from(gr.rgt), "Ending Reference Groundtrack"),
                                 ("start_cycle", i32::from(gr.cycle), "Starting Cycle"),
                                 ("end_cycle", i32::from(gr.cycle), "Ending Cycle"),
                                 ("start_region", gr.region, "Starting Region"),
                                 ("end_region", gr.region, "Ending Region"),
                                 ("start_orbit", i32::from(gr.orbit_number), "Starting Orbit Number"),
                                 ("end_orbit", i32::from(gr.orbit_number), "Ending Orbit Number")] {
        anc(&g, name, v, &[("units", "1"), ("long_name", long_name), ("source", "Derived"),
                           ("contentType", "auxiliaryInformation")])?;
    }
    let li = group(&g, "land_ice")?;
    put_strs(&li, &[("Description", "Contains ancillary parameters related to the land ice product.")])?;
    for (name, v, long_name) in [("fit_maxiter", 20i32, "Maximum Iterations of Fit"),
                                 ("min_n_pe", 10, "Minimum Photons"),
                                 ("min_signal_conf", 2, "Minimum Signal Confidence"),
                                 ("n_hist", 1000, "Number of Histogram Bins")] {
        anc(&li, name, v, &[("units", "1"), ("long_name", long_name), ("source", "Operations"),
                            ("contentType", "auxiliaryInformation")])?;
    }
    anc(&li, "t_dead", 3.2e-9f64, &[("units", "seconds"), ("long_name", "Dead-time"),
                                     ("source", "Operations"), ("contentType", "auxiliaryInformation")])?;
    Ok(())
}

/// One orbit_info dataset: maxshape unlimited, chunks of 16, like the real granule.
fn orbit_ds<T: H5Type + Copy>(g: &Group, name: &str, v: &[T], units: &str, deflate: bool) -> Result<()> {
    let mut b = g.new_dataset::<T>().chunk(16).obj_track_times(false);
    if deflate {
        b = b.deflate(6);
    }
    let ds = b.shape(v.len()..).create(name)?;
    ds.write_raw(v)?;
    put_strs(&ds, &[("units", units), ("long_name", name), ("source", "POD/PPD"),
                    ("contentType", "referenceInformation")])?;
    Ok(())
}

/// orbit_info/: rgt (i2), cycle_number (i1), orbit_number (u2), sc_orient (i1), times and a
/// coarse bounding polygon.
pub fn orbit_info(root: &Group, gr: &Granule) -> Result<()> {
    let g = group(root, "orbit_info")?;
    put_strs(&g, &[("Description", "Contains data that are common among all beams for the granule.  These \
                                    parameters are constants for a given granule."),
                   ("data_rate", "These parameters are constant for a given granule.")])?;
    orbit_ds(&g, "crossing_time", &[gr.t_first], "seconds since 2018-01-01", false)?;
    orbit_ds(&g, "cycle_number", &[gr.cycle], "counts", false)?;
    orbit_ds(&g, "orbit_number", &[gr.orbit_number], "1", false)?;
    orbit_ds(&g, "rgt", &[gr.rgt], "counts", false)?;
    orbit_ds(&g, "sc_orient", &[gr.sc_orient], "1", false)?;
    orbit_ds(&g, "sc_orient_time", &[gr.t_first], "seconds since 2018-01-01", false)?;
    let lats: Vec<f64> = gr.polygon.iter().map(|p| p.1).collect();
    let lons: Vec<f64> = gr.polygon.iter().map(|p| p.0).collect();
    orbit_ds(&g, "bounding_polygon_lat1", &lats, "degrees_north", true)?;
    orbit_ds(&g, "bounding_polygon_lon1", &lons, "degrees_east", true)?;
    let rgt = g.dataset("rgt")?;
    scalar_attr(&rgt, "valid_min", 1i16)?;
    scalar_attr(&rgt, "valid_max", 1387i16)?;
    let so = g.dataset("sc_orient")?;
    put_strs(&so, &[("flag_meanings", "backward forward transition")])?;
    array_attr(&so, "flag_values", &[0i8, 1, 2])?;
    Ok(())
}

/// quality_assessment/: granule pass/fail and per-beam segment counts.
pub fn quality(root: &Group, gr: &Granule, beams: &[&str]) -> Result<()> {
    let g = group(root, "quality_assessment")?;
    put_strs(&g, &[("Description", "Contains quality assessment data. This may include QA counters, QA \
                                    along-track data and/or QA summary data.")])?;
    let flag = [("units", "1"), ("long_name", "Granule Pass Flag"), ("source", "Operations"),
                ("contentType", "qualityInformation"), ("flag_meanings", "PASS FAIL")];
    anc(&g, "qa_granule_pass_fail", 0i32, &flag)?;
    anc(&g, "qa_granule_fail_reason", 0i32, &[("units", "1"), ("long_name", "Granule Failure Reason"),
                                              ("source", "Operations"), ("contentType", "qualityInformation")])?;
    for (b, rows) in beams.iter().zip(&gr.rows) {
        let qb = group(&g, b)?;
        put_strs(&qb, &[("Description", "Quality assessment of one ground track.")])?;
        anc(&qb, "qa_total_n_segments", *rows as i32, &[("units", "1"), ("long_name", "Total segments"),
                                                          ("contentType", "qualityInformation")])?;
    }
    Ok(())
}

/// METADATA/: ISO 19115 skeleton, attributes only.
pub fn metadata(root: &Group, gr: &Granule) -> Result<()> {
    let md = group(root, "METADATA")?;
    put_strs(&md, &[("Description", "ISO19115 Structured Metadata Represented within HDF5")])?;
    let di = group(&md, "DatasetIdentification")?;
    let uuid = format!("{:08x}-0000-4000-8000-{:012x}", gr.seed as u32, gr.rgt);
    put_strs(&di, &[("shortName", "ATL06"), ("VersionID", "006"), ("fileName", &gr.file_name),
                    ("originatorOrganizationName", "SYNTHETIC (vz examples/make_atl06.rs)"),
                    ("uuid", &uuid), ("abstract", "Synthetic ATL06-like granule for tests and benchmarks.")])?;
    let ex = group(&md, "Extent")?;
    scalar_attr(&ex, "westBoundLongitude", gr.lon_range.0)?;
    scalar_attr(&ex, "eastBoundLongitude", gr.lon_range.1)?;
    scalar_attr(&ex, "southBoundLatitude", gr.lat_range.0)?;
    scalar_attr(&ex, "northBoundLatitude", gr.lat_range.1)?;
    put_strs(&ex, &[("rangeBeginningDateTime", &ccsds(gr.t_first)), ("rangeEndingDateTime", &ccsds(gr.t_last))])?;
    let aq = group(&md, "AcquisitionInformation")?;
    let pf = group(&aq, "platform")?;
    put_strs(&pf, &[("description", "ICESat-2 observatory"), ("identifier", "ICESat-2"), ("type", "Spacecraft")])?;
    let li = group(&aq, "lidar")?;
    put_strs(&li, &[("description", "ATLAS"), ("identifier", "ATLAS"), ("type", "Laser Altimeter")])?;
    let lg = group(&md, "Lineage")?;
    let a3 = group(&lg, "ATL03")?;
    let atl03 = gr.file_name.replacen("ATL06", "ATL03", 1);
    put_strs(&a3, &[("fileName", &atl03), ("shortName", "ATL03"), ("version", "006")])?;
    scalar_attr(&a3, "start_rgt", i32::from(gr.rgt))?;
    scalar_attr(&a3, "start_cycle", i32::from(gr.cycle))?;
    let ps = group(&md, "ProcessStep")?;
    let pge = group(&ps, "PGE")?;
    put_strs(&pge, &[("identifier", "ATL06"), ("softwareVersion", "synthetic-1"),
                     ("softwareTitle", "make_atl06.rs")])?;
    Ok(())
}
