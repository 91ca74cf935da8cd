"""Parameters of the upload and download tasks, checked as FATE 1.4 checks them."""
from __future__ import annotations

from fate_flow.components.param import BaseParam

DROP_REFUSE, DROP_APPEND, DROP_REPLACE = 2, 0, 1
# where the server streams a received upload, inside the job's directory
UPLOAD_TMP_DIR = "fate_upload_tmp"


class UploadParam(BaseParam):
    def __init__(self):
        self.file = ""
        self.head = 1
        self.partition = 10
        self.namespace = ""
        self.table_name = ""
        self.work_mode = 0
        self.drop = DROP_REFUSE
        self.in_version = False
        self.block_size = 8 << 20
        self.extend_sid = False  # FATE 1.7+: the file has no id column; give each row a new unique sid
        self.auto_increasing_sid = False  # with extend_sid: sids 0, 1, 2, ... instead

    def check(self) -> None:
        for name in ("extend_sid", "auto_increasing_sid"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} should be true or false, got {getattr(self, name)!r}")
        if self.head not in (0, 1) or isinstance(self.head, bool):
            raise ValueError(f"'head' in conf.json should be 0 or 1, got {self.head!r}")
        if isinstance(self.partition, bool) or not isinstance(self.partition, int) or not 0 < self.partition < 1024:
            raise ValueError(f"partition should be an integer between 1 and 1023, got {self.partition!r}")
        if self.drop not in (DROP_REFUSE, DROP_APPEND, DROP_REPLACE):
            raise ValueError(f"drop should be 0 (append), 1 (replace) or 2, got {self.drop!r}")
        for name in ("file", "namespace", "table_name"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} is required")
        if not isinstance(self.block_size, int) or self.block_size < 1:
            raise ValueError(f"block_size should be a positive integer, got {self.block_size!r}")


class DownloadParam(BaseParam):
    def __init__(self):
        self.output_path = ""
        self.namespace = ""
        self.table_name = ""
        self.delimitor = ","
        self.work_mode = 0

    def check(self) -> None:
        for name in ("output_path", "namespace", "table_name"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} is required")
        if not isinstance(self.delimitor, str) or not self.delimitor or "\n" in self.delimitor:
            raise ValueError(f"delimitor should be a non-empty string without newlines, got {self.delimitor!r}")
