"""Independent PyTorch CAE (v1) pretraining model, written from /work/shared/CAE_SPEC.md and the
structure of Atten4Vis/CAE models/modeling_cae.py + modeling_cae_helper.py. Parameter names match
the reference state_dict. Dropout and drop path are off (this is for exact forward/backward checks)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sincos_table(grid, dim):
    """Fixed 2D sin-cos table (1, 1 + grid*grid, dim) with a zero row for cls (reference recipe)."""
    assert dim % 4 == 0, "sin-cos embedding needs dim divisible by 4"
    w = h = grid
    grid_w = torch.arange(w, dtype=torch.float32)
    grid_h = torch.arange(h, dtype=torch.float32)
    grid_w, grid_h = torch.meshgrid(grid_w, grid_h, indexing="ij")
    pos_dim = dim // 4
    omega = torch.arange(pos_dim, dtype=torch.float32) / pos_dim
    omega = 1.0 / (10000.0 ** omega)
    out_w = torch.einsum("m,d->md", grid_w.flatten(), omega)
    out_h = torch.einsum("m,d->md", grid_h.flatten(), omega)
    table = torch.cat([torch.sin(out_w), torch.cos(out_w), torch.sin(out_h), torch.cos(out_h)], dim=1)[None]
    return torch.cat([torch.zeros(1, 1, dim), table], dim=1)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact erf GELU


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        q = q * self.scale
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio, init_values, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        if init_values is not None and init_values > 0:
            self.gamma_1 = nn.Parameter(init_values * torch.ones(dim))
            self.gamma_2 = nn.Parameter(init_values * torch.ones(dim))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(self, x):
        if self.gamma_1 is None:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))
        x = x + self.gamma_1 * self.attn(self.norm1(x))
        return x + self.gamma_2 * self.mlp(self.norm2(x))


class CrossAttention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, k, v):
        B, N, C = x.shape
        Nk = k.shape[1]
        H = self.num_heads
        q = F.linear(x, self.q.weight, self.q_bias).reshape(B, N, H, -1).permute(0, 2, 1, 3)
        k = F.linear(k, self.k.weight).reshape(B, Nk, H, -1).permute(0, 2, 1, 3)  # key bias is zero
        v = F.linear(v, self.v.weight, self.v_bias).reshape(B, Nk, H, -1).permute(0, 2, 1, 3)
        q = q * self.scale
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class RegressorBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio, init_values, eps):
        super().__init__()
        self.norm1_q = nn.LayerNorm(dim, eps=eps)
        self.norm1_k = nn.LayerNorm(dim, eps=eps)
        self.norm1_v = nn.LayerNorm(dim, eps=eps)
        self.norm2_cross = nn.LayerNorm(dim, eps=eps)
        self.cross_attn = CrossAttention(dim, num_heads)
        self.mlp_cross = Mlp(dim, int(dim * mlp_ratio))
        if init_values is not None and init_values > 0:
            self.gamma_1_cross = nn.Parameter(init_values * torch.ones(dim))
            self.gamma_2_cross = nn.Parameter(init_values * torch.ones(dim))
        else:  # reference quirk: without layer scale the cross gammas are frozen ones (still in the state_dict)
            self.gamma_1_cross = nn.Parameter(torch.ones(dim), requires_grad=False)
            self.gamma_2_cross = nn.Parameter(torch.ones(dim), requires_grad=False)

    def forward(self, x_q, x_kv, pos_q, pos_k):
        a = self.cross_attn(self.norm1_q(x_q + pos_q), k=self.norm1_k(x_kv + pos_k), v=self.norm1_v(x_kv))
        x = x_q + self.gamma_1_cross * a
        x = self.norm2_cross(x)
        return x + self.gamma_2_cross * self.mlp_cross(x)


class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformerEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg["embed_dim"]
        grid = cfg["img_size"] // cfg["patch_size"]
        self.patch_embed = PatchEmbed(cfg["img_size"], cfg["patch_size"], cfg["in_chans"], D)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(sincos_table(grid, D), requires_grad=False)
        self.blocks = nn.ModuleList(
            [Block(D, cfg["num_heads"], cfg["mlp_ratio"], cfg["layer_scale_init"], cfg["eps"]) for _ in range(cfg["depth"])]
        )
        self.norm = nn.LayerNorm(D, eps=cfg["eps"])

    def forward(self, x, bool_masked_pos):
        """bool_masked_pos (B, N) True = hidden from this encoder. Returns cls + kept latents."""
        x = self.patch_embed(x)
        B, N, D = x.shape
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        x = x + self.pos_embed.expand(B, -1, -1).type_as(x).detach()
        keep = torch.cat([torch.zeros(B, 1, dtype=torch.bool, device=x.device), bool_masked_pos], dim=1)
        x = x[~keep].reshape(B, -1, D)  # boolean indexing keeps ascending order
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class VisionTransformerRegressor(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        Dd = cfg["decoder_embed_dim"]
        self.regressor_blocks = nn.ModuleList(
            [RegressorBlock(Dd, cfg["decoder_num_heads"], cfg["mlp_ratio"], cfg["decoder_layer_scale_init"], cfg["eps"])
             for _ in range(cfg["regressor_depth"])]
        )
        self.norm = nn.LayerNorm(Dd, eps=cfg["eps"])

    def forward(self, x_masked, x_unmasked, pos_masked, pos_unmasked):
        for blk in self.regressor_blocks:
            x_masked = blk(x_masked, torch.cat([x_unmasked, x_masked], dim=1), pos_masked,
                           torch.cat([pos_unmasked, pos_masked], dim=1))
        return self.norm(x_masked)


class VisionTransformerDecoder(nn.Module):
    def __init__(self, cfg, num_outputs):
        super().__init__()
        Dd = cfg["decoder_embed_dim"]
        self.decoder_blocks = nn.ModuleList(
            [Block(Dd, cfg["decoder_num_heads"], cfg["mlp_ratio"], cfg["decoder_layer_scale_init"], cfg["eps"])
             for _ in range(cfg["decoder_depth"])]
        )
        self.norm = nn.LayerNorm(Dd, eps=cfg["eps"])
        self.head = nn.Linear(Dd, num_outputs)

    def forward(self, x):
        for blk in self.decoder_blocks:
            x = blk(x)
        return self.head(self.norm(x))


def is_frozen(name):
    """Frozen per the exchange format (everything else in the state_dict is trainable). The one exception the
    reference adds, regressor gamma_*_cross as frozen ones when decoder_layer_scale_init <= 0, is not listed."""
    return name in ("encoder.pos_embed", "rd_pos_embed") or name.startswith("alignment_encoder.")


def num_outputs(cfg):
    if cfg["target"] == "pixels":
        return cfg["patch_size"] ** 2 * cfg["in_chans"]
    return cfg["num_classes"]


class CAE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D, Dd = cfg["embed_dim"], cfg["decoder_embed_dim"]
        grid = cfg["img_size"] // cfg["patch_size"]
        self.encoder = VisionTransformerEncoder(cfg)
        self.alignment_encoder = VisionTransformerEncoder(cfg)
        for p in self.alignment_encoder.parameters():
            p.requires_grad = False
        if D != Dd:
            self.encoder_to_regresser = nn.Linear(D, Dd)
            self.encoder_to_regresser_norm = nn.LayerNorm(Dd, eps=cfg["eps"])
        else:
            self.encoder_to_regresser = None
            self.encoder_to_regresser_norm = None
        self.rd_pos_embed = nn.Parameter(sincos_table(grid, Dd), requires_grad=False)
        self.regresser = VisionTransformerRegressor(cfg)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, Dd))
        self.decoder = VisionTransformerDecoder(cfg, num_outputs(cfg))

    def _project(self, x):
        if self.encoder_to_regresser is not None:
            x = self.encoder_to_regresser_norm(self.encoder_to_regresser(x))
        return x

    def forward(self, images, bool_masked_pos):
        """Returns (logits (B, Nm, out), latent_predict (B, Nm, Dd), latent_target (B, Nm, Dd))."""
        B = images.shape[0]
        x_unmasked = self.encoder(images, bool_masked_pos)[:, 1:]  # drop cls
        x_unmasked = self._project(x_unmasked)
        with torch.no_grad():
            latent_target = self.alignment_encoder(images, ~bool_masked_pos)[:, 1:]
            latent_target = self._project(latent_target.detach()).detach()
        Dd = self.rd_pos_embed.shape[-1]
        pos = self.rd_pos_embed.expand(B, -1, -1).type_as(images).detach()[:, 1:]
        pos_masked = pos[bool_masked_pos].reshape(B, -1, Dd)
        pos_unmasked = pos[~bool_masked_pos].reshape(B, -1, Dd)
        x_masked = self.mask_token.expand(B, pos_masked.shape[1], -1)
        latent_predict = self.regresser(x_masked, x_unmasked, pos_masked, pos_unmasked)
        logits = self.decoder(latent_predict + pos_masked)
        return logits, latent_predict, latent_target


def patchify(images, p):
    """MAE order: (B, C, H, W) -> (B, N, p*p*C)."""
    B, C, H, W = images.shape
    h, w = H // p, W // p
    x = images.reshape(B, C, h, p, w, p)
    x = torch.einsum("nchpwq->nhwpqc", x)
    return x.reshape(B, h * w, p * p * C)


def cae_loss(model, images, bool_masked_pos, target_tokens=None):
    """Returns dict loss, loss_rec, loss_align (scalar tensors)."""
    cfg = model.cfg
    logits, latent_predict, latent_target = model(images, bool_masked_pos)
    B = images.shape[0]
    if cfg["target"] == "tokens":
        labels = target_tokens.reshape(-1)
        loss_rec = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels)
    elif cfg["target"] == "pixels":
        t = patchify(images, cfg["patch_size"])[bool_masked_pos].reshape(B, -1, logits.shape[-1])
        if cfg.get("norm_pix_loss", False):
            mean = t.mean(dim=-1, keepdim=True)
            var = t.var(dim=-1, unbiased=True, keepdim=True)
            t = (t - mean) / (var + 1.0e-6) ** 0.5
        loss_rec = ((logits - t) ** 2).mean()
    else:
        raise ValueError(f"unknown target {cfg['target']!r}")
    loss_align = F.mse_loss(latent_predict, latent_target)
    loss = loss_rec + cfg["align_weight"] * loss_align
    return {"loss": loss, "loss_rec": loss_rec, "loss_align": loss_align}


def trainable_count(model):
    return sum(p.numel() for n, p in model.named_parameters() if p.requires_grad)
