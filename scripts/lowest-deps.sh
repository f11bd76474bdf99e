#!/usr/bin/env bash
# Run the spec/contract tests against the lowest dependency versions pyproject.toml allows.
#
# A separate venv (.cache/lowest-venv) gets every dependency at its floor (`>=X` -> `==X`,
# wheels only: a floor with no wheel for this Python is not a usable floor) plus pytest and
# hypothesis at theirs. torch, torchvision and DALI are not reinstalled: they are the pinned
# builds of the main venv ($VENV, default .venv), linked in behind the lowest venv's own
# packages. Then the spec and contract tests run there, with the fingerprint pin
# (tests/adversarial/test_dependency_floors.py): a floor that changes a fingerprint or breaks
# a test fails here.
#
#   scripts/lowest-deps.sh            # or: make test-lowest
#   scripts/lowest-deps.sh tests/ops  # other test paths instead of the default ones
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
LOW=${LOW_VENV:-.cache/lowest-venv}
MAIN_PY="$VENV/bin/python"
[ -x "$MAIN_PY" ] || { echo "no $MAIN_PY: run 'make install-dev' first" >&2; exit 2; }

rm -rf "$LOW"
mkdir -p "$(dirname "$LOW")"
"$MAIN_PY" -m venv "$LOW"
"$MAIN_PY" scripts/lowest_deps.py pins > "$LOW/pins.txt"
echo "lowest versions:"; sed 's/^/  /' "$LOW/pins.txt"

# (pip's warnings about this machine's missing local index folders are left out)
"$LOW/bin/python" -m pip install -q --only-binary :all: -r "$LOW/pins.txt" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)

"$LOW/bin/python" -m pip list --format=freeze | cut -d= -f1 > "$LOW/installed.txt"
SITE=$("$LOW/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$MAIN_PY" scripts/lowest_deps.py overlay "$LOW/pinned" "$LOW/installed.txt"
echo "$(cd "$LOW/pinned" && pwd)" > "$SITE/zz_pinned_from_main_venv.pth"

echo "resolved:"
"$LOW/bin/python" - <<'EOF'
from importlib import metadata
for name in ("pydantic", "pydantic-core", "numpy", "pillow", "rich", "pyyaml", "pytest",
             "hypothesis", "torch", "torchvision", "nvidia-dali-cuda120", "nvidia-dali-cuda130"):
    try:
        print(f"  {name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:  # DALI: one of its two wheels, the extra installed
        pass
EOF

if [ "$#" -eq 0 ]; then
    set -- tests/spec tests/contracts tests/adversarial/test_dependency_floors.py
fi
# Hypothesis keeps its example database apart: examples saved by the main venv's (newer)
# Hypothesis are not in a format an older one reads, and replaying them fails health checks.
HYPOTHESIS_STORAGE_DIRECTORY="$LOW/hypothesis" \
    "$LOW/bin/python" -m pytest -q -p no:cacheprovider "$@"
