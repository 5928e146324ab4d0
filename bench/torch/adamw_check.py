"""One AdamW step (with clip_grad_norm_) in PyTorch on the tensors bench/adamw-vs-torch.ts wrote;
prints the largest differences from what our train_step graph produced. Needs python3-torch."""
import json
import sys

import numpy as np
import torch

d = sys.argv[1]
meta = json.load(open(f"{d}/meta.json"))
load = lambda name, shape: torch.from_numpy(np.fromfile(f"{d}/{name}.f32", dtype=np.float32).reshape(shape).copy())

params, decay, no_decay, before = {}, [], [], {}
for name, shape in meta["shapes"].items():
    p = torch.nn.Parameter(load(f"p.{name}", shape))
    p.grad = load(f"g.{name}", shape)
    before[name] = p.detach().clone()
    params[name] = p
    (decay if len(shape) > 1 else no_decay).append(p)
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": meta["wd"]}, {"params": no_decay, "weight_decay": 0.0}],
    lr=meta["lr"], betas=(meta["beta1"], meta["beta2"]), eps=meta["eps"],
)
for name, shape in meta["shapes"].items():
    opt.state[params[name]] = {
        "step": torch.tensor(float(meta["step"] - 1)),
        "exp_avg": load(f"m.{name}", shape),
        "exp_avg_sq": load(f"v.{name}", shape),
    }
norm = torch.nn.utils.clip_grad_norm_(list(params.values()), meta["clip"])
opt.step()

worst = {"param_abs": 0.0, "update_rel": 0.0, "exp_avg_abs": 0.0, "exp_avg_sq_abs": 0.0}
for name, shape in meta["shapes"].items():
    ours = load(f"out.p.{name}", shape)
    diff = (ours - params[name].detach()).abs()
    worst["param_abs"] = max(worst["param_abs"], diff.max().item())
    # The update itself (p_new - p_old), ours vs torch, relative to the largest torch update.
    ref_update = params[name].detach() - before[name]
    worst["update_rel"] = max(worst["update_rel"], ((ours - before[name]) - ref_update).abs().max().item() / ref_update.abs().max().item())
    st = opt.state[params[name]]
    worst["exp_avg_abs"] = max(worst["exp_avg_abs"], (load(f"out.m.{name}", shape) - st["exp_avg"]).abs().max().item())
    worst["exp_avg_sq_abs"] = max(worst["exp_avg_sq_abs"], (load(f"out.v.{name}", shape) - st["exp_avg_sq"]).abs().max().item())
print(json.dumps({"torch": torch.__version__, "grad_norm_torch": norm.item(), "grad_norm_ours": meta["grad_norm_ours"], **worst}))
