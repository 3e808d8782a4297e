//! Decimal digits of binary floats, as NumPy's Dragon4 produces them.
//!
//! Every finite float is `mantissa × 2^exponent`, so its exact decimal expansion is
//! finite. The digits printed are that expansion cut at a position and rounded:
//! the shortest cut that still identifies the value among the floats of its own type
//! (the "unique" mode; bounds are inclusive when the mantissa is even, as in IEEE
//! round-half-even parsing), limited by a maximum number of digits and extended to a
//! minimum one, the last digit rounded to nearest with ties to an even digit.

use std::cmp::Ordering;

/// The IEEE binary formats NumPy prints: float16, float32, float64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Width {
    Half,
    Single,
    Double,
}

impl Width {
    /// (mantissa bits without the hidden bit, exponent bits).
    fn layout(self) -> (u32, u32) {
        match self {
            Width::Half => (10, 5),
            Width::Single => (23, 8),
            Width::Double => (52, 11),
        }
    }
}

/// One float of a given width, kept as its bits so that nothing is rounded.
#[derive(Clone, Copy, Debug)]
pub(super) struct Float {
    bits: u64,
    width: Width,
}

/// A finite float exactly: `(-1)^negative × mantissa × 2^exponent`, and whether the
/// next float below is closer than the next float above (at a power of two).
struct Exact {
    mantissa: u64,
    exponent: i32,
    lower_closer: bool,
}

impl Float {
    pub(super) fn new(bits: u64, width: Width) -> Float {
        Float { bits, width }
    }

    fn fields(self) -> (bool, u64, u64) {
        let (frac_bits, exp_bits) = self.width.layout();
        let sign = (self.bits >> (frac_bits + exp_bits)) & 1 == 1;
        let biased = (self.bits >> frac_bits) & ((1 << exp_bits) - 1);
        (sign, biased, self.bits & ((1 << frac_bits) - 1))
    }

    fn all_ones_exponent(self) -> bool {
        let (_, exp_bits) = self.width.layout();
        self.fields().1 == (1 << exp_bits) - 1
    }

    pub(super) fn is_nan(self) -> bool {
        self.all_ones_exponent() && self.fields().2 != 0
    }

    pub(super) fn is_infinite(self) -> bool {
        self.all_ones_exponent() && self.fields().2 == 0
    }

    pub(super) fn is_finite(self) -> bool {
        !self.all_ones_exponent()
    }

    pub(super) fn is_sign_negative(self) -> bool {
        self.fields().0
    }

    pub(super) fn width(self) -> Width {
        self.width
    }

    /// The value as f64 (exact: every float16 and float32 is a float64).
    pub(super) fn to_f64(self) -> f64 {
        match self.width {
            Width::Half => half::f16::from_bits(self.bits as u16).to_f64(),
            Width::Single => f64::from(f32::from_bits(self.bits as u32)),
            Width::Double => f64::from_bits(self.bits),
        }
    }

    fn exact(self) -> Exact {
        let (frac_bits, exp_bits) = self.width.layout();
        let (_, biased, fraction) = self.fields();
        let bias = (1i32 << (exp_bits - 1)) - 1;
        let shift = bias + frac_bits as i32;
        if biased == 0 {
            Exact {
                mantissa: fraction,
                exponent: 1 - shift,
                lower_closer: false,
            }
        } else {
            Exact {
                mantissa: fraction | (1 << frac_bits),
                exponent: biased as i32 - shift,
                lower_closer: fraction == 0 && biased > 1,
            }
        }
    }
}

/// A decimal number `0.d1 d2 d3 ... × 10^point`, digits without trailing zeros
/// (none at all for zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Digits {
    pub(super) negative: bool,
    pub(super) digits: Vec<u8>,
    pub(super) point: i32,
}

/// Where the digits may stop, as Dragon4's `precision` and `min_digits` say.
#[derive(Clone, Copy, Debug)]
pub(super) enum Cut {
    /// No limit (only for the maximum: all digits the value needs).
    None,
    /// This many significant digits.
    Significant(i32),
    /// This many digits after the decimal point.
    Fraction(i32),
}

/// The digits of a finite `x`: the shortest that identify it, but at most `max` and
/// at least `min`, the last one rounded as Dragon4 rounds.
pub(super) fn digits(x: Float, max: Cut, min: Cut) -> Digits {
    let negative = x.is_sign_negative();
    let exact = x.exact();
    if exact.mantissa == 0 {
        return Digits {
            negative,
            digits: Vec::new(),
            point: 1,
        };
    }
    let scaled = Scaled::new(&exact);
    let len = scaled.value.len() as i32;
    let point = len - scaled.scale;
    let count = |cut: Cut, default: i32| match cut {
        Cut::None => default,
        Cut::Significant(n) => n,
        Cut::Fraction(n) => point.saturating_add(n),
    };
    let most = count(max, len);
    let least = count(min, i32::MIN);
    let mut keep = most;
    for k in 1..=most.min(len) {
        let (low, high) = scaled.bounds(len - k);
        if low || high {
            keep = k;
            break;
        }
    }
    let keep = keep.max(least).min(most);
    let (digits, point) = scaled.round(keep, point);
    Digits {
        negative,
        digits,
        point,
    }
}

/// `x × 10^scale` and the half-gaps to its neighbours, all integers, as decimal
/// digit strings (most significant first, no leading zeros).
struct Scaled {
    value: Vec<u8>,
    margin_low: Vec<u8>,
    margin_high: Vec<u8>,
    scale: i32,
    inclusive: bool,
}

impl Scaled {
    fn new(x: &Exact) -> Scaled {
        // With scale = max(0, 2 - exponent), x × 10^scale and a quarter of the gap
        // between floats (2^(exponent - 2) × 10^scale) are both integers.
        let scale = (2 - x.exponent).max(0);
        let fives = scale as u32;
        let value = Big::from(x.mantissa)
            .times_pow2((x.exponent + scale) as u32)
            .times_pow5(fives);
        let quarter = Big::from(1)
            .times_pow2((x.exponent - 2 + scale) as u32)
            .times_pow5(fives);
        let half = quarter.clone().times_pow2(1);
        let margin_low = if x.lower_closer {
            quarter
        } else {
            half.clone()
        };
        Scaled {
            value: value.decimal(),
            margin_low: margin_low.decimal(),
            margin_high: half.decimal(),
            scale,
            inclusive: x.mantissa.is_multiple_of(2),
        }
    }

    /// The last `dropped` digits of the value (all of it when `dropped` exceeds its length).
    fn remainder(&self, dropped: i32) -> &[u8] {
        let start = (self.value.len() as i32 - dropped).max(0) as usize;
        strip(&self.value[start..])
    }

    /// Whether cutting `dropped` digits, rounded down (low) or up (high), still reads
    /// back as this float.
    fn bounds(&self, dropped: i32) -> (bool, bool) {
        let rest = self.remainder(dropped);
        let low = compare(rest, &self.margin_low);
        let up = complement(rest, dropped.max(0) as usize);
        let high = compare(&self.margin_high, &up);
        if self.inclusive {
            (low != Ordering::Greater, high != Ordering::Less)
        } else {
            (low == Ordering::Less, high == Ordering::Greater)
        }
    }

    /// The first `keep` digits, rounded, and the new decimal point position.
    fn round(&self, keep: i32, point: i32) -> (Vec<u8>, i32) {
        let len = self.value.len() as i32;
        let dropped = len - keep;
        if dropped <= 0 {
            return (trim_zeros(self.value.clone()), point);
        }
        let kept: Vec<u8> = self.value[..keep.max(0) as usize].to_vec();
        let up = match self.bounds(dropped) {
            (true, false) => false,
            (false, true) => true,
            _ => {
                let rest = self.remainder(dropped);
                let mut half = vec![5];
                half.resize(dropped as usize, 0);
                match compare(rest, &half) {
                    Ordering::Less => false,
                    Ordering::Greater => true,
                    Ordering::Equal => kept.last().is_some_and(|d| d % 2 == 1),
                }
            }
        };
        if !up {
            return (trim_zeros(kept), point);
        }
        if kept.is_empty() {
            return (vec![1], point - keep + 1);
        }
        let mut digits = kept;
        for d in digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                return (trim_zeros(digits), point);
            }
        }
        (vec![1], point + 1)
    }
}

fn strip(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&d| d == 0).count();
    &digits[zeros..]
}

fn trim_zeros(mut digits: Vec<u8>) -> Vec<u8> {
    while digits.last() == Some(&0) {
        digits.pop();
    }
    digits
}

/// Compares two decimal digit strings as numbers.
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (strip(a), strip(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `10^places - rest`, for `rest < 10^places`.
fn complement(rest: &[u8], places: usize) -> Vec<u8> {
    let mut out = vec![0u8; places + 1];
    out[0] = 1;
    let mut borrow = 0u8;
    for i in 0..out.len() {
        let at = out.len() - 1 - i;
        let sub = rest.len().checked_sub(i + 1).map_or(0, |j| rest[j]) + borrow;
        if out[at] >= sub {
            out[at] -= sub;
            borrow = 0;
        } else {
            out[at] = out[at] + 10 - sub;
            borrow = 1;
        }
    }
    strip(&out).to_vec()
}

/// An unsigned integer in base 10^9, least significant limb first.
#[derive(Clone)]
struct Big(Vec<u32>);

const LIMB: u64 = 1_000_000_000;

impl Big {
    fn from(n: u64) -> Big {
        let mut limbs = Vec::new();
        let mut n = n;
        while n > 0 {
            limbs.push((n % LIMB) as u32);
            n /= LIMB;
        }
        Big(limbs)
    }

    fn times(mut self, factor: u64) -> Big {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let product = u64::from(*limb) * factor + carry;
            *limb = (product % LIMB) as u32;
            carry = product / LIMB;
        }
        while carry > 0 {
            self.0.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
        self
    }

    fn times_pow2(mut self, mut n: u32) -> Big {
        while n > 0 {
            let step = n.min(29);
            self = self.times(1 << step);
            n -= step;
        }
        self
    }

    fn times_pow5(mut self, mut n: u32) -> Big {
        while n > 0 {
            let step = n.min(13);
            self = self.times(5u64.pow(step));
            n -= step;
        }
        self
    }

    fn decimal(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 9);
        for (i, limb) in self.0.iter().rev().enumerate() {
            let text = if i == 0 {
                limb.to_string()
            } else {
                format!("{limb:09}")
            };
            out.extend(text.bytes().map(|b| b - b'0'));
        }
        strip(&out).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shortest(x: Float) -> (Vec<u8>, i32) {
        let d = digits(x, Cut::None, Cut::None);
        (d.digits, d.point)
    }

    /// Rust's `{:e}` prints the shortest round-trip digits (nearest, ties even).
    fn rust_shortest(text: &str) -> (Vec<u8>, i32) {
        let (mantissa, exp) = text.trim_start_matches('-').split_once('e').unwrap();
        let digits: Vec<u8> = mantissa
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        (trim_zeros(digits), exp.parse::<i32>().unwrap() + 1)
    }

    /// Whether the shortest digits of `x` were a choice between two candidates at
    /// the same distance (NumPy takes the even digit; Rust's `{:e}` may not).
    fn is_tie(x: Float, kept: usize) -> bool {
        let scaled = Scaled::new(&x.exact());
        let dropped = scaled.value.len() - kept;
        let mut half = vec![5];
        half.resize(dropped, 0);
        dropped > 0 && compare(scaled.remainder(dropped as i32), &half) == Ordering::Equal
    }

    #[test]
    fn shortest_digits_agree_with_rust_for_f32_and_f64() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut ties = 0;
        let mut check = |x: Float, rust: String| {
            let (mine, theirs) = (shortest(x), rust_shortest(&rust));
            if mine != theirs {
                // np.float32(312985.125) prints 312985.12, Rust 312985.13.
                assert!(is_tie(x, mine.0.len()), "{rust}: {mine:?}");
                assert_eq!(mine.0.last().map(|d| d % 2), Some(0), "{rust}");
                ties += 1;
            }
        };
        for _ in 0..5_000 {
            let bits = next();
            let d = f64::from_bits(bits);
            if d.is_finite() && d != 0.0 {
                check(Float::new(bits, Width::Double), format!("{d:e}"));
            }
            let s = f32::from_bits(bits as u32);
            if s.is_finite() && s != 0.0 {
                check(
                    Float::new(u64::from(bits as u32), Width::Single),
                    format!("{s:e}"),
                );
            }
        }
        assert!(ties < 25, "{ties} ties");
    }

    #[test]
    fn ties_between_shortest_candidates_go_to_the_even_digit() {
        // np.float32(312985.125) -> 312985.12
        let x = Float::new(u64::from((312_985.125f64 as f32).to_bits()), Width::Single);
        assert_eq!(shortest(x), (vec![3, 1, 2, 9, 8, 5, 1, 2], 6));
    }

    #[test]
    fn float16_digits_are_its_own_shortest() {
        // np.float16(0.1) prints 0.1, np.float16(65504) 6.55e+04, np.float16(np.pi) 3.14.
        let f16 = |v: f32| Float::new(u64::from(half::f16::from_f32(v).to_bits()), Width::Half);
        assert_eq!(shortest(f16(0.1)), (vec![1], 0));
        assert_eq!(shortest(f16(65504.0)), (vec![6, 5, 5], 5));
        assert_eq!(shortest(f16(std::f32::consts::PI)), (vec![3, 1, 4], 1));
    }

    #[test]
    fn limits_round_half_even_and_minimums_add_exact_digits() {
        let f64 = |v: f64| Float::new(v.to_bits(), Width::Double);
        // 2^-9 = 0.001953125 at 8 decimals: a tie, rounded to the even 2 (NumPy: 0.00195312).
        let d = digits(f64(0.001953125), Cut::Fraction(8), Cut::None);
        assert_eq!((d.digits, d.point), (vec![1, 9, 5, 3, 1, 2], -2));
        // 5 × 2^-9 = 0.009765625: 0.00976562; 3 × 2^-9 = 0.005859375: 0.00585938.
        let d = digits(f64(0.005859375), Cut::Fraction(8), Cut::None);
        assert_eq!(d.digits, vec![5, 8, 5, 9, 3, 8]);
        // np.float32(1e-5) with 7 digits after the point in scientific notation:
        // 9.9999997e-06, the exact value's digits, not the shortest 1e-05.
        let f = Float::new(u64::from(1e-5f32.to_bits()), Width::Single);
        let d = digits(f, Cut::Significant(8), Cut::Significant(8));
        assert_eq!((d.digits, d.point), (vec![9, 9, 9, 9, 9, 9, 9, 7], -5));
        // 1e23 is the float just below it; the shortest text rounds up across a power of ten.
        assert_eq!(shortest(f64(1e23)), (vec![1], 24));
        assert_eq!(shortest(f64(5e-324)), (vec![5], -323));
    }
}
