"""Hatch build hook: put the pinned LHC-Forms files into the wheel (``edc.web.assets``).

Runs for wheels and editable installs. It loads ``assets.py`` by path (stdlib only), because a
build environment has none of edc's dependencies. Set ``EDC_BUILD_WITHOUT_LFORMS=1`` to build
without them (the CRF page then says how to add them). Not shipped in the wheel.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class LformsBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("EDC_BUILD_WITHOUT_LFORMS") == "1":
            return
        path = Path(self.root) / "edc" / "web" / "assets.py"
        spec = importlib.util.spec_from_file_location("edc_build_assets", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        assets = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(assets)
        try:
            directory = assets.install_lforms()
        except assets.AssetError as error:
            raise RuntimeError(
                f"{error} (or set EDC_BUILD_WITHOUT_LFORMS=1 to build without the CRF renderer)"
            ) from None
        # The files are git-ignored, which hatch would leave out: include them explicitly.
        for file in sorted(directory.iterdir()):
            if file.is_file() and not file.name.startswith("."):
                build_data["force_include"][str(file)] = f"edc/web/static/lforms/{file.name}"
