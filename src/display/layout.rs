//! Brackets, separators, line wrapping and summaries: NumPy's `_formatArray` with
//! `separator=' '`, no prefix and the default line width.

/// NumPy's default `linewidth`.
const LINE_WIDTH: usize = 75;

/// What stands for the elements left out of a summarised axis.
const ELLIPSIS: &str = "...";

/// The elements of an N-d array (N >= 1), already formatted, in C order over the
/// indices that are shown.
pub(super) struct Grid<'a> {
    /// The array's shape.
    pub(super) shape: &'a [usize],
    /// How many indices of each axis are shown (all, or `2 × edge` when summarised).
    pub(super) shown: &'a [usize],
    /// Whether the array is summarised (more elements than the threshold).
    pub(super) summarised: bool,
    /// The formatted elements.
    pub(super) words: &'a [String],
}

impl Grid<'_> {
    /// The whole array's text.
    pub(super) fn text(&self) -> String {
        self.block(0, 0, " ", LINE_WIDTH)
    }

    /// Elements per step along `axis`.
    fn stride(&self, axis: usize) -> usize {
        self.shown[axis + 1..].iter().product()
    }

    /// The sub-blocks of `axis` starting at `start`, with `None` where `...` goes.
    fn children(&self, axis: usize, start: usize) -> Vec<Option<usize>> {
        let step = self.stride(axis);
        let count = self.shown[axis];
        let at = |i: usize| Some(start + i * step);
        if self.summarised && self.shape[axis] > count {
            let half = count / 2;
            (0..half)
                .map(at)
                .chain(std::iter::once(None))
                .chain((half..count).map(at))
                .collect()
        } else {
            (0..count).map(at).collect()
        }
    }

    fn block(&self, axis: usize, start: usize, indent: &str, width: usize) -> String {
        if axis == self.shape.len() {
            return self.words[start].clone();
        }
        let inner_indent = format!("{indent} ");
        let inner_width = width.saturating_sub(1);
        let children = self.children(axis, start);
        let axes_left = self.shape.len() - axis;
        let mut out = String::new();
        if axes_left == 1 {
            // The last axis: words on lines of at most `width - 1` characters.
            let mut line = Line::new(indent, width.saturating_sub(1));
            let last = children.len().saturating_sub(1);
            for (i, child) in children.iter().enumerate() {
                match child {
                    Some(at) => line.push(&mut out, &self.words[*at]),
                    None => line.push(&mut out, ELLIPSIS),
                }
                if i != last {
                    line.text.push(' ');
                    line.chars += 1;
                }
            }
            out.push_str(&line.text);
        } else {
            // Outer axes: one block per line, blank lines between blocks of blocks.
            let separator = "\n".repeat(axes_left - 1);
            for (i, child) in children.iter().enumerate() {
                out.push_str(indent);
                match child {
                    Some(at) => {
                        out.push_str(&self.block(axis + 1, *at, &inner_indent, inner_width))
                    }
                    None => out.push_str(ELLIPSIS),
                }
                if i + 1 != children.len() {
                    out.push_str(&separator);
                }
            }
        }
        format!("[{}]", &out[indent.len()..])
    }
}

/// The line being filled (NumPy's `_extendLine`); widths count characters, as
/// Python's `len` does.
struct Line<'a> {
    text: String,
    chars: usize,
    indent: &'a str,
    width: usize,
}

impl<'a> Line<'a> {
    fn new(indent: &'a str, width: usize) -> Line<'a> {
        Line {
            text: indent.to_string(),
            chars: indent.chars().count(),
            indent,
            width,
        }
    }

    /// Appends `word`, first moving to a new line when it would not fit, unless the
    /// line holds nothing but the indent (wrapping would not help). Words never hold
    /// a line break (strings are escaped), so NumPy's multi-line case does not arise.
    fn push(&mut self, out: &mut String, word: &str) {
        let word_chars = word.chars().count();
        let indent_chars = self.indent.chars().count();
        if self.chars + word_chars > self.width && self.chars > indent_chars {
            out.push_str(self.text.trim_end());
            out.push('\n');
            self.text = self.indent.to_string();
            self.chars = indent_chars;
        }
        self.text.push_str(word);
        self.chars += word_chars;
    }
}

/// A sub-array field of one record, as NumPy's `SubArrayFormat` writes it:
/// `[1, 2, 3]`, nested for more axes, `...` after `edge` items when the sub-array
/// has more than `threshold` elements.
pub(super) fn subarray_text(words: &[String], shape: &[usize], summarised: bool) -> String {
    let Some((&len, rest)) = shape.split_first() else {
        return words.first().cloned().unwrap_or_default();
    };
    let step: usize = rest.iter().product();
    let part = |i: usize| {
        let start = (i * step).min(words.len());
        let end = (start + step).min(words.len());
        subarray_text(&words[start..end], rest, summarised)
    };
    let parts: Vec<String> = if summarised && len > 2 * super::EDGE_ITEMS {
        let head = (0..super::EDGE_ITEMS).map(part);
        let tail = (len - super::EDGE_ITEMS..len).map(part);
        head.chain(std::iter::once(ELLIPSIS.to_string()))
            .chain(tail)
            .collect()
    } else {
        (0..len).map(part).collect()
    };
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(values: impl IntoIterator<Item = usize>, width: usize) -> Vec<String> {
        values.into_iter().map(|v| format!("{v:>width$}")).collect()
    }

    fn text(shape: &[usize], shown: &[usize], summarised: bool, words: &[String]) -> String {
        Grid {
            shape,
            shown,
            summarised,
            words,
        }
        .text()
    }

    #[test]
    fn long_rows_wrap_before_75_characters() {
        // str(np.arange(30) * 1000)
        let w = words((0..30).map(|i| i * 1000), 5);
        assert_eq!(
            text(&[30], &[30], false, &w),
            "[    0  1000  2000  3000  4000  5000  6000  7000  8000  9000 10000 11000\n \
             12000 13000 14000 15000 16000 17000 18000 19000 20000 21000 22000 23000\n \
             24000 25000 26000 27000 28000 29000]"
        );
    }

    #[test]
    fn blocks_are_separated_by_one_blank_line_per_extra_axis() {
        // str(np.arange(8).reshape(2, 2, 2)) and str(np.arange(16).reshape(2, 2, 2, 2))
        let w = words(0..8, 1);
        assert_eq!(
            text(&[2, 2, 2], &[2, 2, 2], false, &w),
            "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]"
        );
        let w = words(0..16, 2);
        assert_eq!(
            text(&[2, 2, 2, 2], &[2, 2, 2, 2], false, &w),
            "[[[[ 0  1]\n   [ 2  3]]\n\n  [[ 4  5]\n   [ 6  7]]]\n\n\n \
             [[[ 8  9]\n   [10 11]]\n\n  [[12 13]\n   [14 15]]]]"
        );
    }

    #[test]
    fn summaries_keep_three_items_at_each_edge() {
        // str(np.arange(1001)), str(np.arange(1400).reshape(2, 700))
        let w = words([0, 1, 2, 998, 999, 1000], 4);
        assert_eq!(
            text(&[1001], &[6], true, &w),
            "[   0    1    2 ...  998  999 1000]"
        );
        let w = words([0, 1, 2, 697, 698, 699, 700, 701, 702, 1397, 1398, 1399], 4);
        assert_eq!(
            text(&[2, 700], &[2, 6], true, &w),
            "[[   0    1    2 ...  697  698  699]\n [ 700  701  702 ... 1397 1398 1399]]"
        );
    }

    #[test]
    fn sub_arrays_nest_with_commas() {
        // The sub-array fields of str(np.zeros(1, dtype=[('m', 'i4', (2, 3))])) and of a
        // field of 1001 elements.
        let w = words(0..6, 1);
        assert_eq!(subarray_text(&w, &[2, 3], false), "[[0, 1, 2], [3, 4, 5]]");
        let w = words(0..1001, 4);
        assert_eq!(
            subarray_text(&w, &[1001], true),
            "[   0,    1,    2, ...,  998,  999, 1000]"
        );
        assert_eq!(subarray_text(&[], &[2, 0], false), "[[], []]");
    }
}
