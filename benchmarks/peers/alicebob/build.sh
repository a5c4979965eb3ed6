#!/bin/sh
# Builds alicebob-miniredis here: github.com/alicebob/miniredis (Go) serving on one
# address, the peer benchmarks/servers.py starts. Needs the go command (Debian:
# apt-get install golang-go).
#
#   build.sh            fetch the modules through the Go module proxy (go mod tidy)
#   build.sh SRC        build offline from source trees: SRC/miniredis (alicebob's
#                       repository at v2.38.0) and SRC/gopher-lua (yuin's at v1.1.1),
#                       for machines that cannot reach the module proxy
set -eu
cd "$(dirname "$0")"
command -v go >/dev/null || { echo "go not found (apt-get install golang-go)" >&2; exit 1; }
if [ $# -eq 0 ]; then
	go mod tidy
	go build -o alicebob-miniredis .
	exit 0
fi
SRC=$(cd "$1" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp main.go "$WORK/"
# gopher-lua's go.mod names modules only its command-line tool uses: empty stand-ins.
for m in github.com/chzyer/readline github.com/chzyer/logex github.com/chzyer/test \
		golang.org/x/sys; do
	mkdir -p "$WORK/stub/$m" && echo "module $m" > "$WORK/stub/$m/go.mod"
done
cat > "$WORK/go.mod" <<MOD
module benchpeer

go 1.17

require (
	github.com/alicebob/miniredis/v2 v2.38.0
	github.com/yuin/gopher-lua v1.1.1
)

replace github.com/alicebob/miniredis/v2 => $SRC/miniredis
replace github.com/yuin/gopher-lua => $SRC/gopher-lua
replace github.com/chzyer/readline => $WORK/stub/github.com/chzyer/readline
replace github.com/chzyer/logex => $WORK/stub/github.com/chzyer/logex
replace github.com/chzyer/test => $WORK/stub/github.com/chzyer/test
replace golang.org/x/sys => $WORK/stub/golang.org/x/sys
MOD
(cd "$WORK" && GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off go build -o alicebob-miniredis .)
mv "$WORK/alicebob-miniredis" .
