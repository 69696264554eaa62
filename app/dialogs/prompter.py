"""The message boxes the window and its controllers show, behind one small interface."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.workers.download import DownloadFailure

from .download_failed import DownloadFailedDialog


class Prompter:
    """Message boxes behind one small interface, so tests can answer them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def question(self, title: str, text: str) -> bool:
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        return QMessageBox.question(self.parent, title, text, buttons) == QMessageBox.StandardButton.Yes

    def warning(self, title: str, text: str) -> None:
        QMessageBox.warning(self.parent, title, text)

    def information(self, title: str, text: str) -> None:
        QMessageBox.information(self.parent, title, text)

    def choice(self, title: str, text: str, buttons: list[str]) -> str | None:
        """A warning with one button per answer; returns the text of the one pressed."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.parent)
        made = [box.addButton(b, QMessageBox.ButtonRole.AcceptRole if i == 0 else QMessageBox.ButtonRole.RejectRole)
                for i, b in enumerate(buttons)]
        box.exec()
        return next((b for b, button in zip(buttons, made) if box.clickedButton() is button), None)

    def download_failed(self, failure: DownloadFailure) -> bool:
        """The "Download failed" dialog; True when the person wants to choose the checkpoint file."""
        dialog = DownloadFailedDialog(failure, self.parent)
        dialog.exec()
        return dialog.choose
