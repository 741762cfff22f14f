#!/bin/sh
# Refreshes tests/constraints.txt: the exact versions the README's test command installs (every
# dependency of triage and of its extras, and the build tools that build triage and durable-rules
# from source), for Python 3.10 to 3.12. pyproject.toml keeps its open ranges for embedders; the
# lock only makes a fresh clone's test run the same as the last green one.
#
#   sh tests/lock.sh              every package to its newest release; then run the tests
#   sh tests/lock.sh -P NAME      only NAME (and what it needs) to its newest release
set -e
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || .venv/bin/pip install -q uv
[ $# -gt 0 ] || set -- --upgrade
cp tests/constraints.txt tests/constraints.new  # the versions to keep, unless asked to move
printf 'setuptools>=68\nwheel\n' | .venv/bin/uv pip compile pyproject.toml - --all-extras \
    --universal --python-version 3.10 --no-header --quiet "$@" --output-file tests/constraints.new
{
    echo "# The versions the tests were last green with; refresh with: sh tests/lock.sh"
    cat tests/constraints.new
} > tests/constraints.txt
rm tests/constraints.new
