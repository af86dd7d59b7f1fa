# pinned_files.sh — sourced by fetch_mnist.sh and fetch_fashion_mnist.sh:
# what they share to decide which data files are missing. The caller sets
# `dir`, the array `files` (file names without .gz) and the associative
# array `sha256` (file name -> SHA-256 of its uncompressed content).

# The SHA-256 of a file's content, decompressed if it is gzipped.
content_hash() {
  case $1 in
    *.gz) gzip -dc <"$1" 2>/dev/null | sha256sum | cut -d' ' -f1 ;;
    *) sha256sum <"$1" | cut -d' ' -f1 ;;
  esac
}

# Whether $dir already has `name` with the pinned content, raw or gzipped.
have() {
  local name=$1
  if [ -f "$dir/$name" ]; then
    [ "$(content_hash "$dir/$name")" = "${sha256[$name]}" ]
  elif [ -f "$dir/$name.gz" ]; then
    [ "$(content_hash "$dir/$name.gz")" = "${sha256[$name]}" ]
  else
    return 1
  fi
}

# Sets `missing` (the files $dir lacks with the pinned content) and `wrong`
# (those of them present with other content, to be replaced).
find_missing() {
  missing=()
  wrong=()
  local name
  for name in "${files[@]}"; do
    have "$name" && continue
    missing+=("$name")
    if [ -f "$dir/$name" ]; then wrong+=("$dir/$name"); elif [ -f "$dir/$name.gz" ]; then wrong+=("$dir/$name.gz"); fi
  done
}
