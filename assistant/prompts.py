"""Prompts are files in ``prompts/``, loaded by name; no prompt text lives in Python code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=64)
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def load_prompt(prompts_dir: Path, name: str) -> str:
    """Text of ``prompts_dir/name`` (e.g. ``answer.system.md``)."""
    path = Path(prompts_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f"prompt {name!r} not found in {prompts_dir}")
    return _read(path.resolve())
