#!/usr/bin/env bash
# make_venv.sh PYTHON VENV [given]: the Makefile's virtual environment, made with PYTHON (Python >= 3.11,
# what the pinned versions need), or kept when it already runs a new enough Python with pip (and,
# with 'given', one of PYTHON's version: 'make demo PYTHON=python3.13' after a set-up with another).
# One that cannot serve is made again: a venv left without pip by 'python3 -m venv' on a Debian or
# Ubuntu without python3-venv (or stopped with Ctrl-C while it installed pip), one of a Python too
# old, one whose Python was removed or upgraded away. Each used to fail every 'make' after it, with
# 'No module named pip' or pip's resolver error, until the user found 'make clean'.
set -uo pipefail
python=${1:?usage: make_venv.sh PYTHON VENV}
venv=${2:?usage: make_venv.sh PYTHON VENV}
given=${3:-}
here=$(dirname "$0")
# the pinned versions of constraints.txt (numpy 2.4, PyAV 18, Pillow 13, ONNX Runtime 1.32) need 3.11;
# DeepPhoto itself installs with pip on 3.10 too (JetPack 6: docs/jetson.md), unpinned
need=3.11
check="import sys; v = tuple(int(p) for p in '$need'.split('.')); print('%d.%d.%d' % sys.version_info[:3]); sys.exit(sys.version_info[:len(v)] < v)"

say() { echo "deepphoto setup: $*" >&2; }

# the venv as it is: kept when its Python runs, is new enough and has pip (given it by ensurepip
# where it has none: one made by uv, or stopped while it installed pip, keeps its packages)
has_pip() {
    "$venv/bin/python" -m pip --version >/dev/null 2>&1 ||
        { "$venv/bin/python" -m ensurepip --upgrade >/dev/null 2>&1 && "$venv/bin/python" -m pip --version >/dev/null 2>&1; }
}
if [ -e "$venv/bin/python" ]; then
    if has=$("$venv/bin/python" -c "$check" 2>/dev/null) && has_pip; then
        if [ "$given" != given ] || [ "$("$python" -c "$check" 2>/dev/null)" = "$has" ]; then
            exit 0
        fi
        say "$venv has Python $has, $python another"
    else
        say "$venv cannot be used (its Python is too old, gone, or has no pip)"
    fi
fi

if ! version=$("$python" -c "$check" 2>/dev/null); then
    if [ -n "${version:-}" ]; then
        say "$python is Python $version; DeepPhoto needs Python >= $need (its pinned numpy, PyAV, Pillow and ONNX Runtime have no release for older ones)."
    else
        say "$python does not run here (not installed, or not a Python): DeepPhoto needs Python >= $need."
    fi
    say "install one (Ubuntu 22.04: sudo apt install python3.11 python3.11-venv; macOS, whose python3 is 3.9: brew install python@3.13) and name it: make demo PYTHON=python3.11"
    exit 2
fi

[ -e "$venv" ] && say "making $venv again with $python (Python $version)"
if ! "$python" -m venv --clear "$venv"; then
    rm -rf "$venv"  # half made, without pip: the next 'make' would take it as made
    say "$python could not make a virtual environment: on Debian or Ubuntu install python3-venv (python3.X-venv for the Python in use), then run make again"
    exit 2
fi
