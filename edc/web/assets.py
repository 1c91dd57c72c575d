"""The LHC-Forms files edc ships, so CRFs render with no CDN and no network.

They come from the ``lforms`` npm package (NLM, BSD-style licence: see
``static/lforms/LICENSE.md`` once installed, and the README) at the version and SHA-512 pinned
in ``edc/web/lforms.json``: ``install_lforms`` runs ``npm pack`` (the npm client, from the npm
registry) for exactly that tarball, checks its integrity, and copies the built web component
and the R4 FHIR support file (no source maps) into ``edc/web/static/lforms/``. The package's
prebuilt files bundle everything they need, so its npm dependency tree (Angular, ...) is never
installed. The wheel build runs this (``edc/web/hatch_build.py``); nothing of LHC-Forms is
committed to this repository. Run it by hand with ``python -m edc.web.assets``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
PIN_FILE = HERE / "lforms.json"
LFORMS_DIR = HERE / "static" / "lforms"
# Inside the package tarball: what the page loads, in load order after styles.css.
FILES = (
    "dist/lforms/webcomponent/styles.css",
    "dist/lforms/webcomponent/assets/lib/zone.min.js",
    "dist/lforms/webcomponent/runtime.js",
    "dist/lforms/webcomponent/polyfills.js",
    "dist/lforms/webcomponent/main.js",
    "dist/lforms/webcomponent/down_arrow_gray_10_10.png",
    "dist/lforms/webcomponent/magnifying_glass.png",
    "dist/lforms/fhir/R4/lformsFHIR.min.js",
    "LICENSE.md",
    "README.md",
)
STAMP = ".installed-integrity"


class AssetError(RuntimeError):
    """The LHC-Forms files could not be fetched or did not match the lock file."""


def pinned() -> tuple[str, str]:
    """(version, npm integrity string) of the pinned lforms release."""
    pin = json.loads(PIN_FILE.read_text("utf-8"))
    return str(pin["version"]), str(pin["integrity"])


def lforms_available(directory: Path = LFORMS_DIR) -> bool:
    """Whether the files are installed (the CRF page says so when they are not)."""
    return all((directory / Path(name).name).is_file() for name in FILES)


def install_lforms(directory: Path = LFORMS_DIR, *, npm: str = "npm") -> Path:
    """Fetch the pinned lforms tarball with npm, check it, and unpack the files we serve.

    Does nothing when ``directory`` already holds that version.

    :raises AssetError: npm is missing or failed, or the tarball's hash is not the pinned one.
    """
    version, integrity = pinned()
    stamp = directory / STAMP
    if lforms_available(directory) and stamp.is_file() and stamp.read_text() == integrity:
        return directory
    if shutil.which(npm) is None:
        raise AssetError(
            "npm is needed to fetch LHC-Forms (the CRF renderer) when building edc: install "
            "Node.js and npm"
        )
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        try:
            # The command and the pinned version come from this package, not from input.
            subprocess.run(  # noqa: S603
                [npm, "pack", f"lforms@{version}", "--silent"],
                cwd=work,
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            stderr = getattr(exc, "stderr", b"") or b""
            raise AssetError(f"npm pack lforms@{version} failed: {stderr.decode()[-500:]}") from exc
        tarball = work / f"lforms-{version}.tgz"
        _check_integrity(tarball, integrity)
        directory.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball, "r:gz") as archive:
            for name in FILES:
                member = archive.getmember(f"package/{name}")
                source = archive.extractfile(member)
                if source is None:
                    raise AssetError(f"{name} is not a file in lforms {version}")
                (directory / Path(name).name).write_bytes(source.read())
    stamp.write_text(integrity)
    return directory


def _check_integrity(tarball: Path, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    digest = hashlib.new(algorithm, tarball.read_bytes()).digest()
    if base64.b64encode(digest).decode() != expected:
        raise AssetError(f"{tarball.name} does not match the pinned {algorithm} in {PIN_FILE}")


if __name__ == "__main__":
    import sys

    try:
        path = install_lforms()
    except AssetError as error:
        sys.stderr.write(f"edc: error: {error}\n")
        raise SystemExit(2) from None
    sys.stdout.write(f"LHC-Forms files in {path}\n")
