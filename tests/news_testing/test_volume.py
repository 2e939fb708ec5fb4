"""`ConfigVolume`: the layout and the update steps of a kubelet-mounted ConfigMap."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from news_testing import ConfigVolume

if TYPE_CHECKING:
    from pathlib import Path


class TestConfigVolume:
    def test_layout_is_the_kubelets(self, tmp_path: Path) -> None:
        """Keys are links into ..data, ..data links to one timestamped directory."""
        volume = ConfigVolume(tmp_path / "config")
        volume.write({"A": "1", "B": "2"})
        root = volume.path
        data = os.readlink(root / "..data")
        assert data.startswith("..")
        assert (root / data).is_dir()
        assert os.readlink(root / "A") == "..data/A"
        assert (root / "A").read_text() == "1"
        assert sorted(p.name for p in root.iterdir()) == sorted(["..data", data, "A", "B"])

    def test_update_swaps_data_and_drops_the_old_version(self, tmp_path: Path) -> None:
        """An update renames a new link over ..data; removed keys and the old directory go."""
        volume = ConfigVolume(tmp_path / "config")
        volume.write({"A": "1", "B": "2"})
        first = os.readlink(volume.path / "..data")
        link = os.lstat(volume.path / "A")
        volume.update(A="3", B=None, C="4")
        second = os.readlink(volume.path / "..data")
        assert second != first
        assert not (volume.path / first).exists()
        assert not (volume.path / "..data_tmp").exists()
        assert not (volume.path / "B").is_symlink()
        assert (volume.path / "A").read_text() == "3"
        assert (volume.path / "C").read_text() == "4"
        assert os.lstat(volume.path / "A").st_ino == link.st_ino  # the key's link never changed
        assert volume.files == {"A": "3", "C": "4"}
        assert volume.versions == 2
