//! Ground-track geometry of a circular ICESat-2-like orbit on a spherical Earth.
//!
//! The satellite position is built as a unit vector in the orbit plane (ascending-node
//! direction and its in-plane perpendicular), then rotated into the Earth-fixed frame by the
//! Earth's rotation since the node crossing. Beam offsets and azimuths are done with vectors
//! too, so nothing breaks at the antimeridian or near the pole.

use std::f64::consts::PI;

/// Mean Earth radius, m (spherical model).
pub const R_E: f64 = 6_371_008.8;
const GM: f64 = 3.986_004_418e14;
/// ICESat-2 mean altitude, m.
const ALT: f64 = 496.0e3;
/// Earth rotation rate, rad/s.
const OMEGA_E: f64 = 7.292_115_9e-5;
/// Along-track segment spacing, m.
pub const SEG_DX: f64 = 20.0;

/// Mean motion of the circular orbit, rad/s.
pub fn mean_motion() -> f64 {
    (GM / (6_378_137.0 + ALT).powi(3)).sqrt()
}

pub type Vec3 = [f64; 3];

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn scale(a: Vec3, k: f64) -> Vec3 {
    [a[0] * k, a[1] * k, a[2] * k]
}

fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn unit(a: Vec3) -> Vec3 {
    scale(a, 1.0 / dot(a, a).sqrt())
}

/// (latitude, longitude) in degrees of a unit vector; longitude in [-180, 180).
pub fn lat_lon(p: Vec3) -> (f64, f64) {
    let lat = p[2].clamp(-1.0, 1.0).asin().to_degrees();
    let mut lon = p[1].atan2(p[0]).to_degrees();
    if lon >= 180.0 {
        lon -= 360.0;
    }
    (lat, lon)
}

/// One reference ground track: inclination and the Earth-fixed longitude of its ascending
/// node at the node-crossing time.
#[derive(Clone, Copy, Debug)]
pub struct Orbit {
    pub inclination: f64,
    pub node_lon: f64,
    pub n: f64,
}

/// A point of the track: Earth-fixed unit position, the unit direction of travel and the
/// unit vector to the right of travel (both tangent to the sphere).
pub struct TrackPoint {
    pub pos: Vec3,
    pub right: Vec3,
    /// Azimuth of travel, degrees clockwise from north.
    pub azimuth: f64,
}

impl Orbit {
    /// The orbit whose ground track passes through (`lat`, `lon`) (degrees) on its ascending
    /// (`ascending` = true) or descending branch.
    pub fn through(inclination_deg: f64, lat: f64, lon: f64, ascending: bool) -> Option<Self> {
        let inc = inclination_deg.to_radians();
        let u = Self::u_at_lat(inc, lat, ascending)?;
        let n = mean_motion();
        // Inertial longitude of the point relative to the node, then undo the Earth rotation
        // accumulated between the node crossing and the point.
        let rel = (inc.cos() * u.sin()).atan2(u.cos());
        let node_lon = lon.to_radians() - rel + OMEGA_E * u / n;
        Some(Self { inclination: inc, node_lon, n })
    }

    /// Argument of latitude (rad from the ascending node) where the track is at `lat`.
    pub fn u_at_lat(inc: f64, lat: f64, ascending: bool) -> Option<f64> {
        let x = lat.to_radians().sin() / inc.sin();
        if x.abs() > 1.0 {
            return None;
        }
        let u = x.asin();
        Some(if ascending { u } else { PI - u })
    }

    /// Earth-fixed unit position at argument of latitude `u` (time since node = u / n).
    pub fn position(&self, u: f64) -> Vec3 {
        let (si, ci) = self.inclination.sin_cos();
        // In a frame whose x axis is the node direction at node time.
        let p = [u.cos(), u.sin() * ci, u.sin() * si];
        let theta = self.node_lon - OMEGA_E * u / self.n;
        let (st, ct) = theta.sin_cos();
        [p[0] * ct - p[1] * st, p[0] * st + p[1] * ct, p[2]]
    }

    /// Position, direction of travel and right-of-travel vector at `u`.
    pub fn point(&self, u: f64) -> TrackPoint {
        let pos = self.position(u);
        let ahead = self.position(u + 1.0 / R_E);
        // Tangent direction of travel: remove the radial part of the chord.
        let chord = add(ahead, scale(pos, -1.0));
        let fwd = unit(add(chord, scale(pos, -dot(chord, pos))));
        let right = cross(fwd, pos);
        let (lat, lon) = lat_lon(pos);
        let (sp, cp) = lat.to_radians().sin_cos();
        let (sl, cl) = lon.to_radians().sin_cos();
        let east = [-sl, cl, 0.0];
        let north = [-sp * cl, -sp * sl, cp];
        let azimuth = dot(fwd, east).atan2(dot(fwd, north)).to_degrees();
        TrackPoint { pos, right, azimuth }
    }
}

/// The point `dist` metres to the right of travel from a track point (great-circle offset).
pub fn offset_right(tp: &TrackPoint, dist: f64) -> Vec3 {
    let d = dist / R_E;
    add(scale(tp.pos, d.cos()), scale(tp.right, d.sin()))
}

/// Which kind of track to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TrackKind {
    /// Ascending over south-west Greenland through the fixture AOI (62.8 N, 45.0 W).
    Greenland,
    /// Ascending over the Chukchi Sea, crossing the antimeridian at 66.5 N.
    Antimeridian,
    /// Over the turning point of a 90.25-degree-inclination variant: up to 89.75 N,
    /// i.e. within 0.25 degree of the pole, then descending.
    Polar,
}

/// Where a kind of track is anchored.
pub struct TrackPlan {
    pub orbit: Orbit,
    /// Argument of latitude at the middle of the granule, rad.
    pub u_mid: f64,
    /// ATL06 granule region number (03 northern ascending, 04 over the north pole).
    pub region: u32,
}

impl TrackKind {
    /// The default inclination, degrees (92 like ICESat-2; the polar kind needs more than
    /// the 88-degree turning latitude of a 92-degree orbit to come near the pole).
    pub fn default_inclination(self) -> f64 {
        match self {
            Self::Polar => 90.25,
            _ => 92.0,
        }
    }

    /// Anchor the granule: the middle of the track passes through the kind's anchor point.
    pub fn plan(self, inclination: f64) -> Option<TrackPlan> {
        let n = mean_motion();
        match self {
            Self::Greenland => {
                let orbit = Orbit::through(inclination, 62.8, -45.0, true)?;
                let u_mid = Orbit::u_at_lat(orbit.inclination, 62.8, true)?;
                Some(TrackPlan { orbit, u_mid, region: 3 })
            }
            Self::Antimeridian => {
                let orbit = Orbit::through(inclination, 66.5, 180.0, true)?;
                let u_mid = Orbit::u_at_lat(orbit.inclination, 66.5, true)?;
                Some(TrackPlan { orbit, u_mid, region: 3 })
            }
            Self::Polar => {
                // Node placed so the turning point lies over the Arctic Ocean near 150 E.
                let orbit = Orbit { inclination: inclination.to_radians(), node_lon: 0.0, n };
                let u_mid = PI / 2.0;
                let (_, lon_top) = lat_lon(orbit.position(u_mid));
                let node_lon = (150.0 - lon_top).to_radians();
                Some(TrackPlan { orbit: Orbit { node_lon, ..orbit }, u_mid, region: 4 })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greenland_track_passes_its_anchor() {
        let plan = TrackKind::Greenland.plan(92.0).unwrap();
        let (lat, lon) = lat_lon(plan.orbit.position(plan.u_mid));
        assert!((lat - 62.8).abs() < 1e-9 && (lon + 45.0).abs() < 1e-9, "{lat} {lon}");
        // Ascending, heading a little west of north.
        let az = plan.orbit.point(plan.u_mid).azimuth;
        assert!((-20.0..0.0).contains(&az), "{az}");
    }

    #[test]
    fn polar_track_turns_within_a_quarter_degree_of_the_pole() {
        let plan = TrackKind::Polar.plan(90.25).unwrap();
        let (lat, _) = lat_lon(plan.orbit.position(plan.u_mid));
        assert!((lat - 89.75).abs() < 1e-9, "{lat}");
        // A 92-degree orbit never gets above 88 N.
        assert!(Orbit::u_at_lat(92f64.to_radians(), 88.5, true).is_none());
    }

    #[test]
    fn right_offset_is_to_the_right_and_at_the_distance() {
        let plan = TrackKind::Greenland.plan(92.0).unwrap();
        let tp = plan.orbit.point(plan.u_mid);
        let p = offset_right(&tp, 3300.0);
        let d = dot(p, tp.pos).clamp(-1.0, 1.0).acos() * R_E;
        assert!((d - 3300.0).abs() < 1e-6, "{d}");
        let (_, lon0) = lat_lon(tp.pos);
        let (_, lon1) = lat_lon(p);
        assert!(lon1 > lon0, "travelling north, right is east");
    }
}
