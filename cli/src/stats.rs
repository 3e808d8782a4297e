//! `npmap stats FILE [--axis N] [--ddof N] [--json]`: one pass, all cores.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use npmap::ndarray::{ArrayViewD, Axis, CowArray, IxDyn};
use npmap::{Element, Moments, ParStats, StatElement};

use crate::dispatch::with_element_type;
use crate::source::Source;
use crate::{CliResult, fail};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A .npy file, or ARCHIVE.npz:MEMBER.
    file: String,
    /// Reduce along this axis (0: per column of a matrix, as NumPy's `m.mean(0)`).
    #[arg(long)]
    axis: Option<usize>,
    /// Delta degrees of freedom for the variance and standard deviation.
    #[arg(long, default_value_t = 0)]
    ddof: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// For a structured array: summarise this field only (a dotted path for nested
    /// records). Without it, every numeric field gets one row.
    #[arg(long)]
    field: Option<String>,
}

/// Bytes scanned between two progress-bar updates.
const SLAB_BYTES: usize = 64 << 20;

pub(crate) fn run(args: &Args) -> CliResult {
    let source = Source::open(&args.file)?;
    let mut dtype = source.header().dtype.clone();
    if let npmap::DType::Record { .. } = dtype {
        let Source::Npy(file) = &source else {
            return fail(format!(
                "{}: stats on structured archive members is not supported; extract the member first",
                args.file
            ));
        };
        let Some(name) = &args.field else {
            return per_field(args, file);
        };
        let leaves = crate::records::leaf_fields(&dtype);
        let Some((_, leaf, _)) = leaves.iter().find(|(path, _, _)| path == name) else {
            let names: Vec<&str> = leaves.iter().map(|(p, _, _)| p.as_str()).collect();
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
    with_element_type!(real dtype, T => report::<T>(args, &source), else fail(format!(
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
    match (&args.field, source) {
        (Some(name), Source::Npy(file)) => Ok(match file.field::<T, IxDyn>(name) {
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
    for (path, leaf, _) in crate::records::leaf_fields(&file.header().dtype) {
        let moments: Option<Moments> = with_element_type!(real leaf, T => {
            let data: CowArray<'_, T, IxDyn> = match file.field::<T, IxDyn>(&path) {
                Ok(view) => CowArray::from(view),
                Err(_) => CowArray::from(file.read_field::<T, IxDyn>(&path)?),
            };
            Some(data.view().par_moments())
        }, else None);
        if let Some(m) = moments {
            rows.push((path, leaf.name(), m));
        }
    }
    let ddof = args.ddof;
    if args.json {
        let items: Vec<String> = rows
            .iter()
            .map(|(path, name, m)| {
                let body = moments_json(m, ddof);
                format!("{{\"field\": {path:?}, \"dtype\": {name:?}, {}", &body[1..])
            })
            .collect();
        say!(
            "{{\"file\": {:?}, \"dtype\": {:?}, \"shape\": {:?}, \"ddof\": {ddof}, \"fields\": [{}]}}",
            args.file,
            file.header().dtype.descr(),
            file.header().shape,
            items.join(", ")
        );
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
    let data = data_of::<T>(args, source)?;
    let view = data.view();
    if let Some(axis) = args.axis
        && axis >= view.ndim()
    {
        return fail(format!(
            "{}: --axis {axis} is out of range for {} dimensions",
            args.file,
            view.ndim()
        ));
    }
    let started = Instant::now();
    let result = scan(&view, args.axis);
    let seconds = started.elapsed().as_secs_f64();
    let bytes = view.len() * std::mem::size_of::<T>();
    if args.json {
        say!("{}", json(args, source, &result, seconds));
    } else {
        print_table(args, source, &result, bytes, seconds);
    }
    Ok(())
}

/// Whole-array moments, or moments along an axis (flattened to a list).
enum Scan {
    Whole(Moments),
    Along(Vec<Moments>),
}

/// Scans in slabs of whole rows (along axis 0), merging as it goes, with a progress
/// bar on a terminal.
fn scan<T: Summarised>(view: &ArrayViewD<'_, T>, axis: Option<usize>) -> Scan {
    if view.ndim() == 0 || view.is_empty() {
        return match axis {
            None => Scan::Whole(view.par_moments()),
            Some(k) => Scan::Along(view.par_moments_axis(Axis(k)).iter().copied().collect()),
        };
    }
    let rows = view.len_of(Axis(0));
    let row_bytes = (view.len() / rows).max(1) * std::mem::size_of::<T>();
    let slab_rows = (SLAB_BYTES / row_bytes).max(1);
    let bar = progress(rows as u64, view.len() * std::mem::size_of::<T>());
    let mut whole = Moments::default();
    let mut along: Vec<Moments> = Vec::new();
    for slab in view.axis_chunks_iter(Axis(0), slab_rows) {
        match axis {
            None => whole = whole.merge(&slab.par_moments()),
            Some(0) => {
                let part = slab.par_moments_axis(Axis(0));
                if along.is_empty() {
                    along = part.iter().copied().collect();
                } else {
                    along
                        .iter_mut()
                        .zip(part.iter())
                        .for_each(|(a, b)| *a = a.merge(b));
                }
            }
            Some(k) => along.extend(slab.par_moments_axis(Axis(k)).iter().copied()),
        }
        bar.inc(slab.len_of(Axis(0)) as u64);
    }
    bar.finish_and_clear();
    match axis {
        None => Scan::Whole(whole),
        Some(_) => Scan::Along(along),
    }
}

/// A progress bar for scans of more than 256 MiB; hidden when stderr is not a terminal.
fn progress(rows: u64, bytes: usize) -> ProgressBar {
    if bytes < 256 << 20 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(rows);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {elapsed} (eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}

fn print_table(args: &Args, source: &Source, result: &Scan, bytes: usize, seconds: f64) {
    let h = source.header();
    let rate = bytes as f64 / seconds.max(1e-9) / 1e9;
    say!(
        "{}: {} {} — {} in {:.3} s ({rate:.2} GB/s)",
        args.file,
        match &args.field {
            Some(f) => format!("field '{f}' of {}", h.dtype.name()),
            None => h.dtype.name(),
        },
        crate::info::shape_text(&h.shape),
        match args.axis {
            None => "whole array".to_string(),
            Some(k) => format!("along axis {k}"),
        },
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
                "{:>8} {:>12} {:>24} {:>24} {:>16} {:>16}",
                "index",
                "count",
                "mean",
                format!("std (ddof={ddof})"),
                "min",
                "max"
            );
            for (i, m) in list.iter().enumerate() {
                say!(
                    "{i:>8} {:>12} {:>24} {:>24} {:>16} {:>16}",
                    m.count(),
                    m.mean(),
                    m.std(ddof),
                    m.min(),
                    m.max()
                );
            }
        }
    }
}

fn json_number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        "null".into()
    }
}

fn moments_json(m: &Moments, ddof: usize) -> String {
    format!(
        "{{\"count\": {}, \"sum\": {}, \"mean\": {}, \"std\": {}, \"var\": {}, \"min\": {}, \"max\": {}}}",
        m.count(),
        json_number(m.sum()),
        json_number(m.mean()),
        json_number(m.std(ddof)),
        json_number(m.var(ddof)),
        json_number(m.min()),
        json_number(m.max())
    )
}

fn json(args: &Args, source: &Source, result: &Scan, seconds: f64) -> String {
    let h = source.header();
    let shape: Vec<String> = h.shape.iter().map(usize::to_string).collect();
    let head = format!(
        "{{\"file\": {:?}, \"dtype\": {:?}, \"shape\": [{}], \"axis\": {}, \"ddof\": {}, \"seconds\": {}",
        args.file,
        h.dtype.descr(),
        shape.join(", "),
        args.axis.map_or("null".to_string(), |k| k.to_string()),
        args.ddof,
        json_number(seconds)
    );
    let head = match &args.field {
        Some(f) => format!("{head}, \"field\": {f:?}"),
        None => head,
    };
    match result {
        Scan::Whole(m) => format!("{head}, \"stats\": {}}}", moments_json(m, args.ddof)),
        Scan::Along(list) => {
            let items: Vec<String> = list.iter().map(|m| moments_json(m, args.ddof)).collect();
            format!("{head}, \"stats\": [{}]}}", items.join(", "))
        }
    }
}
