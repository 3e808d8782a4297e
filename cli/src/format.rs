//! Printing values and arrays the way NumPy's `print(a)` does (8 decimals,
//! shortest form, right-aligned columns, `...` for long rows).

use npmap::half::f16;
use npmap::ndarray::{ArrayView2, Axis};
use npmap::num_complex::Complex;

/// How one element is written in NumPy's `str()` style.
pub(crate) trait NumpyText: Copy {
    fn numpy_text(self) -> String;
}

macro_rules! integer_text {
    ($($t:ty),*) => {$(
        impl NumpyText for $t {
            fn numpy_text(self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_text!(i8, i16, i32, i64, u8, u16, u32, u64);

impl NumpyText for bool {
    fn numpy_text(self) -> String {
        if self { "True" } else { "False" }.to_string()
    }
}

/// A float with at most 8 decimals (NumPy's default precision), trailing zeros dropped,
/// `1.` for whole numbers.
pub(crate) fn float_text(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = x.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        let text = format!("{x:.7e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0');
        let exp: i32 = exponent.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let text = format!("{x:.8}");
    if text.contains('.') {
        text.trim_end_matches('0').to_string()
    } else {
        format!("{text}.")
    }
}

impl NumpyText for f64 {
    fn numpy_text(self) -> String {
        float_text(self)
    }
}
impl NumpyText for f32 {
    fn numpy_text(self) -> String {
        float_text(f64::from(self))
    }
}
impl NumpyText for f16 {
    fn numpy_text(self) -> String {
        float_text(self.to_f64())
    }
}
impl<T: NumpyText + Into<f64>> NumpyText for Complex<T> {
    fn numpy_text(self) -> String {
        let im: f64 = self.im.into();
        let sign = if im.is_sign_negative() { '-' } else { '+' };
        format!("{}{sign}{}j", self.re.numpy_text(), float_text(im.abs()))
    }
}

/// Columns shown at most; longer rows show the first and last three, as NumPy does.
const EDGE: usize = 3;

/// NumPy summarises arrays with more elements than this.
pub(crate) const SUMMARY_THRESHOLD: usize = 1000;

/// Rows of a 2-D view as NumPy prints a matrix: `[[a b c]\n [d e f]]`; with
/// `summarize` (the whole array is large), long rows show their first and last three.
pub(crate) fn matrix_text<A: NumpyText>(
    rows: ArrayView2<'_, A>,
    more_rows: bool,
    summarize: bool,
) -> String {
    let ncols = rows.ncols();
    let elide = summarize && ncols > 2 * EDGE;
    let shown: Vec<usize> = if elide {
        (0..EDGE).chain(ncols - EDGE..ncols).collect()
    } else {
        (0..ncols).collect()
    };
    let cells: Vec<Vec<String>> = rows
        .axis_iter(Axis(0))
        .map(|row| shown.iter().map(|&j| row[j].numpy_text()).collect())
        .collect();
    let cells = align_decimal_points(cells);
    let width = cells.iter().flatten().map(String::len).max().unwrap_or(0);
    let mut out = String::from("[");
    for (i, row) in cells.iter().enumerate() {
        if i > 0 {
            out.push_str("\n ");
        }
        out.push('[');
        for (k, cell) in row.iter().enumerate() {
            if k > 0 {
                out.push(' ');
            }
            if elide && k == EDGE {
                out.push_str("... ");
            }
            out.push_str(&format!("{cell:>width$}"));
        }
        out.push(']');
    }
    if more_rows {
        out.push_str("\n ...");
    }
    out.push(']');
    out
}

/// Pads plain decimals (`-4.`, `2.5`) so their points line up, as NumPy does:
/// fractions are padded with spaces on the right to the longest one.
fn align_decimal_points(cells: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let is_plain_decimal = |c: &String| c.contains('.') && !c.contains(['e', 'j']);
    if !cells.iter().flatten().all(is_plain_decimal) {
        return cells;
    }
    let fraction = |c: &String| c.len() - c.find('.').unwrap_or(c.len());
    let longest = cells.iter().flatten().map(fraction).max().unwrap_or(0);
    cells
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|c| {
                    let pad = longest - fraction(&c);
                    c + &" ".repeat(pad)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_numpy_does() {
        assert_eq!(float_text(1.0), "1.");
        assert_eq!(float_text(0.5), "0.5");
        assert_eq!(float_text(-2.25), "-2.25");
        assert_eq!(float_text(0.123456789), "0.12345679");
        assert_eq!(float_text(1e20), "1.e+20");
        assert_eq!(float_text(1.5e-7), "1.5e-07");
        assert_eq!(float_text(f64::NAN), "nan");
    }

    #[test]
    fn decimal_points_line_up() {
        let a = npmap::ndarray::arr2(&[[-4.0f64, -2.5], [11.0, 0.5]]);
        assert_eq!(
            matrix_text(a.view(), false, false),
            "[[-4.  -2.5]\n [11.   0.5]]"
        );
    }

    #[test]
    fn matrices_align_and_elide() {
        let a = npmap::ndarray::arr2(&[[1i32, 20, 3], [4, 5, 600]]);
        assert_eq!(
            matrix_text(a.view(), false, false),
            "[[  1  20   3]\n [  4   5 600]]"
        );
        let wide = npmap::ndarray::Array2::from_shape_fn((1, 8), |(_, j)| j as u8);
        assert_eq!(
            matrix_text(wide.view(), true, true),
            "[[0 1 2 ... 5 6 7]\n ...]"
        );
        assert_eq!(
            matrix_text(wide.view(), false, false),
            "[[0 1 2 3 4 5 6 7]]"
        );
    }
}
