"""A PyTorch DDP trainer (gloo, CPU) shipped as a wheel made on the fly.

Each rank trains the same small model on its own shard of generated data; DDP averages the
gradients, so all ranks must end with identical weights. Each rank writes its weights to
`--weights-dir/rank-N.json`; the chief saves the model to AIP_MODEL_DIR through fsspec.
"""

from __future__ import annotations

from pathlib import Path

from conftest import write_wheel

DDP_SOURCE = """
import argparse, json, os, sys

import fsspec
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--weights-dir", required=True)
args = parser.parse_args()

dist.init_process_group("gloo", init_method="env://")  # MASTER_ADDR/PORT, WORLD_SIZE, RANK
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
model = DistributedDataParallel(torch.nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
generator = torch.Generator().manual_seed(100 + rank)  # a different shard on every rank
for step in range(args.steps):
    features = torch.randn(64, 8, generator=generator)
    target = features.sum(dim=1, keepdim=True)
    loss = torch.nn.functional.mse_loss(model(features), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 5 == 0:
        print(f"rank {rank}/{world} step {step} loss {loss.item():.4f}", flush=True)
weights = [p.detach().flatten().tolist() for p in model.module.parameters()]
with open(os.path.join(args.weights_dir, f"rank-{rank}.json"), "w") as out:
    json.dump({"rank": rank, "world": world, "weights": weights, "loss": loss.item()}, out)
if rank == 0:
    with fsspec.open(os.environ["AIP_MODEL_DIR"] + "model.pt", "wb") as out:
        torch.save(model.module.state_dict(), out)
dist.barrier()
# Every rank is past its last collective. Leave without gloo's teardown: under load, a rank
# whose peers already closed their sockets can abort in it ("terminate called without an
# active exception", torch's own race), which would fail a finished job.
sys.stdout.flush()
os._exit(0)
"""


def ddp_wheel(directory: Path) -> Path:
    return write_wheel(
        directory,
        "ddp_trainer",
        {"ddp_trainer/__init__.py": "", "ddp_trainer/task.py": DDP_SOURCE},
        requires=["fsspec"],
    )
