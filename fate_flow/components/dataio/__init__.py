"""DataIO: reads uploaded tables (dense, sparse or tag) into instances; see data_io.py.

``DataIO`` is imported on first use: the registry imports this package's spec, and that
must not load numpy and pyarrow into processes that never run the component.
"""
from fate_flow.components.dataio.param import DataIOParam

__all__ = ["DataIO", "DataIOParam"]


def __getattr__(name: str):
    if name == "DataIO":
        from fate_flow.components.dataio.data_io import DataIO

        return DataIO
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
