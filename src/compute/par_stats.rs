//! [`ParStats`], the extension trait on ndarray arrays.

use ndarray::{Array, ArrayRef, Axis, Dimension};

use super::axis::*;
use super::kernels::*;
use super::moments::*;
use super::progress::Progress;
use super::whole::*;

/// Parallel one-pass statistics on any `ndarray` array or view of [`StatElement`]s,
/// of any dimension and memory layout (C, F, strided, negative strides).
///
/// Methods ending in `_axis` reduce along one axis, as NumPy's `axis=` argument: the
/// result has the array's shape without that axis. They panic if the axis is out of
/// bounds. `ddof` is NumPy's "delta degrees of freedom".
///
/// ```
/// use npmap::ndarray::{array, Axis};
/// use npmap::ParStats;
/// let x = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 9.0]];
/// assert_eq!(x.par_mean(), 4.0);
/// let cols = x.par_moments_axis(Axis(0));
/// assert_eq!((cols[0].mean(), cols[1].max()), (3.0, 9.0));
/// assert_eq!(x.par_sum_axis(Axis(1)), array![3.0, 7.0, 14.0]);
/// ```
pub trait ParStats<D: Dimension> {
    /// All moments of all elements in one pass (NaN propagates).
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// let m = array![[1u16, 2], [3, 4]].par_moments();
    /// assert_eq!((m.count(), m.mean(), m.var(0)), (4, 2.5, 1.25));
    /// ```
    fn par_moments(&self) -> Moments {
        self.par_moments_with_progress(&Progress::new())
    }

    /// Moments along `axis`: one [`Moments`] per lane (NaN propagates).
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let m = array![[1.0f64, 10.0], [3.0, 30.0]].par_moments_axis(Axis(0));
    /// assert_eq!((m[0].mean(), m[1].mean(), m[1].var(0)), (2.0, 20.0, 100.0));
    /// ```
    fn par_moments_axis(&self, axis: Axis) -> Array<Moments, D::Smaller> {
        self.par_moments_axis_with_progress(axis, &Progress::new())
    }

    /// All moments of the non-NaN elements in one pass.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// let m = array![1.0f32, f32::NAN, 3.0].par_nan_moments();
    /// assert_eq!((m.count(), m.mean(), m.max()), (2, 2.0, 3.0));
    /// ```
    fn par_nan_moments(&self) -> Moments {
        self.par_nan_moments_with_progress(&Progress::new())
    }

    /// Moments of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let m = array![[1.0f64, f64::NAN], [3.0, 5.0]].par_nan_moments_axis(Axis(0));
    /// assert_eq!((m[0].mean(), m[1].mean(), m[1].count()), (2.0, 5.0, 1));
    /// ```
    fn par_nan_moments_axis(&self, axis: Axis) -> Array<Moments, D::Smaller> {
        self.par_nan_moments_axis_with_progress(axis, &Progress::new())
    }

    /// [`ParStats::par_moments`], advancing `progress` by the number of elements
    /// reduced as it goes, so another thread can show how far a long scan is. The
    /// reduction is the same, so the result is bit-identical to `par_moments`.
    ///
    /// ```
    /// use npmap::ndarray::Array1;
    /// use npmap::{ParStats, Progress};
    /// let x = Array1::from_iter((0..1_000_000).map(|i| i as f64));
    /// let progress = Progress::new();
    /// let m = x.par_moments_with_progress(&progress);
    /// assert_eq!(progress.done(), 1_000_000);
    /// assert_eq!(m, x.par_moments());
    /// ```
    fn par_moments_with_progress(&self, progress: &Progress) -> Moments;

    /// [`ParStats::par_moments_axis`], advancing `progress` as it goes (same bits).
    ///
    /// ```
    /// use npmap::ndarray::{Array2, Axis};
    /// use npmap::{ParStats, Progress};
    /// let x = Array2::from_shape_fn((1000, 30), |(i, j)| (i * j) as f32);
    /// let progress = Progress::new();
    /// let cols = x.par_moments_axis_with_progress(Axis(0), &progress);
    /// assert_eq!(progress.done(), 30_000);
    /// assert_eq!(cols, x.par_moments_axis(Axis(0)));
    /// ```
    fn par_moments_axis_with_progress(
        &self,
        axis: Axis,
        progress: &Progress,
    ) -> Array<Moments, D::Smaller>;

    /// [`ParStats::par_nan_moments`], advancing `progress` as it goes (same bits).
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::{ParStats, Progress};
    /// let progress = Progress::new();
    /// let m = array![1.0f32, f32::NAN, 3.0].par_nan_moments_with_progress(&progress);
    /// assert_eq!((m.count(), progress.done()), (2, 3));
    /// ```
    fn par_nan_moments_with_progress(&self, progress: &Progress) -> Moments;

    /// [`ParStats::par_nan_moments_axis`], advancing `progress` as it goes (same bits).
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::{ParStats, Progress};
    /// let progress = Progress::new();
    /// let m = array![[1.0f64, f64::NAN], [3.0, 5.0]]
    ///     .par_nan_moments_axis_with_progress(Axis(0), &progress);
    /// assert_eq!((m[1].count(), progress.done()), (1, 4));
    /// ```
    fn par_nan_moments_axis_with_progress(
        &self,
        axis: Axis,
        progress: &Progress,
    ) -> Array<Moments, D::Smaller>;

    /// Sum of all elements (0 when empty), as `np.sum` in `f64`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1i8, -2, 4].par_sum(), 3.0);
    /// ```
    fn par_sum(&self) -> f64 {
        self.par_moments().sum()
    }

    /// Mean of all elements, as `np.mean`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f32, 2.0, 6.0].par_mean(), 3.0);
    /// ```
    fn par_mean(&self) -> f64 {
        self.par_moments().mean()
    }

    /// Variance of all elements, as `np.var(ddof=ddof)`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f64, 3.0].par_var(0), 1.0);
    /// ```
    fn par_var(&self, ddof: usize) -> f64 {
        self.par_moments().var(ddof)
    }

    /// Standard deviation of all elements, as `np.std(ddof=ddof)`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f64, 3.0].par_std(1), 2f64.sqrt());
    /// ```
    fn par_std(&self, ddof: usize) -> f64 {
        self.par_moments().std(ddof)
    }

    /// Smallest element (NaN if empty or any element is NaN).
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![4u32, 2, 9].par_min(), 2.0);
    /// ```
    fn par_min(&self) -> f64 {
        self.par_moments().min()
    }

    /// Largest element (NaN if empty or any element is NaN).
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![4u32, 2, 9].par_max(), 9.0);
    /// ```
    fn par_max(&self) -> f64 {
        self.par_moments().max()
    }

    /// Sums along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1, 2], [3, 4]].par_sum_axis(Axis(0)), array![4.0, 6.0]);
    /// ```
    fn par_sum_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(Moments::sum)
    }

    /// Means along `axis`, as NumPy's `x.mean(axis)`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1, 2], [3, 4]].par_mean_axis(Axis(1)), array![1.5, 3.5]);
    /// ```
    fn par_mean_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(Moments::mean)
    }

    /// Variances along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1.0, 2.0], [3.0, 6.0]].par_var_axis(Axis(0), 0), array![1.0, 4.0]);
    /// ```
    fn par_var_axis(&self, axis: Axis, ddof: usize) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(|m| m.var(ddof))
    }

    /// Standard deviations along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1.0, 2.0], [3.0, 6.0]].par_std_axis(Axis(0), 0), array![1.0, 2.0]);
    /// ```
    fn par_std_axis(&self, axis: Axis, ddof: usize) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(|m| m.std(ddof))
    }

    /// Minima along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1, 8], [3, 4]].par_min_axis(Axis(0)), array![1.0, 4.0]);
    /// ```
    fn par_min_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(Moments::min)
    }

    /// Maxima along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// assert_eq!(array![[1, 8], [3, 4]].par_max_axis(Axis(0)), array![3.0, 8.0]);
    /// ```
    fn par_max_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_moments_axis(axis).map(Moments::max)
    }

    /// Sum of the non-NaN elements (0 if none), as `np.nansum`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f32, f32::NAN, 2.0].par_nansum(), 3.0);
    /// ```
    fn par_nansum(&self) -> f64 {
        self.par_nan_moments().sum()
    }

    /// Mean of the non-NaN elements, as `np.nanmean`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f32, f32::NAN, 2.0].par_nanmean(), 1.5);
    /// ```
    fn par_nanmean(&self) -> f64 {
        self.par_nan_moments().mean()
    }

    /// Variance of the non-NaN elements, as `np.nanvar(ddof=ddof)`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f64, f64::NAN, 3.0].par_nanvar(0), 1.0);
    /// ```
    fn par_nanvar(&self, ddof: usize) -> f64 {
        self.par_nan_moments().var(ddof)
    }

    /// Standard deviation of the non-NaN elements, as `np.nanstd(ddof=ddof)`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![1.0f64, f64::NAN, 3.0].par_nanstd(0), 1.0);
    /// ```
    fn par_nanstd(&self, ddof: usize) -> f64 {
        self.par_nan_moments().std(ddof)
    }

    /// Smallest non-NaN element (NaN if there is none), as `np.nanmin`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![f64::NAN, 3.0, 1.0].par_nanmin(), 1.0);
    /// ```
    fn par_nanmin(&self) -> f64 {
        self.par_nan_moments().min()
    }

    /// Largest non-NaN element (NaN if there is none), as `np.nanmax`.
    ///
    /// ```
    /// use npmap::ndarray::array;
    /// use npmap::ParStats;
    /// assert_eq!(array![f64::NAN, 3.0, 1.0].par_nanmax(), 3.0);
    /// ```
    fn par_nanmax(&self) -> f64 {
        self.par_nan_moments().max()
    }

    /// Sums of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nansum_axis(Axis(0)), array![4.0, 4.0]);
    /// ```
    fn par_nansum_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(Moments::sum)
    }

    /// Means of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanmean_axis(Axis(0)), array![2.0, 4.0]);
    /// ```
    fn par_nanmean_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(Moments::mean)
    }

    /// Variances of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanvar_axis(Axis(0), 0), array![1.0, 0.0]);
    /// ```
    fn par_nanvar_axis(&self, axis: Axis, ddof: usize) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(|m| m.var(ddof))
    }

    /// Standard deviations of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanstd_axis(Axis(0), 0), array![1.0, 0.0]);
    /// ```
    fn par_nanstd_axis(&self, axis: Axis, ddof: usize) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(|m| m.std(ddof))
    }

    /// Minima of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanmin_axis(Axis(0)), array![1.0, 4.0]);
    /// ```
    fn par_nanmin_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(Moments::min)
    }

    /// Maxima of the non-NaN elements along `axis`.
    ///
    /// ```
    /// use npmap::ndarray::{array, Axis};
    /// use npmap::ParStats;
    /// let x = array![[1.0, f64::NAN], [3.0, 4.0]];
    /// assert_eq!(x.par_nanmax_axis(Axis(0)), array![3.0, 4.0]);
    /// ```
    fn par_nanmax_axis(&self, axis: Axis) -> Array<f64, D::Smaller> {
        self.par_nan_moments_axis(axis).map(Moments::max)
    }
}

impl<A, D> ParStats<D> for ArrayRef<A, D>
where
    A: StatElement,
    D: Dimension,
{
    fn par_moments_with_progress(&self, progress: &Progress) -> Moments {
        whole_array_moments::<A, D, false>(self, progress)
    }

    fn par_moments_axis_with_progress(
        &self,
        axis: Axis,
        progress: &Progress,
    ) -> Array<Moments, D::Smaller> {
        axis_moments::<A, D, false>(self, axis, progress)
    }

    fn par_nan_moments_with_progress(&self, progress: &Progress) -> Moments {
        whole_array_moments::<A, D, true>(self, progress)
    }

    fn par_nan_moments_axis_with_progress(
        &self,
        axis: Axis,
        progress: &Progress,
    ) -> Array<Moments, D::Smaller> {
        axis_moments::<A, D, true>(self, axis, progress)
    }
}
