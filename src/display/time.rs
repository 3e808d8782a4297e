//! `datetime64` and `timedelta64` values as NumPy writes them.

use crate::TimeUnit;

/// NumPy's NaT: the smallest `i64`.
pub(super) const NAT: i64 = i64::MIN;

/// The value in the unit without its multiplier (`M8[10s]` ticks of 7 are 70 `s`),
/// wrapping on overflow as NumPy's conversion does.
fn base_ticks(value: i64, unit: &TimeUnit) -> i64 {
    value.wrapping_mul(unit.multiplier as i64)
}

/// Days since 1970-01-01 as (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i128::from(month <= 2), month, day)
}

/// A year as NumPy writes it: at least four characters, zero-padded after the sign.
fn year_text(year: i128) -> String {
    format!("{year:04}")
}

fn date_text(days: i128) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{}-{m:02}-{d:02}", year_text(y))
}

/// Sub-second units: ticks per second and digits of the fraction.
fn fraction_of(unit: &str) -> Option<(i128, usize)> {
    let digits = match unit {
        "s" => 0,
        "ms" => 3,
        "us" => 6,
        "ns" => 9,
        "ps" => 12,
        "fs" => 15,
        "as" => 18,
        _ => return None,
    };
    Some((10i128.pow(digits as u32), digits))
}

/// A datetime64 value (not NaT) as `np.datetime_as_string` writes it in the dtype's
/// unit: `2024`, `2024-01`, `2024-01-31`, `2024-01-31T12:30:05.250`. `None` for the
/// generic unit, where only NaT has a meaning.
pub(super) fn datetime_text(value: i64, unit: &TimeUnit) -> Option<String> {
    let ticks = i128::from(base_ticks(value, unit));
    let text = match unit.unit.as_str() {
        "Y" => year_text(1970 + ticks),
        "M" => format!(
            "{}-{:02}",
            year_text(1970 + ticks.div_euclid(12)),
            ticks.rem_euclid(12) + 1
        ),
        "W" => date_text(ticks * 7),
        "D" => date_text(ticks),
        "h" => format!(
            "{}T{:02}",
            date_text(ticks.div_euclid(24)),
            ticks.rem_euclid(24)
        ),
        "m" => {
            let minute = ticks.rem_euclid(1440);
            let date = date_text(ticks.div_euclid(1440));
            format!("{date}T{:02}:{:02}", minute / 60, minute % 60)
        }
        other => {
            let (per_second, digits) = fraction_of(other)?;
            let seconds = ticks.div_euclid(per_second);
            let fraction = ticks.rem_euclid(per_second);
            let s = seconds.rem_euclid(86_400);
            let mut text = format!(
                "{}T{:02}:{:02}:{:02}",
                date_text(seconds.div_euclid(86_400)),
                s / 3600,
                s / 60 % 60,
                s % 60
            );
            if digits > 0 {
                text.push_str(&format!(".{fraction:0digits$}"));
            }
            text
        }
    };
    Some(text)
}

/// The `str()` of a timedelta64 scalar: `5 days`, `70 seconds`, `7 generic time units`.
pub(super) fn timedelta_str(value: i64, unit: &TimeUnit) -> String {
    if value == NAT {
        return "NaT".into();
    }
    let name = match unit.unit.as_str() {
        "Y" => "years",
        "M" => "months",
        "W" => "weeks",
        "D" => "days",
        "h" => "hours",
        "m" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "ps" => "picoseconds",
        "fs" => "femtoseconds",
        "as" => "attoseconds",
        _ => return format!("{value} generic time units"),
    };
    format!("{} {name}", base_ticks(value, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(u: &str, multiplier: u64) -> TimeUnit {
        TimeUnit {
            multiplier,
            unit: u.into(),
        }
    }

    #[test]
    fn datetimes_print_as_numpy_does() {
        // np.datetime_as_string of each value, NumPy 2.4.
        let text = |v, u| datetime_text(v, &unit(u, 1)).unwrap();
        assert_eq!(text(11016, "D"), "2000-02-29");
        assert_eq!(text(-1, "D"), "1969-12-31");
        assert_eq!(text(-719_529, "D"), "-001-12-31");
        assert_eq!(text(3_000_000, "D"), "10183-09-21");
        assert_eq!(text(-1, "ms"), "1969-12-31T23:59:59.999");
        assert_eq!(text(13, "M"), "1971-02");
        assert_eq!(text(i64::MIN + 1, "s"), "-292277022657-01-27T08:29:53");
        assert_eq!(text(1 << 62, "h"), "526098644330439-11-20T16");
        assert_eq!(
            datetime_text(1 << 62, &unit("s", 7)).unwrap(),
            "-146138510344-07-14T16:14:56"
        );
        assert_eq!(datetime_text(0, &unit("", 1)), None);
    }

    #[test]
    fn timedeltas_name_their_unit() {
        assert_eq!(timedelta_str(5, &unit("D", 1)), "5 days");
        assert_eq!(timedelta_str(7, &unit("s", 10)), "70 seconds");
        assert_eq!(timedelta_str(7, &unit("", 1)), "7 generic time units");
        assert_eq!(timedelta_str(NAT, &unit("s", 1)), "NaT");
    }
}
