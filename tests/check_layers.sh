#!/usr/bin/env bash
# check_layers.sh — the folders of src/ are a stack of layers (docs/README.md,
# "Layers"): a file includes headers of its own folder and of the folders
# below it, never of one above, and never of apps/ ("common/..."). This reads
# every #include "..." under src/ and prints one line per include that breaks
# the order; it exits 1 if there is any. `make test` runs it first.
#
# Only includes are checked. Some Tensor methods are declared in tensor.h and
# defined in ops/ and autograd/ (see tensor.h): those calls go up at link
# time, by design, and no include does.
set -euo pipefail
cd "$(dirname "$0")/.."

# <folder>: the folders its files may include. dl.h is the umbrella header at
# the top of src/; a new folder must be added here before it can be used.
rules='
tensor:   tensor
graph:    tensor graph
ops:      tensor graph ops
autograd: tensor graph ops autograd
data:     tensor graph data
nn:       tensor graph ops autograd nn
optim:    tensor graph ops autograd optim
dl.h:     tensor graph ops autograd data nn optim
'

declare -A allowed
while read -r layer folders; do
  [ -n "$layer" ] && allowed[${layer%:}]=" $folders "
done <<< "$rules"

violations=0
includes=0
while IFS= read -r hit; do
  file=${hit%%:*}
  target=${hit#*\"}
  target=${target%\"*}
  relative=${file#src/}
  layer=${relative%%/*}
  includes=$((includes + 1))
  if [ -z "${allowed[$layer]+set}" ]; then
    echo "$file includes $target: src/$layer is in no layer (add it to tests/check_layers.sh)"
    violations=$((violations + 1))
  elif [[ $target != */* ]]; then
    echo "$file includes $target: includes in src/ name their folder (\"tensor/shape.h\")"
    violations=$((violations + 1))
  elif [[ ${allowed[$layer]} != *" ${target%%/*} "* ]]; then
    list=$(echo ${allowed[$layer]})
    echo "$file includes $target: $layer may include only ${list// /, }"
    violations=$((violations + 1))
  fi
done < <(grep -rEo '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*"' src | sort)

if [ "$violations" -gt 0 ]; then
  echo "check_layers: $violations of $includes includes in src/ break the layer order (docs/README.md)" >&2
  exit 1
fi
echo "check_layers: all $includes includes in src/ follow the layer order"
