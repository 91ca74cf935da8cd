"""Parameters of the store and restore tasks; the server fills them from its settings."""
from __future__ import annotations

from fate_flow.components.param import BaseParam, check_positive_int
from fate_flow.model_storage.archive import DEFAULT_MAX_RATIO, check_model_name


class _ModelOperationParam(BaseParam):
    def __init__(self):
        self.model_id = ""  # the party model id: <role>#<party_id>#<model_id>
        self.model_version = ""
        self.store_address = {}
        self.model_dir = ""
        self.temp_dir = ""

    def check(self) -> None:
        check_model_name("model_id", self.model_id)
        check_model_name("model_version", self.model_version)
        if not isinstance(self.store_address, dict) or self.store_address.get("storage") not in ("mysql", "redis"):
            raise ValueError(f"store_address should name a mysql or redis storage, got {self.store_address!r}")
        for name in ("model_dir", "temp_dir"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} is required")


class ModelStoreParam(_ModelOperationParam):
    def __init__(self):
        super().__init__()
        self.force_update = False

    def check(self) -> None:
        super().check()
        if not isinstance(self.force_update, bool):
            raise ValueError(f"force_update should be true or false, got {self.force_update!r}")


class ModelRestoreParam(_ModelOperationParam):
    def __init__(self):
        super().__init__()
        self.max_bytes = 1 << 30
        self.max_ratio = DEFAULT_MAX_RATIO

    def check(self) -> None:
        super().check()
        check_positive_int("max_bytes", self.max_bytes)
        check_positive_int("max_ratio", self.max_ratio)
