"""Train a small PyTorch model from TFRecord shards, on data this script makes.

Run after `pip install ./python` (and `pip install torch`):

    python examples/train_torch.py

It writes 4 shards of Examples (an image as bytes, its label, an id), then trains with `tfrec.torch.TFRecordDataset` in a
`DataLoader` with 2 worker processes, as rank 0 of 2 and rank 1 of 2 in turn
(what two training processes would each do), saves the loader state mid-epoch
and resumes from it, and checks that every record was seen exactly once.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np
import torch
from torch.utils.data import DataLoader

import tfrec
from tfrec.torch import TFRecordDataset

RECORDS = 2_048
SHAPE = (16, 16, 3)
BATCH = 64
WORLD = 2


def make_data(out_dir: str) -> str:
    """Writes RECORDS Examples (an image as uint8 bytes, its label) in 4 shards."""
    rng = np.random.default_rng(0)
    with tfrec.ShardedWriter(out_dir, "train", shards=4) as w:
        for i in range(RECORDS):
            label = i % 10
            image = rng.integers(0, 256, size=SHAPE, dtype=np.uint8)
            image[..., 0] = label * 25  # a learnable signal
            w.write_example({"image": image.tobytes(), "label": label, "id": i})
    return os.path.join(out_dir, "train-*.tfrecord")


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(int(np.prod(SHAPE)), 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1).float() / 255.0)


def loader(pattern: str, rank: int, state: dict | None = None) -> tuple[TFRecordDataset, DataLoader]:
    spec = {
        "image": tfrec.FixedLen([], "string"),
        "label": tfrec.FixedLen([], "int64"),
        "id": tfrec.FixedLen([], "int64"),
    }
    ds = TFRecordDataset(pattern, batch_size=BATCH, shuffle=1234, rank=rank, world=WORLD, spec=spec)
    if state is not None:
        ds.load_state_dict(state)
    return ds, DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context="spawn")


def decode_images(raw: torch.Tensor | np.ndarray | list) -> torch.Tensor:
    arrays = [np.frombuffer(b, dtype=np.uint8).reshape(SHAPE) for b in raw]
    return torch.from_numpy(np.stack(arrays))


def train_step(model: Net, opt: torch.optim.Optimizer, batch: dict, seen: list[int]) -> torch.Tensor:
    """One optimizer step on a batch; records the ids it held."""
    x, y = decode_images(batch["image"]), batch["label"].reshape(-1)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    seen.extend(int(i) for i in batch["id"].reshape(-1))
    return loss


def main() -> int:
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        pattern = make_data(tmp)
        seen: list[int] = []
        for rank in range(WORLD):
            model = Net()
            opt = torch.optim.SGD(model.parameters(), lr=0.05)
            ds, dl = loader(pattern, rank)
            ds.set_epoch(0)
            state = None
            for step, batch in enumerate(dl):
                loss = train_step(model, opt, batch, seen)
                if step == 3:
                    state = ds.state_after(step + 1)  # workers: count batches here
                    break
            # A restart: a new dataset resumes from the saved state.
            ds, dl = loader(pattern, rank, state)
            for batch in dl:
                loss = train_step(model, opt, batch, seen)
            print(f"rank {rank}/{WORLD}: last loss {loss.item():.3f}")
        ok = sorted(seen) == list(range(RECORDS))
        print(f"records seen: {len(seen)} of {RECORDS}, each exactly once: {ok}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
