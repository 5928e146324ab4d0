"""Times the CAE train step in PyTorch (bench/torch/cae_model.py): forward, backward, clip_grad_norm_(3)
and AdamW, on random images and exact-count random masks, same config, batch and threads as ours.
Prints one JSON line. Used by bench/train-step.ts; needs Debian's python3-torch.

    python3 train_step_torch.py CONFIG.json --batch 16 --threads 2 --steps 5 [--warmup 2]
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from cae_model import CAE, cae_loss  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--num-masked", type=int, required=True)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    with open(a.config) as f:
        cfg = json.load(f)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = CAE(cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
    B, C, S, P = a.batch, cfg["in_chans"], cfg["img_size"], cfg["patch_size"]
    N = (S // P) ** 2
    images = torch.randn(B, C, S, S)
    mask = torch.zeros(B, N, dtype=torch.bool)
    for b in range(B):
        mask[b, torch.randperm(N)[: a.num_masked]] = True
    tokens = torch.randint(0, cfg["num_classes"], (B, a.num_masked)) if cfg["target"] == "tokens" else None
    times = []
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = cae_loss(model, images, mask, tokens)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 3.0)
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                # Debian's torch uses whatever libblas.so.3 the alternatives system points at: the
                # reference BLAS is ~10x slower than OpenBLAS, so the bench reports which one ran.
                "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
                "threads": torch.get_num_threads(),
                "seconds_per_step": median,
                "images_per_second": B / median,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
