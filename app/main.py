"""``gcnet-annotator [FOLDER]``: start the window on a folder, the last one, or the samples."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def samples_folder(data_dir: Path | None = None) -> Path:
    """A writable copy of the bundled sample photos (the project files go beside them,
    and the installed resources stay untouched)."""
    import platformdirs

    target = Path(data_dir) if data_dir else platformdirs.user_data_path("gcnet-annotator") / "samples"
    target.mkdir(parents=True, exist_ok=True)
    for source in SAMPLES.iterdir():
        if source.is_file() and not (target / source.name).exists():
            shutil.copy2(source, target / source.name)
    return target


def startup_folder(argument: str | None, last: Path | None, data_dir: Path | None = None) -> Path:
    """The folder given, else the last one opened (if it still exists), else the samples."""
    if argument:
        return Path(argument).expanduser()
    if last is not None and last.is_dir():
        return last
    return samples_folder(data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gcnet-annotator",
                                     description="Label images with GCNet pre-segmentation.")
    parser.add_argument("folder", nargs="?", help="folder of images to annotate (default: the last one)")
    args, qt_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])

    from PySide6.QtWidgets import QApplication

    from .settings import APPLICATION, ORGANIZATION, AppSettings
    from .window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("GCNet Annotator")
    settings = AppSettings()
    window = MainWindow(settings)
    window.show()
    folder = startup_folder(args.folder, settings.last_folder)
    if not window.open_folder(folder) and folder != SAMPLES:
        window.open_folder(samples_folder())
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
