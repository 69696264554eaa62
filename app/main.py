"""``gcnet-annotator [FOLDER | IMAGE]``: start the window on a folder (an image: its folder,
showing it), the last one, or the samples; with the log file, the error dialog and, on the
first run, the welcome."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

from app.shell.system_check import xcb_problem
from gcnet_core.paths import data_folder
from gcnet_core.project.folders import project_folder_of
from gcnet_core.version import read_version

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def samples_folder(data_dir: Path | None = None) -> Path:
    """A writable copy of the bundled sample photos (the project files go beside them,
    and the installed resources stay untouched)."""
    target = Path(data_dir) if data_dir else data_folder() / "samples"
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


def open_startup(window, argument: str | None) -> None:
    """Open the folder given, or the project of the image given at that image (file managers
    and the desktop entry pass images), else the last folder, else the samples."""
    image = Path(argument).expanduser().resolve() if argument and Path(argument).is_file() else None
    folder = startup_folder(str(project_folder_of(image)) if image else argument, window.settings.get("last_folder"))
    if not window.open_folder(folder) and folder != SAMPLES:
        window.open_folder(samples_folder())
    elif image is not None:
        window.open_image(window.session.project.relative(image))


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()

    parser = argparse.ArgumentParser(prog="gcnet-annotator",
                                     description="Label images with GCNet pre-segmentation.")
    parser.add_argument("--version", action="version", version=f"gcnet-annotator {read_version()}")
    parser.add_argument("folder", nargs="?",
                        help="folder of images to annotate, or one image in it (default: the last folder)")
    parser.add_argument("--quit-after", type=int, metavar="MS",
                        help="close the window MS milliseconds after it is shown (smoke tests of a build)")
    args, qt_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])


    problem = xcb_problem()
    if problem is not None:  # Qt would abort without naming the package
        print(problem, file=sys.stderr)
        return 1

    from PySide6.QtWidgets import QApplication

    from app.dialogs.welcome import maybe_show_welcome  # lazy: Qt loads after the X11 check
    from app.settings.store import APPLICATION, ORGANIZATION, AppSettings  # lazy: Qt loads after the X11 check
    from app.shell.logs import ErrorReporter, setup_logging  # lazy: Qt loads after the X11 check
    from app.shell.runtime import app_icon, frozen  # lazy: Qt loads after the X11 check

    from .window import MainWindow  # lazy: Qt loads after the X11 check

    log_path = setup_logging()
    logging.getLogger("gcnet_annotator").info("gcnet-annotator %s starting (Python %s, %s)", read_version(),
                                              sys.version.split()[0], "frozen" if frozen() else sys.prefix)
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("GCNet Annotator")
    app.setApplicationVersion(read_version())
    app.setDesktopFileName(APPLICATION)  # Wayland: ties the window to gcnet-annotator.desktop's icon
    app.setWindowIcon(app_icon())
    from app.shell.theme import SystemTheme  # lazy: Qt loads after the X11 check

    theme = SystemTheme(app)  # a dark palette while the system asks for one  # noqa: F841
    reporter = ErrorReporter(log_path, app).install()
    settings = AppSettings()
    window = MainWindow(settings)
    window.show()
    open_startup(window, args.folder)
    maybe_show_welcome(window, settings, window.action_keys())
    from PySide6.QtCore import QTimer

    log = logging.getLogger("gcnet_annotator")
    QTimer.singleShot(0, lambda: log.info("window shown %.2f s after start", time.perf_counter() - started))
    if args.quit_after is not None:
        QTimer.singleShot(args.quit_after, window.close)
    try:
        return app.exec()
    finally:
        reporter.uninstall()


if __name__ == "__main__":
    sys.exit(main())
