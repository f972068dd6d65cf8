#!/usr/bin/env bash
# Refreshes the dashboard's vendored Chart.js (src/ConversationService/Dashboard/Assets/vendor/): npm-packs the pinned
# version, checks the tarball's SHA-256 and copies the UMD build and the licence. No CDN and no build step at run time:
# the service serves these files as embedded resources. To move to another version, change both pins below (the
# new SHA-256 is printed when it does not match) and run this script.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.6.1
sha256=9345dacdf4bb4c5d40321f4b9aafab6fe676d37a534fc0bc2d17c4c4e29c4f00
target=src/ConversationService/Dashboard/Assets/vendor

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "chart.js@$version" >/dev/null)
tarball="$work/chart.js-$version.tgz"
actual=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$actual" != "$sha256" ]; then
  echo "vendor-chartjs: chart.js@$version has SHA-256 $actual, expected $sha256" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/dist/chart.umd.min.js package/LICENSE.md
cp "$work/package/dist/chart.umd.min.js" "$target/chart.umd.min.js"
cp "$work/package/LICENSE.md" "$target/chart.js.LICENSE.md"
printf 'chart.js %s\nnpm tarball sha256 %s\nfiles: dist/chart.umd.min.js, LICENSE.md\n' "$version" "$sha256" > "$target/chart.js.VERSION"
echo "vendor-chartjs: chart.js $version in $target"
