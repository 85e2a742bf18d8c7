"""Registry of family pages: family → "module:Class" (imported when the window is built)."""

from __future__ import annotations

import importlib

from app.ui.pages.family_page import FamilyPage

PAGES: dict[str, str] = {
    "vae": "app.ui.pages.vae_page:VAEPage",
    "wgan": "app.ui.pages.wgan_page:WGANPage",
    "gpt": "app.ui.pages.gpt_page:GPTPage",
}


def page_class(family: str) -> type[FamilyPage]:
    module_name, class_name = PAGES[family].split(":")
    return getattr(importlib.import_module(module_name), class_name)
