//! One npmap `.npz` operation on compressed archives, timed, for
//! `benches/npz_compressed.py` (the side-by-side comparison with NumPy). Prints one
//! line of JSON: the seconds of each repeat and a checksum of what was read or written.
//!
//! ```text
//! npz_ops read PATH NAME [--repeat N]        NpzReader::open + read::<f32, IxDyn>(NAME)
//! npz_ops read_all PATH [--repeat N]         NpzReader::open + read_many (every member)
//! npz_ops write PATH --from A.npy,B.npy [--repeat N]
//! ```
//!
//! `write` reads the `.npy` files into memory before the clock starts, then writes
//! them as members `a`, `b`, ... of a compressed archive with `NpzWriter::compressed`
//! (which syncs the file before renaming it into place).

use std::time::Instant;

use ndarray::{ArrayD, IxDyn};
use npmap::{NpzReader, NpzWriter};

fn checksum(a: &ArrayD<f32>) -> f64 {
    a.iter().step_by(4099).map(|&x| f64::from(x)).sum()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: npz_ops read PATH NAME | read_all PATH | write PATH --from A.npy,B.npy [--repeat N]";
    let (op, path) = (args.first().expect(usage), args.get(1).expect(usage));
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let repeat: usize = flag("--repeat").map_or(1, |r| r.parse().expect(usage));
    let inputs: Vec<ArrayD<f32>> = match op.as_str() {
        "write" => flag("--from")
            .expect("write needs --from")
            .split(',')
            .map(|p| npmap::read_npy::<f32, IxDyn>(p).unwrap())
            .collect(),
        _ => Vec::new(),
    };
    let mut seconds = Vec::new();
    let mut check = 0.0f64;
    for _ in 0..repeat {
        let start = Instant::now();
        check = match op.as_str() {
            "read" => {
                let name = args.get(2).expect(usage);
                let z = NpzReader::open(path).unwrap();
                checksum(&z.read::<f32, IxDyn>(name).unwrap())
            }
            "read_all" => {
                let z = NpzReader::open(path).unwrap();
                let names = z.names();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                z.read_many::<f32, IxDyn>(&names)
                    .unwrap()
                    .iter()
                    .map(checksum)
                    .sum()
            }
            "write" => {
                let mut w = NpzWriter::compressed(path).unwrap();
                for (i, a) in inputs.iter().enumerate() {
                    let name = char::from(b'a' + i as u8).to_string();
                    w.add(&name, a).unwrap();
                }
                w.finish().unwrap();
                std::fs::metadata(path).unwrap().len() as f64
            }
            other => panic!("unknown op {other}\n{usage}"),
        };
        seconds.push(start.elapsed().as_secs_f64());
    }
    println!("{{\"seconds\": {seconds:?}, \"check\": {check}}}");
}
