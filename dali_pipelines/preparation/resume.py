"""Where a run of ``prepare`` starts: an empty folder, a finished output, or an interrupted one.

``OUT/prepared.json`` with ``complete: false`` is an interrupted run: it resumes when the
source (fingerprint and sample count), the options and the outputs are the same, after checking
every listed shard (size and SHA-256) and deleting the files in ``OUT/shards`` the manifest does
not list (what the interrupted run was writing). ``complete: true`` with the same inputs is
returned as it is. A mismatch names the field; a non-empty folder without a manifest is refused.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..data.prepared_format import (
    MANIFEST_NAME,
    SHARDS_DIR,
    PreparedManifest,
    file_sha256,
    index_name,
    read_json_model,
)
from ..errors import DatasetError

log = logging.getLogger(__name__)
_TEMPORARY_MANIFEST = f".{MANIFEST_NAME}."


def leftovers(out: Path) -> list[Path]:
    """Temporary manifests an interrupted write left in ``out``."""
    return [p for p in out.iterdir() if p.name.startswith(_TEMPORARY_MANIFEST)]


def existing_run(out: Path) -> PreparedManifest | None:
    """The manifest in ``out`` (``None``: ``out`` is missing or empty); refuses other content."""
    if not out.exists():
        return None
    if not out.is_dir():
        raise DatasetError(f"{out}: expected an empty folder or a prepare output, got a file")
    for stale in leftovers(out):
        stale.unlink()
    manifest = out / MANIFEST_NAME
    if manifest.exists():
        found: PreparedManifest = read_json_model(manifest, PreparedManifest, "prepare manifest")
        return found
    entries = sorted(p.name for p in out.iterdir())
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise DatasetError(
            f"{out}: expected an empty folder or a prepare output ({MANIFEST_NAME}), got "
            f"{len(entries)} entries without one ({shown})"
        )
    return None


def _differences(old: PreparedManifest, new: PreparedManifest) -> list[tuple[str, Any, Any]]:
    found = []
    for field in ("fingerprint", "samples"):
        before, after = getattr(old.source, field), getattr(new.source, field)
        if before != after:
            found.append((f"source.{field}", before, after))
    for field in type(old.options).model_fields:
        before, after = getattr(old.options, field), getattr(new.options, field)
        if before != after:
            found.append((f"options.{field}", before, after))
    if old.outputs != new.outputs:
        found.append(("outputs", list(old.outputs), list(new.outputs)))
    return found


def check_same_inputs(out: Path, old: PreparedManifest, new: PreparedManifest) -> None:
    """:class:`DatasetError` naming the first input that differs from the run in ``out``."""
    differences = _differences(old, new)
    if differences:
        field, before, after = differences[0]
        raise DatasetError(
            f"{out / MANIFEST_NAME}: {field}: expected {before!r} (the run being resumed), got "
            f"{after!r}; remove {out} or pass the same options"
        )


def verify_shards(out: Path, manifest: PreparedManifest) -> None:
    """Check the listed shards and delete every other file in ``OUT/shards``."""
    folder = out / SHARDS_DIR
    listed = set()
    for entry in manifest.shards:
        path = folder / entry.name
        listed.update({entry.name, index_name(entry.name)})
        size = os.path.getsize(path) if path.is_file() else None
        if size != entry.bytes:
            got = "no such file" if size is None else f"{size} bytes"
            raise DatasetError(
                f"{path}: bytes: expected {entry.bytes} (the manifest), got {got}; remove {out} "
                "and run again"
            )
        digest = file_sha256(path)
        if digest != entry.sha256:
            raise DatasetError(
                f"{path}: sha256: expected {entry.sha256} (the manifest), got {digest}; remove "
                f"{out} and run again"
            )
        if not (folder / index_name(entry.name)).is_file():
            raise DatasetError(
                f"{folder / index_name(entry.name)}: expected the shard's index, got no such file"
            )
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.name not in listed:
                log.info("removing %s (written by the interrupted run)", path)
                path.unlink()
