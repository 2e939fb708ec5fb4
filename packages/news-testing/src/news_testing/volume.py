"""`ConfigVolume`: a directory laid out and updated exactly as Kubernetes mounts a ConfigMap.

For testing hot reload (``news_config.watch``) the way production changes settings::

    volume = ConfigVolume(tmp_path / "config")
    volume.write({"NEWSROOM_LOG__LEVEL": "info"})
    with serve_app("myservice:app", env={"MYSERVICE_CONFIG_DIR": str(volume.path)}) as server:
        volume.update(NEWSROOM_LOG__LEVEL="debug")  # the kubelet's atomic swap
        server.wait_for_log(lambda line: "settings changed live" in line["msg"])

The kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go) writes each version of a
ConfigMap or Secret into a fresh ``..<timestamp>`` directory, points a new ``..data_tmp``
symlink at it, renames ``..data_tmp`` over ``..data`` (the one atomic step), makes a symlink
``KEY -> ..data/KEY`` for each new key, removes those of keys that went away, and deletes the old
timestamped directory. The files a service reads never change in place: the ``..data`` link does.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["ConfigVolume"]


class ConfigVolume:
    """A mounted ConfigMap/Secret volume that `write` updates the way the kubelet does.

    Attributes:
        path: The mount point (the directory a service reads, e.g. its ``secrets_dir``).
        files: The keys and values of the current version.
        versions: How many versions were written.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, str] = {}
        self.versions = 0
        self._current: Path | None = None

    def write(self, files: dict[str, str]) -> None:
        """Publish a new version holding exactly *files* (key -> content)."""
        self.versions += 1
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + f"{self.versions:09d}"
        new = self.path / stamp
        new.mkdir()
        for name, text in files.items():
            (new / name).write_text(text, encoding="utf-8")
        tmp = self.path / "..data_tmp"
        os.symlink(stamp, tmp)
        os.rename(tmp, self.path / "..data")  # the atomic swap
        for name in files:
            link = self.path / name
            if not link.is_symlink():
                os.symlink(f"..data/{name}", link)
        for entry in self.path.iterdir():  # keys that went away
            if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in files:
                entry.unlink()
        old, self._current = self._current, new
        self.files = dict(files)
        if old is not None:
            for child in old.iterdir():
                child.unlink()
            old.rmdir()

    def update(self, **changes: str | None) -> None:
        """Publish the current version with *changes* (a None value removes the key)."""
        files = dict(self.files)
        for name, text in changes.items():
            if text is None:
                files.pop(name, None)
            else:
                files[name] = text
        self.write(files)

    def __repr__(self) -> str:
        return f"<ConfigVolume {str(self.path)!r} version {self.versions}: {sorted(self.files)}>"


ConfigVolume.__module__ = "news_testing"  # its public home (also importable from here)
