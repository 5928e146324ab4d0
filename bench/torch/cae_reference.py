"""Independent PyTorch reference for the CAE pretraining loss and gradients (checks our ONNX training graphs).

Usage (python3 with torch; numpy only otherwise, no safetensors package needed):
  cae_reference.py D [--float64 | --float32]   compare D/ours.safetensors against torch; prints one JSON line
                                              (default float64: params/images are read as F32 and run in f64)
  cae_reference.py --count                    trainable parameter counts of CAE-B / CAE-S (dec 384 and 768)
  cae_reference.py --selftest DIR             random tiny configs written in the exchange format, with
                                              ours.safetensors produced by this torch model; expects zero error

Exchange directory D: config.json, params.safetensors (full reference state_dict, F32), batch.safetensors
(images F32 [B,C,H,W], visible_index / masked_index I64 ascending rows, target_tokens I64 [B,Nm] in token
mode), ours.safetensors (loss, loss_rec, loss_align F32 scalars; grad.<name> per trainable parameter).
Exit code 0 for a finished comparison (whatever the errors), 2 for malformed inputs."""
import copy
import json
import math
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cae_model as M  # noqa: E402
import cae_safetensors as st  # noqa: E402

CONFIG_DEFAULTS = {
    "mlp_ratio": 4.0,
    "eps": 1e-6,
    "layer_scale_init": 0.1,
    "decoder_layer_scale_init": 0.1,
    "norm_pix_loss": False,
    "align_weight": 2.0,
    "num_classes": 8192,
}
CONFIG_REQUIRED = ["img_size", "patch_size", "in_chans", "embed_dim", "depth", "num_heads", "decoder_embed_dim",
                   "regressor_depth", "decoder_depth", "decoder_num_heads", "target"]


# Parameters whose true gradient is identically zero (excluded from grad_max_rel_err, reported apart).
ANALYTIC_ZERO = re.compile(r"regresser\.regressor_blocks\.\d+\.norm1_k\.bias")


class Malformed(Exception):
    pass


def _finite_or_none(v):
    return v if v is not None and math.isfinite(v) else None


def _norm(t):
    return float(torch.linalg.vector_norm(t.reshape(-1).double()))


def rel_err(ours, ref):
    """||ours - ref|| / ||ref|| (absolute ||ours - ref|| where ref is exactly zero); inf for non-finite ours."""
    ours, ref = ours.double(), ref.double()
    if not torch.isfinite(ours).all():
        return float("inf")
    d, r = _norm(ours - ref), _norm(ref)
    return d / r if r > 0 else d


def load_config(d):
    path = os.path.join(d, "config.json")
    try:
        cfg = json.load(open(path))
    except Exception as e:  # noqa: BLE001
        raise Malformed(f"{path}: {e}")
    missing = [k for k in CONFIG_REQUIRED if k not in cfg]
    if missing:
        raise Malformed(f"config.json lacks {missing}")
    full = dict(CONFIG_DEFAULTS)
    full.update(cfg)
    if full["target"] not in ("pixels", "tokens"):
        raise Malformed(f"target must be pixels or tokens, not {full['target']!r}")
    if full["img_size"] % full["patch_size"]:
        raise Malformed("img_size not a multiple of patch_size")
    for dim, heads in ((full["embed_dim"], full["num_heads"]), (full["decoder_embed_dim"], full["decoder_num_heads"])):
        if dim % heads or dim % 4:
            raise Malformed(f"dim {dim} must be divisible by heads {heads} and by 4")
    return full


def _read(path):
    if not os.path.exists(path):
        raise Malformed(f"{path} missing")
    try:
        return st.read(path)[0]
    except st.SafetensorsError as e:
        raise Malformed(str(e))


def masks_from_batch(batch, cfg):
    for k in ("images", "visible_index", "masked_index"):
        if k not in batch:
            raise Malformed(f"batch.safetensors lacks {k}")
    images = torch.from_numpy(batch["images"])
    B = images.shape[0]
    C, H = cfg["in_chans"], cfg["img_size"]
    if tuple(images.shape) != (B, C, H, H):
        raise Malformed(f"images shape {tuple(images.shape)}, expected [B,{C},{H},{H}]")
    N = (H // cfg["patch_size"]) ** 2
    vis = torch.from_numpy(batch["visible_index"].astype(np.int64))
    msk = torch.from_numpy(batch["masked_index"].astype(np.int64))
    if vis.dim() != 2 or msk.dim() != 2 or vis.shape[0] != B or msk.shape[0] != B or vis.shape[1] + msk.shape[1] != N:
        raise Malformed(f"index shapes {tuple(vis.shape)} / {tuple(msk.shape)} do not partition {N} patches for B={B}")
    if msk.shape[1] == 0 or vis.shape[1] == 0:
        raise Malformed("need at least one visible and one masked patch")
    if (msk.min() < 0) or (msk.max() >= N) or (vis.min() < 0) or (vis.max() >= N):
        raise Malformed("index out of range")
    if (msk[:, 1:] <= msk[:, :-1]).any() or (vis[:, 1:] <= vis[:, :-1]).any():
        raise Malformed("index rows must be strictly ascending")
    bool_masked = torch.zeros(B, N, dtype=torch.bool)
    bool_masked.scatter_(1, msk, True)
    check = torch.zeros(B, N, dtype=torch.bool)
    check.scatter_(1, vis, True)
    if not torch.equal(check, ~bool_masked):
        raise Malformed("visible_index and masked_index are not a partition of 0..N-1")
    tokens = None
    if cfg["target"] == "tokens":
        if "target_tokens" not in batch:
            raise Malformed("token mode needs target_tokens")
        tokens = torch.from_numpy(batch["target_tokens"].astype(np.int64))
        if tuple(tokens.shape) != tuple(msk.shape):
            raise Malformed(f"target_tokens shape {tuple(tokens.shape)} != masked_index {tuple(msk.shape)}")
        if tokens.min() < 0 or tokens.max() >= cfg["num_classes"]:
            raise Malformed("target_tokens out of range")
    return images, bool_masked, tokens


def reference(d, dtype=torch.float64):
    """Build, load, forward+backward. Returns (model, losses dict of floats, grads dict, load info)."""
    cfg = load_config(d)
    params = _read(os.path.join(d, "params.safetensors"))
    batch = _read(os.path.join(d, "batch.safetensors"))
    images, bool_masked, tokens = masks_from_batch(batch, cfg)

    torch.manual_seed(0)
    model = M.CAE(cfg)
    sd = {k: torch.from_numpy(v) for k, v in params.items()}
    info = {"strict_load": True, "strict_load_error": None}
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        info["strict_load"] = False
        info["strict_load_error"] = str(e).replace("\n", " ")[:2000]
        own = model.state_dict()
        bad = [k for k in sd if k in own and tuple(sd[k].shape) != tuple(own[k].shape)]
        if bad:
            raise Malformed(f"params shape mismatch: {bad[:10]}; {info['strict_load_error']}")
        model.load_state_dict(sd, strict=False)

    # Diagnostics: loaded frozen tables vs the sin-cos formula, alignment copy vs encoder.
    grid = cfg["img_size"] // cfg["patch_size"]
    diag = {}
    for name, dim in (("encoder.pos_embed", cfg["embed_dim"]), ("rd_pos_embed", cfg["decoder_embed_dim"]),
                      ("alignment_encoder.pos_embed", cfg["embed_dim"])):
        if name in sd:
            diag[name] = float((sd[name].double() - M.sincos_table(grid, dim).double()).abs().max())
    enc = {k[len("encoder."):]: v for k, v in sd.items() if k.startswith("encoder.")}
    al = {k[len("alignment_encoder."):]: v for k, v in sd.items() if k.startswith("alignment_encoder.")}
    if enc and set(enc) == set(al):
        diag["alignment_vs_encoder_max_abs"] = max(float((enc[k].double() - al[k].double()).abs().max()) for k in enc)
    info["pos_table_max_abs_diff_vs_formula"] = diag

    model = model.to(dtype)
    images = images.to(dtype)
    model.zero_grad(set_to_none=True)
    out = M.cae_loss(model, images, bool_masked, tokens)
    out["loss"].backward()
    losses = {k: float(v.detach()) for k, v in out.items()}
    grads = {}
    for n, p in model.named_parameters():
        if p.requires_grad:
            grads[n] = p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
    return model, cfg, losses, grads, info


def compare(d, dtype=torch.float64):
    model, cfg, losses, grads, info = reference(d, dtype)
    ours = _read(os.path.join(d, "ours.safetensors"))
    res = {"torch": torch.__version__, "dtype": str(dtype).replace("torch.", ""), "target": cfg["target"],
           "norm_pix_loss": bool(cfg.get("norm_pix_loss")) if cfg["target"] == "pixels" else None}
    res.update(info)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    cross_gamma_frozen = cfg["decoder_layer_scale_init"] is None or cfg["decoder_layer_scale_init"] <= 0
    frozen_ok = all(M.is_frozen(n) or (cross_gamma_frozen and "gamma_" in n and n.endswith("_cross"))
                    for n, p in model.named_parameters() if not p.requires_grad) and \
        not any(M.is_frozen(n) for n in trainable)
    res["n_trainable_tensors"] = len(trainable)
    res["n_trainable_params"] = M.trainable_count(model)
    res["trainable_set_matches_spec"] = frozen_ok
    for k in ("loss", "loss_rec", "loss_align"):
        ref = losses[k]
        if k in ours:
            o = float(np.asarray(ours[k], dtype=np.float64).reshape(-1)[0])
            err = abs(o - ref) / abs(ref) if ref != 0 else abs(o - ref)
            res[k] = {"ref": ref, "ours": _finite_or_none(o), "rel_err": _finite_or_none(err)}
        else:
            res[k] = {"ref": ref, "ours": None, "rel_err": None}
    ours_grads = {k[len("grad."):]: v for k, v in ours.items() if k.startswith("grad.")}
    res["missing_in_ours"] = [n for n in trainable if n not in ours_grads]
    res["extra_in_ours"] = sorted([n for n in ours_grads if n not in grads] +
                                  [k for k in ours if not k.startswith("grad.") and k not in ("loss", "loss_rec", "loss_align")])
    errs, mism, nonfinite, azero = {}, [], [], {}
    for n in trainable:
        if n not in ours_grads:
            continue
        g = torch.from_numpy(ours_grads[n])
        if tuple(g.shape) != tuple(grads[n].shape):
            mism.append(f"{n}: ours {list(g.shape)} ref {list(grads[n].shape)}")
            continue
        if ANALYTIC_ZERO.fullmatch(n):
            # d loss / d norm1_k.bias is exactly 0 (a shared key shift leaves every softmax row unchanged), so a
            # relative error is meaningless; report the norms, and ours relative to the sibling weight's grad.
            scale = _norm(grads[n[:-len("bias")] + "weight"])
            on = _norm(g) if torch.isfinite(g).all() else float("inf")
            azero[n] = {"ours_norm": _finite_or_none(on), "ref_norm": _norm(grads[n]),
                        "ours_rel_to_weight_grad": _finite_or_none(on / scale if scale > 0 else on)}
            if not math.isfinite(on):
                nonfinite.append(n)
            continue
        e = rel_err(g, grads[n])
        if not math.isfinite(e):
            nonfinite.append(n)
        errs[n] = e
    res["shape_mismatch"] = mism
    res["grad_analytic_zero"] = azero
    res["grad_analytic_zero_max_rel"] = max((v["ours_rel_to_weight_grad"] for v in azero.values()
                                             if v["ours_rel_to_weight_grad"] is not None), default=None)
    res["grad_nonfinite"] = nonfinite
    res["n_grads_compared"] = len(errs)
    if errs:
        worst = max(errs, key=lambda n: errs[n])
        res["grad_max_rel_err"] = _finite_or_none(errs[worst])
        res["grad_worst"] = worst
        res["grad_worst5"] = [[n, _finite_or_none(errs[n])] for n in sorted(errs, key=lambda n: -errs[n])[:5]]
        res["grad_zero_ref"] = [n for n in errs if _norm(grads[n]) == 0]
    else:
        res["grad_max_rel_err"] = None
        res["grad_worst"] = None
    return res


# ----------------------------------------------------------------------------------------------- count
def count_presets():
    base = dict(CONFIG_DEFAULTS, img_size=224, patch_size=16, in_chans=3, depth=12, num_heads=12,
                regressor_depth=4, decoder_depth=4, decoder_num_heads=12, target="tokens", num_classes=8192)
    presets = [
        ("CAE-B enc768 dec768", dict(base, embed_dim=768, decoder_embed_dim=768), 148_681_472),
        ("CAE-S enc384 dec384", dict(base, embed_dim=384, decoder_embed_dim=384), 38_955_392),
        ("CAE-S enc384 dec768", dict(base, embed_dim=384, decoder_embed_dim=768), 84_916_736),
    ]
    out = {"torch": torch.__version__, "counts": {}, "ok": True}
    for name, cfg, spec in presets:
        model = M.CAE(cfg)
        n = M.trainable_count(model)
        parts = {}
        for pn, p in model.named_parameters():
            if p.requires_grad:
                top = pn.split(".")[0]
                parts[top] = parts.get(top, 0) + p.numel()
        parts["decoder.head"] = sum(p.numel() for pn, p in model.named_parameters() if pn.startswith("decoder.head."))
        out["counts"][name] = {"trainable": n, "spec": spec, "match": n == spec, "parts": parts}
        out["ok"] &= n == spec
        del model
    return out


# -------------------------------------------------------------------------------------------- selftest
def random_params(model, cfg, gen):
    sd = model.state_dict()
    grad_names = {n for n, p in model.named_parameters() if p.requires_grad}
    new = {}
    for n, t in sd.items():
        if M.is_frozen(n):
            continue
        if n not in grad_names:  # frozen ones (regressor gammas without layer scale)
            new[n] = t.clone()
            continue
        leaf = n.split(".")[-1]
        if leaf.startswith("gamma"):
            v = 0.1 + 0.5 * torch.rand(t.shape, generator=gen)
        elif leaf in ("cls_token", "mask_token", "q_bias", "v_bias"):
            v = 0.2 * torch.randn(t.shape, generator=gen)
        elif t.dim() >= 2:
            fan_in = int(np.prod(t.shape[1:]))
            v = torch.randn(t.shape, generator=gen) / math.sqrt(fan_in)
        elif leaf == "weight":  # LayerNorm scale
            v = 1.0 + 0.2 * torch.randn(t.shape, generator=gen)
        else:
            v = 0.1 * torch.randn(t.shape, generator=gen)
        new[n] = v
    for n in sd:
        if n.startswith("alignment_encoder.") and not n.endswith("pos_embed"):
            new[n] = new["encoder." + n[len("alignment_encoder."):]].clone()
        elif M.is_frozen(n):
            new[n] = sd[n].clone()  # sin-cos tables as built
    return new


def write_case(d, cfg, seed, B=3):
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=1)
    full = dict(CONFIG_DEFAULTS)
    full.update(cfg)
    model = M.CAE(full)
    params = random_params(model, full, gen)
    model.load_state_dict(params, strict=True)
    st.write(os.path.join(d, "params.safetensors"), {k: v.float() for k, v in params.items()}, {"format": "pt"})
    N = (cfg["img_size"] // cfg["patch_size"]) ** 2
    Nm = N // 2
    perm = torch.stack([torch.randperm(N, generator=gen) for _ in range(B)])
    masked = perm[:, :Nm].sort(dim=1).values
    visible = perm[:, Nm:].sort(dim=1).values
    images = torch.randn(B, cfg["in_chans"], cfg["img_size"], cfg["img_size"], generator=gen)
    batch = {"images": images, "visible_index": visible, "masked_index": masked}
    tokens = None
    if cfg["target"] == "tokens":
        tokens = torch.randint(0, cfg["num_classes"], (B, Nm), generator=gen)
        batch["target_tokens"] = tokens
    st.write(os.path.join(d, "batch.safetensors"), batch)
    # "ours" = this same torch model in float32, through the same file round trip.
    _, _, losses, grads, _ = reference(d, torch.float32)
    ours = {k: torch.tensor(v, dtype=torch.float32) for k, v in losses.items()}
    ours.update({f"grad.{n}": g.float() for n, g in grads.items()})
    st.write(os.path.join(d, "ours.safetensors"), ours)
    return ours


def selftest(root):
    common = dict(img_size=28, patch_size=4, in_chans=1, embed_dim=32, depth=2, num_heads=4, regressor_depth=1,
                  decoder_depth=1, decoder_num_heads=4, mlp_ratio=4.0, layer_scale_init=0.1,
                  decoder_layer_scale_init=0.1, eps=1e-6, align_weight=2.0)
    cases = {
        "tokens_dec48": dict(common, decoder_embed_dim=48, target="tokens", num_classes=37, norm_pix_loss=False),
        "pixels_dec32_normpix": dict(common, decoder_embed_dim=32, target="pixels", num_classes=0, norm_pix_loss=True),
        "pixels_dec48_raw": dict(common, decoder_embed_dim=48, target="pixels", num_classes=0, norm_pix_loss=False),
        "tokens_dec32_no_layer_scale": dict(common, decoder_embed_dim=32, target="tokens", num_classes=20,
                                            norm_pix_loss=False, layer_scale_init=0.0, decoder_layer_scale_init=0.0),
    }
    out = {"torch": torch.__version__, "cases": {}, "ok": True}
    for i, (name, cfg) in enumerate(cases.items()):
        d = os.path.join(root, name)
        ours = write_case(d, cfg, seed=1234 + i)
        r32 = compare(d, torch.float32)
        r64 = compare(d, torch.float64)
        # st round trip of what we wrote
        back, _ = st.read(os.path.join(d, "ours.safetensors"))
        rt_ok = set(back) == set(ours) and all(np.array_equal(back[k], ours[k].numpy()) for k in ours)
        # Negative check: perturb one gradient, drop another, add a bogus one; the comparison must notice.
        bad = dict(ours)
        victim = "decoder.head.weight"
        bad[f"grad.{victim}"] = ours[f"grad.{victim}"] * 1.01
        del bad["grad.mask_token"]
        bad["grad.not_a_param"] = torch.zeros(1)
        st.write(os.path.join(d, "ours.safetensors"), bad)
        rb = compare(d, torch.float32)
        st.write(os.path.join(d, "ours.safetensors"), ours)  # restore
        neg_ok = (rb["grad_worst"] == victim and abs(rb["grad_max_rel_err"] - 0.01) < 1e-4
                  and rb["missing_in_ours"] == ["mask_token"] and rb["extra_in_ours"] == ["not_a_param"])
        exact32 = r32["grad_max_rel_err"] == 0.0 and all(r32[k]["rel_err"] == 0.0 for k in ("loss", "loss_rec", "loss_align"))
        close64 = r64["grad_max_rel_err"] is not None and r64["grad_max_rel_err"] < 1e-4 and \
            all(r64[k]["rel_err"] < 1e-5 for k in ("loss", "loss_rec", "loss_align"))
        close64 = close64 and (r64["grad_analytic_zero_max_rel"] or 0.0) < 1e-4
        clean = r32["strict_load"] and r64["strict_load"] and not r32["missing_in_ours"] and not r32["extra_in_ours"] \
            and r32["trainable_set_matches_spec"] and not r32["shape_mismatch"]
        ok = bool(exact32 and close64 and clean and rt_ok and neg_ok)
        out["ok"] &= ok
        out["cases"][name] = {
            "ok": ok, "strict_load": r32["strict_load"], "n_grads_compared": r32["n_grads_compared"],
            "n_trainable_params": r32["n_trainable_params"],
            "loss_ref": r64["loss"]["ref"], "loss_rec_ref": r64["loss_rec"]["ref"], "loss_align_ref": r64["loss_align"]["ref"],
            "f32_loss_rel_err": r32["loss"]["rel_err"], "f32_grad_max_rel_err": r32["grad_max_rel_err"],
            "f64_loss_rel_err": r64["loss"]["rel_err"], "f64_grad_max_rel_err": r64["grad_max_rel_err"],
            "f64_grad_worst": r64["grad_worst"], "grad_zero_ref": r64["grad_zero_ref"],
            "f64_analytic_zero_max_rel": r64["grad_analytic_zero_max_rel"],
            "safetensors_roundtrip": rt_ok, "negative_check_detected": neg_ok,
            "pos_tables": r32["pos_table_max_abs_diff_vs_formula"],
        }
    return out


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    try:
        if argv[0] == "--count":
            r = count_presets()
            print(json.dumps(r))
            return 0 if r["ok"] else 1
        if argv[0] == "--selftest":
            if len(argv) != 2:
                raise Malformed("--selftest DIR")
            r = selftest(argv[1])
            print(json.dumps(r))
            return 0 if r["ok"] else 1
        d = argv[0]
        flags = set(argv[1:])
        if flags - {"--float64", "--float32"} or flags == {"--float64", "--float32"}:
            raise Malformed(f"unknown flags {sorted(flags)}")
        dtype = torch.float32 if "--float32" in flags else torch.float64
        print(json.dumps(compare(d, dtype)))
        return 0
    except Malformed as e:
        print(json.dumps({"torch": torch.__version__, "error": str(e)}))
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
