//! What each land_ice_segments dataset looks like in a real ATL06 granule: fill value (as
//! both the HDF5 fill value and a `_FillValue` attribute, or neither), CF attributes and the
//! ATL06 ones (source, contentType, description). Which datasets carry `_FillValue` follows
//! the real granule in ../shared/fixtures/real/icesat2/: latitude, longitude, delta_time,
//! atl06_quality_summary and dem_flag have none (HDF5 fill 0); segment_id's is 0.

pub const F32_FILL: f32 = 3.402_823_5e38;
pub const F64_FILL: f64 = 1.797_693_134_862_315_7e308;
pub const I8_FILL: i8 = 127;
pub const I32_FILL: i32 = 2_147_483_647;

/// Fill value of a dataset (written as HDF5 fill value and `_FillValue` attribute).
#[derive(Clone, Copy)]
pub enum Fill {
    None,
    F32(f32),
    F64(f64),
    I8(i8),
    I32(i32),
}

/// Attributes of one dataset.
pub struct Var {
    pub units: &'static str,
    pub long_name: &'static str,
    pub standard_name: Option<&'static str>,
    pub source: &'static str,
    pub content_type: &'static str,
    pub description: &'static str,
    pub fill: Fill,
    /// Numeric valid range (written as f64 attributes).
    pub valid: Option<(f64, f64)>,
    /// flag_values (i8) and flag_meanings.
    pub flags: Option<(&'static [i8], &'static str)>,
}

const fn var(units: &'static str, long_name: &'static str, source: &'static str, ct: &'static str,
             description: &'static str, fill: Fill) -> Var {
    Var { units, long_name, standard_name: None, source, content_type: ct, description, fill,
          valid: None, flags: None }
}

const PHYS: &str = "physicalMeasurement";
const QUAL: &str = "qualityInformation";
const REF: &str = "referenceInformation";
const MODEL: &str = "modelResult";
const F: Fill = Fill::F32(F32_FILL);

/// The attributes of `path` (relative to land_ice_segments/).
pub fn spec(path: &str) -> Var {
    match path {
        "delta_time" => Var {
            standard_name: Some("time"),
            ..var("seconds since 2018-01-01", "Elapsed GPS seconds", "section 4.1.1", REF,
                  "Number of GPS seconds since the ATLAS SDP epoch. The ATLAS Standard Data Products \
                   (SDP) epoch offset is defined within /ancillary_data/atlas_sdp_gps_epoch as the \
                   number of GPS seconds between the GPS epoch (1980-01-06T00:00:00.000000Z UTC) and \
                   the ATLAS SDP epoch.", Fill::None)
        },
        "latitude" => Var {
            standard_name: Some("latitude"),
            valid: Some((-90.0, 90.0)),
            ..var("degrees_north", "Latitude", "section 3.10", PHYS,
                  "Latitude of segment center, WGS84, North=+", Fill::None)
        },
        "longitude" => Var {
            standard_name: Some("longitude"),
            valid: Some((-180.0, 180.0)),
            ..var("degrees_east", "Longitude", "section 3.10", PHYS,
                  "Longitude of segment center, WGS84, East=+", Fill::None)
        },
        "h_li" => var("meters", "Land Ice height", "section 3.10", PHYS,
                      "Standard land-ice segment height determined by land ice algorithm, corrected \
                       for first-photon bias, representing the median-based height of the selected PEs", F),
        "h_li_sigma" => var("meters", "Expected RMS segment misfit", "section 3.10", QUAL,
                            "Propagated error due to sampling error and FPB correction from the land \
                             ice algorithm", F),
        "atl06_quality_summary" => Var {
            flags: Some((&[0, 1], "best_quality potential_problem")),
            ..var("1", "ATL06_Quality_Summary", "section 4.3", QUAL,
                  "The ATL06_quality_summary parameter indicates the best-quality subset of all ATL06 \
                   data. A zero in this parameter implies that no data-quality tests have found a \
                   problem with the segment, a one implies that some potential problem has been found.",
                  Fill::None)
        },
        "segment_id" => var("1", "Reference Point, m", "section 3.1.2.1", REF,
                            "Segment number, counting from the equator. Equal to the segment_id for the \
                             second of the two 20m ATL03 segments included in the 40m ATL06 segment",
                            Fill::I32(0)),
        "sigma_geo_h" => var("meters", "Vertical Geolocation Error", "ATBD Section 3.10", QUAL,
                             "Total vertical geolocation error due to PPD and POD, including the effects \
                              of horizontal geolocation error on the segment vertical error.", F),
        "bias_correction/fpb_med_corr" => var("meters", "first photon bias median correction",
                                              "ATBD section 3.4.6", MODEL,
                                              "first-photon bias correction to the median segment height", F),
        "bias_correction/tx_med_corr" => var("meters", "tx median correction", "ATBD section 3.4.7", MODEL,
                                             "Estimate of the difference between the median of the transmit \
                                              pulse and its centroid", F),
        "dem/dem_flag" => Var {
            flags: Some((&[0, 1, 2, 3, 4], "none mss arcticdem refdem rema")),
            ..var("1", "DEM source flag", "ATL06 ATBD", REF,
                  "Indicates source of the DEM height.", Fill::None)
        },
        "dem/dem_h" => var("meters", "DEM Height", "ATL06 ATBD", REF,
                           "Best available DEM (in priority of ArcticDEM, REMA, refDEM) value at the \
                            segment location", F),
        "dem/geoid_h" => var("meters", "Geoid Height", "ATL03", REF,
                             "Geoid height above WGS-84 reference ellipsoid", F),
        "fit_statistics/dh_fit_dx" => var("meters/meters", "Fit along track slope",
                                          "land ice ATBD, section 3.4", MODEL,
                                          "Along-track slope from along-track segment fit", F),
        "fit_statistics/h_robust_sprd" => var("meters", "Robust Spread", "land ice ATBD, section 3.4.3",
                                              MODEL, "RDE of misfit between PE heights and the \
                                                      along-track segment fit.", F),
        "fit_statistics/n_fit_photons" => var("1", "Number of photons in final fit",
                                              "land ice ATBD, section 3.4.4", MODEL,
                                              "Number of PEs used to determine mean surface height in \
                                               the iterative surface fit", Fill::I32(I32_FILL)),
        "fit_statistics/w_surface_window_final" => var("meters", "Surface window width",
                                                       "land ice ATBD, section 3.4.5", MODEL,
                                                       "Width of the surface window, top to bottom", F),
        "geophysical/bsnow_conf" => Var {
            flags: Some((&[-1, 0, 1, 2, 3, 4, 5, 6],
                         "not_clear clear_with_high_confidence clear_with_medium_confidence \
                          clear_with_low_confidence blowing_snow_with_low_confidence \
                          blowing_snow_with_medium_confidence blowing_snow_with_high_confidence")),
            ..var("1", "Blowing snow confidence", "ATL09", MODEL,
                  "Indicates the greatest (over all photons in the segment) blowing snow confidence",
                  Fill::I8(I8_FILL))
        },
        "geophysical/bsnow_h" => var("meters", "Blowing snow layer height", "ATL09", MODEL,
                                     "Blowing snow layer top height", F),
        "geophysical/tide_ocean" => var("meters", "Ocean Tide", "ATL03", REF,
                                        "Ocean tides including diurnal and semi-diurnal (harmonic \
                                         analysis), and longer period tides.", F),
        "ground_track/seg_azimuth" => var("degrees", "Segment azimuth", "section 3.1.2.1", MODEL,
                                          "The direction, eastwards from north, of the segment path, at \
                                           the segment center.", F),
        "ground_track/x_atc" => var("meters", "X-track distance", "section 3.1.2.1", MODEL,
                                    "Along-track distance from the equator crossing to the segment center.",
                                    Fill::F64(F64_FILL)),
        "ground_track/y_atc" => var("meters", "Y-track distance", "section 3.1.2.1", MODEL,
                                    "Across-track distance from the reference ground track (RGT) to the \
                                     segment center.", F),
        _ => var("1", "unknown", "synthetic", MODEL, "not described", Fill::None),
    }
}

/// `coordinates` attribute, relative like the real granule's.
pub fn coordinates(path: &str) -> &'static str {
    match path {
        "delta_time" => "latitude longitude",
        "latitude" => "delta_time longitude",
        "longitude" => "delta_time latitude",
        p if p.contains('/') => "../delta_time ../latitude ../longitude",
        _ => "delta_time latitude longitude",
    }
}

/// Description attribute of each land_ice_segments sub-group.
pub fn subgroup_description(name: &str) -> &'static str {
    match name {
        "bias_correction" => "The bias_correction group contains information about the estimated \
                              first-photon bias, and the transmit-pulse-shape bias.",
        "dem" => "Contains reference DEM and geoid heights.",
        "fit_statistics" => "The fit_statistics subgroup contains a variety of parameters that might \
                             indicate the quality of the fitted segment data. Data in this group are \
                             sparse, with dimensions matching the land_ice_segments group.",
        "geophysical" => "The geophysical group contains parameters used to correct segment heights \
                          for geophysical effects, parameters related to solar background and \
                          parameters indicative of the presence or absence of clouds.",
        _ => "The ground_track group contains parameters describing the GT and RGT for each land ice \
              segment, as well as angular information about the beams.",
    }
}
