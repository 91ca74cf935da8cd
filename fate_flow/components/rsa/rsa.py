"""Rsa (FATE's ``RsaModel``): sign every id of the input with a given RSA key and save the table
``{sha256hex(str(sha256int(id)^d mod n)): id}`` as ``save_out_table_namespace.save_out_table_name``.

That is the table the host of an RSA intersection builds from its ids, so a party can prepare
it once with its own key. As in FATE, the component's own output data is empty and there is
no model. The signatures are computed partition by partition by the workers; the signed ids
hash to other partitions, so the table is re-partitioned before it is saved.
"""
from __future__ import annotations

import functools
from typing import Any

import pyarrow as pa

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.columns import only_input_table
from fate_flow.components.intersection.rsa import hash_to_int, sha256_hex
from fate_flow.computing import recipes as rx
from fate_flow.secureprotol.gmpy_math import mpz, powmod

# rows per partition from which signing is worth the worker pool
COSTLY_ROWS = 2_000


class RsaModel(ComponentBase):
    """Guest or host: save this party's signed-id table."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        p = self.params
        p.check()
        stored = only_input_table(inputs, "Rsa")
        table = ctx.computing.load(stored).costly(COSTLY_ROWS)
        kernel = functools.partial(_signed_rows, p.rsa_key_d, p.rsa_key_n)
        signed = table.map_partitions(kernel, keeps_rows=True).repartition(table.partitions)
        sid = (stored.meta.schema or {}).get("sid") or "id"
        saved = signed.save(ctx.storage, p.save_out_table_namespace, p.save_out_table_name,
                            schema={"header": sid, "sid": "id"})
        ctx.logger.info("saved %s signed ids as %s.%s", saved.count, saved.namespace, saved.name)
        return ComponentOutput()


def sign_id(key: str, d: int, n: int) -> str:
    """sha256hex(str(sha256int(key)^d mod n)): the RSA intersection's signed id of ``key``."""
    return sha256_hex(str(powmod(hash_to_int(key), mpz(d), mpz(n))))


def _signed_rows(d: int, n: int, block) -> pa.Table:
    ids = rx.block_ids(block).cast(pa.string())
    signed = [sign_id(key, d, n) for key in ids.to_pylist()]
    return pa.Table.from_arrays([pa.array(signed, type=pa.string()), ids], schema=rx.stored_rows_schema())
