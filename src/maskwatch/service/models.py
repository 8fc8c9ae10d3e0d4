"""The service's active mask classifier: the promoted one (maskwatch.modelops.registry) where there is one, else
detector.classifier or the shipped model; swapped into the running pipeline when the promotion history changes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from maskwatch.backends import Pipeline
from maskwatch.classify.classifier import MaskClassifier, default_model, model_version
from maskwatch.config import AppConfig, DetectorConfig
from maskwatch.core.errors import UserError
from maskwatch.modelops.registry import HISTORY, active_path, models_folder

log = logging.getLogger(__name__)


class ActiveModel:
    """follow_promotions: False where the classifier runs elsewhere (Ray shards build theirs from the config)."""

    def __init__(self, config: AppConfig, follow_promotions: bool = True):
        self.detector = config.detector
        self.configured = Path(config.detector.classifier) if config.detector.classifier else default_model()
        self.folder = models_folder(config.storage.database)
        self.follow = follow_promotions
        self._stamp = self._history_stamp()
        self.path = self._wanted() if self.follow else self.configured
        self.version = model_version(self.path) if self.path.is_file() else None

    def _history_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.folder / HISTORY).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _wanted(self) -> Path:
        try:
            promoted = active_path(self.folder)
        except UserError as err:
            log.error("promoted classifiers: %s; using %s", err, self.configured)
            return self.configured
        return promoted if promoted is not None else self.configured

    def detector_config(self) -> DetectorConfig:
        """The detector settings with the active classifier, for building the pipeline at start."""
        return self.detector.model_copy(update={"classifier": self.path})

    def poll(self, pipeline: Pipeline | None) -> bool:
        """Where the history changed since the last look: the classifier it names is loaded and swapped into
        `pipeline` (the next frames use it); True when a new one is active. A model that fails to load is logged
        and the old one kept."""
        stamp = self._history_stamp()
        if not self.follow or stamp == self._stamp:
            return False
        self._stamp = stamp
        wanted = self._wanted()
        if wanted == self.path:
            return False
        if not isinstance(getattr(pipeline, "classifier", None), MaskClassifier):
            log.warning("classifier %s promoted: this backend applies it at the next start", wanted)
            return False
        try:
            threads = self.detector.threads or min(4, os.cpu_count() or 1)
            loaded = MaskClassifier(wanted, self.detector.providers, threads)
        except Exception as err:  # noqa: BLE001 (any failure to load keeps the running model)
            log.error("classifier %s not loaded (%s): keeping %s", wanted, err, self.version)
            return False
        pipeline.classifier = loaded  # type: ignore[union-attr]  # one attribute: the next batch uses the new model
        log.info("classifier %s active (was %s)", loaded.version, self.version)
        self.path, self.version = wanted, loaded.version
        return True
