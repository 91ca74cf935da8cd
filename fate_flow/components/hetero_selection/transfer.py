"""The messages of HeteroFeatureSelection (FATE's ``HeteroFeatureSelectionTransferVariable`` names).

Both are sent once per IV filter, with the filter's position in ``filter_methods`` as suffix:
  host_select_cols  host -> guest: the host's columns still selectable, as anonymous names
                    "host.<index in the binning header>" (a list of strings)
  result_left_cols  guest -> host: which of those names the filter keeps (a list of strings)
The guest never learns a host column's real name or values; the host never learns an IV.
"""
from fate_flow.federation.transfer import TransferVariables, Variable


class HeteroFeatureSelectionTransferVariable(TransferVariables):
    """HeteroFeatureSelection's variables; see the module docstring for what each one carries."""

    host_select_cols = Variable("host_select_cols", src=("host",), dst=("guest",))
    result_left_cols = Variable("result_left_cols", src=("guest",), dst=("host",))
