"""The annotation project on disk (images, ``labels/``, ``gcnet-project.json``) and its model versions."""

from . import states
from .store import (EDITED_DIR, FORMAT_NAME, FORMAT_VERSION, IMAGE_SUFFIXES, LABELS_DIR, PROJECT_FILE, STATES, Project,
                    ProjectError)

__all__ = ["EDITED_DIR", "FORMAT_NAME", "FORMAT_VERSION", "IMAGE_SUFFIXES", "LABELS_DIR", "PROJECT_FILE",
           "STATES", "Project", "ProjectError", "states"]
