//! [`Moments`]: count, sum, mean, M2, min and max, merged exactly.

/// Count, sum, mean, sum of squared deviations (M2), min and max of a set of values:
/// everything a one-pass reduction needs for mean, variance and standard deviation.
///
/// Two `Moments` [`merge`](Moments::merge) exactly (Chan et al.), so partial results
/// from blocks or threads combine without a second pass.
///
/// Empty moments (count 0) report sum 0 and NaN for mean, variance, min and max.
///
/// Moments computed elsewhere (another process, another machine) travel as their
/// [`parts`](Moments::parts) and come back bit for bit with
/// [`from_parts`](Moments::from_parts); with the crate's `serde` feature, `Moments` is
/// `Serialize` and `Deserialize` as those six parts (non-finite ones as the strings
/// `"NaN"`, `"inf"`, `"-inf"` in JSON and other human-readable formats).
/// Equality compares the stored fields, so moments holding NaN are never equal.
///
/// ```
/// use npmap::Moments;
/// let m = Moments::from_slice(&[1.0f64, 2.0, 3.0, 4.0]);
/// assert_eq!((m.count(), m.sum(), m.mean()), (4, 10.0, 2.5));
/// assert_eq!(m.var(0), 1.25);
/// assert_eq!((m.min(), m.max()), (1.0, 4.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    pub(super) count: u64,
    pub(super) mean: f64,
    pub(super) m2: f64,
    pub(super) sum: f64,
    pub(super) min: f64,
    pub(super) max: f64,
}

impl Default for Moments {
    /// The empty moments, as [`Moments::new`].
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::default(), Moments::new());
    /// ```
    fn default() -> Self {
        Moments::new()
    }
}

impl Moments {
    /// The moments of no values: count 0, sum 0, mean/var/min/max NaN.
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::new();
    /// assert_eq!((m.count(), m.sum()), (0, 0.0));
    /// assert!(m.mean().is_nan() && m.min().is_nan() && m.var(0).is_nan());
    /// ```
    pub const fn new() -> Self {
        Moments {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// The moments of one value. A NaN or infinite value has NaN M2, as NumPy's
    /// variance of `[inf]` is NaN.
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::single(2.5);
    /// assert_eq!((m.count(), m.mean(), m.var(0), m.min()), (1, 2.5, 0.0, 2.5));
    /// ```
    pub fn single(x: f64) -> Self {
        Moments {
            count: 1,
            mean: x,
            m2: if x.is_finite() { 0.0 } else { f64::NAN },
            sum: x,
            min: x,
            max: x,
        }
    }

    /// Adds one value (Welford's update, as a merge with [`Moments::single`]).
    ///
    /// ```
    /// use npmap::Moments;
    /// let mut m = Moments::new();
    /// for x in [2.0, 4.0, 6.0] {
    ///     m.push(x);
    /// }
    /// assert_eq!((m.count(), m.mean(), m.var(1)), (3, 4.0, 4.0));
    /// ```
    pub fn push(&mut self, x: f64) {
        *self = self.merge(&Moments::single(x));
    }

    /// The moments of the union of both sets of values (Chan et al.'s parallel formula).
    ///
    /// ```
    /// use npmap::Moments;
    /// let a = Moments::from_slice(&[1.0f64, 2.0]);
    /// let b = Moments::from_slice(&[3.0f64, 4.0, 5.0]);
    /// let all = a.merge(&b);
    /// assert_eq!((all.count(), all.mean(), all.var(0)), (5, 3.0, 2.0));
    /// assert_eq!((all.min(), all.max(), all.sum()), (1.0, 5.0, 15.0));
    /// ```
    pub fn merge(&self, other: &Moments) -> Moments {
        if other.count == 0 {
            return *self;
        }
        if self.count == 0 {
            return *other;
        }
        let count = self.count + other.count;
        let (na, nb, n) = (self.count as f64, other.count as f64, count as f64);
        let (mean, m2) = if self.mean == other.mean {
            (self.mean, self.m2 + other.m2)
        } else if !(self.mean.is_finite() && other.mean.is_finite()) {
            // Infinities (or NaN): the weighted mean follows IEEE arithmetic as NumPy's
            // `sum / n` does (inf with finite values stays inf, +inf with -inf is NaN);
            // the variance of values that include an infinity is NaN.
            (self.mean * (na / n) + other.mean * (nb / n), f64::NAN)
        } else {
            let delta = other.mean - self.mean;
            (
                self.mean + delta * (nb / n),
                self.m2 + other.m2 + delta * delta * (na * nb / n),
            )
        };
        Moments {
            count,
            mean,
            m2,
            sum: self.sum + other.sum,
            min: nan_propagating_min(self.min, other.min),
            max: nan_propagating_max(self.max, other.max),
        }
    }

    /// The stored parts `(count, sum, mean, m2, min, max)`, as the accessors report
    /// them (NaN mean, M2, min and max when empty): what a process sends another
    /// for [`Moments::from_parts`] to rebuild and [`merge`](Moments::merge) exactly.
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::from_slice(&[1.0f64, 3.0]);
    /// assert_eq!(m.parts(), (2, 4.0, 2.0, 2.0, 1.0, 3.0));
    /// let (n, sum, mean, m2, min, max) = m.parts();
    /// assert_eq!(Moments::from_parts(n, sum, mean, m2, min, max), Ok(m));
    /// ```
    pub fn parts(&self) -> (u64, f64, f64, f64, f64, f64) {
        (
            self.count,
            self.sum,
            self.mean(),
            self.m2(),
            self.min(),
            self.max(),
        )
    }

    /// Moments from their parts, as [`Moments::parts`] gives them: bit for bit the
    /// moments those parts came from, so results computed elsewhere merge as if
    /// computed here.
    ///
    /// ```
    /// use npmap::Moments;
    /// let here = Moments::from_slice(&[1.0f64, 2.0]);
    /// let elsewhere = Moments::from_parts(3, 12.0, 4.0, 2.0, 3.0, 5.0).unwrap();
    /// let all = here.merge(&elsewhere);
    /// assert_eq!(all, Moments::from_slice(&[1.0f64, 2.0, 3.0, 4.0, 5.0]));
    /// assert!(Moments::from_parts(2, 3.0, 1.5, -0.5, 1.0, 2.0).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidMoments`] when no set of values has these parts: a negative M2, a
    /// minimum above the maximum, a NaN minimum with a non-NaN maximum (or the reverse),
    /// or empty moments (count 0) whose sum is not 0 or whose other parts are not NaN.
    pub fn from_parts(
        count: u64,
        sum: f64,
        mean: f64,
        m2: f64,
        min: f64,
        max: f64,
    ) -> Result<Moments, InvalidMoments> {
        let invalid = |reason: &'static str| Err(InvalidMoments { reason });
        if count == 0 {
            if sum != 0.0 {
                return invalid("empty moments (count 0) must have sum 0");
            }
            if !(mean.is_nan() && m2.is_nan() && min.is_nan() && max.is_nan()) {
                return invalid("empty moments (count 0) must have NaN mean, m2, min and max");
            }
            return Ok(Moments::new());
        }
        if m2 < 0.0 {
            return invalid("m2, a sum of squares, must not be negative");
        }
        if min.is_nan() != max.is_nan() {
            return invalid("min and max must be both NaN or neither");
        }
        if min > max {
            return invalid("min must not exceed max");
        }
        Ok(Moments {
            count,
            mean,
            m2,
            sum,
            min,
            max,
        })
    }

    /// Number of values (for the `nan` reductions: of non-NaN values).
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[1.0f32, 2.0]).count(), 2);
    /// ```
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the values; 0 when empty (as `np.sum`).
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[true, true, false]).sum(), 2.0);
    /// ```
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Arithmetic mean; NaN when empty.
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[1i32, 2]).mean(), 1.5);
    /// ```
    pub fn mean(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.mean }
    }

    /// Sum of squared deviations from the mean (M2); NaN when empty.
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[1.0f64, 3.0]).m2(), 2.0);
    /// ```
    pub fn m2(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.m2 }
    }

    /// Variance `M2 / (count - ddof)`, `ddof` as in NumPy (0: population, 1: sample).
    ///
    /// When `ddof >= count` this returns NaN (NumPy warns and returns NaN or inf).
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::from_slice(&[1.0f64, 2.0, 3.0, 4.0]);
    /// assert_eq!((m.var(0), m.var(1)), (1.25, 5.0 / 3.0));
    /// assert!(m.var(4).is_nan());
    /// ```
    pub fn var(&self, ddof: usize) -> f64 {
        let ddof = ddof as u64;
        if ddof >= self.count {
            f64::NAN
        } else {
            self.m2 / (self.count - ddof) as f64
        }
    }

    /// Standard deviation, the square root of [`Moments::var`].
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[2.0f64, 4.0]).std(0), 1.0);
    /// ```
    pub fn std(&self, ddof: usize) -> f64 {
        self.var(ddof).sqrt()
    }

    /// Smallest value; NaN when empty or (plain reductions) when any value is NaN.
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[3i64, -7, 5]).min(), -7.0);
    /// ```
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// Largest value; NaN when empty or (plain reductions) when any value is NaN.
    ///
    /// ```
    /// use npmap::Moments;
    /// assert_eq!(Moments::from_slice(&[3i64, -7, 5]).max(), 5.0);
    /// ```
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }
}

pub(super) fn nan_propagating_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b < a {
        b
    } else {
        a
    }
}

pub(super) fn nan_propagating_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b > a {
        b
    } else {
        a
    }
}

/// Parts that no set of values has, refused by [`Moments::from_parts`].
///
/// ```
/// use npmap::Moments;
/// let e = Moments::from_parts(1, 2.0, 2.0, 0.0, 3.0, 1.0).unwrap_err();
/// assert_eq!(e.to_string(), "invalid moments: min must not exceed max");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidMoments {
    reason: &'static str,
}

impl std::fmt::Display for InvalidMoments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid moments: {}", self.reason)
    }
}

impl std::error::Error for InvalidMoments {}
