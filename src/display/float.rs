//! Floats and complex numbers as NumPy prints them: in arrays, one format for the
//! whole array (`FloatingFormat`: fixed or scientific chosen from the largest and
//! smallest magnitudes, padded so the decimal points line up), and alone, as the
//! `str()` of a scalar.

use super::digits::{Cut, Digits, Float, Width, digits};

/// NumPy's default `precision`: at most this many digits after the point.
const PRECISION: i32 = 8;

/// What is removed after the last digit (Dragon4's `trim`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Trim {
    /// `'k'`: keep trailing zeros and the point.
    Keep,
    /// `'.'`: drop trailing zeros, keep the point: `1.`.
    Point,
    /// `'0'`: keep one zero after the point: `1.0`.
    OneZero,
    /// `'-'`: drop trailing zeros and the point: `1`.
    Everything,
}

/// How one number is laid out around its decimal point.
#[derive(Clone, Copy, Debug)]
struct Layout {
    trim: Trim,
    /// Digits after the point at least (zeros added); in scientific notation, of the mantissa.
    min_fraction: usize,
    /// Characters before the point at least (spaces added on the left).
    pad_left: usize,
    /// Characters after the point at least (spaces added on the right).
    pad_right: usize,
    /// Exponent digits at least.
    exp_digits: usize,
    /// Write `+` before positive numbers.
    plus: bool,
}

impl Layout {
    fn plain(trim: Trim, plus: bool) -> Layout {
        Layout {
            trim,
            min_fraction: 0,
            pad_left: 0,
            pad_right: 0,
            exp_digits: 2,
            plus,
        }
    }
}

fn sign(d: &Digits, plus: bool) -> &'static str {
    match (d.negative, plus) {
        (true, _) => "-",
        (false, true) => "+",
        (false, false) => "",
    }
}

/// Joins an integer part and fraction digits with the point, trimmed and padded.
fn assemble(int_part: String, mut fraction: String, layout: &Layout) -> String {
    while fraction.len() < layout.min_fraction {
        fraction.push('0');
    }
    let point = match (layout.trim, fraction.is_empty()) {
        (Trim::OneZero, true) => {
            fraction.push('0');
            "."
        }
        (Trim::Everything, true) => "",
        _ => ".",
    };
    let left = layout.pad_left.saturating_sub(int_part.chars().count());
    let right = layout.pad_right.saturating_sub(fraction.len());
    format!(
        "{}{int_part}{point}{fraction}{}",
        " ".repeat(left),
        " ".repeat(right)
    )
}

fn digit_text(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// `123.45`: positional notation.
fn positional(d: &Digits, layout: &Layout) -> String {
    let point = d.point;
    let int_digits = if point > 0 {
        let shown = d.digits.iter().take(point as usize).copied();
        let mut text = digit_text(&shown.collect::<Vec<_>>());
        while text.len() < point as usize {
            text.push('0');
        }
        text
    } else {
        "0".to_string()
    };
    let fraction = if point >= 0 {
        digit_text(d.digits.get(point as usize..).unwrap_or(&[]))
    } else {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        zeros + &digit_text(&d.digits)
    };
    assemble(
        format!("{}{int_digits}", sign(d, layout.plus)),
        fraction,
        layout,
    )
}

/// `1.2345e+02`: scientific notation.
fn scientific(d: &Digits, layout: &Layout) -> String {
    let (first, rest, exponent) = match d.digits.split_first() {
        Some((first, rest)) => (*first, rest, d.point - 1),
        None => (0, &[][..], 0),
    };
    let mantissa = format!("{}{first}", sign(d, layout.plus));
    let text = assemble(
        mantissa,
        digit_text(rest),
        &Layout {
            pad_right: 0,
            ..*layout
        },
    );
    let exp_sign = if exponent < 0 { '-' } else { '+' };
    let width = layout.exp_digits;
    format!("{text}e{exp_sign}{:0width$}", exponent.unsigned_abs())
}

/// The exponent cut-off of `FloatingFormat`: `10 ** min(8, finfo(dtype).precision)`.
fn exp_cutoff(width: Width) -> f64 {
    match width {
        Width::Half => 1e3,
        Width::Single => 1e6,
        Width::Double => 1e8,
    }
}

/// `0.0001` as the dtype holds it (NumPy compares in the dtype).
fn small_cutoff(width: Width) -> f64 {
    match width {
        Width::Half => half::f16::from_f64(1e-4).to_f64(),
        Width::Single => f64::from(1e-4f32),
        Width::Double => 1e-4,
    }
}

/// `max / min` computed in the dtype, as NumPy divides.
fn ratio(max: f64, min: f64, width: Width) -> f64 {
    match width {
        Width::Half => half::f16::from_f32(max as f32 / min as f32).to_f64(),
        Width::Single => f64::from(max as f32 / min as f32),
        Width::Double => max / min,
    }
}

/// Whether the finite non-zero magnitudes call for scientific notation.
fn needs_exponent(finite: &[Float]) -> bool {
    let magnitudes = finite
        .iter()
        .map(|x| x.to_f64().abs())
        .filter(|&m| m != 0.0);
    let Some((min, max)) = magnitudes.fold(None, |acc: Option<(f64, f64)>, m| match acc {
        None => Some((m, m)),
        Some((lo, hi)) => Some((lo.min(m), hi.max(m))),
    }) else {
        return false;
    };
    let width = finite[0].width();
    max >= exp_cutoff(width) || min < small_cutoff(width) || ratio(max, min, width) > 1000.0
}

/// NumPy's `FloatingFormat` for one array (or the real or imaginary parts of one).
#[derive(Clone, Debug)]
pub(super) struct FloatFormat {
    scientific: bool,
    /// Digits after the point, at most.
    precision: i32,
    /// Digits after the point, at least (scientific notation only).
    min_digits: i32,
    layout: Layout,
}

impl FloatFormat {
    /// The format NumPy chooses for `values` with the default print options;
    /// `plus` writes `+` before positive numbers (the imaginary parts of complex numbers).
    pub(super) fn new(values: &[Float], plus: bool) -> FloatFormat {
        let finite: Vec<Float> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let exp_mode = needs_exponent(&finite);
        let mut format = FloatFormat {
            scientific: exp_mode,
            precision: PRECISION,
            min_digits: 0,
            layout: Layout::plain(Trim::Point, plus),
        };
        let first = Layout::plain(Trim::Point, plus);
        let texts = finite.iter().map(|&x| {
            let d = digits(x, format.max_cut(PRECISION), Cut::None);
            if exp_mode {
                scientific(&d, &first)
            } else {
                positional(&d, &first)
            }
        });
        let mut int_len = 0;
        let mut frac_len = 0;
        let mut exp_len = 0;
        for text in texts {
            let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, ""));
            let (int_part, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            int_len = int_len.max(int_part.len());
            frac_len = frac_len.max(fraction.len());
            exp_len = exp_len.max(exponent.len().saturating_sub(1));
        }
        format.layout.pad_left = int_len;
        if exp_mode {
            format.precision = frac_len as i32;
            format.min_digits = frac_len as i32;
            format.layout.trim = Trim::Keep;
            format.layout.min_fraction = frac_len;
            format.layout.exp_digits = exp_len;
            format.layout.pad_right = exp_len + 2 + frac_len;
        } else {
            format.layout.pad_right = frac_len;
        }
        if finite.len() < values.len() {
            let neg_inf = plus
                || values
                    .iter()
                    .any(|x| x.is_infinite() && x.is_sign_negative());
            let after = format.layout.pad_right + 1;
            let inf_len = 3 + usize::from(neg_inf);
            format.layout.pad_left = format.layout.pad_left.max(inf_len.saturating_sub(after));
        }
        format
    }

    fn max_cut(&self, precision: i32) -> Cut {
        if self.scientific {
            Cut::Significant(precision + 1)
        } else {
            Cut::Fraction(precision)
        }
    }

    /// One value in this format.
    pub(super) fn text(&self, x: Float) -> String {
        let layout = &self.layout;
        if !x.is_finite() {
            let word = non_finite(x, layout.plus);
            let width = layout.pad_left + layout.pad_right + 1;
            return format!("{word:>width$}");
        }
        let min = match self.scientific {
            true => Cut::Significant(self.min_digits + 1),
            false => Cut::None,
        };
        let d = digits(x, self.max_cut(self.precision), min);
        match self.scientific {
            true => scientific(&d, layout),
            false => positional(&d, layout),
        }
    }
}

fn non_finite(x: Float, plus: bool) -> String {
    let sign = match (x.is_nan(), x.is_sign_negative(), plus) {
        (false, true, _) => "-",
        (_, _, true) => "+",
        _ => "",
    };
    let word = if x.is_nan() { "nan" } else { "inf" };
    format!("{sign}{word}")
}

/// NumPy's `ComplexFloatingFormat`: the real parts in one format, the imaginary
/// parts (always signed) in another, `j` before the imaginary part's padding.
#[derive(Clone, Debug)]
pub(super) struct ComplexFormat {
    real: FloatFormat,
    imag: FloatFormat,
}

impl ComplexFormat {
    pub(super) fn new(values: &[(Float, Float)]) -> ComplexFormat {
        let reals: Vec<Float> = values.iter().map(|v| v.0).collect();
        let imags: Vec<Float> = values.iter().map(|v| v.1).collect();
        ComplexFormat {
            real: FloatFormat::new(&reals, false),
            imag: FloatFormat::new(&imags, true),
        }
    }

    pub(super) fn text(&self, (re, im): (Float, Float)) -> String {
        let imag = self.imag.text(im);
        let end = imag.trim_end_matches(' ').len();
        format!("{}{}j{}", self.real.text(re), &imag[..end], &imag[end..])
    }
}

/// The `str()` of a float scalar: positional for zero and magnitudes in
/// [1e-4, 10^k) (k = 3, 6, 16 for float16, 32, 64), else scientific; shortest digits.
fn scalar(x: Float, positional_trim: Trim, scientific_trim: Trim, plus: bool) -> String {
    if !x.is_finite() {
        return non_finite(x, plus);
    }
    let magnitude = x.to_f64().abs();
    let upper = match x.width() {
        Width::Half => 1e3,
        Width::Single => 1e6,
        Width::Double => 1e16,
    };
    let d = digits(x, Cut::None, Cut::None);
    if magnitude == 0.0 || (1e-4..upper).contains(&magnitude) {
        positional(&d, &Layout::plain(positional_trim, plus))
    } else {
        scientific(&d, &Layout::plain(scientific_trim, plus))
    }
}

/// `str(np.float64(x))`: `1.0`, `0.1`, `1e+20`, `nan`.
pub(super) fn float_str(x: Float) -> String {
    scalar(x, Trim::OneZero, Trim::Everything, false)
}

/// `str(np.complex128(z))`: `(1+2j)`, `2j` when the real part is +0, `(nan+infj)`.
pub(super) fn complex_str(re: Float, im: Float) -> String {
    let imag = scalar(im, Trim::Everything, Trim::Everything, true);
    if re.to_f64() == 0.0 && !re.is_sign_negative() {
        let imag = imag.strip_prefix('+').unwrap_or(&imag);
        return format!("{imag}j");
    }
    let real = scalar(re, Trim::Everything, Trim::Everything, false);
    format!("({real}{imag}j)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64s(values: &[f64]) -> Vec<Float> {
        values
            .iter()
            .map(|v| Float::new(v.to_bits(), Width::Double))
            .collect()
    }

    fn f32s(values: &[f32]) -> Vec<Float> {
        values
            .iter()
            .map(|v| Float::new(u64::from(v.to_bits()), Width::Single))
            .collect()
    }

    fn texts(values: &[Float]) -> Vec<String> {
        let format = FloatFormat::new(values, false);
        values.iter().map(|&x| format.text(x)).collect()
    }

    #[test]
    fn float32_prints_its_own_shortest_digits() {
        // print(np.array([6.0471706, 0.1], dtype=np.float32)) -> [6.0471706 0.1      ]
        assert_eq!(
            texts(&f32s(&[6.047_170_6, 0.1])),
            ["6.0471706", "0.1      "]
        );
        assert_eq!(float_str(f32s(&[0.1])[0]), "0.1");
        assert_eq!(float_str(f32s(&[16_777_216.0])[0]), "1.6777216e+07");
    }

    #[test]
    fn one_notation_for_the_whole_array() {
        // [1.e-05 1.e+00 1.e+05]: a ratio over 1000 switches every element.
        assert_eq!(
            texts(&f64s(&[1e-5, 1.0, 1e5])),
            ["1.e-05", "1.e+00", "1.e+05"]
        );
        // [   1. 1000.]: a ratio of exactly 1000 stays positional.
        assert_eq!(texts(&f64s(&[1.0, 1000.0])), ["   1.", "1000."]);
        // float32 switches at 1e6, float64 at 1e8: [1.e+06 1.e+05], [1000000.  100000.]
        assert_eq!(texts(&f32s(&[1e6, 1e5])), ["1.e+06", "1.e+05"]);
        assert_eq!(texts(&f64s(&[1e6, 1e5])), ["1000000.", " 100000."]);
        // [1.0000000e-05 1.2345678e-05]: every mantissa as long as the longest.
        assert_eq!(
            texts(&f64s(&[1e-5, 1.234_567_8e-5])),
            ["1.0000000e-05", "1.2345678e-05"]
        );
        // float32 shows the exact digits of np.float32(1e-5) to that length.
        assert_eq!(texts(&f32s(&[1e-5, 1.234_567_8e-5]))[0], "9.9999997e-06");
    }

    #[test]
    fn padding_lines_up_points_and_keeps_negative_zero() {
        // [-4.  -2.5 11.   0.5]
        assert_eq!(
            texts(&f64s(&[-4.0, -2.5, 11.0, 0.5])),
            ["-4. ", "-2.5", "11. ", " 0.5"]
        );
        // [-0.   0.   1.5]
        assert_eq!(texts(&f64s(&[-0.0, 0.0, 1.5])), ["-0. ", " 0. ", " 1.5"]);
        assert_eq!(float_str(f64s(&[-0.0])[0]), "-0.0");
    }

    #[test]
    fn nan_and_inf_align_right() {
        // [ nan  1.5 -inf  inf -0. ]
        let values = f64s(&[f64::NAN, 1.5, f64::NEG_INFINITY, f64::INFINITY, -0.0]);
        assert_eq!(texts(&values), [" nan", " 1.5", "-inf", " inf", "-0. "]);
        // [nan inf] and [ nan -inf]
        assert_eq!(texts(&f64s(&[f64::NAN, f64::INFINITY])), ["nan", "inf"]);
        assert_eq!(
            texts(&f64s(&[f64::NAN, f64::NEG_INFINITY])),
            [" nan", "-inf"]
        );
        // [1.e-10    nan 1.e+20]
        assert_eq!(
            texts(&f64s(&[1e-10, f64::NAN, 1e20])),
            ["1.e-10", "   nan", "1.e+20"]
        );
    }

    #[test]
    fn complex_parts_have_their_own_formats() {
        // print(np.array([1.5j, 2.25-1j])) -> [0.  +1.5j 2.25-1.j ]
        let values: Vec<(Float, Float)> = f64s(&[0.0, 1.5, 2.25, -1.0])
            .chunks(2)
            .map(|c| (c[0], c[1]))
            .collect();
        let format = ComplexFormat::new(&values);
        let shown: Vec<String> = values.iter().map(|&v| format.text(v)).collect();
        assert_eq!(shown, ["0.  +1.5j", "2.25-1.j "]);
        let z = f64s(&[-0.0, 2.0, 0.0, -1.5, 1e20, 1.0]);
        assert_eq!(complex_str(z[0], z[1]), "(-0+2j)");
        assert_eq!(complex_str(z[2], z[3]), "-1.5j");
        assert_eq!(complex_str(z[4], z[5]), "(1e+20+1j)");
    }
}
