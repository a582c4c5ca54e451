#!/usr/bin/env bash
# A/B on the device: runs a command in this tree and in a copy whose src/ and shaders/ come from
# base-src.tar (`git archive <base> src shaders [other paths] -o base-src.tar`), alternating, so both sides share
# the machine's windows. Usage (after . .devpack/setup.sh): bash bench/ab.sh ROUNDS -- command...
set -u
rounds=$1; shift 2
base=/tmp/kiln-base
# Made afresh each time: a warm machine keeps /tmp from an earlier call, with another base.
rm -rf $base && mkdir -p $base && tar -cf - --exclude=./.devpack . | tar -xf - -C $base
rm -rf $base/src $base/shaders && tar -xf base-src.tar -C $base
for r in $(seq "$rounds"); do
  echo "== base (round $r)"; (cd $base && "$@")
  echo "== new (round $r)"; "$@"
done
