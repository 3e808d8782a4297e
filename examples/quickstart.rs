//! The README's quick start, as a program: `cargo run --example quickstart`.
//! The README shows this file's code from `use` to the end; a test keeps them equal.

use npmap::ndarray::{Array2, Axis, Ix2, IxDyn, arr1};
use npmap::{MmapMode, NpyFile, NpzReader, NpzWriter, ParStats};

fn main() -> npmap::Result<()> {
    let dir = std::env::temp_dir().join(format!("npmap-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let x_path = dir.join("X_train.npy");
    let y_path = dir.join("y.npy");

    // Write exactly what np.save writes (atomically: temp file + rename).
    let x = Array2::<f32>::from_shape_fn((1000, 100), |(i, j)| (i + j) as f32);
    npmap::save_npy(&x_path, &x)?;
    npmap::save_npy(&y_path, &arr1(&[1i64, 2, 3]))?;

    // Map it: dtype, dimensions, byte order, alignment and length are checked once, here.
    // SAFETY: nothing truncates or rewrites X_train.npy while it is mapped.
    let mapped = unsafe { npmap::load_npy::<f32, Ix2>(&x_path, MmapMode::ReadOnly)? };
    let v = mapped.view(); // ArrayView2<f32>, zero-copy
    assert_eq!(v[[999, 99]], 1098.0);

    // One pass on all cores: count, sum, mean, variance, min and max, per column.
    let cols = v.par_moments_axis(Axis(0));
    assert_eq!(cols[3].mean(), 502.5);
    println!(
        "column 3: mean {} std {:.3} max {}",
        cols[3].mean(),
        cols[3].std(0),
        cols[3].max()
    );

    // Untyped: look at the header first, pick the type at run time; 'r+' writes through.
    // SAFETY: as above, nothing else changes y.npy's length while it is mapped.
    let mut f = unsafe { NpyFile::open(&y_path, MmapMode::ReadWrite)? };
    assert_eq!(f.header().dtype.descr(), "<i8");
    f.view_mut::<i64, IxDyn>()?[[0]] = 7;
    f.flush()?;

    // Copying read: any byte order, Fortran order kept.
    let y: npmap::ndarray::Array1<i64> = npmap::read_npy(&y_path)?;
    assert_eq!(y.to_vec(), [7, 2, 3]);

    // .npz archives: stored members are 64-byte aligned, so they map zero-copy.
    let npz_path = dir.join("train.npz");
    let mut w = NpzWriter::create(&npz_path)?;
    w.add("X_train", &x)?;
    w.add("y_train", &y)?;
    w.finish()?;
    let z = NpzReader::open(&npz_path)?;
    assert_eq!(z.names(), ["X_train", "y_train"]);
    // SAFETY: nothing rewrites train.npz while the member is mapped.
    let xm = unsafe { z.map::<f32, Ix2>("X_train")? };
    assert_eq!(xm.view(), x.view());

    // A wrong guess is an error that says what the file holds.
    let err = npmap::read_npy::<f64, Ix2>(&x_path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("dtype mismatch: file has '<f4' (float32), asked for f64")
    );

    std::fs::remove_dir_all(&dir).expect("the scratch directory is removed");
    Ok(())
}
