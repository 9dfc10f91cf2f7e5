//! CF time units (`seconds since 2018-01-01`) to Unix seconds.

/// A parsed CF time unit: value × `scale` + `epoch` = Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeUnits {
    /// Seconds per unit.
    pub scale: f64,
    /// Unix seconds of the reference time.
    pub epoch: f64,
}

impl TimeUnits {
    /// Parse `<unit> since <YYYY-MM-DD>[ T]<hh:mm:ss[.fff]>[Z]`; `None` when not a CF time unit.
    pub fn parse(units: &str) -> Option<TimeUnits> {
        let (unit, since) = units.trim().split_once(" since ")?;
        let scale = match unit.trim().to_ascii_lowercase().as_str() {
            "seconds" | "second" | "secs" | "sec" | "s" => 1.0,
            "minutes" | "minute" | "mins" | "min" => 60.0,
            "hours" | "hour" | "hrs" | "hr" | "h" => 3600.0,
            "days" | "day" | "d" => 86400.0,
            _ => return None,
        };
        let since = since.trim().trim_end_matches('Z').trim_end_matches(" UTC");
        let (date, clock) = match since.split_once(['T', ' ']) {
            Some((d, t)) => (d, t.trim()),
            None => (since, "00:00:00"),
        };
        let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
        let (y, m, day) = (d.next()??, d.next()??, d.next().flatten().unwrap_or(1));
        let mut t = clock.split(':');
        let hh: f64 = t.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let mm: f64 = t.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let ss: f64 = t.next().and_then(|v| v.trim_end_matches('Z').parse().ok()).unwrap_or(0.0);
        let epoch = days_from_civil(y, m, day) as f64 * 86400.0 + hh * 3600.0 + mm * 60.0 + ss;
        Some(TimeUnits { scale, epoch })
    }

    /// Unix seconds of a value in these units.
    pub fn to_unix(&self, v: f64) -> f64 {
        v * self.scale + self.epoch
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlas_epoch() {
        let t = TimeUnits::parse("seconds since 2018-01-01").unwrap();
        assert_eq!(t.epoch, 1_514_764_800.0);
        let t = TimeUnits::parse("days since 1970-01-02T00:00:00Z").unwrap();
        assert_eq!(t.to_unix(1.0), 2.0 * 86400.0);
        assert!(TimeUnits::parse("meters").is_none());
    }
}
