#!/usr/bin/env bash
# Seeds the fuzz corpora from the committed fixtures (corpus dirs are gitignored).
# Usage: fuzz/seed.sh   then   RUSTC_BOOTSTRAP=1 cargo fuzz run header   (from the repo root)
set -euo pipefail
cd "$(dirname "$0")"
for target in header npy_open; do
    mkdir -p "corpus/$target"
    cp ../fixtures/npy/*.npy ../fixtures/malformed/*.npy "corpus/$target/"
done
mkdir -p corpus/npz
cp ../fixtures/npz/*.npz corpus/npz/
echo "seeded: $(ls corpus/header | wc -l) files per target"
