"""Transfer variables: the declared, role-checked names a component's parties exchange.

A component declares its variables once::

    class SecureAddExampleTransferVariable(TransferVariables):
        guest_share = Variable("guest_share", src=("guest",), dst=("host",))

and each party uses them through an instance bound to its federation::

    variables = SecureAddExampleTransferVariable(ctx.federation)
    variables.guest_share.remote(x2, role="host", idx=0)      # on the guest
    x2 = variables.guest_share.get(idx=0)                     # on the host

The message name is ``"<ClassName>.<name>"`` and the tag is the flowid followed by
the suffix items, joined by ``"."``. Sending from a role outside ``src`` or receiving
in a role outside ``dst`` raises ValueError, so a mismatched protocol fails loudly.
"""
from __future__ import annotations

from typing import Any, Sequence

from fate_flow.federation.base import Federation

DEFAULT_FLOWID = "default"


class Variable:
    """One declared variable: its name and the roles allowed to send (src) and receive (dst)."""

    def __init__(self, name: str, src: Sequence[str], dst: Sequence[str]) -> None:
        self.name = name
        self.src = tuple(src)
        self.dst = tuple(dst)
        self.full_name = name

    def __set_name__(self, owner: type, attr: str) -> None:
        self.full_name = f"{owner.__name__}.{self.name}"

    def __get__(self, instance: "TransferVariables | None", owner: type) -> Any:
        return self if instance is None else _BoundVariable(self, instance)

    def remote(self, federation: Federation, obj: Any, role: str | None = None, idx: int = -1,
               suffix: Sequence[Any] = (), *, flowid: str = DEFAULT_FLOWID) -> None:
        """Send ``obj`` to party ``idx`` (-1: every party) of ``role`` (None: every dst role).

        Raises:
            ValueError: the local role may not send this variable, ``role`` may not
                receive it, or ``idx`` is not a party of that role.
        """
        self._authorize(federation.local_role, self.src, "sent by")
        if role is not None:
            self._authorize(role, self.dst, "sent to")
        tag = make_tag(flowid, suffix)
        for dst_role in (self.dst if role is None else (role,)):
            for party in self._parties(federation, dst_role, idx):
                federation.remote(obj, self.full_name, tag, dst_role, party)

    def get(self, federation: Federation, idx: int = -1, suffix: Sequence[Any] = (), *,
            flowid: str = DEFAULT_FLOWID, timeout: float | None = None) -> Any:
        """Receive from party ``idx`` of the src role, or from every src party if ``idx`` is -1.

        Returns:
            The object for ``idx >= 0``; a list in runtime-conf order for ``idx == -1``.
        Raises:
            ValueError: the local role may not receive this variable, or ``idx`` is
                not a party of the (single) src role.
            FederationTimeout: a message did not arrive in time.
        """
        self._authorize(federation.local_role, self.dst, "received by")
        tag = make_tag(flowid, suffix)
        if idx == -1:
            return [federation.get(self.full_name, tag, src_role, party, timeout)
                    for src_role in self.src for party in federation.roles.get(src_role, ())]
        if len(self.src) != 1:
            raise ValueError(f"{self.full_name} has several src roles {self.src}; get it with idx=-1")
        party = self._parties(federation, self.src[0], idx)[0]
        return federation.get(self.full_name, tag, self.src[0], party, timeout)

    def _authorize(self, role: str, allowed: tuple[str, ...], action: str) -> None:
        if role not in allowed:
            raise ValueError(f"{self.full_name} can not be {action} role {role}, only {', '.join(allowed)}")

    def _parties(self, federation: Federation, role: str, idx: int) -> list[Any]:
        parties = list(federation.roles.get(role, ()))
        if idx == -1:
            return parties
        if not 0 <= idx < len(parties):
            raise ValueError(f"{self.full_name}: idx {idx} is not a party of role {role} "
                             f"({len(parties)} parties)")
        return [parties[idx]]

    def __repr__(self) -> str:
        return f"Variable({self.full_name!r}, src={self.src}, dst={self.dst})"


class TransferVariables:
    """Base of a component's variable declarations; an instance binds them to one task.

    Args:
        federation: the task's federation; its ``local_role`` and ``roles`` decide who
            may send or receive and which party an ``idx`` names.
        flowid: first part of every tag (``set_flowid`` changes it between stages).
    """

    def __init__(self, federation: Federation, *, flowid: str = DEFAULT_FLOWID) -> None:
        self.federation = federation
        self.flowid = flowid

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr, value in vars(cls).items():
            if isinstance(value, Variable) and value.name != attr:
                raise ValueError(f"variable {value.name!r} is declared as attribute {attr!r} "
                                 f"of {cls.__name__}; the two must match")

    def set_flowid(self, flowid: str) -> None:
        """Prefix the tags of later messages with ``flowid`` (e.g. "fit", "predict")."""
        self.flowid = flowid


class _BoundVariable:
    """A variable seen through a TransferVariables instance: federation and flowid filled in."""

    def __init__(self, variable: Variable, owner: TransferVariables) -> None:
        self.variable = variable
        self._owner = owner

    @property
    def name(self) -> str:
        return self.variable.full_name

    def remote(self, obj: Any, role: str | None = None, idx: int = -1,
               suffix: Sequence[Any] = ()) -> None:
        """See :meth:`Variable.remote`."""
        self.variable.remote(self._owner.federation, obj, role, idx, suffix, flowid=self._owner.flowid)

    def get(self, idx: int = -1, suffix: Sequence[Any] = (), timeout: float | None = None) -> Any:
        """See :meth:`Variable.get`."""
        return self.variable.get(self._owner.federation, idx, suffix,
                                 flowid=self._owner.flowid, timeout=timeout)


def make_tag(flowid: str, suffix: Sequence[Any] = ()) -> str:
    """``flowid`` followed by the suffix items, joined by "." (a lone non-sequence suffix counts as one item)."""
    if isinstance(suffix, (str, bytes, int)) or not isinstance(suffix, Sequence):
        suffix = (suffix,)
    return ".".join([str(flowid), *(str(item) for item in suffix)])
