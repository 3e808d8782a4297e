//! The README's "When one machine is not enough": a `.npy` mapped, written as a Zarr
//! store that Dask and xarray read, and summarised chunk by chunk.
//! Run: `cargo run --release --example zarr --features zarr`.

use npmap::ndarray::{Array2, Axis, Ix2};
use npmap::zarr::{Compression, ZarrOptions};
use npmap::{MmapMode, ParStats};

fn main() -> npmap::Result<()> {
    let x = Array2::from_shape_fn((200_000, 100), |(i, j)| ((i * 100 + j) as f64).sin());
    npmap::save_npy("X_train.npy", &x)?;
    // SAFETY: nothing truncates X_train.npy while it is mapped.
    let x = unsafe { npmap::load_npy::<f64, Ix2>("X_train.npy", MmapMode::ReadOnly)? };
    let view = x.view();

    let options = ZarrOptions::new()
        .compression(Compression::Zstd(0))
        .dimension_names(["sample", "feature"])
        .overwrite(true);
    npmap::zarr::save("X_train.zarr", &view, &[100_000, 100], &options)?;

    let z = npmap::zarr::open("X_train.zarr")?; // chunks decoded in parallel when read
    let cols = z.par_moments_axis(Axis(0))?; // chunk by chunk, merged in chunk order
    let direct = view.par_moments_axis(Axis(0));
    let worst = cols
        .iter()
        .zip(direct.iter())
        .map(|(a, b)| ((a.mean() - b.mean()) / b.std(0)).abs())
        .fold(0.0, f64::max);
    println!(
        "{} columns, mean of column 0: {}, largest difference from the .npy's: {worst:.1e} std",
        cols.len(),
        cols[[0]].mean()
    );
    Ok(())
}
