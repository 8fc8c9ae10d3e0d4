"""Where the project's own files and the shared data live (MASKWATCH_DATA overrides the data folder)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]  # in a checkout; the demo video and the shared data are found from it
MODELS_DIR = (
    Path(__file__).resolve().parents[1] / "models"
)  # a link to REPO_ROOT/models in a checkout, copied into wheels
SHARED_DATA = Path(os.environ.get("MASKWATCH_DATA", REPO_ROOT.parent / "shared" / "data"))
