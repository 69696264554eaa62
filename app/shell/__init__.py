"""The application shell: start-up checks, logs, theme, where bundled files are, text formatting."""
