"""Where the project's own files and the shared data live (MASKWATCH_DATA overrides the data folder)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "models"
SHARED_DATA = Path(os.environ.get("MASKWATCH_DATA", REPO_ROOT.parent / "shared" / "data"))
