"""The "Download failed" dialog: why, in a person's words, the file's address to copy (for
fetching it on another computer), and the way out right there: choose the checkpoint file,
which is checked and kept in the model cache."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from app.workers.download import DownloadFailure

CHOOSE_BUTTON = "Choose a checkpoint file…"


def failure_text(failure: DownloadFailure) -> str:
    """What the dialog says above the address (no command-line flags)."""
    entry = failure.entry
    kept = (f" The {failure.kept / (1 << 20):.0f} MiB already downloaded are kept; the next try goes on "
            "from there." if failure.kept else "")
    return (f"The model {entry.dataset.title} {entry.backbone} could not be downloaded: {failure.reason}.{kept}"
            "\n\nIf you have its checkpoint file (downloaded on another computer from the address below, "
            "or one you fine-tuned), choose it: it is checked and kept in the model cache, so it works offline.")


class DownloadFailedDialog(QDialog):
    """The reason, the address as one selectable line with Copy, and "Choose a checkpoint
    file…" / Close; after ``exec()``, :attr:`choose` says whether the person wants the file."""

    def __init__(self, failure: DownloadFailure, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download failed")
        self.choose = False
        self.text = QLabel(failure_text(failure))
        self.text.setWordWrap(True)  # prose wraps between words; the address below never does
        self.address = QLineEdit(failure.url)
        self.address.setReadOnly(True)  # selectable and copyable, on one line
        self.address.setCursorPosition(0)
        self.address.setMinimumWidth(min(self.address.fontMetrics().horizontalAdvance(failure.url) + 24, 720))
        self.copy_button = QPushButton("Copy address")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(failure.url))
        address = QHBoxLayout()
        address.addWidget(self.address, 1)
        address.addWidget(self.copy_button)
        self.buttons = QDialogButtonBox()
        self.choose_button = self.buttons.addButton(CHOOSE_BUTTON, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.choose_button.setDefault(True)
        self.buttons.accepted.connect(self._chose)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(QLabel("The checkpoint's address:"))
        layout.addLayout(address)
        layout.addWidget(self.buttons)

    def _chose(self) -> None:
        self.choose = True
        self.accept()
