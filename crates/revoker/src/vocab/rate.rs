//! Rates (`100/s`, `6000/m`): the ceilings a job sets.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A number of requests per unit of time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub fn per_second(&self) -> f64 {
        f64::from(self.count) / self.per.as_secs_f64()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "m",
            3600 => "h",
            _ => return write!(f, "{}/{}", self.count, humantime::format_duration(self.per)),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `N/s`, `N/m` (or `/min`), `N/h`; `N` alone means per second.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a rate: write it as 100/s, 6000/m or 50000/h");
        let (count, unit) = s.trim().split_once('/').unwrap_or((s.trim(), "s"));
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("{s:?}: a rate must be at least 1"));
        }
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate { count, per })
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!("100/s".parse::<Rate>().unwrap().per_second(), 100.0);
        assert_eq!("6000/m".parse::<Rate>().unwrap().per_second(), 100.0);
        assert_eq!("6000/min".parse::<Rate>().unwrap().to_string(), "6000/m");
        assert_eq!("50".parse::<Rate>().unwrap().per_second(), 50.0);
        assert!("0/s".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().unwrap_err().contains("100/s"));
        assert!("10/fortnight".parse::<Rate>().is_err());
    }
}
