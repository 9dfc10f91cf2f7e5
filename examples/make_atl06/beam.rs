//! One beam's land_ice_segments columns: geolocation from the orbit, heights from the fixed
//! surface plus per-granule noise, failed fits (fill values, quality flag set) and whole
//! missing segments (clouds), so beams of one granule differ in length like real ones.

use crate::orbit::{lat_lon, offset_right, Orbit, R_E, SEG_DX};
use crate::rng::Rng;
use crate::schema::{F32_FILL, I32_FILL, I8_FILL};
use crate::surface::{self, Surface};

/// Column values of one dataset.
pub enum Data {
    F64(Vec<f64>),
    F32(Vec<f32>),
    I8(Vec<i8>),
    I32(Vec<i32>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::F64(v) => v.len(),
            Data::F32(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::I32(v) => v.len(),
        }
    }

    fn keep(&mut self, keep: &[bool]) {
        fn filt<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        match self {
            Data::F64(v) => filt(v, keep),
            Data::F32(v) => filt(v, keep),
            Data::I8(v) => filt(v, keep),
            Data::I32(v) => filt(v, keep),
        }
    }
}

/// The six ground tracks, left/right of each pair.
pub const BEAMS: [&str; 6] = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];

/// Beam pair centres are 3.3 km apart, the two beams of a pair 90 m apart.
const PAIR_SPACING: f64 = 3300.0;
const IN_PAIR: f64 = 90.0;

/// One generated beam.
pub struct Beam {
    pub name: &'static str,
    pub strong: bool,
    pub spot: u32,
    /// (path below land_ice_segments/, values), in writing order; delta_time first.
    pub columns: Vec<(&'static str, Data)>,
}

impl Beam {
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, d)| d.len())
    }

    pub fn f64_column(&self, name: &str) -> &[f64] {
        match self.columns.iter().find(|(n, _)| *n == name) {
            Some((_, Data::F64(v))) => v,
            _ => &[],
        }
    }
}

/// Cross-track position of a beam (m, right of travel), strong flag and ATLAS spot number.
/// Backward orientation (sc_orient 0) makes the left beams strong, forward the right ones.
pub fn beam_layout(index: usize, sc_orient: u8) -> (f64, bool, u32) {
    let pair = (index / 2) as f64; // 0, 1, 2
    let left = index % 2 == 0;
    let y = (pair - 1.0) * PAIR_SPACING + if left { -IN_PAIR / 2.0 } else { IN_PAIR / 2.0 };
    let strong = left == (sc_orient == 0);
    let spot = if sc_orient == 0 { index as u32 + 1 } else { 6 - index as u32 };
    (y, strong, spot)
}

/// Random runs of `true` (failed fits, cloud gaps): `runs_mean` runs of mean length `len_mean`.
fn runs(rng: &mut Rng, n: usize, runs_mean: f64, len_mean: f64) -> Vec<bool> {
    let mut mask = vec![false; n];
    for _ in 0..rng.poisson(runs_mean) {
        let start = rng.range(0, n as u64 - 1) as usize;
        let len = rng.exponential(len_mean).max(1.0) as usize;
        for m in mask.iter_mut().skip(start).take(len) {
            *m = true;
        }
    }
    mask
}

/// Inputs shared by all beams of a granule.
pub struct BeamParams {
    pub orbit: Orbit,
    /// Index of the first 20 m segment along the track (x_atc = index * 20 m).
    pub first_segment: i64,
    pub segments: usize,
    /// delta_time (s since 2018-01-01) at the ascending node.
    pub t_node: f64,
    pub sc_orient: u8,
}

/// Generate one beam; `rng` must be the beam's own stream.
pub fn make_beam(rng: &mut Rng, index: usize, p: &BeamParams) -> Beam {
    let (y_c, strong, spot) = beam_layout(index, p.sc_orient);
    let n = p.segments;
    let w = if strong { 1.0 } else { 2.2 }; // weak beams: fewer photons, more noise
    let mut lat = Vec::with_capacity(n);
    let mut lon = Vec::with_capacity(n);
    let mut time = Vec::with_capacity(n);
    let mut x_atc = Vec::with_capacity(n);
    let mut y_atc = Vec::with_capacity(n);
    let mut azimuth = Vec::with_capacity(n);
    let mut seg_id = Vec::with_capacity(n);
    let mut h_true = Vec::with_capacity(n);
    let mut class = Vec::with_capacity(n);
    for k in 0..n {
        let seg = p.first_segment + k as i64;
        let u = seg as f64 * SEG_DX / R_E;
        let tp = p.orbit.point(u);
        let y = y_c + 1.5 * rng.normal(); // pointing jitter
        let (la, lo) = lat_lon(offset_right(&tp, y));
        let (h, c) = surface::height(la, lo);
        lat.push(la);
        lon.push(lo);
        time.push(p.t_node + u / p.orbit.n);
        x_atc.push(seg as f64 * SEG_DX);
        y_atc.push(y as f32);
        azimuth.push(tp.azimuth as f32);
        seg_id.push((seg + 1) as i32);
        h_true.push(h);
        class.push(c);
    }
    let slope: Vec<f64> = (0..n)
        .map(|k| {
            let (a, b) = if k + 1 < n { (k, k + 1) } else { (k.saturating_sub(1), k) };
            if a == b { 0.0 } else { (h_true[b] - h_true[a]) / SEG_DX }
        })
        .collect();

    let mut h_li = Vec::with_capacity(n);
    let mut h_sigma = Vec::with_capacity(n);
    let mut sigma_geo = Vec::with_capacity(n);
    let mut dh_dx = Vec::with_capacity(n);
    let mut n_ph = Vec::with_capacity(n);
    let mut sprd = Vec::with_capacity(n);
    let mut window = Vec::with_capacity(n);
    let mut bsnow_conf = Vec::with_capacity(n);
    let mut bsnow_h = Vec::with_capacity(n);
    let mut tide = Vec::with_capacity(n);
    let mut fpb = Vec::with_capacity(n);
    let mut tx = Vec::with_capacity(n);
    let mut dem_h = Vec::with_capacity(n);
    let mut geoid_h = Vec::with_capacity(n);
    let mut dem_flag = Vec::with_capacity(n);
    let tx_bias = -0.01 - 0.01 * rng.uniform();
    for k in 0..n {
        let on_ice = class[k] == Surface::Ice;
        let sd = if class[k] == Surface::Rock { 0.4 } else { 0.05 } * w;
        let photons = rng.poisson(if strong { 220.0 } else { 55.0 } * if on_ice { 1.0 } else { 0.6 }).max(10);
        h_li.push((h_true[k] + sd * rng.normal()) as f32);
        h_sigma.push((sd / (photons as f64 / 10.0).sqrt() + 0.004 * rng.normal().abs()) as f32);
        sigma_geo.push((0.03 + 4.0 * slope[k].abs() + 0.01 * rng.normal().abs()) as f32);
        dh_dx.push((slope[k] + 0.003 * w * rng.normal()) as f32);
        n_ph.push(photons as i32);
        sprd.push((0.6 * sd + 0.03 * rng.normal().abs()) as f32);
        window.push(if rng.uniform() < 0.9 { 3.0 } else { (3.0 + rng.exponential(2.0)) as f32 });
        let conf = if rng.uniform() < 0.8 { -1 + (rng.uniform() < 0.3) as i8 } else { rng.range(1, 6) as i8 };
        bsnow_conf.push(conf);
        bsnow_h.push(if conf > 0 { (30.0 + 700.0 * rng.uniform()) as f32 } else { F32_FILL });
        tide.push(if class[k] == Surface::Water {
            (0.4 * (time[k] / 44_700.0 * std::f64::consts::TAU).sin()) as f32
        } else {
            F32_FILL
        });
        fpb.push((-0.02 * w - 0.01 * rng.normal().abs()) as f32);
        tx.push(tx_bias as f32);
        dem_h.push((h_true[k] + 3.0 * rng.normal()) as f32);
        geoid_h.push(surface::geoid(lat[k], lon[k]) as f32);
        dem_flag.push(if lat[k] > 60.0 { 3 } else { 1 });
    }

    // Failed fits: fill values and quality flag set (more often on weak beams and off the ice).
    let mut bad = runs(rng, n, n as f64 / if strong { 12_000.0 } else { 5_000.0 }, 20.0);
    for (k, b) in bad.iter_mut().enumerate() {
        let p_fail = match class[k] {
            Surface::Ice => if strong { 0.004 } else { 0.015 },
            _ => 0.06,
        };
        *b |= rng.uniform() < p_fail;
    }
    let mut quality = vec![0i8; n];
    for k in 0..n {
        if bad[k] {
            h_li[k] = F32_FILL;
            h_sigma[k] = F32_FILL;
            dh_dx[k] = F32_FILL;
            sprd[k] = F32_FILL;
            fpb[k] = F32_FILL;
            n_ph[k] = I32_FILL;
            bsnow_conf[k] = I8_FILL;
            quality[k] = 1;
        } else if h_sigma[k] > 0.5 {
            quality[k] = 1;
        }
    }

    let mut columns: Vec<(&'static str, Data)> = vec![
        ("delta_time", Data::F64(time)),
        ("latitude", Data::F64(lat)),
        ("longitude", Data::F64(lon)),
        ("h_li", Data::F32(h_li)),
        ("h_li_sigma", Data::F32(h_sigma)),
        ("atl06_quality_summary", Data::I8(quality)),
        ("segment_id", Data::I32(seg_id)),
        ("sigma_geo_h", Data::F32(sigma_geo)),
        ("bias_correction/fpb_med_corr", Data::F32(fpb)),
        ("bias_correction/tx_med_corr", Data::F32(tx)),
        ("dem/dem_flag", Data::I8(dem_flag)),
        ("dem/dem_h", Data::F32(dem_h)),
        ("dem/geoid_h", Data::F32(geoid_h)),
        ("fit_statistics/dh_fit_dx", Data::F32(dh_dx)),
        ("fit_statistics/h_robust_sprd", Data::F32(sprd)),
        ("fit_statistics/n_fit_photons", Data::I32(n_ph)),
        ("fit_statistics/w_surface_window_final", Data::F32(window)),
        ("geophysical/bsnow_conf", Data::I8(bsnow_conf)),
        ("geophysical/bsnow_h", Data::F32(bsnow_h)),
        ("geophysical/tide_ocean", Data::F32(tide)),
        ("ground_track/seg_azimuth", Data::F32(azimuth)),
        ("ground_track/x_atc", Data::F64(x_atc)),
        ("ground_track/y_atc", Data::F32(y_atc)),
    ];

    // Whole missing segments (clouds, no signal): rows removed, so beams differ in length.
    let mut gap = runs(rng, n, n as f64 / if strong { 25_000.0 } else { 12_000.0 }, 250.0);
    for g in gap.iter_mut() {
        *g |= rng.uniform() < if strong { 0.002 } else { 0.01 };
    }
    let keep: Vec<bool> = gap.iter().map(|g| !g).collect();
    for (_, d) in columns.iter_mut() {
        d.keep(&keep);
    }
    Beam { name: BEAMS[index], strong, spot, columns }
}
