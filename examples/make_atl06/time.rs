//! Calendar arithmetic for delta_time (GPS seconds since the ATLAS SDP epoch 2018-01-01),
//! without a date crate. Leap seconds are ignored: UTC strings are GPS time printed as UTC,
//! which is close enough for a synthetic granule.

/// Days since 1970-01-01 of 2018-01-01.
const EPOCH_DAYS: i64 = 17_532;

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian calendar).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Broken-down time of a delta_time.
pub struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
}

pub fn utc(delta_time: f64) -> Utc {
    let total_us = (delta_time * 1e6).round() as i64;
    let secs = total_us.div_euclid(1_000_000);
    let micros = total_us.rem_euclid(1_000_000) as u32;
    let (year, month, day) = civil(EPOCH_DAYS + secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    Utc { year, month, day, hour: sod / 3600, minute: sod / 60 % 60, second: sod % 60, micros }
}

/// CCSDS-A form used by ATL06 (`2018-10-15T10:10:18.655715Z`, 27 characters).
pub fn ccsds(delta_time: f64) -> String {
    let t = utc(delta_time);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", t.year, t.month, t.day, t.hour, t.minute,
            t.second, t.micros)
}

/// `YYYYMMDDhhmmss` for file names.
pub fn compact(delta_time: f64) -> String {
    let t = utc(delta_time);
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_dates() {
        assert_eq!(super::ccsds(0.0), "2018-01-01T00:00:00.000000Z");
        // 2018-10-15 is day 287 of 2018 (0-based 287).
        assert_eq!(super::ccsds(287.0 * 86_400.0 + 36_618.655_715), "2018-10-15T10:10:18.655715Z");
        assert_eq!(super::compact(789.0 * 86_400.0), "20200229000000");
    }
}
