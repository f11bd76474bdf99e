"""Run by torchrun in test_distributed.py: each rank writes the sample ids it delivered."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import torch.distributed as dist
from PIL import Image

from dali_pipelines import DataLoader


class IndexDataset:
    """n copies of one tiny JPEG whose label is the sample index (ids can be read back)."""

    def __init__(self, n: int):
        buf = io.BytesIO()
        Image.new("RGB", (12, 10), (200, 30, 90)).save(buf, format="JPEG")
        self.data = np.frombuffer(buf.getvalue(), dtype=np.uint8)
        self.n = n

    def __len__(self) -> int:
        return self.n

    def read_bytes(self, index: int) -> np.ndarray:
        return self.data

    def label(self, index: int) -> int:
        return index

    def path(self, index: int) -> str:
        return f"memory://{index}"

    def fingerprint(self) -> str:
        return f"index-{self.n}"


def main() -> None:
    out_path, drop_last = sys.argv[1], sys.argv[2] == "1"
    dist.init_process_group("gloo")
    loader = DataLoader(
        IndexDataset(1001),
        {"ops": [{"op": "resize", "size": [8, 8]}], "output": {"dtype": "uint8"}},
        batch_size=7,
        shuffle=True,
        drop_last=drop_last,
        seed=11,
        num_threads=1,
    )
    epochs = []
    for epoch in range(2):
        loader.set_epoch(epoch)
        epochs.append([labels.tolist() for _, labels in loader])
    result = {
        "rank": dist.get_rank(),
        "world": dist.get_world_size(),
        "len": len(loader),
        "epochs": epochs,
    }
    with open(f"{out_path}.{dist.get_rank()}.json", "w") as handle:
        json.dump(result, handle)
    loader.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
