#!/usr/bin/env bash
# Seeds the fuzz corpora from the committed fixtures (corpus dirs are gitignored).
# Usage: fuzz/seed.sh   then   RUSTC_BOOTSTRAP=1 cargo fuzz run header   (from the repo root)
set -euo pipefail
cd "$(dirname "$0")"
for target in header npy_open append_open copy_read; do
    mkdir -p "corpus/$target"
    cp ../fixtures/npy/*.npy ../fixtures/malformed/*.npy "corpus/$target/"
done
# The copying readers also get the string, time and structured arrays, and archives.
cp ../fixtures/struct/*.npy ../fixtures/npz/*.npz corpus/copy_read/
mkdir -p corpus/npz
cp ../fixtures/npz/*.npz corpus/npz/
# The joblib unpickler gets the dumps joblib made.
mkdir -p corpus/joblib
cp ../fixtures/joblib/*.joblib corpus/joblib/
for target in header npy_open append_open copy_read npz joblib; do
    echo "seeded $target: $(ls "corpus/$target" | wc -l) files"
done
