"""The application's palette: the system's light/dark preference, or a person's choice.

View ▸ Theme offers System, Light and Dark (remembered in the settings). Under System the
desktop's preference (``QStyleHints.colorScheme``) is followed while the app runs. Some
platform styles already switch their palette, others (Fusion on most Linux desktops,
Windows before 11) keep a light one: when dark is wanted and the palette is still light,
Fusion with a dark palette is used; when light is wanted again the style's own palette
comes back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

DARK = {
    QPalette.ColorRole.Window: "#2b2d30", QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#1e1f22", QPalette.ColorRole.AlternateBase: "#2b2d30",
    QPalette.ColorRole.ToolTipBase: "#3c3f41", QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#3c3f41",
    QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#2f80d1", QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6aa9ff", QPalette.ColorRole.PlaceholderText: "#8a8f98",
    QPalette.ColorRole.Mid: "#5a5d61", QPalette.ColorRole.Dark: "#191a1c", QPalette.ColorRole.Light: "#4a4d50",
}
DISABLED_TEXT = "#7a7d80"


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in DARK.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED_TEXT))
    return palette


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class SystemTheme:
    """Keeps the application's palette in step with the chosen theme (or the system's scheme)."""

    def __init__(self, app: QApplication, choice: str = "system") -> None:
        self.app = app
        self.light_style = app.style().name()
        self.light_palette = QPalette(app.palette())
        self.applied_dark = False
        self.choice = choice
        self.hints = QGuiApplication.styleHints()
        self.hints.colorSchemeChanged.connect(self.apply)
        self.apply(self.hints.colorScheme())
        global _THEME
        _THEME = self  # the newest is the application's (main makes it before the window)

    def set_choice(self, choice: str) -> None:
        """"system" follows the desktop; "light" and "dark" (the settings' ``THEMES``) stay
        whatever the desktop says."""
        self.choice = choice
        self.apply(self.hints.colorScheme())

    def apply(self, scheme: Qt.ColorScheme) -> None:
        """The system's ``scheme`` changed (or the choice did): switch the palette if needed."""
        dark = scheme == Qt.ColorScheme.Dark if self.choice == "system" else self.choice == "dark"
        if dark and not self.applied_dark:
            if is_dark(self.app.palette()):
                return  # the platform style is dark already
            self.app.setStyle(QStyleFactory.create("Fusion"))
            self.app.setPalette(dark_palette())
            self.applied_dark = True
        elif not dark and self.applied_dark:
            self.app.setStyle(QStyleFactory.create(self.light_style) or QStyleFactory.create("Fusion"))
            self.app.setPalette(self.light_palette)
            self.applied_dark = False


_THEME: SystemTheme | None = None


def application_theme(app: QApplication) -> SystemTheme:
    """The application's theme: the last one made for ``app``, or a new one (tests, embedding)."""
    if _THEME is None or _THEME.app is not app:
        return SystemTheme(app)
    return _THEME
