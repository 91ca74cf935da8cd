"""Parameters of DataIO, with FATE 1.4's names, class defaults and checks."""
from __future__ import annotations

from typing import Any

from fate_flow.components.param import BaseParam

INPUT_FORMATS = ("dense", "sparse", "tag")
OUTPUT_FORMATS = ("dense", "sparse")
# FATE accepts "str" too; features and labels are numbers here, so it is refused by check()
DATA_TYPES = ("int", "int64", "float", "float64", "long")
INT_TYPES = ("int", "int64", "long")
FILL_METHODS = ("min", "max", "mean", "designated")
# what FATE's dense reader treats as missing when missing_impute is not set
DEFAULT_MISSING_VALUES = ("", "NULL", "null", "NA")

# FATE's default_runtime_conf/dataio_param.json; label_idx is not a parameter and is dropped
DEFAULT_CONF = {
    "input_format": "dense", "delimitor": ",", "data_type": "float64", "tag_with_value": False,
    "tag_value_delimitor": ":", "missing_fill": False, "default_value": 0, "missing_fill_method": None,
    "missing_impute": None, "outlier_replace": False, "outlier_replace_method": None, "outlier_impute": None,
    "outlier_replace_value": 0, "with_label": True, "label_idx": 0, "label_name": "y", "label_type": "int",
    "output_format": "dense", "need_run": True,
}


class DataIOParam(BaseParam):
    """How DataIO turns an uploaded table into instances.

    Args:
        input_format: "dense" (delimited values under the table's header), "sparse"
            (svmlight "label fid:value ...") or "tag" ("label tag tag ..." or "tag:value").
        delimitor: separator of the fields in a stored value.
        data_type: type of the features: int|int64|long|float|float64 (stored as float64;
            the int types refuse non-integral values).
        exclusive_data_type: ``{column: data_type}`` overriding data_type per column.
        tag_with_value: tag input only: a field is "tag<tag_value_delimitor>value".
        tag_value_delimitor: separator of tag and value.
        missing_fill: replace missing values (see missing_impute) per column.
        default_value: the replace value for method "designated" (or None); a number or a
            list with one number per feature.
        missing_fill_method: min|max|mean|designated (None: designated).
        missing_impute: values that mean "missing" (None: '', 'NULL', 'null', 'NA').
        outlier_replace: replace the values in outlier_impute per column.
        outlier_replace_method: min|max|mean|designated (None: designated).
        outlier_impute: values that are outliers (None: the default missing values, as in FATE).
        outlier_replace_value: the replace value for outliers with "designated".
        with_label: the data has a label column (dense: named label_name; sparse/tag: the first field).
        label_name: name of the label column.
        label_type: int|int64|long|float|float64.
        output_format: dense|sparse (the output is stored dense either way).
        need_run: false passes the input table through unchanged.
    """

    def __init__(self, input_format: str = "dense", delimitor: str = ",", data_type: str = "float64",
                 exclusive_data_type: dict | None = None, tag_with_value: bool = False,
                 tag_value_delimitor: str = ":", missing_fill: bool = True, default_value: Any = 0,
                 missing_fill_method: str | None = None, missing_impute: list | None = None,
                 outlier_replace: bool = True, outlier_replace_method: str | None = None,
                 outlier_impute: list | None = None, outlier_replace_value: Any = 0, with_label: bool = False,
                 label_name: str = "y", label_type: str = "int", output_format: str = "dense",
                 need_run: bool = True) -> None:
        self.input_format = input_format
        self.delimitor = delimitor
        self.data_type = data_type
        self.exclusive_data_type = exclusive_data_type
        self.tag_with_value = tag_with_value
        self.tag_value_delimitor = tag_value_delimitor
        self.missing_fill = missing_fill
        self.default_value = default_value
        self.missing_fill_method = missing_fill_method
        self.missing_impute = missing_impute
        self.outlier_replace = outlier_replace
        self.outlier_replace_method = outlier_replace_method
        self.outlier_impute = outlier_impute
        self.outlier_replace_value = outlier_replace_value
        self.with_label = with_label
        self.label_name = label_name
        self.label_type = label_type
        self.output_format = output_format
        self.need_run = need_run

    def check(self) -> None:
        """Lower-case the choices and raise ValueError naming the first bad parameter."""
        self.input_format = _choice("input_format", self.input_format, INPUT_FORMATS)
        self.output_format = _choice("output_format", self.output_format, OUTPUT_FORMATS)
        self.data_type = _numeric_type("data_type", self.data_type)
        for name in ("tag_with_value", "missing_fill", "outlier_replace", "with_label", "need_run"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"dataio param's {name} should be true or false, got {getattr(self, name)!r}")
        for name in ("delimitor", "tag_value_delimitor"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"dataio param's {name} should be a non-empty string, got {getattr(self, name)!r}")
        for name in ("missing_fill_method", "outlier_replace_method"):
            if getattr(self, name) is not None:
                setattr(self, name, _choice(name, getattr(self, name), FILL_METHODS))
        for name in ("missing_impute", "outlier_impute"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (list, tuple)):
                raise ValueError(f"dataio param's {name} should be None or a list of values, got {value!r}")
        for name in ("default_value", "outlier_replace_value"):
            _check_replace_value(name, getattr(self, name))
        if self.with_label:
            if not isinstance(self.label_name, str) or not self.label_name:
                raise ValueError(f"dataio param's label_name should be a non-empty string, got {self.label_name!r}")
            self.label_type = _numeric_type("label_type", self.label_type)
        self._check_exclusive_data_type()

    def _check_exclusive_data_type(self) -> None:
        if self.exclusive_data_type is None:
            return
        if not isinstance(self.exclusive_data_type, dict):
            raise ValueError(f"dataio param's exclusive_data_type should be None or a dict, "
                             f"got {self.exclusive_data_type!r}")
        self.exclusive_data_type = {str(column): _numeric_type(f"exclusive_data_type[{column!r}]", kind)
                                    for column, kind in self.exclusive_data_type.items()}


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"dataio param's {name} {value!r} not supported, should be one of {list(allowed)}")
    return value.lower()


def _numeric_type(name: str, value: Any) -> str:
    if isinstance(value, str) and value.lower() == "str":
        raise ValueError(f"dataio param's {name} 'str' is not supported here: values are stored as numbers")
    return _choice(name, value, DATA_TYPES)


def _check_replace_value(name: str, value: Any) -> None:
    values = value if isinstance(value, (list, tuple)) else [value]
    for item in values:
        if item is None and not isinstance(value, (list, tuple)):
            continue
        try:
            float(item)
        except (TypeError, ValueError):
            raise ValueError(f"dataio param's {name} should be a number or a list of numbers, got {value!r}") from None
        if isinstance(item, bool):
            raise ValueError(f"dataio param's {name} should be a number or a list of numbers, got {value!r}")
