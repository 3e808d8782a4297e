//! Faults in archives: entries that overlap (one compressed member read many times
//! over) are refused at open; a full disk while writing an archive says `write
//! archive`, and never lets the zip crate print its own message from a `Drop`.

use std::path::Path;
use std::process::Command;

use ndarray::{Array1, Ix1};
use npmap::{ErrorKind, NpzReader, NpzWriter};

use crate::faults_alloc::{eocd, zip_of};

/// A stored `.npy` member's bytes and CRC-32.
fn npy_member(values: &[i16]) -> (Vec<u8>, u32) {
    let mut bytes = Vec::new();
    npmap::write_npy_to(&mut bytes, &Array1::from(values.to_vec())).unwrap();
    (bytes.clone(), crc32fast::hash(&bytes))
}

/// A central-directory record for a stored member at local-header `offset`.
fn central_record(name: &str, crc: u32, size: u32, offset: u32) -> Vec<u8> {
    let mut out = 0x0201_4b50u32.to_le_bytes().to_vec();
    out.extend([20, 0, 20, 0, 0, 0, 0, 0]); // made by, needed, flags, method 0 (stored)
    out.extend([0u8; 4]); // time, date
    out.extend(crc.to_le_bytes());
    out.extend(size.to_le_bytes());
    out.extend(size.to_le_bytes());
    out.extend((name.len() as u16).to_le_bytes());
    out.extend([0u8; 10]); // extra and comment lengths, disk, internal attributes, external (4)
    out.extend([0u8; 2]);
    out.extend(offset.to_le_bytes());
    out.extend(name.as_bytes());
    out
}

#[test]
fn entries_that_share_their_data_are_refused() {
    // One local entry "a.npy"; the directory lists it under 200 names, as the
    // 108 KB archive that read one 100 MB member 200 times did.
    let (bytes, crc) = npy_member(&[1, 2, 3]);
    let one = zip_of(&[("a.npy", 0, crc, bytes.len() as u32, &bytes)]);
    let local_len = 30 + 5 + bytes.len();
    let mut archive = one[..local_len].to_vec();
    let mut central = Vec::new();
    for k in 0..200 {
        let name = if k == 0 {
            "a.npy".to_string()
        } else {
            format!("m{k}.npy")
        };
        central.extend(central_record(&name, crc, bytes.len() as u32, 0));
    }
    eocd(&mut archive, &central, 200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.npz");
    std::fs::write(&path, &archive).unwrap();
    let e = NpzReader::open(&path).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::OverlappingMembers {
            first: "a".into(),
            second: "m1".into(),
            offset: 0
        }
    );
    assert_eq!(e.path(), Some(path.as_path()));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: overlapping members: 'm1' starts at byte 0, inside the data of 'a'; expected each member's data to end before the next one starts",
            path.display()
        )
    );
}

#[test]
fn an_entry_inside_another_entrys_data_is_refused() {
    // "outer.npy" is stored; its bytes hold a whole local entry "inner.npy", which
    // the directory lists too.
    let (inner, inner_crc) = npy_member(&[7, 8]);
    let inner_entry = zip_of(&[("inner.npy", 0, inner_crc, inner.len() as u32, &inner)]);
    let inner_local = &inner_entry[..30 + 9 + inner.len()];
    let mut outer = vec![0u8; 16];
    outer.extend(inner_local);
    let outer_crc = crc32fast::hash(&outer);
    let built = zip_of(&[("outer.npy", 0, outer_crc, outer.len() as u32, &outer)]);
    let local_len = 30 + 9 + outer.len();
    let mut archive = built[..local_len].to_vec();
    let inner_at = (30 + 9 + 16) as u32;
    let mut central = central_record("outer.npy", outer_crc, outer.len() as u32, 0);
    central.extend(central_record(
        "inner.npy",
        inner_crc,
        inner.len() as u32,
        inner_at,
    ));
    eocd(&mut archive, &central, 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested.npz");
    std::fs::write(&path, &archive).unwrap();
    let e = NpzReader::open(&path).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::OverlappingMembers {
            first: "outer".into(),
            second: "inner".into(),
            offset: u64::from(inner_at)
        }
    );
    // Without the inner entry listed, the same bytes are a fine one-member archive.
    let mut fine = built[..local_len].to_vec();
    eocd(
        &mut fine,
        &central_record("outer.npy", outer_crc, outer.len() as u32, 0),
        1,
    );
    std::fs::write(&path, &fine).unwrap();
    assert_eq!(NpzReader::open(&path).unwrap().names(), ["outer"]);
}

#[test]
fn many_members_are_looked_up_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.npz");
    let mut w = NpzWriter::create(&path).unwrap();
    for k in 0..2000i64 {
        w.add(&format!("a{k}"), &ndarray::arr1(&[k, -k])).unwrap();
    }
    w.finish().unwrap();
    let z = NpzReader::open(&path).unwrap();
    assert_eq!(z.names().len(), 2000);
    for k in [0i64, 1, 999, 1999] {
        let a: Array1<i64> = z.read(&format!("a{k}")).unwrap();
        assert_eq!(a.to_vec(), [k, -k]);
        assert_eq!(z.header(&format!("a{k}")).unwrap().shape, [2]);
    }
    assert!(matches!(
        z.read::<i64, Ix1>("a2000").unwrap_err().kind(),
        ErrorKind::MemberNotFound { .. }
    ));
}

const FULL_ENV: &str = "NPMAP_FULL_NPZ_CHILD_DIR";

/// The child side of `a_full_disk_while_writing_an_archive_says_write_archive`:
/// writes archives into the directory (a 1 MiB filesystem) and reports each error.
#[test]
#[ignore = "run by a_full_disk_while_writing_an_archive_says_write_archive in a child process"]
fn full_npz_child() {
    let Ok(dir) = std::env::var(FULL_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let big = Array1::from_shape_fn(300_000, |i| i as f64); // 2.4 MB
    let small = Array1::from_shape_fn(80_000, |i| i as f64); // 640 KB
    // A member larger than the disk: `add` fails, then `finish`.
    let mut w = NpzWriter::create(dir.join("a.npz")).unwrap();
    let add = w.add("big", &big);
    println!(
        "@ add: {}",
        add.map_or_else(|e| e.to_string(), |()| "ok".into())
    );
    let again = w.add("small", &small).unwrap_err();
    println!("@ add again: {again}");
    println!("@ finish after failed add: {}", w.finish().unwrap_err());
    // Members that fit in the writer's buffer: `finish` is the first to fail.
    let mut w = NpzWriter::create(dir.join("b.npz")).unwrap();
    for k in 0..2 {
        let r = w.add(&format!("s{k}"), &(&small + k as f64));
        println!(
            "@ add s{k}: {}",
            r.map_or_else(|e| e.to_string(), |()| "ok".into())
        );
    }
    let stored = NpzWriter::create(dir.join("c.npz")).unwrap();
    println!(
        "@ finish: {}",
        w.finish().map_or_else(|e| e.to_string(), |()| "ok".into())
    );
    // An archive dropped after a failure, unfinished.
    let mut d = stored;
    let _ = d.add("big", &big);
    drop(d);
    println!("@ dropped");
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    println!("@ left: {left:?}");
}

/// Mounts a 1 MiB tmpfs at `dir`; false when this process may not (not root).
fn mount_small_tmpfs(dir: &Path) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_full_disk_while_writing_an_archive_says_write_archive() {
    let dir = tempfile::tempdir().unwrap();
    if !mount_small_tmpfs(dir.path()) {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let out = crate::faults::child("faults_npz::full_npz_child", (FULL_ENV, dir.path()))
        .output()
        .unwrap();
    let unmounted = Command::new("umount").arg(dir.path()).status();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(unmounted.is_ok_and(|s| s.success()));
    // Nothing of the zip crate's own reporting, glued to the next line or not.
    assert!(!stderr.contains("ZipWriter"), "stderr: {stderr}");
    assert!(!stdout.contains("ZipWriter"), "stdout: {stdout}");
    assert!(!stdout.contains("read archive"), "{stdout}");
    let marker = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| {
                l.split_once(&format!("@ {name}: "))
                    .map(|(_, m)| m.to_owned())
            })
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let a = dir.path().join("a.npz");
    let full = "No space left on device (os error 28)";
    assert_eq!(marker("add"), format!("{}:big: write: {full}", a.display()));
    assert_eq!(
        marker("add again"),
        format!(
            "{}: write archive: an earlier write to the archive failed; start a new NpzWriter",
            a.display()
        )
    );
    let finish = marker("finish after failed add");
    assert_eq!(finish, format!("{}: write archive: {full}", a.display()));
    assert!(
        finish.ends_with(&format!("write archive: {full}")),
        "{finish}"
    );
    let b = marker("finish");
    assert!(
        b.contains(": write archive: ") && b.ends_with(full),
        "{b} in {stdout}"
    );
    assert_eq!(marker("left"), "[]");
}
