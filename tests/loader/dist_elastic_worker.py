"""Run by torchrun in test_distributed.py: the docs' elastic recipe, one phase per launch.

``save``: every rank runs ``k`` batches of epoch 0, then rank 0 saves the loader's state (the
state is global). ``resume``: every rank of a launch of another size loads it and finishes
epoch 0 and runs epoch 1, with ``set_epoch`` as the recipe's loop calls it. Each rank writes
the sample ids it delivered.
"""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist

from dali_pipelines import DataLoader
from tests.loader.dist_worker import IndexDataset

SPEC = {"ops": [{"op": "resize", "size": [8, 8]}], "output": {"dtype": "uint8"}}


def main() -> None:
    phase, out_path, checkpoint, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    loader = DataLoader(
        IndexDataset(1001), SPEC, batch_size=7, shuffle=True, seed=11, num_threads=1,
        shuffle_algorithm="feistel",
    )  # fmt: skip
    epochs: list[list[list[int]]] = []
    if phase == "save":
        batches = iter(loader)
        epochs.append([labels.tolist() for _, (_, labels) in zip(range(k), batches)])
        dist.barrier()  # every rank at the same step, as a training loop's collectives keep them
        if rank == 0:
            torch.save({"loader": loader.state_dict()}, checkpoint)
    else:
        loader.load_state_dict(torch.load(checkpoint)["loader"])
        for epoch in range(loader.epoch, 2):
            loader.set_epoch(epoch)  # keeps the restored mid-epoch position
            epochs.append([labels.tolist() for _, labels in loader])
    result = {"rank": rank, "world": dist.get_world_size(), "epochs": epochs}
    with open(f"{out_path}.{rank}.json", "w") as handle:
        json.dump(result, handle)
    loader.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
