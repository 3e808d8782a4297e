//! `npmap stats SOURCE [--axis N] [--ddof N] [--skipna] [--json]`: one pass, all cores,
//! the library's own reductions (`par_moments*_with_progress`), so the numbers are the
//! library's, bit for bit (a large file in non-native byte order is reduced slab by
//! slab, and its slabs' moments merged).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use npmap::ndarray::{ArrayViewD, Axis, CowArray, IxDyn};
use npmap::{Element, Moments, ParStats, Progress, StatElement};
use serde_json::{Value, json};

use crate::source::{RawArgs, Source, SourceSpec, for_each_slab, needs_slabs};
use crate::{CliResult, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// FILE.npy, ARCHIVE.npz:MEMBER, STORE.zarr (reduced chunk by chunk), an npy-stack
    /// directory (block by block), or a raw file
    /// with --dtype.
    file: String,
    /// Reduce along this axis (0: per column of a matrix, as NumPy's `m.mean(0)`;
    /// negative counts from the last, as NumPy's `axis=-1`).
    #[arg(long, allow_negative_numbers = true)]
    axis: Option<i64>,
    /// Delta degrees of freedom for the variance and standard deviation.
    #[arg(long, default_value_t = 0)]
    ddof: usize,
    /// Skip NaNs, as NumPy's `nanmean`/`nanstd`/`nanmin`/`nanmax` (count is then the
    /// number of non-NaN values).
    #[arg(long)]
    skipna: bool,
    /// Print JSON instead of a table. Values that are not finite (NaN, ±inf) are
    /// written as `null`, since JSON has no NaN.
    #[arg(long)]
    json: bool,
    /// For a structured array: summarise this field only (a dotted path for nested
    /// records). Without it, every numeric field gets one row.
    #[arg(long)]
    field: Option<String>,
    #[command(flatten)]
    raw: RawArgs,
}

/// Scans smaller than this run without a progress bar (and without its thread).
const PROGRESS_BYTES: usize = 256 << 20;

pub(crate) fn run(args: &Args) -> CliResult {
    let source = SourceSpec::parse(&args.file, &args.raw)?.open()?;
    let mut dtype = source.header().dtype.clone();
    if let npmap::DType::Record { .. } = dtype {
        let Some(file) = source.file() else {
            return fail(format!(
                "{}: stats on structured archive members is not supported; extract the member first",
                args.file
            ));
        };
        let Some(name) = &args.field else {
            return per_field(args, file);
        };
        let leaves = dtype.leaf_fields();
        let Some(leaf) = leaves.iter().find(|l| &l.path == name).map(|l| &l.dtype) else {
            let names: Vec<&str> = leaves.iter().map(|l| l.path.as_str()).collect();
            return fail(format!(
                "{}: no field '{name}'; fields are {}",
                args.file,
                names.join(", ")
            ));
        };
        dtype = leaf.clone();
    } else if args.field.is_some() {
        return fail(format!(
            "{}: --field needs a structured array; dtype '{}' has no fields",
            args.file,
            dtype.descr()
        ));
    }
    npmap::with_element_type!(real dtype, T => report::<T>(args, &source), else fail(format!(
        "{}: stats needs a numeric dtype; '{}' ({}) is not one",
        args.file, dtype.descr(), dtype.name()
    )))
}

trait Summarised: Element + StatElement {}
impl<T: Element + StatElement> Summarised for T {}

/// The data to summarise: the whole array, or the `--field` of a structured one
/// (a strided view when the layout allows it, else a copy).
fn data_of<'a, T: Summarised>(
    args: &Args,
    source: &'a Source,
) -> CliResult<CowArray<'a, T, IxDyn>> {
    match (&args.field, source.file()) {
        (Some(name), Some(file)) => Ok(match file.field::<T, IxDyn>(name) {
            Ok(view) => CowArray::from(view),
            Err(_) => CowArray::from(file.read_field::<T, IxDyn>(name)?),
        }),
        _ => source.cow::<T>(),
    }
}

/// One row per numeric field of a structured array: count, mean, std, min, max.
fn per_field(args: &Args, file: &npmap::NpyFile) -> CliResult {
    if args.axis.is_some() {
        return fail(format!(
            "{}: --axis on a structured array needs --field NAME",
            args.file
        ));
    }
    let mut rows: Vec<(String, String, Moments)> = Vec::new();
    for npmap::LeafField {
        path, dtype: leaf, ..
    } in file.header().dtype.leaf_fields()
    {
        let moments: Option<Moments> = npmap::with_element_type!(real leaf, T => {
            let data: CowArray<'_, T, IxDyn> = match file.field::<T, IxDyn>(&path) {
                Ok(view) => CowArray::from(view),
                Err(_) => CowArray::from(file.read_field::<T, IxDyn>(&path)?),
            };
            Some(whole_moments(&data.view(), args.skipna))
        }, else None);
        if let Some(m) = moments {
            rows.push((path, leaf.name(), m));
        }
    }
    let ddof = args.ddof;
    if args.json {
        let fields: Vec<Value> = rows
            .iter()
            .map(|(path, name, m)| {
                let mut item = moments_json(m, ddof);
                item["field"] = json!(path);
                item["dtype"] = json!(name);
                item
            })
            .collect();
        let report = json!({
            "file": args.file,
            "dtype": file.header().dtype.descr(),
            "shape": file.header().shape,
            "ddof": ddof,
            "skipna": args.skipna,
            "fields": fields,
        });
        say!("{report}");
        return Ok(());
    }
    say!(
        "{}: {} records {} — {} numeric fields",
        args.file,
        file.header().dtype.name(),
        crate::info::shape_text(&file.header().shape),
        rows.len()
    );
    let width = rows
        .iter()
        .map(|(p, _, _)| p.len())
        .max()
        .unwrap_or(5)
        .max(5);
    say!(
        "{:<width$} {:>8} {:>12} {:>24} {:>24} {:>16} {:>16}",
        "field",
        "dtype",
        "count",
        "mean",
        format!("std (ddof={ddof})"),
        "min",
        "max"
    );
    for (path, name, m) in &rows {
        say!(
            "{path:<width$} {name:>8} {:>12} {:>24} {:>24} {:>16} {:>16}",
            m.count(),
            m.mean(),
            m.std(ddof),
            m.min(),
            m.max()
        );
    }
    Ok(())
}

fn report<T: Summarised>(args: &Args, source: &Source) -> CliResult {
    let ndim = source.header().shape.len();
    let axis = match args.axis {
        Some(axis) => Some(normalize_axis(axis, ndim).ok_or_else(|| {
            crate::CliError::Message(format!(
                "{}: axis {axis} is out of bounds for an array of dimension {ndim}",
                args.file
            ))
        })?),
        None => None,
    };
    let started = Instant::now();
    let (result, bytes) = match source.zarr() {
        // A Zarr store: the library's chunk-parallel reductions, chunk by chunk
        // (never the whole array in memory), merged in chunk order.
        Some(z) if args.field.is_none() => {
            let result = match (axis, args.skipna) {
                (None, false) => Scan::Whole(z.par_moments()?),
                (None, true) => Scan::Whole(z.par_nan_moments()?),
                (Some(k), false) => Scan::Along(z.par_moments_axis(Axis(k))?.into_iter().collect()),
                (Some(k), true) => {
                    Scan::Along(z.par_nan_moments_axis(Axis(k))?.into_iter().collect())
                }
            };
            (result, source.header().len() * std::mem::size_of::<T>())
        }
        // A Dask npy-stack: block by block, merged in block order.
        None if args.field.is_none() && source.stack().is_some() => {
            let s = source.stack().expect("checked");
            let result = match (axis, args.skipna) {
                (None, false) => Scan::Whole(s.par_moments::<T>()?),
                (None, true) => Scan::Whole(s.par_nan_moments::<T>()?),
                (Some(k), false) => {
                    Scan::Along(s.par_moments_axis::<T>(Axis(k))?.into_iter().collect())
                }
                (Some(k), true) => {
                    Scan::Along(s.par_nan_moments_axis::<T>(Axis(k))?.into_iter().collect())
                }
            };
            (result, source.header().len() * std::mem::size_of::<T>())
        }
        // A large mapped file that cannot be viewed in place (non-native byte order,
        // misaligned): converted a slab at a time, never copied whole.
        _ if args.field.is_none() && source.file().is_some_and(needs_slabs::<T>) => {
            let file = source.file().expect("checked");
            (
                slab_scan::<T>(file, axis, args.skipna)?,
                source.header().len() * std::mem::size_of::<T>(),
            )
        }
        _ => {
            let data = data_of::<T>(args, source)?;
            let view = data.view();
            // A whole mapped file larger than memory cannot stay cached: its scan
            // releases what it has read, so other programs' cached files stay (and
            // the kernel has nothing to reclaim).
            let release = match (&args.field, source.file()) {
                (None, Some(file)) if data.is_view() && crate::source::larger_than_memory(file) => {
                    Some(file)
                }
                _ => None,
            };
            let result = scan(&view, axis, args.skipna, release);
            (result, view.len() * std::mem::size_of::<T>())
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        say!("{}", json_report(args, source, axis, &result, seconds));
    } else {
        print_table(args, source, axis, &result, bytes, seconds);
    }
    Ok(())
}

/// NumPy's axis convention: `-1` is the last axis; `None` when out of bounds.
fn normalize_axis(axis: i64, ndim: usize) -> Option<usize> {
    let ndim = i64::try_from(ndim).ok()?;
    let axis = if axis < 0 { axis + ndim } else { axis };
    (0..ndim).contains(&axis).then_some(axis as usize)
}

/// Whole-array moments, or moments along an axis (flattened to a list in logical order).
enum Scan {
    Whole(Moments),
    Along(Vec<Moments>),
}

fn whole_moments<T: Summarised>(view: &ArrayViewD<'_, T>, skipna: bool) -> Moments {
    match skipna {
        true => view.par_nan_moments(),
        false => view.par_moments(),
    }
}

/// The statistics of `file` (which cannot be viewed in place) from converted copies of
/// its slabs ([`for_each_slab`]), in file order. Whole-array moments, and moments along the outer axis, merge slab by
/// slab in order (so they differ from one pass over a copy by rounding only); along
/// any other axis each slab holds whole lanes, whose moments are those of one pass. A
/// file larger than memory has each slab's pages released once it is read.
fn slab_scan<T: Summarised>(
    file: &npmap::NpyFile,
    axis: Option<usize>,
    skipna: bool,
) -> CliResult<Scan> {
    let outer = file.outer_axis().map_or(0, |a| a.index());
    let bar = progress_bar(file.header().len() as u64);
    let mut whole = Moments::new();
    let mut merged: Option<npmap::ndarray::ArrayD<Moments>> = None;
    let mut lanes = Vec::new();
    for_each_slab::<T>(file, |_, data| {
        let view = data.view();
        match axis {
            None => whole = whole.merge(&whole_moments(&view, skipna)),
            Some(k) => {
                let along = match skipna {
                    true => view.par_nan_moments_axis(Axis(k)),
                    false => view.par_moments_axis(Axis(k)),
                };
                match (k == outer, merged.as_mut()) {
                    (true, Some(m)) => m.zip_mut_with(&along, |m, a| *m = m.merge(a)),
                    (true, None) => merged = Some(along),
                    (false, _) => lanes.push(along),
                }
            }
        }
        bar.inc(view.len() as u64);
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(match (axis, merged) {
        (None, _) => Scan::Whole(whole),
        (Some(_), Some(m)) => Scan::Along(m.into_iter().collect()),
        (Some(k), None) => {
            // The outer axis's place among the result's axes (one fewer).
            let at = Axis(outer - usize::from(k < outer));
            let views: Vec<_> = lanes.iter().map(|l| l.view()).collect();
            let all = npmap::ndarray::concatenate(at, &views)
                .map_err(|e| crate::CliError::Message(format!("{}: {e}", file.path().display())))?;
            Scan::Along(all.into_iter().collect())
        }
    })
}

/// One call of the library's reduction; large scans run it on a worker thread while
/// this one draws the progress bar from its [`Progress`] counter. With `release` (the
/// file whose whole data `view` is), a whole-array scan releases what it has read
/// ([`NpyFile::drop_behind`](npmap::NpyFile::drop_behind)).
fn scan<T: Summarised>(
    view: &ArrayViewD<'_, T>,
    axis: Option<usize>,
    skipna: bool,
    release: Option<&npmap::NpyFile>,
) -> Scan {
    let reduce = |progress: &Progress| match (axis, skipna) {
        (None, false) => Scan::Whole(view.par_moments_with_progress(progress)),
        (None, true) => Scan::Whole(view.par_nan_moments_with_progress(progress)),
        (Some(k), false) => Scan::Along(
            view.par_moments_axis_with_progress(Axis(k), progress)
                .into_iter()
                .collect(),
        ),
        (Some(k), true) => Scan::Along(
            view.par_nan_moments_axis_with_progress(Axis(k), progress)
                .into_iter()
                .collect(),
        ),
    };
    let progress = match release {
        Some(file) => file.drop_behind(),
        None => Progress::new(),
    };
    let bytes = view.len().saturating_mul(std::mem::size_of::<T>());
    if bytes < PROGRESS_BYTES {
        return reduce(&progress);
    }
    let bar = progress_bar(view.len() as u64);
    let result = std::thread::scope(|s| {
        let worker = s.spawn(|| reduce(&progress));
        while !worker.is_finished() {
            bar.set_position(progress.done());
            std::thread::sleep(Duration::from_millis(50));
        }
        worker.join()
    });
    bar.finish_and_clear();
    match result {
        Ok(scan) => scan,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A progress bar over `elements`; indicatif hides it when stderr is not a terminal.
fn progress_bar(elements: u64) -> ProgressBar {
    let bar = ProgressBar::new(elements);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {percent:>3}%  {elapsed} (eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}

fn print_table(
    args: &Args,
    source: &Source,
    axis: Option<usize>,
    result: &Scan,
    bytes: usize,
    seconds: f64,
) {
    let h = source.header();
    let rate = bytes as f64 / seconds.max(1e-9) / 1e9;
    say!(
        "{}: {} {} — {}{} in {:.3} s ({rate:.2} GB/s)",
        args.file,
        match &args.field {
            Some(f) => format!("field '{f}' of {}", h.dtype.name()),
            None => h.dtype.name(),
        },
        crate::info::shape_text(&h.shape),
        match axis {
            None => "whole array".to_string(),
            Some(k) => format!("along axis {k}"),
        },
        if args.skipna { ", NaNs skipped" } else { "" },
        seconds
    );
    let ddof = args.ddof;
    match result {
        Scan::Whole(m) => {
            say!("count  {}", m.count());
            say!("sum    {}", m.sum());
            say!("mean   {}", m.mean());
            say!("std    {} (ddof={ddof})", m.std(ddof));
            say!("min    {}", m.min());
            say!("max    {}", m.max());
        }
        Scan::Along(list) => {
            say!(
                "{:>8} {:>12} {:>24} {:>24} {:>24} {:>16} {:>16}",
                "index",
                "count",
                "sum",
                "mean",
                format!("std (ddof={ddof})"),
                "min",
                "max"
            );
            for (i, m) in list.iter().enumerate() {
                say!(
                    "{i:>8} {:>12} {:>24} {:>24} {:>24} {:>16} {:>16}",
                    m.count(),
                    m.sum(),
                    m.mean(),
                    m.std(ddof),
                    m.min(),
                    m.max()
                );
            }
        }
    }
}

/// A number for JSON: `null` when not finite (JSON has no NaN or infinity).
fn json_number(x: f64) -> Value {
    match x.is_finite() {
        true => json!(x),
        false => Value::Null,
    }
}

fn moments_json(m: &Moments, ddof: usize) -> Value {
    json!({
        "count": m.count(),
        "sum": json_number(m.sum()),
        "mean": json_number(m.mean()),
        "std": json_number(m.std(ddof)),
        "var": json_number(m.var(ddof)),
        "min": json_number(m.min()),
        "max": json_number(m.max()),
    })
}

fn json_report(
    args: &Args,
    source: &Source,
    axis: Option<usize>,
    result: &Scan,
    seconds: f64,
) -> Value {
    let h = source.header();
    let stats = match result {
        Scan::Whole(m) => moments_json(m, args.ddof),
        Scan::Along(list) => list.iter().map(|m| moments_json(m, args.ddof)).collect(),
    };
    let mut report = json!({
        "file": args.file,
        "dtype": h.dtype.descr(),
        "shape": h.shape,
        "axis": axis,
        "ddof": args.ddof,
        "skipna": args.skipna,
        "seconds": json_number(seconds),
        "stats": stats,
    });
    if let Some(f) = &args.field {
        report["field"] = json!(f);
    }
    report
}
