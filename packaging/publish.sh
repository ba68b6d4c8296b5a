#!/usr/bin/env bash
# Publishes postbote as one self-contained executable for linux-x64 (no .NET runtime needed on the server):
#   packaging/publish.sh [OUTPUT_DIR]       # default: ./out; the executable is OUTPUT_DIR/postbote
# Then, as root: install -m 0755 OUTPUT_DIR/postbote /usr/local/bin/postbote (docs/install.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-out}"
dotnet publish src/Postbote/Postbote.csproj -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none \
  -o "$out"
ls -l "$out/postbote"
