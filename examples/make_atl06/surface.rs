//! A fixed, seed-independent synthetic surface: two ice domes shaped like Greenland's
//! (central and southern), rock around them, and sea (or sea ice) everywhere else.
//! Only plausibility matters: heights of a few hundred to ~3,000 m over the ice sheet,
//! near zero over water, with short-wavelength roughness so h_li is not a straight line.

use crate::orbit::R_E;

/// Surface class under a point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Ice,
    Rock,
    Water,
}

/// Distance in metres between two nearby points with an optional north–south stretch.
fn local_dist(lat: f64, lon: f64, lat0: f64, lon0: f64, ns_stretch: f64) -> f64 {
    let mut dlon = lon - lon0;
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let dy = (lat - lat0).to_radians() * R_E / ns_stretch;
    let dx = dlon.to_radians() * R_E * (0.5 * (lat + lat0)).to_radians().cos();
    dx.hypot(dy)
}

/// Dome profile: flat top, steep margin (a cheap stand-in for a Vialov profile).
fn dome(r: f64, height: f64, radius: f64) -> f64 {
    let x = (r / radius).min(1.0);
    height * (1.0 - x.powf(1.35)).max(0.0).powf(0.4)
}

/// Height (m above the ellipsoid) and class at a point.
pub fn height(lat: f64, lon: f64) -> (f64, Surface) {
    let central = dome(local_dist(lat, lon, 72.5, -38.0, 1.6), 3200.0, 640e3);
    let south = dome(local_dist(lat, lon, 63.8, -44.2, 1.3), 2800.0, 270e3);
    let ice = central.max(south);
    // Along-track roughness from fixed plane waves (same place, same bumps, every granule).
    let y = lat.to_radians() * R_E;
    let x = lon.to_radians() * R_E * lat.to_radians().cos();
    let rough = 8.0 * ((0.8 * x + 0.6 * y) / 1.7e3).sin() + 3.0 * ((-0.4 * x + 0.9 * y) / 0.6e3).sin();
    if ice > 30.0 {
        (ice + rough * (0.3 + (1.0 - ice / 1500.0).max(0.0)), Surface::Ice)
    } else if local_dist(lat, lon, 70.0, -41.0, 1.8) < 820e3 {
        (300.0 + 4.0 * rough + 200.0 * (y / 23e3).sin(), Surface::Rock)
    } else {
        (0.3 + 0.05 * rough, Surface::Water)
    }
}

/// Geoid height (m): smooth, tens of metres, for dem/geoid_h.
pub fn geoid(lat: f64, lon: f64) -> f64 {
    30.0 + 20.0 * (2.0 * lat.to_radians()).sin() * (lon.to_radians()).cos()
}
