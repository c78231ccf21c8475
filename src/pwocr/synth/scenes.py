"""Whole-photo scenes with known text lines and a known password: Wi-Fi cards, signs, stickers, screens.

A scene is a flat surface laid out like the real thing (a login page, a router sticker, a café
chalkboard...) with several labelled lines, decoys (network names, URLs, restroom codes, serial
numbers) and clutter, then photographed: placed on a background with rotation up to ±30 degrees
and perspective, lit unevenly, glared, blurred, noised and JPEG-compressed. Every line's corners
are carried through the same homography, so tests and benchmarks know exactly where each line
is, what it says and which one is the password. The fonts, colours, screen effects and camera
effects are the line renderer's (``pwocr.synth.render``); ``split="eval"`` uses only the held-out fonts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from pwocr.alphabet import PRINTABLE_94
from pwocr.data.augment import jpeg
from pwocr.synth.fonts import FontSpec, Split, covers, fonts_for, load_font
from pwocr.synth.render import SynthConfig, _camera, _pick_colours, _screen, chosen_password, sample_text

#: Password labels as printed on cards, stickers and screens, in the languages users photograph.
PASSWORD_LABELS = (
    "Password:", "Password", "PW:", "Pass:", "Key:", "WPA Key:", "WPA2 Key:", "Wireless Key:", "Network Key:",
    "PSK:", "WLAN-Schlüssel:", "Passwort:", "Mot de passe :", "Contraseña:", "Senha:", "Parola:", "Hasło:",
    "Wi-Fi Password", "Clave:",
)  # fmt: skip
NETWORK_LABELS = ("SSID:", "Network:", "Wi-Fi:", "WiFi:", "Network name:", "Netzwerk:", "Réseau :", "Red:", "Rede:")
SCENE_KINDS = (
    "wifi_card", "cafe_sign", "router_sticker", "login_page", "router_admin", "terminal", "phone_settings", "printout",
    "pair_line", "label_after", "several_networks", "foreign_sign",
)  # fmt: skip
#: How the photo was taken: ``small`` is a low-resolution photo (text about 8 to 14 px tall),
#: ``glare`` a laminated card catching a lamp's reflection over its text, ``distant`` a sign taken
#: from across the room (it fills a quarter to two fifths of a full-size photo, its text 8 to 25 px
#: tall). ``compose_scenes`` draws the first three; ``distant`` is asked for by name.
CONDITIONS = ("plain", "small", "glare", "distant")
#: How much of the photo's width or height the surface spans, as a photo is usually taken and from afar.
FILL = (0.55, 0.92)
DISTANT_FILL = (0.25, 0.4)
#: Labels printed after their value (``12345678 → password``), with the value's network (``NAME → ID``).
AFTER_LABELS = ("password", "Password", "PW", "pw", "PASS", "Passwort", "Key", "WPA Key")
AFTER_NETWORK_LABELS = ("ID", "SSID", "Wi-Fi", "Network")
#: A sign in a script pwocr cannot spell: its title, and labels (network, password) before or after
#: the values. pwocr reads such lines as unsure symbols, which must not pass for a password.
FOREIGN_TITLES = ("免费无线网络", "无线网络", "欢迎光临", "無料Wi-Fi", "ゲストWi-Fi", "ようこそ")
FOREIGN_NETWORK_LABELS = ("网络名称", "无线网络", "ネットワーク名")
FOREIGN_PASSWORD_LABELS = ("密码", "无线密码", "パスワード", "暗号化キー")
#: System fonts with those scripts (Debian's fonts-vlgothic and fonts-noto-cjk); without any, a
#: foreign sign is drawn with Latin labels.
FOREIGN_FONTS = (
    Path("/usr/share/fonts/truetype/vlgothic/VL-PGothic-Regular.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


@dataclass(frozen=True)
class SceneLine:
    """One line of text in a scene: its four corners in photo pixels (tl, tr, br, bl) and what it says."""

    points: np.ndarray
    text: str
    role: str  # "password" (the line holding it), "label", "decoy" or "other"


@dataclass(frozen=True)
class Scene:
    """A composed photo (uint8 RGB), its lines in reading order, and the password it shows."""

    image: np.ndarray
    lines: tuple[SceneLine, ...]
    password: str
    kind: str
    condition: str = "plain"
    #: Other networks' passwords on a sign that lists several (``several_networks``), in reading order.
    others: tuple[str, ...] = ()


# ---------------------------------------------------------------- strings


def _ssid(rng: np.random.Generator) -> str:
    brands = ["NETGEAR", "TP-Link_", "FRITZ!Box ", "Linksys", "ASUS_", "Vodafone-", "Livebox-", "BTHub", "eduroam"]
    names = ["CafeLuna", "Bean&Co", "HotelAzur", "Guest", "Office", "Studio", "Biblioteca", "Gast", "Casa"]
    if rng.random() < 0.5:
        return brands[rng.integers(len(brands))] + "".join(
            rng.choice(list("0123456789ABCDEF"), int(rng.integers(2, 5)))
        )
    return names[rng.integers(len(names))] + ["", "-Gast", "_5G", " WiFi", "-Free"][rng.integers(5)]


def _password(rng: np.random.Generator) -> str:
    config = SynthConfig(alphabet=PRINTABLE_94, min_length=8, max_length=16)
    return chosen_password(rng, 8, 14) if rng.random() < 0.35 else sample_text(rng, config)


def _decoys(rng: np.random.Generator) -> list[str]:
    pool = [
        f"Restroom code: {rng.integers(1000, 9999)}",
        f"WC: {rng.integers(100, 999)}#",
        f"http://192.168.{rng.integers(0, 3)}.1",
        "www.cafe-luna.com",
        "https://portal.guest-wifi.net/login",
        f"Open {rng.integers(6, 10)}am - {rng.integers(5, 11)}pm",
        f"Latte {rng.integers(2, 5)}.{rng.integers(0, 10)}0",
        "Thank you!",
        f"Room {rng.integers(100, 999)}",
        f"Valid until {rng.integers(1, 28):02d}.{rng.integers(1, 12):02d}.2026",
    ]
    order = rng.permutation(len(pool))
    return [pool[i] for i in order[: int(rng.integers(1, 4))]]


# ---------------------------------------------------------------- layouts


@dataclass
class _Block:
    """A line to draw on the surface: its text, role, relative size and whether it starts a new row."""

    text: str
    role: str
    size: float = 1.0
    gap_before: float = 0.6  # in line heights
    same_row: bool = False  # continue the previous row (a value to the right of its label)
    font: FontSpec | None = None  # instead of the scene's fonts (a script they lack)


def _label(rng: np.random.Generator, labels: Sequence[str], font: FontSpec) -> str:
    """A label the font can draw (accented ones fall back to plain English)."""
    text = labels[rng.integers(len(labels))]
    return text if covers(font.path, text.replace(" ", "")) else "Password:"


def _pair(label: str, value: str, role: str, rng: np.random.Generator, split_row: float = 0.25) -> list[_Block]:
    """A label and its value: on one line (``Key: value``), two boxes in one row, or the value below."""
    r = rng.random()
    if r < split_row:
        return [_Block(label.rstrip(": ").rstrip() if rng.random() < 0.5 else label, "label"), _Block(value, role)]
    if r < split_row + 0.2:
        return [_Block(label, "label"), _Block(value, role, same_row=True)]
    return [_Block(f"{label} {value}", role)]


def _layout(kind: str, rng: np.random.Generator, font: FontSpec, password: str) -> list[_Block]:
    ssid = _ssid(rng)
    net = _pair(NETWORK_LABELS[rng.integers(len(NETWORK_LABELS))], ssid, "decoy", rng)
    pw = _pair(_label(rng, PASSWORD_LABELS, font), password, "password", rng)
    decoys = [_Block(d, "decoy", 0.8) for d in _decoys(rng)]
    user = (
        f"{['admin', 'guest', 'j.smith', 'user'][rng.integers(4)]}{rng.integers(0, 99) if rng.random() < 0.5 else ''}"
    )
    if kind == "wifi_card":
        title = ["Guest WiFi", "Free Wi-Fi", "WELCOME", "Wi-Fi Access", "WLAN"][rng.integers(5)]
        return [_Block(title, "other", 1.5), *net, *pw, *decoys[:1]]
    if kind == "cafe_sign":
        title = ["FREE WIFI", "Café Luna", "Wi-Fi here", "Coffee & WiFi"][rng.integers(4)]
        return [_Block(title, "other", 1.6), *decoys[:2], *net, *pw]
    if kind == "router_sticker":
        model = f"Model: {['XR', 'RT-AC', 'DIR-', 'Archer C'][rng.integers(4)]}{rng.integers(10, 900)}"
        serial = "S/N: " + "".join(rng.choice(list("0123456789ABCDEFGHJKLMNPRSTUVWXYZ"), 12))
        mac = "MAC: " + ":".join(f"{rng.integers(0, 256):02X}" for _ in range(6))
        key_label = ["Wireless Key:", "WPA Key:", "Network Key:", "WPA2-PSK:", "Key:", "Password:"][rng.integers(6)]
        blocks = [_Block(model, "other"), _Block(serial, "decoy", 0.8)]
        blocks += _pair("SSID:", ssid, "decoy", rng, 0.1) + _pair(key_label, password, "password", rng, 0.1)
        blocks += [_Block(f"WPS PIN: {rng.integers(10_000_000, 99_999_999)}", "decoy", 0.8), _Block(mac, "decoy", 0.8)]
        return blocks
    if kind == "login_page":
        return [
            _Block(decoys[0].text if decoys[0].text.startswith("http") else "https://login.example.org", "decoy", 0.7),
            _Block(["Sign in", "Log in", "Welcome back"][rng.integers(3)], "other", 1.5),
            _Block(["Username", "Email", "User"][rng.integers(3)], "label"),
            _Block(user, "decoy"),
            _Block(["Password", "Passwort", "PW"][rng.integers(3)], "label"),
            _Block(password, "password"),
            _Block("Forgot password?", "decoy", 0.7),
        ]
    if kind == "router_admin":
        blocks = [
            _Block(["Wireless Settings", "WLAN Setup", "Wi-Fi Security"][rng.integers(3)], "other", 1.4),
            *_pair("SSID:", ssid, "decoy", rng, 0.2),
            _Block(f"Security: {['WPA2-PSK', 'WPA2/WPA3', 'WPA-Personal'][rng.integers(3)]}", "decoy"),
            *_pair(["Passphrase:", "Pre-Shared Key:", "WPA Key:", "Key:"][rng.integers(4)], password, "password", rng),
            _Block(f"Channel: {rng.integers(1, 13)}", "decoy", 0.8),
        ]
        return blocks
    if kind == "terminal":
        if rng.random() < 0.5:
            return [
                _Block("$ nmcli dev wifi show-password", "other"),
                _Block(f"SSID: {ssid}", "decoy"),
                _Block("Security: WPA", "decoy"),
                _Block(f"Password: {password}", "password"),
            ]
        return [
            _Block("$ cat credentials.txt", "other"),
            _Block(f"host={['db01', 'mail', 'vpn'][rng.integers(3)]}.example.org", "decoy"),
            _Block(f"user={user}", "decoy"),
            _Block(f"{['pass', 'password', 'pw'][rng.integers(3)]}={password}", "password"),
        ]
    if kind == "phone_settings":
        return [
            _Block("Wi-Fi", "other", 1.4),
            _Block(["Network name", "Name", "SSID"][rng.integers(3)], "label", 0.8),
            _Block(ssid, "decoy"),
            _Block(["Security", "Security type"][rng.integers(2)], "label", 0.8),
            _Block("WPA2/WPA3 Personal", "decoy"),
            _Block(["Password", "Passwort", "Contraseña"][rng.integers(3)], "label", 0.8),
            _Block(password, "password"),
        ]
    if kind in _NEW_LAYOUTS:
        return _NEW_LAYOUTS[kind](rng, font, ssid, password, decoys)
    # printout: a hotel or conference voucher
    return [
        _Block(["Guest access", "Internet voucher", "Conference Wi-Fi"][rng.integers(3)], "other", 1.3),
        *_pair(["User:", "Username:", "Login:"][rng.integers(3)], user, "decoy", rng),
        *pw,
        *decoys[:2],
    ]


def _arrow(rng: np.random.Generator, font: FontSpec) -> str:
    arrow = ["→", "->", "=>", ":", ""][rng.integers(5)]
    return "->" if arrow == "→" and not covers(font.path, "→") else arrow


def _pair_line(
    rng: np.random.Generator, font: FontSpec, ssid: str, password: str, decoys: list[_Block]
) -> list[_Block]:
    """``NAME / password`` on one line (slash, bar, comma or colon), maybe after a floor or ``Wi-Fi:``."""
    title = ["FREE WIFI", "Wi-Fi", "Guest Wi-Fi", "WELCOME"][rng.integers(4)]
    prefix = ["", "", "1F: ", "Wi-Fi: ", "WiFi "][rng.integers(5)]
    separator = [" / ", " | ", ", ", ": ", " / "][rng.integers(5)]
    return [_Block(title, "other", 1.5), _Block(f"{prefix}{ssid}{separator}{password}", "password"), *decoys[:1]]


def _label_after(
    rng: np.random.Generator, font: FontSpec, ssid: str, password: str, decoys: list[_Block]
) -> list[_Block]:
    """The labels after their values, with or without arrows: ``NAME → ID``, ``password → PW``, ``abc (PW)``."""
    arrow = _arrow(rng, font)
    label = AFTER_LABELS[rng.integers(len(AFTER_LABELS))]
    net_label = AFTER_NETWORK_LABELS[rng.integers(len(AFTER_NETWORK_LABELS))]
    if arrow == "" and rng.random() < 0.5:
        net, pw = f"{ssid} ({net_label})", f"{password} ({label})"
    else:
        net, pw = f"{ssid} {arrow} {net_label}".replace("  ", " "), f"{password} {arrow} {label}".replace("  ", " ")
    title = ["FREE WIFI", "Wi-Fi", "Café Luna", "WLAN"][rng.integers(4)]
    return [_Block(title, "other", 1.5), _Block(net, "decoy"), _Block(pw, "password"), *decoys[:1]]


def _several_networks(
    rng: np.random.Generator, font: FontSpec, ssid: str, password: str, decoys: list[_Block]
) -> list[_Block]:
    """Two or three networks: ``1F: NAME / pw`` lines, labelled pairs, or an ``ID / PW`` table."""
    n = int(rng.integers(2, 4))
    names = [f"{ssid}-{floor}F" for floor in range(1, n + 1)]
    passwords = [password, *(_password(rng) for _ in range(n - 1))]
    roles = ["password", *["other_password"] * (n - 1)]
    style = rng.integers(3)
    blocks = [_Block(["FREE WIFI", "Wi-Fi", "Guest networks"][rng.integers(3)], "other", 1.5)]
    if style == 0:
        blocks += [
            _Block(f"{k + 1}F: {name} / {pw}", role) for k, (name, pw, role) in enumerate(zip(names, passwords, roles))
        ]
    elif style == 1:
        for name, pw, role in zip(names, passwords, roles):
            blocks += [_Block(f"SSID: {name}", "decoy"), _Block(f"Password: {pw}", role)]
    else:
        blocks.append(_Block(["ID / PW", "SSID / Password", "ID | PW"][rng.integers(3)], "label"))
        blocks += [_Block(f"{name} / {pw}", role) for name, pw, role in zip(names, passwords, roles)]
    return [*blocks, *decoys[:1]]


def _foreign_sign(
    rng: np.random.Generator, font: FontSpec, ssid: str, password: str, decoys: list[_Block]
) -> list[_Block]:
    """A title and labels in Chinese or Japanese, before or after the values (``NAME → 网络名称``)."""
    found = _foreign_script()
    if found is None:
        return _label_after(rng, font, ssid, password, decoys)
    foreign, titles, net_labels, pw_labels = found
    net_label, pw_label = net_labels[rng.integers(len(net_labels))], pw_labels[rng.integers(len(pw_labels))]
    title = _Block(titles[rng.integers(len(titles))], "other", 1.6, font=foreign)
    if rng.random() < 0.5:  # labels after the values, as on the sign the issue met
        arrow = ["→", ":", ""][rng.integers(3)] if covers(foreign.path, "→") else ":"
        net = _Block(f"{ssid} {arrow} {net_label}".replace("  ", " "), "decoy", font=foreign)
        pw = _Block(f"{password} {arrow} {pw_label}".replace("  ", " "), "password", font=foreign)
        return [title, net, pw, *decoys[:1]]
    rows = [
        _Block(net_label, "label", 0.8, font=foreign),
        _Block(ssid, "decoy"),
        _Block(pw_label, "label", 0.8, font=foreign),
        _Block(password, "password"),
    ]
    return [title, *rows, *decoys[:1]]


@functools.lru_cache(maxsize=1)
def _foreign_script() -> tuple[FontSpec, list[str], list[str], list[str]] | None:
    """The first system font that draws a foreign title and labels, with the ones it draws; ``None`` if none does."""
    for path in FOREIGN_FONTS:
        if not path.is_file():
            continue
        drawn = [
            [t for t in texts if covers(path, t)]
            for texts in (FOREIGN_TITLES, FOREIGN_NETWORK_LABELS, FOREIGN_PASSWORD_LABELS)
        ]
        if all(drawn):
            return FontSpec(path, path.stem, "sans", "eval", path), *drawn  # type: ignore[return-value]
    return None


_NEW_LAYOUTS = {
    "pair_line": _pair_line,
    "label_after": _label_after,
    "several_networks": _several_networks,
    "foreign_sign": _foreign_sign,
}


def _small(photo: np.ndarray, lines: tuple[SceneLine, ...], rng: np.random.Generator):
    """A low-resolution photo: the whole frame shrunk (text about 8 to 14 px tall), lines scaled with it."""
    text = float(np.median([np.linalg.norm(line.points[3] - line.points[0]) for line in lines]))
    scale = min(1.0, rng.uniform(9.0, 15.0) / max(text, 1.0))
    h, w = photo.shape[:2]
    size = (max(64, round(w * scale)), max(64, round(h * scale)))
    small = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
    factor = np.float32([size[0] / w, size[1] / h])
    return small, tuple(SceneLine(line.points * factor, line.text, line.role) for line in lines)


def _glare(photo: np.ndarray, lines: tuple[SceneLine, ...], rng: np.random.Generator) -> np.ndarray:
    """A lamp's reflection on a laminated card: a bright, soft patch over one of the lines washing its ink out."""
    h, w = photo.shape[:2]
    line = lines[int(rng.integers(len(lines)))]
    cx, cy = line.points.mean(0) + rng.normal(0, 0.5, 2) * (line.points[2] - line.points[0])
    height = float(np.linalg.norm(line.points[3] - line.points[0]))
    rx, ry = rng.uniform(2.0, 6.0) * height, rng.uniform(0.8, 2.0) * height
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    blob = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))[..., None]
    strength = rng.uniform(0.35, 0.7)
    return photo * (1 - strength * blob) + strength * blob


# ---------------------------------------------------------------- drawing


def _surface_style(kind: str, rng: np.random.Generator) -> str:
    if kind in ("terminal",):
        return "dark_screen"
    if kind in ("login_page", "router_admin"):
        return "light_screen"
    if kind == "phone_settings":
        return "dark_screen" if rng.random() < 0.5 else "light_screen"
    if kind == "cafe_sign":
        return "chalkboard" if rng.random() < 0.5 else "print"
    return "print"


def _draw_surface(
    blocks: Sequence[_Block], style: str, font: FontSpec, title_font: FontSpec, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, str, str]], np.ndarray]:
    """The flat surface (float RGB), its ink mask, each line's box on it, and the text colour."""
    if style == "chalkboard":
        bg = np.float32([0.12, 0.16, 0.13]) + rng.uniform(-0.04, 0.04, 3).astype(np.float32)
        fg = np.float32([0.93, 0.93, 0.9])
    else:
        bg, fg = _pick_colours(rng, style)
    pad = int(size * rng.uniform(1.0, 2.5))
    # Measure rows first so the surface fits its text.
    placed: list[tuple[int, int, str, FontSpec, int, _Block]] = []
    x, y, row_h, width = pad, pad, 0, 0
    align_centre = style in ("chalkboard",) or rng.random() < 0.25
    for i, block in enumerate(blocks):
        f = block.font or (title_font if block.size > 1.2 else font)
        s = max(10, int(size * block.size))
        face = load_font(f.path, s)
        w = int(face.getlength(block.text))
        if block.same_row and placed:
            px, py, *_ = placed[-1]
            x = (
                px
                + int(load_font(placed[-1][3].path, placed[-1][4]).getlength(placed[-1][2]))
                + int(s * rng.uniform(0.8, 2.5))
            )
            y = py
        else:
            if i:
                y += row_h + int(s * block.gap_before * rng.uniform(0.6, 1.4))
            x = pad + (int(s * rng.uniform(0, 1.5)) if rng.random() < 0.2 else 0)
            row_h = 0
        placed.append((x, y, block.text, f, s, block))
        ascent, descent = face.getmetrics()
        row_h = max(row_h, ascent + descent)
        width = max(width, x + w)
    sw, sh = width + pad, y + row_h + pad
    if align_centre:  # centre every row (signs and cards are centred more often than not)
        rows: dict[int, list[int]] = {}
        for k, p in enumerate(placed):
            rows.setdefault(p[1], []).append(k)
        for ks in rows.values():
            right = max(
                placed[k][0] + int(load_font(placed[k][3].path, placed[k][4]).getlength(placed[k][2])) for k in ks
            )
            shift = (sw - pad - right) // 2
            for k in ks:
                px, py, *rest = placed[k]
                placed[k] = (px + max(0, shift), py, *rest)  # type: ignore[assignment]
    ink = Image.new("L", (sw, sh), 0)
    draw = ImageDraw.Draw(ink)
    lines = []
    for px, py, text, f, s, block in placed:
        face = load_font(f.path, s)
        draw.text((px, py), text, font=face, fill=255)
        x0, y0, x1, y1 = draw.textbbox((px, py), text, font=face)
        lines.append((np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), text, block.role))
    mask = np.asarray(ink, np.float32) / 255.0
    img = np.ones((sh, sw, 3), np.float32) * bg
    boxes = np.zeros((sh, sw), np.uint8)
    for box, _, _ in lines:
        x0, y0 = (box[0] - size // 2).astype(int)
        x1, y1 = (box[2] + size // 2).astype(int)
        boxes[max(0, y0) : y1, max(0, x0) : x1] = 1
    _clutter(img, rng, boxes == 0, fg, bg, size)
    img = img * (1 - mask[..., None]) + fg * mask[..., None]
    if style.endswith("screen"):
        img = _screen(img, mask, fg, float(size), rng, dark=style == "dark_screen")
    else:
        grain = cv2.GaussianBlur(rng.standard_normal((sh, sw)).astype(np.float32), (0, 0), rng.uniform(0.5, 2.0))
        img = img + rng.uniform(0.0, 0.05) * grain[..., None]
    return img, mask, lines, fg


def _clutter(
    img: np.ndarray, rng: np.random.Generator, free: np.ndarray, fg: np.ndarray, bg: np.ndarray, size: int
) -> None:
    """Rules, boxes, a logo and a QR-like square on the surface, only where ``free`` (off the lines)."""
    h, w = free.shape
    layer = img.copy()
    for _ in range(int(rng.integers(1, 5))):
        colour = np.clip(bg + rng.uniform(-0.35, 0.35, 3), 0, 1).astype(np.float32)
        kind = rng.random()
        if kind < 0.35:
            y = int(rng.integers(0, h))
            cv2.line(layer, (0, y), (w, y), colour.tolist(), max(1, size // 12))
        elif kind < 0.65:
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            cv2.rectangle(
                layer,
                (x0, y0),
                (x0 + int(rng.integers(size, 6 * size)), y0 + int(rng.integers(size, 3 * size))),
                colour.tolist(),
                max(1, size // 15),
            )
        elif kind < 0.85:
            centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(layer, centre, int(rng.integers(size // 2, 2 * size)), colour.tolist(), -1)
        else:
            n, cell = 11, max(2, size // 5)
            x0, y0 = int(rng.integers(0, max(1, w - n * cell))), int(rng.integers(0, max(1, h - n * cell)))
            bits = rng.random((n, n)) < 0.5
            for i, j in zip(*np.nonzero(bits)):
                cv2.rectangle(
                    layer,
                    (x0 + j * cell, y0 + i * cell),
                    (x0 + (j + 1) * cell - 1, y0 + (i + 1) * cell - 1),
                    fg.tolist(),
                    -1,
                )
    img[free] = layer[free]


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A desk, wall or counter: a smooth colour field with texture and out-of-focus shapes."""
    base = rng.uniform(0.15, 0.85, 3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gradient = (xx / w - 0.5) * rng.normal(0, 0.3) + (yy / h - 0.5) * rng.normal(0, 0.3)
    img = np.clip(base + gradient[..., None], 0, 1)
    texture = cv2.resize(rng.standard_normal((h // 16 + 1, w // 16 + 1)).astype(np.float32), (w, h))
    img = img + 0.05 * texture[..., None]
    for _ in range(int(rng.integers(0, 5))):
        colour = rng.uniform(0, 1, 3).tolist()
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(w // 20, w // 4)), int(rng.integers(h // 20, h // 4)))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(2, 8))


def _placement(
    sw: int, sh: int, w: int, h: int, max_angle: float, rng: np.random.Generator, fill: tuple[float, float] = FILL
) -> np.ndarray:
    """Where the surface's corners land in the photo: scaled to span ``fill`` of it, rotated, seen at an angle."""
    angle = float(np.clip(rng.normal(0, max_angle / 2.5), -max_angle, max_angle))
    src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    jitter = rng.uniform(-0.08, 0.08, (4, 2)).astype(np.float32) * np.float32([sw, sh])
    pts = src + jitter - np.float32([sw / 2, sh / 2])
    a = np.deg2rad(angle)
    pts = pts @ np.float32([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    span = pts.max(0) - pts.min(0)
    scale = rng.uniform(*fill)
    pts = pts * min(scale * w / span[0], scale * h / span[1])
    span = pts.max(0) - pts.min(0)
    room = np.float32([w, h]) - span
    offset = np.float32([rng.uniform(0, room[0]), rng.uniform(0, room[1])]) - pts.min(0)
    return (pts + offset).astype(np.float32)


def compose_scene(
    rng: np.random.Generator,
    fonts: Sequence[FontSpec] | None = None,
    kind: str | None = None,
    password: str | None = None,
    size: tuple[int, int] | None = None,
    max_angle: float = 30.0,
    condition: str = "plain",
) -> Scene:
    """One photographed scene of ``kind`` (random if ``None``) showing ``password`` (random if ``None``).

    Args:
        rng: the only source of randomness, so a seed reproduces a scene.
        fonts: fonts to draw in (default: the training split; benchmarks pass ``fonts_for("eval")``).
        size: photo ``(width, height)``; default about 2 MP, landscape or portrait.
        max_angle: the largest in-plane rotation of the surface, in degrees.
        condition: ``CONDITIONS``: a plain photo, a small low-resolution one, glare over the text, or a
            surface taken from afar.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")
    fonts = tuple(fonts) if fonts is not None else fonts_for("train")
    kind = kind or SCENE_KINDS[rng.integers(len(SCENE_KINDS))]
    if kind not in SCENE_KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; expected one of {', '.join(SCENE_KINDS)}")
    style = _surface_style(kind, rng)
    mono = [f for f in fonts if f.category == "mono"] or list(fonts)
    font = mono[rng.integers(len(mono))] if kind in ("terminal", "router_sticker") else fonts[rng.integers(len(fonts))]
    title_font = fonts[rng.integers(len(fonts))]
    password = password if password is not None else _password(rng)
    blocks = _layout(kind, rng, font, password)
    surface, _, lines, _ = _draw_surface(blocks, style, font, title_font, int(rng.integers(28, 56)), rng)
    sh, sw = surface.shape[:2]
    if size is None:
        size = (1600, 1200) if rng.random() < 0.6 else (1200, 1600)
    w, h = size
    dst = _placement(sw, sh, w, h, max_angle, rng, DISTANT_FILL if condition == "distant" else FILL)
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]]), dst)
    photo = _background(h, w, rng)
    warped = cv2.warpPerspective(surface, matrix, (w, h), flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones((sh, sw), np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR)
    if rng.random() < 0.5:  # a soft shadow under the card or device
        shadow = cv2.GaussianBlur(np.roll(cover, (int(h * 0.01), int(w * 0.01)), (0, 1)), (0, 0), w / 150)
        photo = photo * (1 - 0.5 * shadow[..., None])
    photo = photo * (1 - cover[..., None]) + warped * cover[..., None]
    scene_lines = tuple(
        SceneLine(cv2.perspectiveTransform(box[None], matrix)[0].astype(np.float32), text, role)
        for box, text, role in lines
    )
    cap = float(np.median([np.linalg.norm(line.points[3] - line.points[0]) for line in scene_lines])) * 0.7
    photo = _camera(np.ascontiguousarray(photo, dtype=np.float32), cap, rng)
    if condition == "glare":
        photo = _glare(photo, scene_lines, rng)
    elif condition == "small":
        photo, scene_lines = _small(photo, scene_lines, rng)
    photo = _finish_colour(photo, rng)
    others = tuple(line.text.split()[-1] for line in scene_lines if line.role == "other_password")
    return Scene(photo, scene_lines, password, kind, condition, others)


def _finish_colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise and JPEG, in colour (the line renderer's ``_finish`` works on gray crops)."""
    noise = rng.standard_normal(img.shape[:2]).astype(np.float32)[..., None] * rng.uniform(0.0, 0.04)
    out = np.clip((img + noise) * 255.0, 0, 255).astype(np.uint8)
    return jpeg(out, int(rng.integers(50, 95)))


def compose_scenes(
    count: int, seed: int, split: Split = "eval", fonts: Sequence[FontSpec] | None = None, **kwargs: object
) -> Iterator[Scene]:
    """``count`` scenes from one seed, one at a time (a 2 MP scene is 6 MB; 200 held at once would be 1.2 GB).

    ``split="eval"`` draws only fonts no model was trained on; ``fonts``, when given, replaces the split's.
    """
    rng = np.random.default_rng(seed)
    fonts = fonts_for(split) if fonts is None else fonts
    fixed = kwargs.pop("condition", None)
    for _ in range(count):
        # Three photos in ten are small or glared, so every layout is also seen in those conditions.
        condition = fixed or CONDITIONS[rng.choice(3, p=[0.7, 0.15, 0.15])]
        yield compose_scene(rng, fonts, condition=condition, **kwargs)  # type: ignore[arg-type]
