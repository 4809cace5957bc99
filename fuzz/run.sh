#!/usr/bin/env bash
# Fuzzes one target (or all, one after another) under libFuzzer:
#   fuzz/run.sh TARGET|all [SECONDS_PER_TARGET=300] [extra libFuzzer flags...]
# Needs clang with libFuzzer (Debian: clang-14 libclang-rt-14-dev) and the .NET SDK. Builds the targets in
# Release, instruments Ferry's assemblies and the decompressors with sharpfuzz (the local tool in
# fuzz/dotnet-tools.json), builds the driver, then runs libFuzzer at the lowest priority. What the fuzzer adds
# to the corpus goes to $FUZZ_WORK/corpus/TARGET (not committed); a crash is written to fuzz/crashes/TARGET/
# and reproduced with `dotnet $FUZZ_WORK/bin/Ferry.Fuzz.dll TARGET fuzz/crashes/TARGET/crash-...`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${FUZZ_WORK:-/tmp/ferry-fuzz}"
target="${1:?usage: fuzz/run.sh TARGET|all [SECONDS] [libFuzzer flags]}"
seconds="${2:-300}"
shift $(( $# >= 2 ? 2 : 1 ))
clang="$(command -v clang || command -v clang-14 || command -v clang-16)"

mkdir -p "$work"
if [ ! -x "$work/bin/Ferry.Fuzz" ] || [ -n "${FUZZ_REBUILD:-}" ]; then
  rm -rf "$work/bin"
  # A build, not a publish: the referenced host project is published native (PublishAot), which a
  # framework-dependent publish of this one cannot reference.
  dotnet build "$here/Ferry.Fuzz.csproj" -c Release --nologo -v quiet -nodeReuse:false
  cp -r "$here/bin/Release/net10.0" "$work/bin"
  (cd "$here" && dotnet tool restore >/dev/null)
  for assembly in Ferry.Kafka Ferry.Amqp Ferry.Storage ferry Snappier K4os.Compression.LZ4 K4os.Compression.LZ4.Streams ZstdSharp; do
    (cd "$here" && dotnet sharpfuzz "$work/bin/$assembly.dll")
  done
fi
if [ ! -x "$work/libfuzzer-dotnet" ] || [ "$here/driver/libfuzzer-dotnet.c" -nt "$work/libfuzzer-dotnet" ]; then
  "$clang" -O2 -fsanitize=fuzzer "$here/driver/libfuzzer-dotnet.c" -o "$work/libfuzzer-dotnet"
fi

if [ "$target" = all ]; then targets=$(dotnet "$work/bin/Ferry.Fuzz.dll" list); else targets="$target"; fi
for t in $targets; do
  mkdir -p "$work/corpus/$t" "$here/crashes/$t"
  echo "== $t: $seconds s"
  nice -n 19 "$work/libfuzzer-dotnet" --target_path="$work/bin/Ferry.Fuzz" --target_arg="$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$here/crashes/$t/" "$@" "$work/corpus/$t" "$here/corpus/$t" || true
done
