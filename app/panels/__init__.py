"""Docked panels of the main window: file list, classes, model."""
